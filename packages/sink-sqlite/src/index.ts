export type { JsonlDatasetWriterOptions } from './jsonl-dataset-writer.ts';
export { createJsonlDatasetWriter } from './jsonl-dataset-writer.ts';
export {
  MAX_REGEX_EXPANDED_SIZE,
  MAX_REGEX_LENGTH,
  MAX_REGEX_PROGRAM_SIZE,
} from './label-matchers.ts';
export {
  createMigrator,
  MIGRATION_LOCK_TABLE,
  MIGRATION_TABLE,
  migrationProvider,
  migrations,
} from './migrations.ts';
export type { SqliteSinkOptions } from './options.ts';
export { SqliteSinkOptionsSchema } from './options.ts';
export { TRACE_ORDER_FIELDS } from './queries.ts';
export type { RetentionResult } from './retention.ts';
export { ROOT_MARKERS } from './roots.ts';
export type {
  Database,
  MetricSeriesTable,
  SpanAttributesTable,
  SpanEventsTable,
  SpansTable,
  TracesTable,
} from './schema.ts';
export type { SqliteSink } from './sqlite-sink.ts';
export {
  createSqliteSink,
  SQLITE_SINK_DEFAULTS,
  SqliteSinkClosedError,
  sqliteSink,
} from './sqlite-sink.ts';
export { MAX_UNIX_SECONDS, QUERY_LIMITS } from './validation.ts';
