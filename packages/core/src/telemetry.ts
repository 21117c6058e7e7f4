import {
  type Context,
  createContextKey,
  isSpanContextValid,
  type Span as OtelSpan,
  SpanKind as OtelSpanKind,
  context as otelContext,
  propagation as otelPropagation,
  ROOT_CONTEXT,
  type SpanOptions,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { z } from 'zod';
import { contextManager } from './context.ts';
import { Dispatcher, type TelemetryStats } from './dispatcher.ts';
import { issuesFromZod, TelemetryStoreRequiredError, TelemetryValidationError } from './errors.ts';
import { generateSpanId, generateTraceId } from './ids.ts';
import { createLoggerFor, type Logger, type LoggerOptions } from './logger.ts';
import {
  formatTraceparent,
  parseTraceparent,
  W3CTraceContextPropagator,
  W3CTraceState,
} from './propagation.ts';
import {
  type Attributes,
  type GetSpanTreeParams,
  type LogEventParams,
  LogEventParamsSchema,
  type MetricSeries,
  type QueryMetricsParams,
  type QuerySpansParams,
  type QueryTracesParams,
  type SaveSpansToDatasetParams,
  type Span,
  type SpanKind,
  type SpanStatus,
  type SpanWithStatus,
  type Trace,
} from './schemas.ts';
import { type DatasetWriter, isTraceStore, type TelemetrySink, type TraceStore } from './sink.ts';
import { safeJson, TelemetrySpan, timeInputToMicros } from './span.ts';
import { NOOP_SPAN, runInSpan, type SpanHandle } from './span-runner.ts';

/** Options of `createTelemetry`; every default lives here. */
export interface TelemetryOptions {
  /**
   * Where events go.
   * @default []
   */
  readonly sinks?: readonly TelemetrySink[];
  /**
   * Events the queue holds before new ones are dropped (and counted).
   * @default 100_000
   */
  readonly capacity?: number;
  /**
   * Events waiting for one sink before that sink's new batches are dropped (and counted).
   * @default capacity
   */
  readonly sinkCapacity?: number;
  /**
   * Events per batch handed to a sink.
   * @default 1_000
   */
  readonly batchSize?: number;
  /**
   * At most one drop warning (and one error line per sink) per interval.
   * @default 60_000
   */
  readonly warnIntervalMs?: number;
  /**
   * Spans held open for span sinks at most; the oldest is dropped (and counted) beyond it.
   * @default 10_000
   */
  readonly maxOpenSpans?: number;
  /**
   * A span open longer than this is given up (and counted).
   * @default 3_600_000 (one hour)
   */
  readonly openSpanTimeoutMs?: number;
  /**
   * A log or metric whose span has not started after this long is dropped (and counted).
   * @default 60_000
   */
  readonly orphanTimeoutMs?: number;
  /**
   * Time to live of the events that the tracing helpers log. Unset, each store
   * applies its own default (seven days in the SQLite sink, as Llama Stack's
   * log_event).
   * @default undefined
   */
  readonly ttlSeconds?: number;
  /**
   * What `logEvent` does with an invalid event: throw a TelemetryValidationError, or count it as dropped (`invalid`).
   * @default 'throw'
   */
  readonly onInvalidEvent?: 'throw' | 'drop';
  /**
   * How long `shutdown()` waits for the sinks.
   * @default 30_000
   */
  readonly shutdownTimeoutMs?: number;
  /**
   * Where warnings go (drops, sink errors).
   * @default console.warn
   */
  readonly warn?: (message: string) => void;
}

const count = (fallback: number) =>
  z
    .number({ error: 'expected a whole number' })
    .int({ error: 'expected a whole number' })
    .positive({ error: 'expected a number above 0' })
    .default(fallback);
const millis = (fallback: number) =>
  z
    .number({ error: 'expected milliseconds' })
    .positive({ error: 'expected a number above 0' })
    .default(fallback);

/** Validates `createTelemetry` options (every problem at once) and holds every default. */
const TelemetryOptionsSchema = z.object({
  sinks: z
    .array(
      z.custom<TelemetrySink>(
        (s) => typeof s === 'object' && s !== null && typeof (s as TelemetrySink).name === 'string',
        { error: 'expected a sink: an object with a `name` and writeEvents or writeSpans' },
      ),
    )
    .default([]),
  capacity: count(100_000),
  sinkCapacity: count(100_000).optional(),
  batchSize: count(1_000),
  warnIntervalMs: z.number({ error: 'expected milliseconds' }).nonnegative().default(60_000),
  maxOpenSpans: count(10_000),
  openSpanTimeoutMs: millis(3_600_000),
  orphanTimeoutMs: millis(60_000),
  ttlSeconds: z.number().int({ error: 'expected a whole number of seconds' }).positive().optional(),
  onInvalidEvent: z.enum(['throw', 'drop']).default('throw'),
  shutdownTimeoutMs: millis(30_000),
  warn: z
    .custom<(message: string) => void>((w) => typeof w === 'function', {
      error: 'expected a function',
    })
    .optional(),
});

const FLUSH_TIMEOUT_MS = 30_000;

export interface SpanOptionsLite {
  /** Attributes set when the span starts. */
  readonly attributes?: Attributes;
  /** OpenTelemetry span kind. @default 'internal' */
  readonly kind?: SpanKind;
}

export interface TraceOptions extends SpanOptionsLite {
  /** A W3C `traceparent` received from a caller: the trace continues it. */
  readonly traceparent?: string | null;
  /** The W3C `tracestate` that came with it. */
  readonly tracestate?: string | null;
}

export interface TracedOptions extends SpanOptionsLite {
  /** Span name. @default the function's name */
  readonly name?: string;
}

export interface AutoTraceOptions {
  /** Class name in span names (`Class.method`). @default the class's or object's constructor name */
  readonly name?: string;
}

const ROOT_KEY = createContextKey('@telemetry/core trace root');
const BEFORE_TRACE_KEY = createContextKey('@telemetry/core context before trace');

const KIND_FROM_OTEL: Record<number, SpanKind> = {
  [OtelSpanKind.INTERNAL]: 'internal',
  [OtelSpanKind.SERVER]: 'server',
  [OtelSpanKind.CLIENT]: 'client',
  [OtelSpanKind.PRODUCER]: 'producer',
  [OtelSpanKind.CONSUMER]: 'consumer',
};

type AnyFunction = (this: any, ...args: any[]) => any;

/**
 * One telemetry pipeline: the event API, the tracing helpers bound to it, and
 * the query API of its first queryable sink.
 */
export class Telemetry implements TraceStore {
  readonly sinks: readonly TelemetrySink[];
  /** An `@opentelemetry/api` TracerProvider whose spans are this pipeline's spans. */
  readonly tracerProvider: TracerProvider;
  private readonly dispatcher: Dispatcher;
  private readonly ttlSeconds: number | undefined;
  private readonly onInvalidEvent: 'throw' | 'drop';
  private readonly shutdownTimeoutMs: number;
  private shutdownPromise: Promise<void> | undefined;

  constructor(options: TelemetryOptions = {}) {
    const parsed = TelemetryOptionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new TelemetryValidationError('telemetry options', issuesFromZod(parsed.error));
    }
    const o = parsed.data;
    this.ttlSeconds = o.ttlSeconds;
    this.sinks = [...o.sinks];
    this.dispatcher = new Dispatcher({
      sinks: this.sinks,
      capacity: o.capacity,
      sinkCapacity: o.sinkCapacity ?? o.capacity,
      batchSize: o.batchSize,
      warnIntervalMs: o.warnIntervalMs,
      maxOpenSpans: o.maxOpenSpans,
      openSpanTimeoutMs: o.openSpanTimeoutMs,
      orphanTimeoutMs: o.orphanTimeoutMs,
      warn: o.warn ?? ((message) => console.warn(message)),
    });
    this.onInvalidEvent = o.onInvalidEvent;
    this.shutdownTimeoutMs = o.shutdownTimeoutMs;
    this.tracerProvider = { getTracer: (name) => new TelemetryTracer(this, name) };
  }

  // ---------------------------------------------------------------------------
  // Events

  /**
   * Validates an event and queues it for the sinks; returns at once. The shape
   * of Llama Stack's `client.telemetry.logEvent({ event, ttl_seconds })`.
   * Throws TelemetryValidationError for an invalid event (or counts it, with
   * `onInvalidEvent: 'drop'`); never throws because of a sink.
   */
  logEvent(params: LogEventParams): void {
    const parsed = LogEventParamsSchema.safeParse(params);
    if (!parsed.success) {
      if (this.onInvalidEvent === 'drop') {
        this.dispatcher.refuse('invalid');
        return;
      }
      throw new TelemetryValidationError('event', issuesFromZod(parsed.error));
    }
    this.dispatcher.enqueue(parsed.data.event, parsed.data.ttl_seconds);
  }

  /**
   * Resolves once every event accepted before the call has reached every sink
   * (events of spans still open stay held for span sinks) and each sink's
   * `forceFlush` ran. Resolves `false` if that took longer than `timeoutMs`.
   */
  async flush(options: { timeoutMs?: number } = {}): Promise<boolean> {
    const timeoutMs = options.timeoutMs ?? FLUSH_TIMEOUT_MS;
    const work = (async () => {
      await this.dispatcher.settle();
      return this.dispatcher.flushSinks();
    })();
    return withDeadline(work, timeoutMs);
  }

  /**
   * Flushes, counts what is still held in open spans as dropped, and closes the
   * sinks. Idempotent. Events logged afterwards are counted as dropped (`shutdown`).
   */
  shutdown(options: { timeoutMs?: number } = {}): Promise<void> {
    this.shutdownPromise ??= (async () => {
      // One deadline for the whole shutdown: first every accepted event reaches
      // the sinks, then each sink's shutdown() sends what it holds and closes.
      const timeoutMs = options.timeoutMs ?? this.shutdownTimeoutMs;
      const deadline = Date.now() + timeoutMs;
      this.dispatcher.close();
      await withDeadline(this.dispatcher.settle(), timeoutMs);
      this.dispatcher.dropUnfinished();
      await withDeadline(this.dispatcher.shutdownSinks(), Math.max(0, deadline - Date.now()));
      if (getGlobalTelemetry() === this) setGlobalTelemetry(undefined);
    })();
    return this.shutdownPromise;
  }

  /** True once `shutdown()` was called: new events are counted as dropped. */
  get isShutdown(): boolean {
    return this.dispatcher.isClosed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  /** Counts: accepted, dropped by reason, and per sink delivered/dropped/failed/pending. */
  stats(): TelemetryStats {
    return this.dispatcher.stats();
  }

  // ---------------------------------------------------------------------------
  // Tracing helpers

  /** The span active in the current async context, if it is one of this toolkit's. */
  currentSpan(): TelemetrySpan | undefined {
    const span = trace.getSpan(contextManager.active());
    return span instanceof TelemetrySpan ? span : undefined;
  }

  /** Sets an attribute on the current span; a no-op outside one. */
  setAttribute(key: string, value: unknown): void {
    trace.getSpan(contextManager.active())?.setAttribute(key, value as never);
  }

  /** The W3C `traceparent` of the current span, for outgoing calls. */
  getTraceparent(): string | undefined {
    const ctx = trace.getSpanContext(contextManager.active());
    return ctx && isSpanContextValid(ctx) ? formatTraceparent(ctx) : undefined;
  }

  /** Writes `traceparent` (and `tracestate`) of the current span into `carrier` (e.g. HTTP headers). */
  injectTraceContext<T extends Record<string, unknown>>(carrier: T): T {
    new W3CTraceContextPropagator().inject(contextManager.active(), carrier, {
      set: (c, k, v) => {
        (c as Record<string, unknown>)[k] = v;
      },
    });
    return carrier;
  }

  /**
   * Starts a span that is not made current (OpenTelemetry's `startSpan`): a
   * child of the current span, or the root of a new trace when there is none.
   */
  startSpan(name: string, options: SpanOptionsLite & { parent?: Context } = {}): TelemetrySpan {
    return this.createSpan(
      name,
      options.parent ?? contextManager.active(),
      options.attributes,
      options.kind,
      undefined,
    );
  }

  /**
   * Starts a trace and makes its root span current for the rest of this async
   * context (Llama Stack's `start_trace`). Prefer `withTrace`, which also
   * restores the caller's context.
   */
  startTrace(name: string, options: TraceOptions = {}): TelemetrySpan {
    const before = contextManager.active();
    const span = this.createRoot(name, options);
    const ctx = trace
      .setSpan(before, span)
      .setValue(ROOT_KEY, span)
      .setValue(BEFORE_TRACE_KEY, before);
    contextManager.enter(ctx);
    return span;
  }

  /** Ends the trace started by `startTrace` in this async context. */
  endTrace(status: SpanStatus = 'ok', error?: unknown): void {
    const active = contextManager.active();
    const root = active.getValue(ROOT_KEY);
    if (!(root instanceof TelemetrySpan)) return;
    if (status === 'error') root.fail(error ?? 'trace ended with status error');
    root.end();
    const before = active.getValue(BEFORE_TRACE_KEY) as Context | undefined;
    contextManager.enter(before ?? trace.deleteSpan(active).deleteValue(ROOT_KEY));
  }

  /** Runs `fn` as the root span of a new trace (or of a continued one, with `traceparent`). */
  withTrace<T>(name: string, fn: (span: SpanHandle) => T, options: TraceOptions = {}): T {
    const span = this.createRoot(name, options);
    const ctx = trace.setSpan(contextManager.active(), span).setValue(ROOT_KEY, span);
    return runInSpan(span, ctx, fn, undefined, [span], false);
  }

  /**
   * Runs `fn` in a child span of the current one: sync, async, or an async
   * generator (the span then ends with the stream and records `chunk_count`).
   * A throw ends the span with status error and is re-thrown. Outside a trace
   * it just runs `fn`.
   */
  withSpan<T>(name: string, fn: (span: SpanHandle) => T, options: SpanOptionsLite = {}): T {
    const parent = contextManager.active();
    if (!trace.getSpan(parent)) return fn(NOOP_SPAN);
    const span = this.createSpan(name, parent, options.attributes, options.kind, undefined);
    return runInSpan(span, trace.setSpan(parent, span), fn, undefined, [span], false);
  }

  /** Wraps a function so that every call runs in its own span. */
  traced<F extends AnyFunction>(fn: F, options: TracedOptions = {}): F {
    const telemetry = this;
    const name = options.name ?? (fn.name || 'anonymous');
    const wrapped = function (this: ThisParameterType<F>, ...args: Parameters<F>): ReturnType<F> {
      const parent = contextManager.active();
      if (!trace.getSpan(parent)) return fn.apply(this, args);
      const span = telemetry.createSpan(name, parent, options.attributes, options.kind, undefined);
      return runInSpan(span, trace.setSpan(parent, span), fn, this, args, false);
    };
    Object.defineProperty(wrapped, 'name', { value: fn.name });
    return wrapped as F;
  }

  /**
   * A method decorator (standard TC39 decorators, or TypeScript's
   * `experimentalDecorators`): each call runs in a span named `Class.method`
   * (or `options.name`).
   */
  trace(options: TracedOptions = {}): MethodDecoratorOfBothKinds {
    return traceDecoratorWith(options, () => this);
  }

  /**
   * Traces every public method of a class (its prototype chain) or of an
   * object, like Llama Stack's `trace_protocol`: spans named `Class.method`
   * carrying the arguments and the result as JSON text. Methods whose name
   * starts with `_` are left alone. Returns the same class or object.
   */
  autoTrace<T extends object>(target: T, options: AutoTraceOptions = {}): T {
    return autoTraceWith(target, options, () => this);
  }

  /** A logger whose calls become logs of the current span. */
  createLogger(options: LoggerOptions | string = {}): Logger {
    return createLoggerFor(
      () => this.currentSpan(),
      typeof options === 'string' ? { name: options } : options,
    );
  }

  /**
   * Makes this pipeline the process-wide one: module-level helpers use it, and
   * `@opentelemetry/api` spans, context and propagation go through it.
   * Idempotent; registering another pipeline replaces this one.
   */
  register(): this {
    setGlobalTelemetry(this);
    installOtelGlobals();
    return this;
  }

  /** Undoes `register()` if this pipeline is the registered one. */
  unregister(): void {
    if (getGlobalTelemetry() === this) setGlobalTelemetry(undefined);
  }

  // ---------------------------------------------------------------------------
  // Query API (delegates to the first sink that implements TraceStore)

  /** The first sink that answers queries, if any. */
  get store(): TraceStore | undefined {
    return this.sinks.find(isTraceStore) as TraceStore | undefined;
  }

  async queryTraces(params?: QueryTracesParams): Promise<Trace[]> {
    return this.requireStore('queryTraces').queryTraces(params);
  }

  async getTrace(traceId: string): Promise<Trace> {
    return this.requireStore('getTrace').getTrace(traceId);
  }

  async getSpan(traceId: string, spanId: string): Promise<Span> {
    return this.requireStore('getSpan').getSpan(traceId, spanId);
  }

  async getSpanTree(
    spanId: string,
    params?: GetSpanTreeParams,
  ): Promise<Record<string, SpanWithStatus>> {
    return this.requireStore('getSpanTree').getSpanTree(spanId, params);
  }

  async querySpans(params: QuerySpansParams): Promise<Span[]> {
    return this.requireStore('querySpans').querySpans(params);
  }

  async saveSpansToDataset(
    params: SaveSpansToDatasetParams,
    writer?: DatasetWriter,
  ): Promise<void> {
    return this.requireStore('saveSpansToDataset').saveSpansToDataset(params, writer);
  }

  async queryMetrics(metricName: string, params: QueryMetricsParams): Promise<MetricSeries[]> {
    return this.requireStore('queryMetrics').queryMetrics(metricName, params);
  }

  private requireStore(method: string): TraceStore {
    const store = this.store;
    if (!store) throw new TelemetryStoreRequiredError(method);
    return store;
  }

  // ---------------------------------------------------------------------------
  // Internals shared with the OpenTelemetry tracer

  /** @internal */
  createSpan(
    name: string,
    parentContext: Context,
    attributes: Attributes | Record<string, unknown> | undefined,
    kind: SpanKind | undefined,
    startTime: number | undefined,
  ): TelemetrySpan {
    const parentSpan = trace.getSpan(parentContext);
    if (parentSpan instanceof TelemetrySpan) {
      // Our own span: its ids are valid by construction, skip the checks.
      return new TelemetrySpan(this.dispatcher, {
        traceId: parentSpan.trace_id,
        spanId: generateSpanId(),
        parentSpanId: parentSpan.span_id,
        name,
        kind,
        attributes: attributes as Attributes | undefined,
        startTime,
        traceState: parentSpan.traceState,
        ttlSeconds: this.ttlSeconds,
      });
    }
    const parent = parentSpan?.spanContext();
    if (parent && isSpanContextValid(parent)) {
      const remote = parent.isRemote === true;
      return new TelemetrySpan(this.dispatcher, {
        traceId: parent.traceId,
        spanId: generateSpanId(),
        parentSpanId: parent.spanId,
        name,
        kind,
        attributes: remote
          ? { ...attributes, __root__: true }
          : (attributes as Attributes | undefined),
        startTime,
        traceState: parent.traceState,
        ttlSeconds: this.ttlSeconds,
      });
    }
    return new TelemetrySpan(this.dispatcher, {
      traceId: generateTraceId(),
      spanId: generateSpanId(),
      parentSpanId: null,
      name,
      kind,
      attributes: { ...attributes, __root__: true },
      startTime,
      ttlSeconds: this.ttlSeconds,
    });
  }

  /** A new trace's root span; with a valid `traceparent`, a local root continuing that remote trace. */
  private createRoot(name: string, options: TraceOptions): TelemetrySpan {
    const remote = parseTraceparent(options.traceparent);
    const parent = remote
      ? trace.setSpanContext(ROOT_CONTEXT, {
          traceId: remote.traceId,
          spanId: remote.spanId,
          traceFlags: remote.traceFlags,
          isRemote: true,
          ...(options.tracestate ? { traceState: new W3CTraceState(options.tracestate) } : {}),
        })
      : ROOT_CONTEXT;
    return this.createSpan(name, parent, options.attributes, options.kind, undefined);
  }

  /** @internal Runs `method` in a span named `name` when a span is current (helpers, decorators, autoTrace). */
  runTraced(
    name: string,
    method: AnyFunction,
    thisArg: unknown,
    args: unknown[],
    options: SpanOptionsLite,
    auto: false | { className: string; method: string },
  ): unknown {
    const parent = contextManager.active();
    if (!trace.getSpan(parent)) return method.apply(thisArg, args);
    let attributes = options.attributes as Record<string, unknown> | undefined;
    if (auto) {
      attributes = {
        ...attributes,
        __autotraced__: true,
        __class__: auto.className,
        __method__: auto.method,
        __type__:
          method.constructor?.name === 'AsyncGeneratorFunction'
            ? 'async_generator'
            : method.constructor?.name === 'AsyncFunction'
              ? 'async'
              : 'sync',
        __args__: safeJson(args),
      };
    }
    const span = this.createSpan(name, parent, attributes, options.kind, undefined);
    return runInSpan(span, trace.setSpan(parent, span), method, thisArg, args, auto !== false);
  }
}

const AUTO_TRACED = Symbol('@telemetry/core auto-traced');

/** A decorator usable as a TC39 standard method decorator and as a legacy one. */
export type MethodDecoratorOfBothKinds = MethodDecorator &
  (<F extends AnyFunction>(method: F, context: ClassMethodDecoratorContext) => F);

/** Builds the method decorator; `resolve` finds the pipeline at each call. */
export function traceDecoratorWith(
  options: TracedOptions,
  resolve: () => Telemetry | undefined,
): MethodDecoratorOfBothKinds {
  const run = (name: string, method: AnyFunction, thisArg: unknown, args: unknown[]) => {
    const telemetry = resolve();
    if (!telemetry) return method.apply(thisArg, args);
    return telemetry.runTraced(options.name ?? name, method, thisArg, args, options, false);
  };
  return ((...args: unknown[]) => {
    if (args.length === 2 && typeof args[0] === 'function') {
      const [method, context] = args as [AnyFunction, ClassMethodDecoratorContext];
      const methodName = String(context.name);
      return function (this: any, ...callArgs: unknown[]) {
        return run(`${this?.constructor?.name ?? 'Object'}.${methodName}`, method, this, callArgs);
      };
    }
    const [target, key, descriptor] = args as [object, PropertyKey, PropertyDescriptor];
    const method = descriptor.value as AnyFunction;
    const className = typeof target === 'function' ? target.name : target.constructor.name;
    descriptor.value = function (this: unknown, ...callArgs: unknown[]) {
      return run(`${className}.${String(key)}`, method, this, callArgs);
    };
    return descriptor;
  }) as MethodDecoratorOfBothKinds;
}

/**
 * Wraps every public method of a class (its prototype chain) or object so that
 * each call runs through `resolve()`'s pipeline, looked up per call: a class
 * auto-traced at import time works once a pipeline is registered later.
 */
export function autoTraceWith<T extends object>(
  target: T,
  options: AutoTraceOptions,
  resolve: () => Telemetry | undefined,
): T {
  const isClass = typeof target === 'function' && (target as AnyFunction).prototype !== undefined;
  const holder: Record<string, unknown> = isClass
    ? (target as AnyFunction).prototype
    : (target as Record<string, unknown>);
  const ctor = (target as object).constructor;
  const className =
    options.name ??
    (isClass ? (target as AnyFunction).name : ctor?.name && ctor !== Object ? ctor.name : 'Object');
  const seen = new Set<string>();
  let proto: object | null = holder;
  while (proto && proto !== Object.prototype && proto !== Function.prototype) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === 'constructor' || key.startsWith('_') || seen.has(key)) continue;
      seen.add(key);
      const descriptor = Object.getOwnPropertyDescriptor(proto, key);
      if (
        !descriptor ||
        typeof descriptor.value !== 'function' ||
        descriptor.get ||
        descriptor.set
      ) {
        continue;
      }
      const method = descriptor.value as AnyFunction & { [AUTO_TRACED]?: true };
      if (method[AUTO_TRACED]) continue;
      const spanName = `${className}.${key}`;
      const auto = { className, method: key };
      const wrapped = function (this: unknown, ...args: unknown[]) {
        const telemetry = resolve();
        if (!telemetry) return method.apply(this, args);
        return telemetry.runTraced(spanName, method, this, args, {}, auto);
      };
      Object.defineProperty(wrapped, 'name', { value: key });
      Object.defineProperty(wrapped, AUTO_TRACED, { value: true });
      Object.defineProperty(holder, key, { ...descriptor, value: wrapped });
    }
    // For a plain object, only its own methods; for classes and instances, inherited ones too.
    proto =
      isClass || Object.getPrototypeOf(proto) !== Object.prototype
        ? Object.getPrototypeOf(proto)
        : null;
  }
  return target;
}

