import type { Telemetry } from './telemetry.ts';

/**
 * The process-wide pipeline slot, on `globalThis` so that two copies of this
 * module (a bundler's duplicate, a hot reload) share it.
 */
const GLOBAL_KEY = Symbol.for('@telemetry/core/global');

interface GlobalSlot {
  telemetry: Telemetry | undefined;
  otelInstalled: boolean;
}

type SlotHolder = { [GLOBAL_KEY]?: GlobalSlot };
const holder = globalThis as SlotHolder;
holder[GLOBAL_KEY] ??= { telemetry: undefined, otelInstalled: false };

/** @internal The slot itself (the OpenTelemetry globals are installed once per process). */
export const globalSlot: GlobalSlot = holder[GLOBAL_KEY];

/** The pipeline set by `register()`, if any. */
export function getGlobalTelemetry(): Telemetry | undefined {
  return globalSlot.telemetry;
}

/** @internal */
export function setGlobalTelemetry(telemetry: Telemetry | undefined): void {
  globalSlot.telemetry = telemetry;
}
