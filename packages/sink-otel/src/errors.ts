import { TelemetryError } from '@telemetry/core/sink';

/** Stable codes of the errors this sink rejects writes with or reports through its `SinkContext`. */
export const OTLP_ERROR_CODES = Object.freeze({
  /**
   * The collector refused the data for good (a 4xx other than 408/429, a 5xx
   * other than 502/503/504, a 413 for a single span): not retried, counted.
   */
  rejected: 'TELEMETRY_OTLP_REJECTED',
  /**
   * The collector could not be reached, did not answer within
   * `timeoutMillis`, or answered 408/429/502/503/504: retried with backoff.
   */
  unreachable: 'TELEMETRY_OTLP_UNREACHABLE',
  /** The collector accepted a request but said it rejected some of its spans or data points. */
  partial: 'TELEMETRY_OTLP_PARTIAL_SUCCESS',
  /** A span with a time OTLP cannot carry (before 1970, or after 2554): not sent, counted. */
  timeOutOfRange: 'TELEMETRY_OTLP_TIME_OUT_OF_RANGE',
  /** Shutdown ended (its deadline, or `timeoutMillis` of retrying) before the latest metrics were sent. */
  metricsUnsent: 'TELEMETRY_OTLP_METRICS_UNSENT',
} as const);

export type OtlpErrorCode = (typeof OTLP_ERROR_CODES)[keyof typeof OTLP_ERROR_CODES];

export interface OtlpExportErrorDetails {
  readonly signal: 'traces' | 'metrics';
  readonly url: string;
  readonly status?: number | undefined;
  readonly retryable?: boolean;
  readonly retryAfterMs?: number | undefined;
}

/**
 * An export that failed. A write rejects with it; core's dispatcher retries the
 * batch when `retryable` is true (as for a `RetryableSinkError`, honouring
 * `retryAfterMs`), and counts the batch as `sink_error` otherwise. It never
 * reaches the application.
 */
export class OtlpExportError extends TelemetryError {
  /** Which signal failed. */
  readonly signal: 'traces' | 'metrics';
  /** Where the sink sent it. */
  readonly url: string;
  /** The HTTP status, when the collector answered. */
  readonly status: number | undefined;
  /** Read by core's dispatcher: the same batch is written again after a backoff. */
  readonly retryable: boolean;
  /** The collector's `Retry-After`, in milliseconds, when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: OtlpErrorCode,
    message: string,
    details: OtlpExportErrorDetails,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.signal = details.signal;
    this.url = details.url;
    this.status = details.status;
    this.retryable = details.retryable ?? false;
    this.retryAfterMs = details.retryAfterMs;
  }
}
