/**
 * Search parameters as URL query strings, so that every search is a URL:
 * `@telemetry/server` reads them, a viewer page and a command-line tool write
 * them, all with these functions. Attribute conditions are one `attr`
 * parameter each, in a short form (`key=value`, `key!=value`, `key>10`,
 * `key<10`) or as JSON (`{"key":"a=b","op":"eq","value":"x"}`) for keys that
 * hold an operator character.
 */
import { TelemetryValidationError, type ValidationIssue } from './errors.ts';
import type { QueryConditionOp } from './schemas.ts';
import {
  SEARCH_LIMITS,
  searchIssues,
  type TraceSearchParams,
  TraceSearchParamsSchema,
} from './search-schemas.ts';

/** An attribute condition before validation: its value as read (`QueryCondition` once checked). */
export interface AttributeFilter {
  readonly key: string;
  readonly op: QueryConditionOp;
  readonly value: unknown;
}

const SHORT_OPS = [
  ['!=', 'ne'],
  ['=', 'eq'],
  ['>', 'gt'],
  ['<', 'lt'],
] as const;
const SYMBOL_OF = { eq: '=', ne: '!=', gt: '>', lt: '<' } as const;
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * Reads one attribute condition: `key=value` (eq), `key!=value` (ne),
 * `key>value` (gt), `key<value` (lt), split at the first operator. The value
 * is typed as JSON reads it: `200` and `-1.5` are numbers, `true`/`false`
 * booleans, `null` null, `["a","b"]` an array, `"200"` (quoted) the string;
 * anything else is the text as it is (`model=llama`). Text starting with `{`
 * is a whole condition as JSON. Returns the problem instead of throwing.
 */
export function parseAttributeFilter(
  text: string,
): { condition: AttributeFilter; error?: undefined } | { condition?: undefined; error: string } {
  if (text.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return { error: 'expected a JSON object {"key", "op", "value"}' };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { error: 'expected a JSON object {"key", "op", "value"}' };
    }
    return { condition: value as AttributeFilter };
  }
  for (let i = 0; i < text.length; i++) {
    for (const [symbol, op] of SHORT_OPS) {
      if (!text.startsWith(symbol, i)) continue;
      const key = text.slice(0, i);
      if (key === '') return { error: 'expected key=value (the key is empty)' };
      return { condition: { key, op, value: readValue(text.slice(i + symbol.length)) } };
    }
  }
  return { error: 'expected key=value, key!=value, key>value or key<value' };
}

function readValue(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null') return null;
  if (JSON_NUMBER.test(text)) return Number(text);
  if (text.startsWith('"') || text.startsWith('[')) {
    try {
      return JSON.parse(text);
    } catch {
      // Not JSON after all: the text as typed.
    }
  }
  return text;
}

/** The short form of a condition, or its JSON when the short form would read back differently. */
export function formatAttributeFilter(condition: AttributeFilter): string {
  const { key, op, value } = condition;
  const prefix = `${key}${SYMBOL_OF[op]}`;
  // Text as typed when it reads back as text, else quoted; anything else as JSON.
  const forms =
    typeof value === 'string' ? [value, JSON.stringify(value)] : [JSON.stringify(value) ?? ''];
  for (const form of forms) {
    const back = parseAttributeFilter(prefix + form).condition;
    if (back && back.key === key && back.op === op && sameValue(back.value, value)) {
      return prefix + form;
    }
  }
  return JSON.stringify({ key, op, value });
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b) && typeof a === typeof b;
}

/** How a query parameter's text becomes a value. */
export type QueryParamKind = 'text' | 'number' | 'time' | 'boolean' | 'attr';

/** The query parameters of `GET /api/v1/traces`, by name: the fields of `TraceSearchParams`, `attr` for each attribute filter. */
export const TRACE_SEARCH_QUERY: Readonly<Record<string, QueryParamKind>> = Object.freeze({
  start: 'time',
  end: 'time',
  service: 'text',
  name: 'text',
  status: 'text',
  min_duration_ms: 'number',
  max_duration_ms: 'number',
  attr: 'attr',
  limit: 'number',
  cursor: 'text',
  newer_than: 'text',
});