/** Implements `@opentelemetry/api`'s Tracer over a Telemetry pipeline. */
class TelemetryTracer implements Tracer {
  constructor(
    private readonly telemetry: Telemetry,
    private readonly scope: string,
  ) {}

  startSpan(
    name: string,
    options: SpanOptions = {},
    context: Context = contextManager.active(),
  ): OtelSpan {
    const parentContext = options.root ? trace.deleteSpan(context) : context;
    const span = this.telemetry.createSpan(
      name,
      parentContext,
      options.attributes,
      options.kind === undefined ? undefined : KIND_FROM_OTEL[options.kind],
      options.startTime === undefined ? undefined : timeInputToMicros(options.startTime),
    );
    // Set after the start, so it travels only with the end event.
    if (this.scope) span.setAttribute('otel.scope.name', this.scope);
    return span;
  }

  startActiveSpan<F extends (span: OtelSpan) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: OtelSpan) => unknown>(
    name: string,
    options: SpanOptions,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: OtelSpan) => unknown>(
    name: string,
    options: SpanOptions,
    context: Context,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: OtelSpan) => unknown>(
    name: string,
    a?: SpanOptions | F,
    b?: Context | F,
    c?: F,
  ): ReturnType<F> {
    let options: SpanOptions = {};
    let ctx: Context = contextManager.active();
    let fn: F;
    if (typeof a === 'function') fn = a;
    else if (typeof b === 'function') {
      options = a ?? {};
      fn = b;
    } else {
      options = a ?? {};
      ctx = b ?? ctx;
      fn = c as F;
    }
    const span = this.startSpan(name, options, ctx);
    return contextManager.with(
      trace.setSpan(ctx, span),
      fn as (span: OtelSpan) => ReturnType<F>,
      undefined,
      span,
    );
  }
}

