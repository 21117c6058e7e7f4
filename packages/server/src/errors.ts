import { TelemetryError, type ValidationIssue } from './core-api.ts';

/**
 * A request that ends with an error status. `code` is stable (as every error
 * of this toolkit); `message` says what to do and is what clients show.
 */
export class HttpError extends TelemetryError {
  readonly status: number;
  readonly issues: readonly ValidationIssue[] | undefined;
  /** Extra response headers, such as Retry-After. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: string,
    message: string,
    options: {
      issues?: readonly ValidationIssue[];
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.issues = options.issues;
    this.headers = options.headers ?? {};
  }
}

/** The server could not start (a port in use, an address that cannot be bound). */
export class TelemetryServerError extends TelemetryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TELEMETRY_SERVER', message, options);
  }
}

export const payloadTooLarge = (limit: number, what = 'Request body') =>
  new HttpError(
    413,
    'TELEMETRY_PAYLOAD_TOO_LARGE',
    `${what} exceeds the server's limit of ${limit} bytes: send smaller batches or raise the server's maxBodyBytes.`,
  );

export const overloaded = (retryAfterSeconds: number, why: string) =>
  new HttpError(
    503,
    'TELEMETRY_OVERLOADED',
    `The telemetry pipeline is overloaded (${why}). Retry after ${retryAfterSeconds} s.`,
    { headers: { 'Retry-After': String(retryAfterSeconds) } },
  );

export const shutDown = (retryAfterSeconds: number) =>
  new HttpError(
    503,
    'TELEMETRY_SHUT_DOWN',
    'The telemetry pipeline is shut down and accepts no more events; retry against a running server.',
    { headers: { 'Retry-After': String(retryAfterSeconds) } },
  );
