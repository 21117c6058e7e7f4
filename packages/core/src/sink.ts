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
 * A span after it ended, assembled once by the dispatcher from its start and
 * end events and every log and metric logged inside it.
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

/** What the dispatcher hands a sink when it attaches. */
export interface SinkContext {
  /**
   * Reports events the sink accepted but then had to drop (a full buffer, an
   * endpoint that refused them), counted in events; they move from delivered
   * to dropped under `reason` in `stats()`.
   */
  recordDropped(count: number, reason: string): void;
  /** Reports an error the sink met off the write path; it is counted and printed with the sink's name. */
  reportError(error: unknown): void;
}

/**
 * A destination for telemetry. Implement `writeEvents`, `writeSpans`, or both.
 *
 * Contract: writes are called one at a time per sink (never concurrently), with
 * read-only batches that the sink must not mutate. A write may be sync or
 * async; a throw or rejection is counted against this sink only and never
 * reaches the application.
 */
export interface TelemetrySink {
  /** Names the sink in stats and error messages; unique within one dispatcher. */
  readonly name: string;
  /** Every accepted event, in the order accepted. */
  writeEvents?(events: readonly TelemetryEvent[]): void | Promise<void>;
  /** Each span once it has ended, with its logs and metrics. */
  writeSpans?(spans: readonly CompletedSpan[]): void | Promise<void>;
  /** Called once before the first write. */
  attach?(context: SinkContext): void;
  /** Push out anything the sink buffers itself; resolve `false` if some of it is still held. */
  // biome-ignore lint/suspicious/noConfusingVoidType: sinks that return Promise<void> must fit.
  forceFlush?(): Promise<void | boolean>;
  /**
   * Send what the sink still holds (as forceFlush would), then release its
   * resources; no writes follow. Telemetry.shutdown() bounds it by its deadline.
   */
  shutdown?(): Promise<void>;
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