// -----------------------------------------------------------------------------
// The process-wide pipeline

const GLOBAL_KEY = Symbol.for('@telemetry/core/global');
type GlobalSlot = { [GLOBAL_KEY]?: { telemetry: Telemetry | undefined; otelInstalled: boolean } };
const slotHolder = globalThis as GlobalSlot;
if (!slotHolder[GLOBAL_KEY])
  slotHolder[GLOBAL_KEY] = { telemetry: undefined, otelInstalled: false };
const globalSlot = slotHolder[GLOBAL_KEY];

/** The pipeline set by `register()`, if any. */
export function getGlobalTelemetry(): Telemetry | undefined {
  return globalSlot.telemetry;
}

function setGlobalTelemetry(telemetry: Telemetry | undefined): void {
  globalSlot.telemetry = telemetry;
}

/** A TracerProvider that always routes to the currently registered pipeline. */
const globalTracerProvider: TracerProvider = {
  getTracer(name: string): Tracer {
    return {
      startSpan(spanName, options, context) {
        const t = globalSlot.telemetry;
        if (t) return t.tracerProvider.getTracer(name).startSpan(spanName, options, context);
        return trace.wrapSpanContext(
          trace.getSpanContext(context ?? contextManager.active()) ?? INVALID,
        );
      },
      startActiveSpan(spanName: string, ...rest: unknown[]) {
        const t = globalSlot.telemetry;
        const tracer = t ? t.tracerProvider.getTracer(name) : undefined;
        if (tracer)
          return (tracer.startActiveSpan as (...a: unknown[]) => unknown)(spanName, ...rest);
        const fn = rest[rest.length - 1] as (span: OtelSpan) => unknown;
        return fn(trace.wrapSpanContext(trace.getSpanContext(contextManager.active()) ?? INVALID));
      },
    } as Tracer;
  },
};

