export type { PruneDeps } from './admin.ts';
export { prune } from './admin.ts';
export type { EncodedValue } from './attribute-values.ts';
export { encodeAttributeValue, ValueType } from './attribute-values.ts';
export type {
  PlannerSettings,
  QueryRunner,
  StoreDialect,
  WriteOrder,
  WritePosition,
} from './dialect.ts';
export { comparePositions } from './dialect.ts';
export { postgresDialect } from './dialects/postgres.ts';
export { sqliteDialect } from './dialects/sqlite.ts';
export type { JsonlDatasetWriterOptions } from './jsonl-dataset-writer.ts';
export { createJsonlDatasetWriter } from './jsonl-dataset-writer.ts';
export {
  MAX_REGEX_EXPANDED_SIZE,
  MAX_REGEX_LENGTH,
  MAX_REGEX_PROGRAM_SIZE,
} from './label-matchers.ts';
export { createStoreMigrator, storeMigrationProvider, storeMigrations } from './migrations.ts';
export { TRACE_ORDER_FIELDS } from './queries.ts';
export type { QueryContext } from './query-context.ts';
export { compilable } from './query-context.ts';
export type { RetentionResult, RetentionRunner } from './retention.ts';
export { RETENTION_CHUNK, Retention } from './retention.ts';
export { ROOT_MARKERS } from './roots.ts';
export type {
  Database,
  MetricSeriesTable,
  PostgresDatabase,
  PostgresSpanAttributesTable,
  PostgresSpansTable,
  SpanAttributesTable,
  SpanEventsTable,
  SpansTable,
  SqliteDatabase,
  SqliteSpanAttributesTable,
  TracesTable,
} from './schema.ts';
export type {
  ChunkResult,
  PreparedEvent,
  PreparedSpan,
  SpanRowOptions,
  TraceAggregate,
  TraceRowValues,
} from './span-rows.ts';
export {
  canonicalLabels,
  mergeTraceRow,
  prepareSpan,
  TRACE_ROW_COLUMNS,
  TraceAggregates,
} from './span-rows.ts';
export type { PruneRequest } from './store.ts';
export { SqlTraceStore } from './store.ts';
export { serviceNameFrom, storeSinkOptionFields, wholeNumberOption } from './store-options.ts';
export type { StoreSink } from './store-sink.ts';
export { StoreSinkClosedError } from './store-sink.ts';
export { MAX_UNIX_SECONDS, QUERY_LIMITS } from './validation.ts';
