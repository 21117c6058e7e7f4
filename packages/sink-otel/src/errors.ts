import { TelemetryError } from '@telemetry/core';

/** Stable codes of the errors this sink reports through `SinkContext.reportError`. */
export const OTLP_ERROR_CODES = {
  /** The collector answered with a status that must not be retried (4xx other than 408/429, 5xx other than 502/503/504). */
  rejected: 'TELEMETRY_OTLP_REJECTED',
  /** The collector could not be reached or answered 429/502/503/504; the sink keeps retrying. */
  unreachable: 'TELEMETRY_OTLP_UNREACHABLE',
  /** The buffer was full, so new spans were dropped (and counted). */
  queueFull: 'TELEMETRY_OTLP_QUEUE_FULL',
  /** `shutdown()` reached its deadline with data still unsent. */
  unsent: 'TELEMETRY_OTLP_UNSENT_AT_SHUTDOWN',
} as const;

export type OtlpErrorCode = (typeof OTLP_ERROR_CODES)[keyof typeof OTLP_ERROR_CODES];

/** An export problem, reported (never thrown into the application) with what it cost. */
export class OtlpExportError extends TelemetryError {
  /** Which signal failed. */
  readonly signal: 'traces' | 'metrics';
  /** Where the sink sent it. */
  readonly url: string;
  /** The HTTP status, when the collector answered. */
  readonly status: number | undefined;
  /** Spans given up because of this problem (0 while they are still being retried). */
  readonly lostSpans: number;

  constructor(
    code: OtlpErrorCode,
    message: string,
    details: {
      signal: 'traces' | 'metrics';
      url: string;
      status?: number | undefined;
      lostSpans?: number;
    },
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.signal = details.signal;
    this.url = details.url;
    this.status = details.status;
    this.lostSpans = details.lostSpans ?? 0;
  }
}
