// The application's entry point: pipelines, tracing helpers, the event model
// and its validation schemas, errors. What a sink author needs is in
// `@telemetry/core/sink`; what a sink's tests need in `@telemetry/core/testing`.

export type { AutoTraceOptions, MethodDecoratorOfBothKinds } from './decorators.ts';
export { autoTrace, trace } from './decorators.ts';
export type { SinkStats, TelemetryStats } from './dispatcher.ts';
export type { ValidationIssue } from './errors.ts';
export {
  TELEMETRY_ERROR_CODES,
  TelemetryConfigError,
  TelemetryError,
  TelemetryNotFoundError,
  TelemetryStoreRequiredError,
  TelemetryValidationError,
} from './errors.ts';
export { generateSpanId, generateTraceId, isValidSpanId, isValidTraceId } from './ids.ts';
export type { Logger, LoggerOptions } from './logger.ts';
export type { MemorySink, MemorySinkOptions } from './memory-sink.ts';
export { createMemorySink } from './memory-sink.ts';
export type { TelemetryOptions } from './options.ts';
export type { ParsedTraceparent } from './propagation.ts';
export { formatTraceparent, parseTraceparent } from './propagation.ts';
export { registerReplacing } from './register.ts';
export type {
  Attributes,
  AttributeValue,
  GetSpanTreeParams,
  LogEventParams,
  LogSeverity,
  MetricDataPoint,
  MetricEvent,
  MetricLabel,
  MetricLabelMatcher,
  MetricQueryType,
  MetricSeries,
  QueryCondition,
  QueryConditionOp,
  QueryMetricsParams,
  QuerySpansParams,
  QueryTracesParams,
  SaveSpansToDatasetParams,
  Span,
  SpanEndPayload,
  SpanKind,
  SpanStartPayload,
  SpanStatus,
  SpanWithStatus,
  StructuredLogEvent,
  StructuredLogPayload,
  TelemetryEvent,
  TelemetryEventInput,
  Trace,
  UnstructuredLogEvent,
} from './schemas.ts';
// The schemas of the request bodies, for code that receives them from outside (an HTTP server, a CLI).
export {
  EventSchema,
  GetSpanTreeParamsSchema,
  LogEventParamsSchema,
  QueryMetricsParamsSchema,
  QuerySpansParamsSchema,
  QueryTracesParamsSchema,
  SaveSpansToDatasetParamsSchema,
  SpanIdSchema,
  TraceIdSchema,
} from './schemas.ts';
export type { AttributeFilter, QueryParamKind } from './search-query.ts';
export {
  formatAttributeFilter,
  paramsFromQuery,
  parseAttributeFilter,
  TRACE_SEARCH_QUERY,
  traceSearchFromQuery,
  traceSearchToQuery,
} from './search-query.ts';
export type {
  ParsedTraceSearchParams,
  PruneParams,
  PruneResult,
  ServiceStats,
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
  TraceSearchStatus,
  TraceSummary,
} from './search-schemas.ts';
export {
  PruneParamsSchema,
  PruneResultSchema,
  parseSearchParams,
  SEARCH_LIMITS,
  ServiceStatsSchema,
  SpanDetailSchema,
  SpanEventsParamsSchema,
  SpanEventsSchema,
  SpanLogSchema,
  SpanMetricEventSchema,
  StoreStatsSchema,
  SuggestFieldSchema,
  SuggestionsSchema,
  SuggestParamsSchema,
  searchIssues,
  TailSpansParamsSchema,
  TailSpansResultSchema,
  TraceDetailParamsSchema,
  TraceDetailSchema,
  TraceSearchParamsSchema,
  TraceSearchResultSchema,
  TraceSearchStatusSchema,
  TraceSummarySchema,
} from './search-schemas.ts';
export type { TraceSearchStore, TraceStoreAdmin } from './search-store.ts';
export { isTraceSearchStore, isTraceStoreAdmin } from './search-store.ts';
export type { ShutdownHookOptions, ShutdownTarget } from './shutdown-hooks.ts';
export { installShutdownHooks } from './shutdown-hooks.ts';
export type { CompletedSpan, DatasetWriter, TelemetrySink, TraceStore } from './sink.ts';
export type { TelemetrySpan } from './span.ts';
export type { SpanOptionsLite, TracedOptions, TraceOptions } from './span-factory.ts';
export type { SpanHandle } from './span-runner.ts';
export { createTelemetry, getGlobalTelemetry, Telemetry } from './telemetry.ts';
export type { EpochMicros } from './time.ts';
export {
  MAX_EPOCH_MICROS,
  MIN_EPOCH_MICROS,
  nowMicros,
  parseIsoMicros,
  toIsoMicros,
} from './time.ts';
export {
  createLogger,
  currentSpan,
  endTrace,
  getTraceparent,
  setAttribute,
  startTrace,
  traced,
  withSpan,
  withTrace,
} from './tracing.ts';
