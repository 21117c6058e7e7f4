import type { Context, TracerProvider } from '@opentelemetry/api';
import { withDeadline } from './async.ts';
import { contextManager } from './context.ts';
import {
  type AutoTraceOptions,
  autoTraceWith,
  type MethodDecoratorOfBothKinds,
  traceDecoratorWith,
} from './decorators.ts';
import { Dispatcher, type TelemetryStats } from './dispatcher.ts';
import { issuesFromZod, TelemetryValidationError } from './errors.ts';
import { registeredPipeline, setRegisteredPipeline } from './global.ts';
import { createLoggerFor, type Logger, type LoggerOptions } from './logger.ts';
import { type TelemetryOptions, TelemetryOptionsSchema } from './options.ts';
import { installOtelGlobals, TelemetryTracer } from './otel-tracer.ts';
import { QueryFacade } from './query-facade.ts';
import {
  type GetSpanTreeParams,
  type LogEventParams,
  LogEventParamsSchema,
  type MetricSeries,
  type QueryMetricsParams,
  type QuerySpansParams,
  type QueryTracesParams,
  type SaveSpansToDatasetParams,
  type Span,
  type SpanStatus,
  type SpanWithStatus,
  type Trace,
} from './schemas.ts';
import type { DatasetWriter, TelemetrySink, TraceStore } from './sink.ts';
import type { TelemetrySpan } from './span.ts';
import {
  type AnyFunction,
  SpanFactory,
  type SpanOptionsLite,
  type TracedOptions,
  type TraceOptions,
} from './span-factory.ts';
import type { SpanHandle } from './span-runner.ts';
import {
  currentSpan,
  endTrace,
  getTraceparent,
  injectTraceContext,
  setAttribute,
  startTraceIn,
  tracedWith,
  withSpanIn,
  withTraceIn,
} from './tracing.ts';

/**
 * One telemetry pipeline: the event API, the tracing helpers bound to it, and
 * the query API of its first queryable sink.
 */
export class Telemetry implements TraceStore {
  readonly sinks: readonly TelemetrySink[];
  /** An `@opentelemetry/api` TracerProvider whose spans are this pipeline's spans. */
  readonly tracerProvider: TracerProvider;
  /** @internal Makes this pipeline's spans (the helpers, decorators and tracer build on it). */
  readonly spanFactory: SpanFactory;
  private readonly dispatcher: Dispatcher;
  private readonly queries: QueryFacade;
  private readonly onInvalidEvent: 'throw' | 'drop';
  private readonly shutdownTimeoutMs: number;
  private readonly flushTimeoutMs: number;
  private shutdownPromise: Promise<void> | undefined;

