import { type ExportResult, ExportResultCode } from '@opentelemetry/core';

/** OTLP/HTTP: these statuses mean "try again later"; every other error status is final. */
const RETRYABLE_STATUS = new Set([408, 429, 502, 503, 504]);

/** Marks an error the exporter threw while encoding: the data itself is the problem, so retrying cannot help. */
const THROWN = Symbol('exporter threw');

export interface ExportOutcome {
  readonly ok: boolean;
  /** Final failure: sending the same data again cannot succeed. */
  readonly permanent: boolean;
  /** The collector's HTTP status when it answered with an error. */
  readonly status: number | undefined;
  readonly error: Error | undefined;
}

/** The HTTP status carried by an OTLPExporterError (its numeric `code`). */
function statusOf(error: Error | undefined): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' && code >= 100 && code < 600 ? code : undefined;
}

/**
 * Sorts an exporter result. Network errors, timeouts and 408/429/502/503/504
 * (after the exporter's own quick retries) are worth retrying; other statuses
 * (400 malformed, 401/403 credentials, 404 wrong path, 413 too large) are not.
 */
export function classifyExportResult(result: ExportResult): ExportOutcome {
  if (result.code === ExportResultCode.SUCCESS) {
    return { ok: true, permanent: false, status: undefined, error: undefined };
  }
  const status = statusOf(result.error);
  const thrown = (result.error as { [THROWN]?: boolean } | undefined)?.[THROWN] === true;
  return {
    ok: false,
    permanent: thrown || (status !== undefined && !RETRYABLE_STATUS.has(status)),
    status,
    error: result.error,
  };
}

/** A short description of a failure for error messages. */
export function describeFailure(outcome: ExportOutcome): string {
  const error = outcome.error;
  const data = (error as { data?: unknown } | undefined)?.data;
  const body = typeof data === 'string' && data.length > 0 ? `: ${data.slice(0, 200)}` : '';
  if (outcome.status !== undefined) {
    return `HTTP ${outcome.status}${error?.message ? ` ${error.message}` : ''}${body}`;
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error?.message ?? 'unknown error';
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

/** Calls an OpenTelemetry exporter's callback-style `export` as a promise that never rejects. */
export function exportOnce<T>(
  exporter: { export(items: T, done: (result: ExportResult) => void): void },
  items: T,
): Promise<ExportResult> {
  return new Promise((resolve) => {
    try {
      exporter.export(items, resolve);
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      Object.defineProperty(error, THROWN, { value: true });
      resolve({ code: ExportResultCode.FAILED, error });
    }
  });
}

/** Exponential backoff with ±20 % jitter, so that many clients do not retry in step. */
export function backoffDelay(failures: number, initialMs: number, maxMs: number): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}
