export type {
  JsonlDatasetWriterOptions,
  MetricSeriesTable,
  PostgresDatabase as Database,
  PostgresSpanAttributesTable as SpanAttributesTable,
  PostgresSpansTable as SpansTable,
  RetentionResult,
  SpanEventsTable,
  TracesTable,
} from '@telemetry/sql-store';
export {
  createJsonlDatasetWriter,
  MAX_REGEX_EXPANDED_SIZE,
  MAX_REGEX_LENGTH,
  MAX_REGEX_PROGRAM_SIZE,
  MAX_UNIX_SECONDS,
  QUERY_LIMITS,
  ROOT_MARKERS,
  TRACE_ORDER_FIELDS,
} from '@telemetry/sql-store';
export {
  createMigrator,
  MIGRATION_LOCK_TABLE,
  MIGRATION_TABLE,
  migrationProvider,
  migrations,
} from './migrations.ts';
export type { PostgresSinkOptions } from './options.ts';
export { PostgresSinkOptionsSchema } from './options.ts';
export type { PostgresSink } from './postgres-sink.ts';
export {
  createPostgresSink,
  POSTGRES_SINK_DEFAULTS,
  PostgresSinkClosedError,
  postgresSink,
} from './postgres-sink.ts';
export { MAX_INDEXED_BYTES } from './span-writer.ts';