  constructor(options: TelemetryOptions = {}) {
    const parsed = TelemetryOptionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new TelemetryValidationError('telemetry options', issuesFromZod(parsed.error));
    }
    const o = parsed.data;
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
    this.spanFactory = new SpanFactory(this.dispatcher, o.ttlSeconds);
    this.queries = new QueryFacade(this.sinks);
    this.onInvalidEvent = o.onInvalidEvent;
    this.shutdownTimeoutMs = o.shutdownTimeoutMs;
    this.flushTimeoutMs = o.flushTimeoutMs;
    const factory = this.spanFactory;
    this.tracerProvider = { getTracer: (name) => new TelemetryTracer(factory, name) };
  }

  // ---------------------------------------------------------------------------
  // Events and lifecycle

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
   * Resolves `true` once every event accepted before the call has reached
   * every sink (delivered, or dropped and counted; events of spans still open
   * stay held for span sinks) and each sink's `forceFlush` ran. Resolves
   * `false` if that took longer than `timeoutMs` (the pipeline's
   * `flushTimeoutMs`, 30 s, unless given) or a sink could not flush. The
   * deadline keeps the process alive while it is awaited.
   */
  async flush(options: { timeoutMs?: number } = {}): Promise<boolean> {
    const work = (async () => {
      await this.dispatcher.settle();
      return this.dispatcher.flushSinks();
    })();
    return withDeadline(work, options.timeoutMs ?? this.flushTimeoutMs);
  }

  /**
   * Stops taking events, delivers what was accepted, and shuts each sink down
   * once its data is out, all within one deadline (`timeoutMs`, else the
   * pipeline's `shutdownTimeoutMs`). What is not delivered by the deadline is
   * counted as dropped (`shutdown_timeout`), spans never ended as
   * `unfinished_at_shutdown`; if anything was lost during the pipeline's life,
   * one summary warning says what. Idempotent. Events logged afterwards are
   * counted as dropped (`shutdown`).
   */
  shutdown(options: { timeoutMs?: number } = {}): Promise<void> {
    this.shutdownPromise ??= (async () => {
      const timeoutMs = options.timeoutMs ?? this.shutdownTimeoutMs;
      this.dispatcher.close();
      const finished = await withDeadline(this.dispatcher.shutdownSinks(), timeoutMs);
      if (!finished) this.dispatcher.abandon();
      this.dispatcher.reportLosses();
      if (registeredPipeline() === this) setRegisteredPipeline(undefined);
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

  /**
   * Makes this pipeline the process-wide one: module-level helpers use it, and
   * `@opentelemetry/api` spans, context and propagation go through it.
   * Idempotent; registering another pipeline replaces this one (this one keeps
   * running; see `registerReplacing` to shut it down as well).
   */
  register(): this {
    setRegisteredPipeline(this);
    installOtelGlobals();
    return this;
  }

  /** Undoes `register()` if this pipeline is the registered one. */
  unregister(): void {
    if (registeredPipeline() === this) setRegisteredPipeline(undefined);
  }

  // ---------------------------------------------------------------------------
  // Tracing helpers (implemented once in tracing.ts, bound to this pipeline)

  /** The span active in the current async context, if it is one of this toolkit's. */
  currentSpan(): TelemetrySpan | undefined {
    return currentSpan();
  }

  /** Sets an attribute on the current span; a no-op outside one. */
  setAttribute(key: string, value: unknown): void {
    setAttribute(key, value);
  }

  /** The W3C `traceparent` of the current span, for outgoing calls. */
  getTraceparent(): string | undefined {
    return getTraceparent();
  }

  /** Writes `traceparent` (and `tracestate`) of the current span into `carrier` (e.g. HTTP headers). */
  injectTraceContext<T extends Record<string, unknown>>(carrier: T): T {
    return injectTraceContext(carrier);
  }

  /**
   * Starts a span that is not made current (OpenTelemetry's `startSpan`): a
   * child of the current span, or the root of a new trace when there is none.
   */
  startSpan(name: string, options: SpanOptionsLite & { parent?: Context } = {}): TelemetrySpan {
    return this.spanFactory.createSpan(
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
    return startTraceIn(this.spanFactory, name, options) as TelemetrySpan;
  }

  /** Ends the trace started by `startTrace` in this async context. */
  endTrace(status: SpanStatus = 'ok', error?: unknown): void {
    endTrace(status, error);
  }

  /** Runs `fn` as the root span of a new trace (or of a continued one, with `traceparent`). */
  withTrace<T>(name: string, fn: (span: SpanHandle) => T, options: TraceOptions = {}): T {
    return withTraceIn(this.spanFactory, name, fn, options);
  }

  /**
   * Runs `fn` in a child span of the current one: sync, async, or an async
   * generator (the span then ends with the stream and records `chunk_count`).
   * A throw ends the span with status error and is re-thrown. Outside a trace
   * it just runs `fn`.
   */
  withSpan<T>(name: string, fn: (span: SpanHandle) => T, options: SpanOptionsLite = {}): T {
    return withSpanIn(this.spanFactory, name, fn, options);
  }

  /** Wraps a function so that every call runs in its own span. */
  traced<F extends AnyFunction>(fn: F, options: TracedOptions = {}): F {
    const factory = this.spanFactory;
    return tracedWith(() => factory, fn, options);
  }

  /**
   * A method decorator (standard TC39 decorators, or TypeScript's
   * `experimentalDecorators`): each call runs in a span named `Class.method`
   * (or `options.name`).
   */
  trace(options: TracedOptions = {}): MethodDecoratorOfBothKinds {
    const factory = this.spanFactory;
    return traceDecoratorWith(options, () => factory);
  }

  /**
   * Traces every public method of a class (its prototype chain) or of an
   * object, like Llama Stack's `trace_protocol`: spans named `Class.method`
   * carrying the arguments and the result as JSON text. Methods whose name
   * starts with `_` are left alone. Returns the same class or object.
   */
  autoTrace<T extends object>(target: T, options: AutoTraceOptions = {}): T {
    const factory = this.spanFactory;
    return autoTraceWith(target, options, () => factory);
  }

  /** A logger whose calls become logs of the current span. */
  createLogger(options: LoggerOptions | string = {}): Logger {
    return createLoggerFor(currentSpan, options);
  }

  // ---------------------------------------------------------------------------
  // Query API (the first sink that implements TraceStore answers)

  /** The first sink that answers queries, if any. */
  get store(): TraceStore | undefined {
    return this.queries.store;
  }

  queryTraces(params?: QueryTracesParams): Promise<Trace[]> {
    return this.queries.queryTraces(params);
  }

  getTrace(traceId: string): Promise<Trace> {
    return this.queries.getTrace(traceId);
  }

  getSpan(traceId: string, spanId: string): Promise<Span> {
    return this.queries.getSpan(traceId, spanId);
  }

  getSpanTree(spanId: string, params?: GetSpanTreeParams): Promise<Record<string, SpanWithStatus>> {
    return this.queries.getSpanTree(spanId, params);
  }

  querySpans(params: QuerySpansParams): Promise<Span[]> {
    return this.queries.querySpans(params);
  }

  saveSpansToDataset(params: SaveSpansToDatasetParams, writer?: DatasetWriter): Promise<void> {
    return this.queries.saveSpansToDataset(params, writer);
  }

  queryMetrics(metricName: string, params: QueryMetricsParams): Promise<MetricSeries[]> {
    return this.queries.queryMetrics(metricName, params);
  }
}

/** Creates a telemetry pipeline. Call `register()` on it to make it process-wide. */
export function createTelemetry(options: TelemetryOptions = {}): Telemetry {
  return new Telemetry(options);
}

/** The pipeline set by `register()`, if any. */
export function getGlobalTelemetry(): Telemetry | undefined {
  // Only Telemetry.register() fills the slot.
  return registeredPipeline() as Telemetry | undefined;
}
