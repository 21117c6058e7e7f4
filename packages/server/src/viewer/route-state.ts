/**
 * The page's state as a URL: every search, trace, span and metric chart is a
 * link (hash routing, so the server serves one page at any base path and a
 * link works without server help). A trace search keeps the parameters of
 * `GET /api/v1/traces` under their own names (`attr` in the short form the
 * server reads), plus `since`, a lookback turned into `start` at query time
 * so that "the last hour" stays the last hour. Pure functions: no DOM.
 */
import { isoToMicros, lookbackSeconds, microsToIso } from './time.ts';

export interface TraceListState {
  /** Lookback such as `1h`; turned into `start` when the search runs (an explicit `start` wins). */
  readonly since: string | null;
  readonly start: string | null;
  readonly end: string | null;
  readonly service: string | null;
  /** Root span name, exactly. */
  readonly name: string | null;
  readonly status: 'ok' | 'error' | null;
  readonly min_duration_ms: string | null;
  readonly max_duration_ms: string | null;
  /** Attribute conditions as the server reads them: `key=value`, `key!=value`, `key>value`, `key<value`. */
  readonly attr: readonly string[];
  readonly limit: string | null;
}

export type MetricQueryType = 'range' | 'instant';

export interface MetricsState {
  readonly metric: string | null;
  readonly type: MetricQueryType;
  /** Bucket size (`30s`, `5m`, `1h`, `1d`); `null` for raw points. */
  readonly granularity: string | null;
  /** Lookback such as `24h` (the default when neither it nor `start` is given). */
  readonly since: string | null;
  readonly start: string | null;
  readonly end: string | null;
  /** Label matchers: `name=value`, `name!=value`, `name=~regex`, `name!~regex`. */
  readonly match: readonly string[];
}

export type Route =
  | { readonly view: 'traces'; readonly search: TraceListState }
  | { readonly view: 'trace'; readonly traceId: string; readonly spanId: string | null }
  | { readonly view: 'metrics'; readonly metrics: MetricsState }
  | { readonly view: 'not-found'; readonly reason: string };

export const EMPTY_SEARCH: TraceListState = Object.freeze({
  since: null,
  start: null,
  end: null,
  service: null,
  name: null,
  status: null,
  min_duration_ms: null,
  max_duration_ms: null,
  attr: Object.freeze([]) as readonly string[],
  limit: null,
});

/** The metrics view's lookback when the URL names no time window. */
export const DEFAULT_METRICS_SINCE = '24h';

export const EMPTY_METRICS: MetricsState = Object.freeze({
  metric: null,
  type: 'range',
  granularity: null,
  since: null,
  start: null,
  end: null,
  match: Object.freeze([]) as readonly string[],
});

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const SEARCH_KEYS = [
  'since',
  'start',
  'end',
  'service',
  'name',
  'status',
  'min_duration_ms',
  'max_duration_ms',
  'limit',
] as const;

/** A non-empty value, or null. */
const value = (query: URLSearchParams, key: string): string | null => {
  const v = query.get(key);
  return v === null || v.trim() === '' ? null : v;
};
const values = (query: URLSearchParams, key: string): string[] =>
  query.getAll(key).filter((v) => v.trim() !== '');

/** Reads the URL's hash (`#/traces?service=api`, `#/trace/<id>?span=<id>`, `#/metrics?...`). */
export function parseRoute(hash: string): Route {
  const text = hash.startsWith('#') ? hash.slice(1) : hash;
  const q = text.indexOf('?');
  let path: string;
  try {
    path = decodeURIComponent(q === -1 ? text : text.slice(0, q));
  } catch {
    return { view: 'not-found', reason: 'The link is not a valid address.' };
  }
  const query = new URLSearchParams(q === -1 ? '' : text.slice(q + 1));
  const parts = path.split('/').filter((p) => p !== '');
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'traces')) {
    return { view: 'traces', search: searchFromQuery(query) };
  }
  if (parts[0] === 'trace' && parts.length === 2) {
    const traceId = parts[1]!.toLowerCase();
    if (!TRACE_ID.test(traceId)) {
      return { view: 'not-found', reason: `'${parts[1]}' is not a trace id (32 hex digits).` };
    }
    const span = value(query, 'span')?.toLowerCase() ?? null;
    return { view: 'trace', traceId, spanId: span !== null && SPAN_ID.test(span) ? span : null };
  }
  if (parts[0] === 'metrics' && parts.length === 1) {
    return { view: 'metrics', metrics: metricsFromQuery(query) };
  }
  return { view: 'not-found', reason: `There is no page at '${path}'.` };
}

function searchFromQuery(query: URLSearchParams): TraceListState {
  const status = value(query, 'status');
  const state: Record<string, unknown> = { ...EMPTY_SEARCH, attr: values(query, 'attr') };
  for (const key of SEARCH_KEYS) state[key] = value(query, key);
  state.status = status === 'ok' || status === 'error' ? status : null;
  return state as unknown as TraceListState;
}

function metricsFromQuery(query: URLSearchParams): MetricsState {
  return {
    metric: value(query, 'metric'),
    type: value(query, 'type') === 'instant' ? 'instant' : 'range',
    granularity: value(query, 'granularity'),
    since: value(query, 'since'),
    start: value(query, 'start'),
    end: value(query, 'end'),
    match: values(query, 'match'),
  };
}

