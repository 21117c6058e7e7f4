import { uninstallShutdownHooks } from './shutdown-hooks.ts';
import { getGlobalTelemetry, type Telemetry } from './telemetry.ts';

// On globalThis, so that a hot-reloaded copy of this module still finds the
// pipeline it registered before. The key is the one provider-meta-reference
// 0.1 used: a pipeline registered by either copy is replaced by the other.
const REGISTERED = Symbol.for('@telemetry/provider-meta-reference/registered');
type Slot = { [REGISTERED]?: Telemetry };

/**
 * Makes `telemetry` the process-wide pipeline (as `register()` does) and, if
 * the pipeline it replaces was registered the same way (a notebook cell run
 * twice, a server reloading its config), shuts that one down after its events
 * are flushed: the old and the new never both write, so nothing is printed or
 * exported twice. A pipeline registered by hand with `register()` is left
 * running. Resolves once the replaced pipeline is shut down.
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
