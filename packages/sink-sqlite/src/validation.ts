import { issuesFromZod, TelemetryValidationError, type ValidationIssue } from '@telemetry/core';

/** The part of a zod schema this package uses (core owns zod). */
interface Schema<Out> {
  safeParse(value: unknown): { success: true; data: Out } | { success: false; error: unknown };
}

/**
 * Parses query parameters with core's schema, adds this store's own checks,
 * and throws one `TelemetryValidationError` that lists every problem.
 */
export function parseParams<Out>(
  schema: Schema<Out>,
  value: unknown,
  what: string,
  extraChecks?: (data: Out) => ValidationIssue[],
  prefix: readonly PropertyKey[] = [],
): Out {
  const result = schema.safeParse(value ?? {});
  if (!result.success) {
    throw new TelemetryValidationError(what, issuesFromZod(result.error as never, prefix));
  }
  const extra = extraChecks?.(result.data) ?? [];
  if (extra.length > 0) throw new TelemetryValidationError(what, extra);
  return result.data;
}

/** Throws a validation error for a lone argument (an id, a metric name). */
export function parseArgument<Out>(
  schema: Schema<Out>,
  value: unknown,
  what: string,
  name: string,
): Out {
  return parseParams(schema, value, what, undefined, [name]);
}
