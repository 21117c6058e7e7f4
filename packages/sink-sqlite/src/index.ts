export type {
  JsonlDatasetWriterOptions,
  MetricSeriesTable,
  RetentionResult,
  SpanEventsTable,
  SpansTable,
  SqliteDatabase as Database,
  SqliteSpanAttributesTable as SpanAttributesTable,
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
export type { SqliteSinkOptions } from './options.ts';
export { SqliteSinkOptionsSchema } from './options.ts';
export type { SqliteSink } from './sqlite-sink.ts';
export {
  createSqliteSink,
  SQLITE_SINK_DEFAULTS,
  SqliteSinkClosedError,
  sqliteSink,
} from './sqlite-sink.ts';
