import type { z } from 'zod';

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

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(root)';
}

/** Turns zod issues into path + message pairs, naming the allowed values of unions. */
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
      'TELEMETRY_INVALID_INPUT',
      `Invalid ${what} (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines}`,
      options,
    );
    this.issues = issues;
  }
}

/** A trace or span the caller asked for does not exist (or has expired). */
export class TelemetryNotFoundError extends TelemetryError {
  constructor(kind: 'Trace' | 'Span', id: string) {
    super('TELEMETRY_NOT_FOUND', `${kind} ${id} not found`);
  }
}

/** A query was made but no configured sink can answer it. */
export class TelemetryStoreRequiredError extends TelemetryError {
  constructor(method: string) {
    super(
      'TELEMETRY_STORE_REQUIRED',
      `${method}() needs a queryable sink: add 'sqlite' to your telemetry sinks (or pass a sink that implements TraceStore).`,
    );
  }
}

/** Configuration that cannot work; the message says how to fix it. */
export class TelemetryConfigError extends TelemetryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TELEMETRY_CONFIG', message, options);
  }
}
