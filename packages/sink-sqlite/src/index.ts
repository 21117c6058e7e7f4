export { createSqliteSink, SqliteSinkClosedError } from './sqlite-sink.ts';
export type { SqliteSink } from './sqlite-sink.ts';
export { SQLITE_SINK_DEFAULTS } from './options.ts';
export type { SqliteSinkOptions } from './options.ts';
export { createJsonlDatasetWriter } from './jsonl-dataset-writer.ts';
export type { JsonlDatasetWriterOptions } from './jsonl-dataset-writer.ts';
export { createMigrator, migrations, migrationProvider, MIGRATION_TABLE, MIGRATION_LOCK_TABLE } from './migrations.ts';
export { TRACE_ORDER_FIELDS } from './queries.ts';
export type { RetentionResult } from './retention.ts';
export type {
  Database,
  MetricSeriesTable,
  SpanAttributesTable,
  SpanEventsTable,
  SpansTable,
  TracesTable,
} from './schema.ts';
