import { getGlobalTelemetry, type Telemetry } from '@telemetry/core';
import { uninstallShutdownHooks } from './shutdown-hooks.ts';

// On globalThis, so that a hot-reloaded copy of this module still finds the pipeline it registered before.
const REGISTERED = Symbol.for('@telemetry/provider-meta-reference/registered');
type Slot = { [REGISTERED]?: Telemetry };

/**
 * Makes `telemetry` the process-wide pipeline. If the pipeline it replaces was
 * registered the same way (a notebook cell run twice, a server reloading its
 * config), that one is shut down, after its events are flushed: the old and
 * the new never both write, so nothing is printed or exported twice.
 */
export async function registerReplacing(telemetry: Telemetry): Promise<void> {
  const slot = globalThis as Slot;
  const previous = slot[REGISTERED];
  const replacing =
    previous !== undefined && previous !== telemetry && getGlobalTelemetry() === previous;
  telemetry.register();
  slot[REGISTERED] = telemetry;
  if (replacing) {
    uninstallShutdownHooks(previous);
    await previous.shutdown();
  }
}
