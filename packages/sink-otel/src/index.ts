export { createOtelSink } from './otel-sink.ts';
export type { OtelSink, OtelSinkStats } from './otel-sink.ts';
export { resolveOtlpEndpoints } from './options.ts';
export type { OtelMetricKind, OtelSinkOptions, ResolvedOtlpEndpoints } from './options.ts';
export { OTLP_ERROR_CODES, OtlpExportError } from './errors.ts';
export type { OtlpErrorCode } from './errors.ts';
