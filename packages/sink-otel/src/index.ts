export type { OtlpErrorCode, OtlpExportErrorDetails } from './errors.ts';
export { OTLP_ERROR_CODES, OtlpExportError } from './errors.ts';
export type { OtelMetricKind, OtelSinkOptions } from './options.ts';
export { OtelSinkOptionsSchema } from './options.ts';
export type { OtelSink, OtelSinkStats } from './otel-sink.ts';
export { createOtelSink, otelSink } from './otel-sink.ts';