/** The hash of a route (`#/traces?...`); `parseRoute(formatRoute(r))` gives `r` back. */
export function formatRoute(route: Route): string {
  switch (route.view) {
    case 'traces': {
      const query = searchToQuery(route.search);
      const text = query.toString();
      return text ? `#/traces?${text}` : '#/traces';
    }
    case 'trace':
      return `#/trace/${route.traceId}${route.spanId ? `?span=${route.spanId}` : ''}`;
    case 'metrics': {
      const m = route.metrics;
      const query = new URLSearchParams();
      if (m.metric !== null) query.set('metric', m.metric);
      if (m.type !== 'range') query.set('type', m.type);
      for (const key of ['granularity', 'since', 'start', 'end'] as const) {
        const v = m[key];
        if (v !== null) query.set(key, v);
      }
      for (const matcher of m.match) query.append('match', matcher);
      const text = query.toString();
      return text ? `#/metrics?${text}` : '#/metrics';
    }
    default:
      return '#/traces';
  }
}

function searchToQuery(search: TraceListState): URLSearchParams {
  const query = new URLSearchParams();
  for (const key of SEARCH_KEYS) {
    const v = search[key];
    if (v !== null) query.set(key, v);
  }
  for (const condition of search.attr) query.append('attr', condition);
  return query;
}

/**
 * The query of `GET /api/v1/traces` for a search at `nowMs`: the URL's
 * parameters as they are (the server validates them and names a bad one),
 * `since` turned into `start`. `cursor` / `newer_than` are added by the caller.
 */
export function traceSearchApiQuery(search: TraceListState, nowMs: number): URLSearchParams {
  const { since, ...rest } = search;
  const query = searchToQuery({ ...rest, since: null });
  if (since !== null && search.start === null) {
    const seconds = lookbackSeconds(since);
    // An unreadable lookback goes to the server as it is, so its 400 names it.
    query.set(
      'start',
      seconds === undefined ? since : microsToIso((nowMs - seconds * 1000) * 1000),
    );
  }
  return query;
}

export type LabelOperator = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  readonly name: string;
  readonly operator: LabelOperator;
  readonly value: string;
}

/** `name=value`, `name!=value`, `name=~regex`, `name!~regex`, split at the first operator. */
export function parseLabelMatcher(
  text: string,
): { matcher: LabelMatcher; error?: undefined } | { matcher?: undefined; error: string } {
  for (let i = 0; i < text.length; i++) {
    let operator: LabelOperator | undefined;
    if (text.startsWith('!=', i)) operator = '!=';
    else if (text.startsWith('!~', i)) operator = '!~';
    else if (text.startsWith('=~', i)) operator = '=~';
    else if (text[i] === '=') operator = '=';
    if (operator === undefined) continue;
    const name = text.slice(0, i).trim();
    if (name === '') return { error: `'${text}': the label name is empty` };
    return { matcher: { name, operator, value: text.slice(i + operator.length) } };
  }
  return { error: `'${text}': expected name=value, name!=value, name=~regex or name!~regex` };
}

export interface MetricsQuery {
  readonly metric: string;
  readonly body: {
    readonly query_type: MetricQueryType;
    readonly start_time: number;
    readonly end_time: number;
    readonly granularity?: string;
    readonly label_matchers: readonly LabelMatcher[];
  };
}

/**
 * The `queryMetrics` request for the metrics view at `nowMs` (times in unix
 * seconds, as the Llama Stack API takes them), or the problems that keep it
 * from being one, each naming its field.
 */
export function metricsQuery(
  state: MetricsState,
  nowMs: number,
): { query: MetricsQuery; errors?: undefined } | { query?: undefined; errors: string[] } {
  const errors: string[] = [];
  if (state.metric === null) errors.push('metric: pick a metric');
  const seconds = (text: string, field: string): number | undefined => {
    const micros = /^\d{1,17}$/.test(text) ? Number(text) : isoToMicros(text);
    if (Number.isNaN(micros)) {
      errors.push(`${field}: expected an ISO-8601 date-time such as 2026-03-01T11:00:00Z`);
      return undefined;
    }
    return Math.floor(micros / 1_000_000);
  };
  const end = state.end === null ? Math.floor(nowMs / 1000) : seconds(state.end, 'end');
  let start: number | undefined;
  if (state.start !== null) start = seconds(state.start, 'start');
  else {
    const since = state.since ?? DEFAULT_METRICS_SINCE;
    const lookback = lookbackSeconds(since);
    if (lookback === undefined) errors.push(`since: expected a lookback such as 1h or 7d`);
    else if (end !== undefined) start = Math.max(0, end - lookback);
  }
  if (start !== undefined && end !== undefined && start > end) {
    errors.push('start: expected at most end');
  }
  if (state.granularity !== null && !/^[1-9]\d*[smhd]$/.test(state.granularity)) {
    errors.push('granularity: expected a bucket size such as 30s, 5m, 1h or 1d');
  }
  const label_matchers: LabelMatcher[] = [];
  state.match.forEach((text, i) => {
    const parsed = parseLabelMatcher(text);
    if (parsed.error !== undefined) errors.push(`match[${i}]: ${parsed.error}`);
    else label_matchers.push(parsed.matcher);
  });
  if (errors.length > 0 || start === undefined || end === undefined || state.metric === null) {
    return { errors };
  }
  return {
    query: {
      metric: state.metric,
      body: {
        query_type: state.type,
        start_time: start,
        end_time: end,
        ...(state.granularity !== null ? { granularity: state.granularity } : {}),
        label_matchers,
      },
    },
  };
}
