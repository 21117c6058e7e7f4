import {
  issuesFromZod,
  TelemetryValidationError,
  type ValidationIssue,
} from '@telemetry/core/sink';

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
    throw new TelemetryValidationError(what, paramIssues(result.error, prefix));
  }
  const extra = extraChecks?.(result.data) ?? [];
  if (extra.length > 0) throw new TelemetryValidationError(what, extra);
  return result.data;
}

/**
 * Zod's issues with their paths; a problem with the parameters object as a
 * whole (not an object at all) is named `params`, not `(root)`.
 */
export function paramIssues(
  error: unknown,
  prefix: readonly PropertyKey[] = [],
): ValidationIssue[] {
  return issuesFromZod(error as never, prefix).map((issue) =>
    issue.path === '(root)' ? { ...issue, path: 'params' } : issue,
  );
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

/**
 * The most a query accepts, so that one call is bounded in work and memory
 * (each attribute filter is a subquery, each regex is compiled, each key
 * returned is a field of every span in the answer).
 */
export const QUERY_LIMITS = Object.freeze({
  /** `attribute_filters` entries per query. */
  attributeFilters: 64,
  /** `attributes_to_return` / `attributes_to_save` entries. */
  attributeKeys: 1_000,
  /** `label_matchers` entries. */
  labelMatchers: 64,
  /** `order_by` entries. */
  orderBy: 16,
});

/** Latest unix second a metric query may name: 9999-12-31T23:59:59Z. */
export const MAX_UNIX_SECONDS = 253_402_300_799;

/**
 * Checks the length of list parameters before anything else reads them, so
 * that a list of a million entries costs one check, not a million issues.
 */
export function checkListSizes(
  params: unknown,
  what: string,
  limits: readonly (readonly [field: string, max: number])[],
): void {
  if (params === null || typeof params !== 'object') return;
  const issues: ValidationIssue[] = [];
  for (const [field, max] of limits) {
    const value = (params as Record<string, unknown>)[field];
    if (Array.isArray(value) && value.length > max) {
      issues.push({ path: field, message: `expected at most ${max} entries, got ${value.length}` });
    }
  }
  if (issues.length > 0) throw new TelemetryValidationError(what, issues);
}

/** A caller's value for an error message: JSON, cut short. */
export function preview(value: unknown, max = 60): string {
  let out: string;
  try {
    out = JSON.stringify(value) ?? String(value);
  } catch {
    out = Object.prototype.toString.call(value);
  }
  return out.length > max ? `${out.slice(0, max)}...` : out;
}
