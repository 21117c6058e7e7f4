/**
 * Module-level tracing helpers bound to the registered pipeline (see
 * `Telemetry.register()`). Without one they are harmless: callbacks run
 * unchanged, attributes and logs go nowhere.
 */

import { isSpanContextValid, trace as otelTrace } from '@opentelemetry/api';
import { contextManager } from './context.ts';
import type { Logger, LoggerOptions } from './logger.ts';
import { createLoggerFor } from './logger.ts';
import { formatTraceparent } from './propagation.ts';
import type { SpanStatus } from './schemas.ts';
import { TelemetrySpan } from './span.ts';
import { NOOP_SPAN, type SpanHandle } from './span-runner.ts';
import {
  type AutoTraceOptions,
  autoTraceWith,
  getGlobalTelemetry,
  type MethodDecoratorOfBothKinds,
  type SpanOptionsLite,
  type TracedOptions,
  type TraceOptions,
  traceDecoratorWith,
} from './telemetry.ts';

type AnyFunction = (this: any, ...args: any[]) => any;

/** Runs `fn` as the root span of a new trace (or of the one `traceparent` names). */
export function withTrace<T>(name: string, fn: (span: SpanHandle) => T, options?: TraceOptions): T {
  const t = getGlobalTelemetry();
  return t ? t.withTrace(name, fn, options) : fn(NOOP_SPAN);
}

/** Runs `fn` in a child span of the current one (sync, async or async generator). */
export function withSpan<T>(
  name: string,
  fn: (span: SpanHandle) => T,
  options?: SpanOptionsLite,
): T {
  const t = getGlobalTelemetry();
  return t ? t.withSpan(name, fn, options) : fn(NOOP_SPAN);
}

/** Starts a trace for the rest of this async context (Llama Stack's `start_trace`). */
export function startTrace(name: string, options?: TraceOptions): SpanHandle {
  const t = getGlobalTelemetry();
  return t ? t.startTrace(name, options) : NOOP_SPAN;
}

/** Ends the trace that `startTrace` started in this async context. */
export function endTrace(status?: SpanStatus, error?: unknown): void {
  getGlobalTelemetry()?.endTrace(status, error);
}

/** Wraps `fn` so each call runs in its own span (resolved against the registered pipeline at call time). */
export function traced<F extends AnyFunction>(fn: F, options: TracedOptions = {}): F {
  const wrappers = new WeakMap<object, F>();
  const wrapped = function (this: ThisParameterType<F>, ...args: Parameters<F>): ReturnType<F> {
    const t = getGlobalTelemetry();
    if (!t) return fn.apply(this, args);
    let w = wrappers.get(t);
    if (!w) {
      w = t.traced(fn, options);
      wrappers.set(t, w);
    }
    return w.apply(this, args);
  };
  Object.defineProperty(wrapped, 'name', { value: fn.name });
  return wrapped as F;
}

/**
 * A method decorator (TC39 standard, or TypeScript's `experimentalDecorators`):
 * each call runs in a span named `Class.method` (or `options.name`) of the
 * pipeline registered at call time, so decorating at import time works before
 * `register()`.
 */
export function trace(options: TracedOptions = {}): MethodDecoratorOfBothKinds {
  return traceDecoratorWith(options, getGlobalTelemetry);
}

/**
 * Traces every public method of a class or object, like Llama Stack's
 * `trace_protocol`, through the pipeline registered at call time.
 */
export function autoTrace<T extends object>(target: T, options: AutoTraceOptions = {}): T {
  return autoTraceWith(target, options, getGlobalTelemetry);
}

/** The current span, if it is one of this toolkit's. */
export function currentSpan(): TelemetrySpan | undefined {
  const span = otelTrace.getSpan(contextManager.active());
  return span instanceof TelemetrySpan ? span : undefined;
}

/** Sets an attribute on the current span; a no-op outside one. */
export function setAttribute(key: string, value: unknown): void {
  otelTrace.getSpan(contextManager.active())?.setAttribute(key, value as never);
}

/** The W3C `traceparent` of the current span, for outgoing calls. */
export function getTraceparent(): string | undefined {
  const ctx = otelTrace.getSpanContext(contextManager.active());
  return ctx && isSpanContextValid(ctx) ? formatTraceparent(ctx) : undefined;
}

/** A logger whose calls become logs of the current span, whichever pipeline created it. */
export function createLogger(options: LoggerOptions | string = {}): Logger {
  return createLoggerFor(currentSpan, typeof options === 'string' ? { name: options } : options);
}