const INVALID = { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 };

function installOtelGlobals(): void {
  if (globalSlot.otelInstalled) return;
  globalSlot.otelInstalled = true;
  const okContext = otelContext.setGlobalContextManager(contextManager);
  const okTrace = trace.setGlobalTracerProvider(globalTracerProvider);
  const okPropagation = otelPropagation.setGlobalPropagator(new W3CTraceContextPropagator());
  if (!okContext || !okTrace || !okPropagation) {
    const taken = [
      !okContext && 'context manager',
      !okTrace && 'tracer provider',
      !okPropagation && 'propagator',
    ]
      .filter(Boolean)
      .join(', ');
    console.warn(
      `[telemetry] @opentelemetry/api already has a global ${taken}; spans created through @opentelemetry/api may not reach the toolkit. Call register() before other OpenTelemetry SDKs start.`,
    );
  }
}

// -----------------------------------------------------------------------------

/** Creates a telemetry pipeline. Call `register()` on it to make it process-wide. */
export function createTelemetry(options: TelemetryOptions = {}): Telemetry {
  return new Telemetry(options);
}

/** Resolves `false` if `work` takes longer than `timeoutMs` (or itself resolves `false`). */
async function withDeadline(work: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref?.();
  });
  try {
    return await Promise.race([work.then((result) => result !== false), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
