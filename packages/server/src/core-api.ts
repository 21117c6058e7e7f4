/**
 * Everything this package takes from `@telemetry/core`, in one place, so that
 * a change of core's public surface touches one file. Only public API is used.
 */
export type {
  DatasetWriter,
  QueryParamKind,
  Telemetry,
  TelemetryEventInput,
  TelemetryStats,
  TraceSearchStore,
  TraceStoreAdmin,
  ValidationIssue,
} from '@telemetry/core';
export {
  GetSpanTreeParamsSchema,
  generateSpanId,
  generateTraceId,
  isTraceSearchStore,
  isTraceStoreAdmin,
  LogEventParamsSchema,
  PruneParamsSchema,
  paramsFromQuery,
  parseSearchParams,
  QueryMetricsParamsSchema,
  QuerySpansParamsSchema,
  QueryTracesParamsSchema,
  SaveSpansToDatasetParamsSchema,
  SpanEventsParamsSchema,
  SuggestParamsSchema,
  searchIssues,
  TailSpansParamsSchema,
  TelemetryConfigError,
  TelemetryError,
  TelemetryNotFoundError,
  TelemetryStoreRequiredError,
  TelemetryValidationError,
  TraceDetailParamsSchema,
  toIsoMicros,
  traceSearchFromQuery,
} from '@telemetry/core';
// Validation issues in the format every package uses: a helper of the sink floor.
export { issuesFromZod } from '@telemetry/core/sink';
