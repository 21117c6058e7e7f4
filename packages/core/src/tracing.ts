/**
 * The tracing helpers, implemented once. Each takes the SpanFactory of a
 * pipeline, or `undefined` when there is none: then callbacks run unchanged,
 * and attributes and logs go nowhere. `Telemetry`'s methods pass their own
 * factory; the module-level helpers pass the registered pipeline's, looked up
 * at each call.
 */

import { type Context, createContextKey, isSpanContextValid, trace } from '@opentelemetry/api';
import { contextManager } from './context.ts';
import { registeredPipeline } from './global.ts';
import { createLoggerFor, type Logger, type LoggerOptions } from './logger.ts';
import { formatTraceparent, W3CTraceContextPropagator } from './propagation.ts';
import type { SpanStatus } from './schemas.ts';
import { TelemetrySpan } from './span.ts';
import type {
  AnyFunction,
  SpanFactory,
  SpanOptionsLite,
  TracedOptions,
  TraceOptions,
} from './span-factory.ts';
import { NOOP_SPAN, runInSpan, type SpanHandle } from './span-runner.ts';

const ROOT_KEY = createContextKey('@telemetry/core trace root');
const BEFORE_TRACE_KEY = createContextKey('@telemetry/core context before trace');

/** The factory of the registered pipeline, if any. */
export function globalFactory(): SpanFactory | undefined {
  return registeredPipeline()?.spanFactory;
}

export function withTraceIn<T>(
  factory: SpanFactory | undefined,
  name: string,
  fn: (span: SpanHandle) => T,
  options: TraceOptions = {},
): T {
  if (!factory) return fn(NOOP_SPAN);
  const span = factory.createRoot(name, options);
  const ctx = trace.setSpan(contextManager.active(), span).setValue(ROOT_KEY, span);
  return runInSpan(span, ctx, fn, undefined, [span], false);
}

export function withSpanIn<T>(
  factory: SpanFactory | undefined,
  name: string,
  fn: (span: SpanHandle) => T,
  options: SpanOptionsLite = {},
): T {
  const parent = contextManager.active();
  if (!factory || !trace.getSpan(parent)) return fn(NOOP_SPAN);
  const span = factory.createSpan(name, parent, options.attributes, options.kind, undefined);
  return runInSpan(span, trace.setSpan(parent, span), fn, undefined, [span], false);
}

export function startTraceIn(
  factory: SpanFactory | undefined,
  name: string,
  options: TraceOptions = {},
): SpanHandle {
  if (!factory) return NOOP_SPAN;
  const before = contextManager.active();
  const span = factory.createRoot(name, options);
  const ctx = trace
    .setSpan(before, span)
    .setValue(ROOT_KEY, span)
    .setValue(BEFORE_TRACE_KEY, before);
  contextManager.enter(ctx);
  return span;
}

/** Ends the trace that `startTrace` started in this async context, whichever pipeline made it. */
export function endTrace(status: SpanStatus = 'ok', error?: unknown): void {
  const active = contextManager.active();
  const root = active.getValue(ROOT_KEY);
  if (!(root instanceof TelemetrySpan)) return;
  if (status === 'error') root.fail(error ?? 'trace ended with status error');
  root.end();
  const before = active.getValue(BEFORE_TRACE_KEY) as Context | undefined;
  contextManager.enter(before ?? trace.deleteSpan(active).deleteValue(ROOT_KEY));
}

/** Wraps `fn` so that every call runs in its own span of the pipeline `resolve()` gives at call time. */
export function tracedWith<F extends AnyFunction>(
  resolve: () => SpanFactory | undefined,
  fn: F,
  options: TracedOptions = {},
): F {
  const name = options.name ?? (fn.name || 'anonymous');
  const wrapped = function (this: ThisParameterType<F>, ...args: Parameters<F>): ReturnType<F> {
    const factory = resolve();
    if (!factory) return fn.apply(this, args);
    return factory.runTraced(name, fn, this, args, options, undefined) as ReturnType<F>;
  };
  Object.defineProperty(wrapped, 'name', { value: fn.name });
  return wrapped as F;
}

/** The span active in the current async context, if it is one of this toolkit's. */
export function currentSpan(): TelemetrySpan | undefined {
  const span = trace.getSpan(contextManager.active());
  return span instanceof TelemetrySpan ? span : undefined;
}

/** Sets an attribute on the current span; a no-op outside one. */
export function setAttribute(key: string, value: unknown): void {
  trace.getSpan(contextManager.active())?.setAttribute(key, value as never);
}

/** The W3C `traceparent` of the current span, for outgoing calls. */
export function getTraceparent(): string | undefined {
  const ctx = trace.getSpanContext(contextManager.active());
  return ctx && isSpanContextValid(ctx) ? formatTraceparent(ctx) : undefined;
}

const propagator = new W3CTraceContextPropagator();

/** Writes `traceparent` (and `tracestate`) of the current span into `carrier` (e.g. HTTP headers). */
export function injectTraceContext<T extends Record<string, unknown>>(carrier: T): T {
  propagator.inject(contextManager.active(), carrier, {
    set: (c, k, v) => {
      (c as Record<string, unknown>)[k] = v;
    },
  });
  return carrier;
}

// -----------------------------------------------------------------------------
// Module-level helpers: the registered pipeline (see `Telemetry.register()`).

/** Runs `fn` as the root span of a new trace (or of the one `traceparent` names). */
export function withTrace<T>(name: string, fn: (span: SpanHandle) => T, options?: TraceOptions): T {
  return withTraceIn(globalFactory(), name, fn, options);
}

/** Runs `fn` in a child span of the current one (sync, async or async generator). */
export function withSpan<T>(
  name: string,
  fn: (span: SpanHandle) => T,
  options?: SpanOptionsLite,
): T {
  return withSpanIn(globalFactory(), name, fn, options);
}

/** Starts a trace for the rest of this async context (Llama Stack's `start_trace`). */
export function startTrace(name: string, options?: TraceOptions): SpanHandle {
  return startTraceIn(globalFactory(), name, options);
}

/** Wraps `fn` so each call runs in its own span (resolved against the registered pipeline at call time). */
export function traced<F extends AnyFunction>(fn: F, options: TracedOptions = {}): F {
  return tracedWith(globalFactory, fn, options);
}

/** A logger whose calls become logs of the current span, whichever pipeline created it. */
export function createLogger(options: LoggerOptions | string = {}): Logger {
  return createLoggerFor(currentSpan, options);
}
