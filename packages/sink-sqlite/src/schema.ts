/**
 * The tables, as Kysely sees them. The reference's tables and columns
 * (`traces`, `spans`, `span_events`) keep their names so a Llama Stack user
 * finds their data where they expect it; what the queries need is added:
 * integer rowids, an attribute index table, metric series, expiry times.
 *
 * Every time is an INTEGER of epoch microseconds: exact in a double until the
 * year 2255 (nanoseconds would not be; see TOOLCHAIN.md), sortable, and cheap to
 * bucket with integer arithmetic in any time zone.
 */
import type { Generated } from 'kysely';

export interface TracesTable {
  trace_id: string;
  /**
   * The trace's service: its local root span's `service.name` attribute (set
   * by OTLP ingest from the resource), else the writer's `serviceName`.
   */
  service_name: string | null;
  /** The local root span (see roots.ts: a root marker attribute, or no parent); null until it has ended. */
  root_span_id: string | null;
  /** The local root span's name (what trace search filters by name). */
  root_name: string | null;
  /** Min over the trace's stored spans. */
  start_time: number;
  /** Max over the trace's stored spans. */
  end_time: number;
  /** Spans stored for the trace. */
  span_count: Generated<number>;
  /** Of those, spans with status `error`. */
  error_count: Generated<number>;
}

export interface SpansTable {
  /** Integer rowid: cheap inserts, and the key the attribute and event rows point at. */
  id: Generated<number>;
  span_id: string;
  trace_id: string;
  parent_span_id: string | null;
  name: string;
  start_time: number;
  end_time: number;
  /** JSON object of every attribute, as logged. */
  attributes: string;
  /** `ok` or `error`. */
  status: string;
  /** OpenTelemetry span kind, lowercase (`internal`, `server`, ...). */
  kind: string;
  status_message: string | null;
  /** When retention deletes this span (and its attributes and events). */
  expires_at: number;
}

/** One row per attribute of a span, so a filter on any key is an index lookup. */
export interface SpanAttributesTable {
  span_rowid: number;
  key: string;
  /** See `ValueType` in attributes.ts: values compare only with values of their own type. */
  value_type: number;
  value: string | number | null;
}

export interface SpanEventsTable {
  id: Generated<number>;
  span_id: string;
  span_rowid: number;
  /** `unstructured_log` for logs, `metric.<name>` for metrics, as in the reference. */
  name: string;
  timestamp: number;
  /** Logs: `{message, severity, ...attributes}`; metrics: `{value, unit, ...labels}`. */
  attributes: string;
  /** Metric events only: the series (name, unit, label set) and the value. */
  series_id: number | null;
  value: number | null;
}

/** One row per distinct metric name, unit and label set: one `MetricSeries` in answers. */
export interface MetricSeriesTable {
  id: Generated<number>;
  metric: string;
  unit: string;
  /** Canonical JSON `[[name, value], ...]` sorted by name; values as strings. */
  labels: string;
}

export interface Database {
  traces: TracesTable;
  spans: SpansTable;
  span_attributes: SpanAttributesTable;
  span_events: SpanEventsTable;
  metric_series: MetricSeriesTable;
}
