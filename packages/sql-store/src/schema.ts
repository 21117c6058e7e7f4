/**
 * The tables, as Kysely sees them, in both engines. The reference's tables and
 * columns (`traces`, `spans`, `span_events`) keep their names so a Llama Stack
 * user finds their data where they expect it; what the queries need is added:
 * integer rowids, an attribute index table, metric series, expiry times.
 *
 * Every time is a 64-bit integer of epoch microseconds: exact in a double
 * until the year 2255 (nanoseconds would not be; see TOOLCHAIN.md), sortable,
 * and cheap to bucket with integer arithmetic in any time zone.
 *
 * The engines differ in one table only: how `span_attributes` holds a value
 * (see `SqliteSpanAttributesTable` and `PostgresSpanAttributesTable`), and
 * PostgreSQL adds the writing transaction to each span (see dialects/).
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

/**
 * One row per attribute of a span, so a filter on any key is an index lookup.
 * The columns both engines have; the value's column is the dialect's
 * (`StoreDialect.attributeValue`).
 */
export interface SpanAttributesTable {
  span_rowid: number;
  key: string;
  /** See `ValueType` in attribute-values.ts: values compare only with values of their own type. */
  value_type: number;
}

/** SQLite: one `value` column without a declared type, so each value keeps its storage class. */
export interface SqliteSpanAttributesTable extends SpanAttributesTable {
  value: string | number | null;
}

/** PostgreSQL: a column per kind of value (strings and JSON as text, numbers and booleans as float8). */
export interface PostgresSpanAttributesTable extends SpanAttributesTable {
  value_text: string | null;
  value_num: number | null;
}

/** PostgreSQL: each span also records the transaction that wrote it (see dialects/postgres.ts). */
export interface PostgresSpansTable extends SpansTable {
  /** `pg_current_xact_id()` of the writing transaction: the order `tailSpans` follows. */
  write_xid: Generated<number>;
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

/** The tables as the shared queries see them (the columns both engines have). */
export interface Database {
  traces: TracesTable;
  spans: SpansTable;
  span_attributes: SpanAttributesTable;
  span_events: SpanEventsTable;
  metric_series: MetricSeriesTable;
}

/** The SQLite store's tables, every column. */
export interface SqliteDatabase extends Omit<Database, 'span_attributes'> {
  span_attributes: SqliteSpanAttributesTable;
}

/** The PostgreSQL store's tables, every column. */
export interface PostgresDatabase extends Omit<Database, 'span_attributes' | 'spans'> {
  spans: PostgresSpansTable;
  span_attributes: PostgresSpanAttributesTable;
}
