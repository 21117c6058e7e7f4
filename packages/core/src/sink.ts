import { TELEMETRY_ERROR_CODES, TelemetryError } from './errors.ts';
import type {
  Attributes,
  GetSpanTreeParams,
  MetricEvent,
  MetricSeries,
  QueryMetricsParams,
  QuerySpansParams,
  QueryTracesParams,
  SaveSpansToDatasetParams,
  Span,
  SpanKind,
  SpanStatus,
  SpanWithStatus,
  TelemetryEvent,
  Trace,
  UnstructuredLogEvent,
} from './schemas.ts';
import type { EpochMicros } from './time.ts';

/**
 * A span after it ended, with every log and metric logged inside it. Spans of
 * the tracing helpers and of `@opentelemetry/api` build this themselves when
 * they end; spans written as raw events through `logEvent` are assembled once
 * by the dispatcher.
 */
export interface CompletedSpan {
  readonly trace_id: string;
  readonly span_id: string;
  readonly parent_span_id: string | null;
  readonly name: string;
  readonly kind: SpanKind;
  readonly start_time: EpochMicros;
  readonly end_time: EpochMicros;
  readonly status: SpanStatus;
  readonly status_message?: string | undefined;
  /** Start attributes overlaid with end attributes. Keys starting `__` are toolkit markers. */
  readonly attributes: Readonly<Attributes>;
  /** Logs and metrics of this span, in the order they were logged. */
  readonly events: readonly (UnstructuredLogEvent | MetricEvent)[];
  /**
   * How long a store keeps this span: the end event's `ttl_seconds`, or
   * `undefined` when nobody set one and the store applies its own default.
   */
  readonly ttl_seconds: number | undefined;
}

/** How many accepted events a completed span stands for: start, end, and its logs and metrics. */
export function eventCountOf(span: CompletedSpan): number {
  return 2 + span.events.length;
}

/**
 * The sink's line to the pipeline. A sink made with `defineSink` gets it at
 * creation and can use it at once; reports made before the sink joins a
 * pipeline (or by a sink used on its own) are printed as process warnings.
 */
export interface SinkContext {
  /** The sink's name, as in `stats().sinks`. */
  readonly name: string;
  /**
   * Aborted when the pipeline gives up on this sink: `shutdown()` reached its
   * deadline. Pass it to requests in flight (fetch, timers) so that nothing
   * outlives the pipeline.
   */
  readonly signal: AbortSignal;
  /**
   * Reports events the sink was handed but could not deliver (a malformed
   * span, a full device), counted in events: during a write they come out of
   * the batches being written, later out of what was delivered, and show in
   * `stats().sinks[name].dropped[reason]` and in the drop warnings.
   */
  recordDropped(count: number, reason: string): void;
  /**
   * Reports an error met off the write path (a background job, a closed
   * stream). It is counted (`lastError`) and printed with the sink's name, at
   * most once per error code per `warnIntervalMs`. Never throws.
   */
  reportError(error: unknown): void;
}

/**
 * How the dispatcher hands a sink its data. Every field is optional; the
 * defaults suit a sink that writes one batch at a time.
 */
export interface SinkDelivery {
  /**
   * Writes in flight at once. More than one suits a sink whose writes wait on
   * the network (an exporter posting batches); writes may then finish out of
   * order.
   * @default 1
   */
  readonly concurrency?: number;
  /**
   * Items per write at most (events for `writeEvents`, spans for
   * `writeSpans`). When the sink is busy, waiting data is joined into
   * batches of up to this size.
   * @default the pipeline's `batchSize`
   */
  readonly maxBatchSize?: number;
  /** Backoff between attempts of a write that failed with a retryable error. */
  readonly retry?: {
    /** @default 250 */
    readonly initialDelayMs?: number;
    /** @default 5_000 */
    readonly maxDelayMs?: number;
    /**
     * Attempts of one batch at most, then its events are dropped (`retries_exhausted`).
     * @default Infinity (retry until shutdown's deadline; the bounded backlog drops what does not fit meanwhile)
     */
    readonly maxAttempts?: number;
  };
}

