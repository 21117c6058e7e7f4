export type { OtlpErrorCode } from './errors.ts';
export { OTLP_ERROR_CODES, OtlpExportError } from './errors.ts';
export type { OtelMetricKind, OtelSinkOptions, ResolvedOtlpEndpoints } from './options.ts';
export { resolveOtlpEndpoints } from './options.ts';
export type { OtelSink, OtelSinkStats } from './otel-sink.ts';
export { createOtelSink } from './otel-sink.ts';