/**
 * Turns query parameters into a parameters object by kind: numbers where a
 * number is expected (text that is not one is left as text, so validation
 * names it), times as ISO-8601 text or digits of epoch microseconds, `true` /
 * `false`, and each `attr` into `attribute_filters`. Unknown, repeated and
 * malformed parameters are listed in `issues` under their query names.
 */
export function paramsFromQuery(
  query: URLSearchParams,
  kinds: Readonly<Record<string, QueryParamKind>>,
): {
  params: Record<string, unknown>;
  issues: ValidationIssue[];
  /** A validation path of `params` by its query name (`attribute_filters[1]` is the `attr` it came from). */
  queryPath: (path: string) => string;
} {
  const params: Record<string, unknown> = {};
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  const filters: unknown[] = [];
  const attrOfFilter: number[] = [];
  let attrIndex = 0;
  for (const [name, text] of query) {
    const kind = Object.hasOwn(kinds, name) ? kinds[name] : undefined;
    if (kind === undefined) {
      if (!seen.has(name)) issues.push({ path: name, message: 'unknown parameter' });
      seen.add(name);
      continue;
    }
    if (kind === 'attr') {
      const index = attrIndex++;
      if (index >= SEARCH_LIMITS.attributeFilters) {
        if (index === SEARCH_LIMITS.attributeFilters) {
          issues.push({
            path: 'attr',
            message: `expected at most ${SEARCH_LIMITS.attributeFilters} entries`,
          });
        }
        continue;
      }
      const parsed = parseAttributeFilter(text);
      if (parsed.error !== undefined)
        issues.push({ path: `attr[${index}]`, message: parsed.error });
      else {
        filters.push(parsed.condition);
        attrOfFilter.push(index);
      }
      continue;
    }
    if (seen.has(name)) {
      issues.push({ path: name, message: 'expected once, got it more than once' });
      continue;
    }
    seen.add(name);
    params[name] = readParam(kind, text);
  }
  if (attrIndex > 0) params.attribute_filters = filters;
  const queryPath = (path: string) =>
    path.replace(/^attribute_filters(?:\[(\d+)\])?/, (_, i?: string) =>
      i === undefined ? 'attr' : `attr[${attrOfFilter[Number(i)] ?? i}]`,
    );
  return { params, issues, queryPath };
}

function readParam(kind: QueryParamKind, text: string): unknown {
  switch (kind) {
    case 'number':
      return JSON_NUMBER.test(text) ? Number(text) : text;
    case 'time':
      return /^-?\d{1,20}$/.test(text) ? Number(text) : text;
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    default:
      return text;
  }
}

/**
 * A trace search from a URL's query (`GET /api/v1/traces?service=api&status=error&attr=model%3Dllama`),
 * validated: throws `TelemetryValidationError` naming each bad parameter by its
 * query name (`attr[1]` for the second `attr`).
 */
export function traceSearchFromQuery(query: URLSearchParams): TraceSearchParams {
  const { params, issues, queryPath } = paramsFromQuery(query, TRACE_SEARCH_QUERY);
  const checked = TraceSearchParamsSchema.safeParse(params);
  if (!checked.success) {
    for (const issue of searchIssues(checked.error)) {
      issues.push({ ...issue, path: queryPath(issue.path) });
    }
  }
  if (issues.length > 0) throw new TelemetryValidationError('trace search parameters', issues);
  return params as TraceSearchParams;
}

/** The query of a trace search, for a URL: the inverse of `traceSearchFromQuery`. */
export function traceSearchToQuery(params: TraceSearchParams): URLSearchParams {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === null || value === undefined) continue;
    if (name === 'attribute_filters') {
      for (const condition of value as AttributeFilter[]) {
        query.append('attr', formatAttributeFilter(condition));
      }
    } else if (value instanceof Date) {
      query.append(name, value.toISOString());
    } else {
      query.append(name, String(value));
    }
  }
  return query;
}
