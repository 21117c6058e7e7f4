import type { z } from 'zod';

/**
 * Every error code this package's errors carry, one style: `TELEMETRY_` and
 * what went wrong. Sink packages add their own codes in the same style
 * (`TELEMETRY_CONSOLE_STREAM`, `TELEMETRY_OTLP_REJECTED`, ...).
 */
export const TELEMETRY_ERROR_CODES = Object.freeze({
  /** Input that fails validation: options, events, query parameters (`TelemetryValidationError`). */
  invalidInput: 'TELEMETRY_INVALID_INPUT',
  /** Configuration that cannot work (`TelemetryConfigError`). */
  config: 'TELEMETRY_CONFIG',
  /** A trace or span that does not exist (`TelemetryNotFoundError`). */
  notFound: 'TELEMETRY_NOT_FOUND',
  /** A query without a queryable sink (`TelemetryStoreRequiredError`). */
  storeRequired: 'TELEMETRY_STORE_REQUIRED',
  /** A sink write that may succeed later (`RetryableSinkError`). */
  sinkRetryable: 'TELEMETRY_SINK_RETRYABLE',
  /** A sink that breaks the sink contract (`checkSinkConformance` from `@telemetry/core/testing`). */
  sinkConformance: 'TELEMETRY_SINK_CONFORMANCE',
} as const);

/** Base class of every error this toolkit throws; `code` is stable across releases. */
export class TelemetryError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One problem found by validation: where, and what was expected. */
export interface ValidationIssue {
  /** Dotted path of the field, such as `event.trace_id` or `config.sinks[1]`. */
  readonly path: string;
  readonly message: string;
}

/** `['options', 'sinks', 1, 'name']` as `options.sinks[1].name`; `(root)` for an empty path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      // A symbol stands for a key that could not be a plain key (`__proto__`): show its name.
      const name = typeof part === 'symbol' ? (part.description ?? '') : part;
      out += out ? `.${name}` : name;
    }
  }
  return out || '(root)';
}

/** Turns zod issues into path + message pairs, each path under `prefix`. */
export function issuesFromZod(
  error: z.ZodError,
  prefix: readonly PropertyKey[] = [],
): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: formatPath([...prefix, ...issue.path]),
    message: issue.message,
  }));
}

/** Invalid input: lists every problem at once, each with its path. */
export class TelemetryValidationError extends TelemetryError {
  readonly issues: readonly ValidationIssue[];
  constructor(what: string, issues: readonly ValidationIssue[], options?: { cause?: unknown }) {
    const lines = issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n');
    super(
      TELEMETRY_ERROR_CODES.invalidInput,
      `Invalid ${what} (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines}`,
      options,
    );
    this.issues = issues;
  }
}

/** A trace or span the caller asked for does not exist (or has expired). */
export class TelemetryNotFoundError extends TelemetryError {
  constructor(kind: 'Trace' | 'Span', id: string) {
    super(TELEMETRY_ERROR_CODES.notFound, `${kind} ${id} not found`);
  }
}

/** A query was made but no configured sink can answer it. */
export class TelemetryStoreRequiredError extends TelemetryError {
  constructor(method: string) {
    super(
      TELEMETRY_ERROR_CODES.storeRequired,
      `${method}() needs a queryable sink: add 'sqlite' to your telemetry sinks (or pass a sink that implements TraceStore).`,
    );
  }
}

/** Configuration that cannot work; the message says how to fix it. */
export class TelemetryConfigError extends TelemetryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(TELEMETRY_ERROR_CODES.config, message, options);
  }
}
