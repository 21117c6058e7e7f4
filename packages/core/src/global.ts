import type { TracerProvider } from '@opentelemetry/api';
import type { SpanFactory } from './span-factory.ts';

/** What the helpers and the OpenTelemetry globals need of the registered pipeline. */
export interface RegisteredPipeline {
  readonly spanFactory: SpanFactory;
  readonly tracerProvider: TracerProvider;
}

/**
 * The process-wide pipeline slot, on `globalThis` so that two copies of this
 * module (a bundler's duplicate, a hot reload) share it. Typed by what is read
 * from it, so this file sits below the pipeline (no import cycle).
 */
const GLOBAL_KEY = Symbol.for('@telemetry/core/global');

interface GlobalSlot {
  telemetry: RegisteredPipeline | undefined;
  otelInstalled: boolean;
}

type SlotHolder = { [GLOBAL_KEY]?: GlobalSlot };
const holder = globalThis as SlotHolder;
holder[GLOBAL_KEY] ??= { telemetry: undefined, otelInstalled: false };

/** @internal The slot itself (the OpenTelemetry globals are installed once per process). */
export const globalSlot: GlobalSlot = holder[GLOBAL_KEY];

/** @internal The registered pipeline, as the helpers see it. */
export function registeredPipeline(): RegisteredPipeline | undefined {
  return globalSlot.telemetry;
}

/** @internal */
export function setRegisteredPipeline(pipeline: RegisteredPipeline | undefined): void {
  globalSlot.telemetry = pipeline;
}