/**
 * A destination for telemetry. Implement `writeEvents`, `writeSpans`, or both.
 *
 * Contract:
 * - A write resolves (or returns) once its data is delivered, and rejects (or
 *   throws) when it failed. The dispatcher keeps the sink's backlog, bounded
 *   by `sinkCapacity`, while writes are pending: that is the backpressure.
 * - Reject with an error whose `retryable` is `true` (`RetryableSinkError`)
 *   to have the same batch written again after an exponential backoff; any
 *   other failure drops the batch (`sink_error`). Neither reaches the application.
 * - At most `delivery.concurrency` writes are in flight at once (one by
 *   default); batches are read-only and shared with other sinks.
 */
export interface TelemetrySink {
  /** Names the sink in stats and error messages; unique within one pipeline. */
  readonly name: string;
  /** Every accepted event, in the order accepted. */
  writeEvents?(events: readonly TelemetryEvent[]): void | Promise<void>;
  /** Each span once it has ended, with its logs and metrics. */
  writeSpans?(spans: readonly CompletedSpan[]): void | Promise<void>;
  /** How the dispatcher should hand over data (concurrency, batch size, retry). */
  readonly delivery?: SinkDelivery;
  /**
   * Called in order, between writes, where the dispatcher had to drop
   * `count` events meant for this sink (its backlog was full): a display can
   * say so where it happened. Must not throw.
   */
  onGap?(count: number, reason: string): void;
  /** Called once, when the sink joins a pipeline, before the first write. */
  attach?(context: SinkContext): void;
  /** Push out anything the sink buffers itself; resolve `false` if some of it is still held. */
  // biome-ignore lint/suspicious/noConfusingVoidType: sinks that return Promise<void> must fit.
  forceFlush?(): Promise<void | boolean>;
  /**
   * Release resources; called once every write has settled (or at shutdown's
   * deadline). No writes follow. `Telemetry.shutdown()` bounds it by its deadline.
   */
  shutdown?(): Promise<void>;
}

/**
 * A write failed for a reason that may pass (a collector answering 503, a
 * connection refused, a locked database): the dispatcher writes the same
 * batch again after an exponential backoff, within the sink's bounded backlog.
 */
export class RetryableSinkError extends TelemetryError {
  /** Read by the dispatcher (any error with `retryable: true` is retried). */
  readonly retryable = true;
  /** Wait at least this long before the next attempt (an HTTP `Retry-After`). */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: { cause?: unknown; retryAfterMs?: number } = {}) {
    super(TELEMETRY_ERROR_CODES.sinkRetryable, message, { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** True for an error that asks to be retried (`retryable: true`, as `RetryableSinkError` has). */
export function isRetryable(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { retryable?: unknown }).retryable === true
  );
}

/** Appends rows to a dataset (Llama Stack's `datasetio.append_rows`). */
export interface DatasetWriter {
  appendRows(datasetId: string, rows: readonly Record<string, unknown>[]): Promise<void>;
}

/**
 * The query API a queryable sink implements, with the shapes of Llama Stack's
 * TypeScript client (`client.telemetry.*`): camelCase methods, snake_case bodies.
 */
export interface TraceStore {
  queryTraces(params?: QueryTracesParams): Promise<Trace[]>;
  getTrace(traceId: string): Promise<Trace>;
  getSpan(traceId: string, spanId: string): Promise<Span>;
  getSpanTree(spanId: string, params?: GetSpanTreeParams): Promise<Record<string, SpanWithStatus>>;
  querySpans(params: QuerySpansParams): Promise<Span[]>;
  saveSpansToDataset(params: SaveSpansToDatasetParams, writer?: DatasetWriter): Promise<void>;
  queryMetrics(metricName: string, params: QueryMetricsParams): Promise<MetricSeries[]>;
}

/** True when a sink also answers queries. */
export function isTraceStore(value: unknown): value is TraceStore {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.queryTraces === 'function' &&
    typeof v.getTrace === 'function' &&
    typeof v.getSpan === 'function' &&
    typeof v.getSpanTree === 'function' &&
    typeof v.querySpans === 'function' &&
    typeof v.queryMetrics === 'function'
  );
}
