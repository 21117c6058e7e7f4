/**
 * Everything this package takes from `@telemetry/core`, in one place, so that
 * a change of core's public surface touches one file. Only public API is used.
 */
export type {
  DatasetWriter,
  Telemetry,
  TelemetryEventInput,
  TelemetryStats,
  ValidationIssue,
} from '@telemetry/core';
export {
  GetSpanTreeParamsSchema,
  generateSpanId,
  generateTraceId,
  LogEventParamsSchema,
  QueryMetricsParamsSchema,
  QuerySpansParamsSchema,
  QueryTracesParamsSchema,
  SaveSpansToDatasetParamsSchema,
  TelemetryConfigError,
  TelemetryError,
  TelemetryNotFoundError,
  TelemetryStoreRequiredError,
  TelemetryValidationError,
  toIsoMicros,
} from '@telemetry/core';
// Validation issues in the format every package uses: a helper of the sink floor.
export { issuesFromZod } from '@telemetry/core/sink';
