// `@telemetry/core/sink`: everything a sink author needs, and nothing an
// application needs. See "Writing a sink" in the README.

export { z } from 'zod';
export type { DeadlineOptions } from './async.ts';
export { backoffDelay, isThenable, withDeadline } from './async.ts';
export type {
  LlamaStackConfig,
  SinkDefinition,
  SinkDefinitionInput,
  SinkImplementation,
  SinkInputOf,
  SinkOptionsOf,
} from './define-sink.ts';
export { defineSink, SinkNameSchema } from './define-sink.ts';
export type { Env } from './env.ts';
export type { ValidationIssue } from './errors.ts';
export {
  formatPath,
  issuesFromZod,
  TELEMETRY_ERROR_CODES,
  TelemetryConfigError,
  TelemetryError,
  TelemetryNotFoundError,
  TelemetryValidationError,
} from './errors.ts';
export { setOwn } from './own-property.ts';
export type {
  Attributes,
  AttributeValue,
  LogSeverity,
  MetricEvent,
  SpanKind,
  SpanStatus,
  StructuredLogEvent,
  TelemetryEvent,
  UnstructuredLogEvent,
} from './schemas.ts';
export { DEFAULT_TTL_SECONDS } from './schemas.ts';
// The search extensions a store may implement (see "Writing a searchable store").
export type {
  ParsedTraceSearchParams,
  PruneParams,
  PruneResult,
  SpanDetail,
  SpanEvents,
  SpanEventsParams,
  SpanLog,
  SpanMetricEvent,
  StoreStats,
  SuggestField,
  Suggestions,
  SuggestParams,
  TailSpansParams,
  TailSpansResult,
  TraceDetail,
  TraceDetailParams,
  TraceSearchParams,
  TraceSearchResult,
  TraceSummary,
} from './search-schemas.ts';
export {
  PruneParamsSchema,
  parseSearchParams,
  SEARCH_LIMITS,
  SpanEventsParamsSchema,
  SuggestParamsSchema,
  TailSpansParamsSchema,
  TraceDetailParamsSchema,
  TraceSearchParamsSchema,
} from './search-schemas.ts';
export type { TraceSearchStore, TraceStoreAdmin } from './search-store.ts';
export { isTraceSearchStore, isTraceStoreAdmin } from './search-store.ts';
export { SEVERITY_RANK, severityAtLeast, toSeverity } from './severity.ts';

export type {
  CompletedSpan,
  DatasetWriter,
  SinkContext,
  SinkDelivery,
  TelemetrySink,
  TraceStore,
} from './sink.ts';
export { eventCountOf, isRetryable, isTraceStore, RetryableSinkError } from './sink.ts';
export type { EpochMicros } from './time.ts';
export {
  isEpochMicrosInRange,
  MAX_EPOCH_MICROS,
  MIN_EPOCH_MICROS,
  parseIsoMicros,
  toIsoMicros,
} from './time.ts';
