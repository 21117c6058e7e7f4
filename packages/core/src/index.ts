export { contextManager } from './context.ts';
export type { SinkStats, TelemetryStats } from './dispatcher.ts';
export type { ValidationIssue } from './errors.ts';
export {
  formatPath,
  issuesFromZod,
  TelemetryConfigError,
  TelemetryError,
  TelemetryNotFoundError,
  TelemetryStoreRequiredError,
  TelemetryValidationError,
} from './errors.ts';
export { generateSpanId, generateTraceId, isValidSpanId, isValidTraceId } from './ids.ts';
export type { Logger, LoggerOptions } from './logger.ts';
export { toSeverity } from './logger.ts';
export type { MemorySink, MemorySinkOptions } from './memory-sink.ts';
export { createMemorySink } from './memory-sink.ts';
export type { ParsedTraceparent } from './propagation.ts';
export {
  formatTraceparent,
  parseTraceparent,
  W3CTraceContextPropagator,
  W3CTraceState,
} from './propagation.ts';
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
export {
  AttributesSchema,
  AttributeValueSchema,
  DEFAULT_TTL_SECONDS,
  EventSchema,
  GetSpanTreeParamsSchema,
  LogEventParamsSchema,
  LogSeveritySchema,
  MetricDataPointSchema,
  MetricEventSchema,
  MetricLabelMatcherSchema,
  MetricLabelSchema,
  MetricQueryTypeSchema,
  MetricSeriesSchema,
  QueryConditionOpSchema,
  QueryConditionSchema,
  QueryMetricsParamsSchema,
  QuerySpansParamsSchema,
  QueryTracesParamsSchema,
  SaveSpansToDatasetParamsSchema,
  SpanEndPayloadSchema,
  SpanIdSchema,
  SpanKindSchema,
  SpanSchema,
  SpanStartPayloadSchema,
  SpanStatusSchema,
  SpanWithStatusSchema,
  StructuredLogEventSchema,
  StructuredLogPayloadSchema,
  TimestampSchema,
  TraceIdSchema,
  TraceSchema,
  UnstructuredLogEventSchema,
} from './schemas.ts';
export type {
  CompletedSpan,
  DatasetWriter,
  SinkContext,
  TelemetrySink,
  TraceStore,
} from './sink.ts';
export { eventCountOf, isTraceStore } from './sink.ts';
export { safeJson, TelemetrySpan, toAttributeValue } from './span.ts';
export type { SpanHandle } from './span-runner.ts';
export { NOOP_SPAN } from './span-runner.ts';
export type {
  AutoTraceOptions,
  SpanOptionsLite,
  TelemetryOptions,
  TracedOptions,
  TraceOptions,
} from './telemetry.ts';
export { createTelemetry, getGlobalTelemetry, Telemetry } from './telemetry.ts';
export type { EpochMicros } from './time.ts';
export { dateToMicros, nowMicros, parseIsoMicros, toIsoMicros } from './time.ts';
export {
  autoTrace,
  createLogger,
  currentSpan,
  endTrace,
  getTraceparent,
  setAttribute,
  startTrace,
  trace,
  traced,
  withSpan,
  withTrace,
} from './tracing.ts';
