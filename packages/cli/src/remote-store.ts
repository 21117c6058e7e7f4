/**
 * A running `telemetry serve` (or any `@telemetry/server`) as a store: the
 * search extensions under `/api/v1` and the Llama Stack routes, with the
 * answers checked against core's schemas, and every failure as one clear
 * message (down, wrong token, not a telemetry server).
 */
import {
  type MetricSeries,
  type PruneResult,
  PruneResultSchema,
  type Span,
  type StoreStats,
  StoreStatsSchema,
  type TailSpansResult,
  TailSpansResultSchema,
  TelemetryValidationError,
  type TraceDetail,
  TraceDetailSchema,
  type TraceSearchResult,
  TraceSearchResultSchema,
  traceSearchToQuery,
  type ValidationIssue,
} from '@telemetry/core';
import { CliError, UsageError } from './errors.ts';
import type { CliStore, DatasetRow } from './store.ts';

/** How long one request may take. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Spans per request when a dataset is read page by page. */
const DATASET_PAGE = 1_000;

interface Checked<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false };
}

export function remoteStore(baseUrl: string, token: string | undefined): CliStore {
  let base: URL;
  try {
    base = new URL(baseUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new UsageError(
      `--url ${JSON.stringify(baseUrl)} is not an http(s) URL: pass the address \`telemetry serve\` printed, such as http://127.0.0.1:8321.`,
    );
  }
  const root = base.href.replace(/\/+$/, '');
  const location = root;

  async function call<T>(
    method: 'GET' | 'POST',
    path: string,
    schema: Checked<T> | null,
    body?: unknown,
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${root}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason =
        (error as Error).name === 'TimeoutError'
          ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`
          : (cause?.code ?? cause?.message ?? (error as Error).message);
      throw new CliError(
        'TELEMETRY_CLI_UNREACHABLE',
        `Cannot reach the telemetry server at ${location} (${reason}): start it with \`telemetry serve\`, or check --url.`,
        1,
        { cause: error },
      );
    }
    const text = await response.text();
    let value: unknown;
    try {
      value = text === '' ? null : JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (!response.ok) throw httpError(response.status, value, path);
    if (value === undefined) {
      throw new CliError(
        'TELEMETRY_CLI_BAD_ANSWER',
        `The server at ${location} answered ${path} with something that is not JSON: is --url a telemetry server?`,
      );
    }
    if (schema === null) return value as T;
    const checked = schema.safeParse(value);
    if (!checked.success) {
      throw new CliError(
        'TELEMETRY_CLI_BAD_ANSWER',
        `The server at ${location} answered ${path} in a shape this version does not know: is it a telemetry server of a matching version?`,
      );
    }
    return checked.data;
  }

  function httpError(status: number, body: unknown, path: string): Error {
    const b = (typeof body === 'object' && body !== null ? body : {}) as {
      code?: unknown;
      message?: unknown;
      issues?: unknown;
    };
    const message = typeof b.message === 'string' ? b.message : undefined;
    if (status === 401) {
      return new CliError(
        'TELEMETRY_CLI_UNAUTHORIZED',
        `The telemetry server at ${location} refused the request (401 Unauthorized): pass its token with --token or TELEMETRY_SERVER_TOKEN.`,
      );
    }
    if (status === 400 && Array.isArray(b.issues)) {
      // The same error a local store throws, so both read the same to the user.
      return new TelemetryValidationError('request', b.issues as ValidationIssue[]);
    }
    if (status === 404 && b.code === 'TELEMETRY_NOT_FOUND' && message) {
      return new CliError('TELEMETRY_CLI_NOT_FOUND', message);
    }
    if (status === 404) {
      return new CliError(
        'TELEMETRY_CLI_BAD_ANSWER',
        `The server at ${location} has no ${path.split('?')[0]} (404): is --url a telemetry server (telemetry serve), with the right path?`,
      );
    }
    return new CliError(
      'TELEMETRY_CLI_SERVER',
      `The telemetry server at ${location} answered ${status}${message ? `: ${message.replace(/\.$/, '')}` : ''}.`,
    );
  }

  const q = (params: Record<string, string | number | null | undefined>) => {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v != null) query.set(k, String(v));
    const s = query.toString();
    return s ? `?${s}` : '';
  };
  const data = <T>(value: { data?: unknown } | null): T => {
    if (!value || !Array.isArray(value.data)) {
      throw new CliError(
        'TELEMETRY_CLI_BAD_ANSWER',
        `The server at ${location} answered without data: is --url a telemetry server?`,
      );
    }
    return value.data as T;
  };

  const store: CliStore = {
    location,
    async searchTraces(params) {
      const query = traceSearchToQuery(params).toString();
      return call<TraceSearchResult>(
        'GET',
        `/api/v1/traces${query ? `?${query}` : ''}`,
        TraceSearchResultSchema,
      );
    },
    getTraceDetail: (traceId, params = {}) =>
      call<TraceDetail>(
        'GET',
        `/api/v1/traces/${encodeURIComponent(traceId)}${q({ limit: params.limit, event_limit: params.event_limit })}`,
        TraceDetailSchema,
      ),
    async querySpans(params) {
      return data<Span[]>(await call('POST', '/v1/telemetry/spans', null, params));
    },
    async queryMetrics(name, params) {
      return data<MetricSeries[]>(
        await call('POST', `/v1/telemetry/metrics/${encodeURIComponent(name)}`, null, params),
      );
    },
    tailSpans: (params) =>
      call<TailSpansResult>(
        'GET',
        `/api/v1/spans/tail${q({ cursor: params.cursor, limit: params.limit })}`,
        TailSpansResultSchema,
      ),
    storeStats: () => call<StoreStats>('GET', '/api/v1/admin/stats', StoreStatsSchema),
    prune: (params) => call<PruneResult>('POST', '/api/v1/admin/prune', PruneResultSchema, params),
    async datasetRows(query, onRows) {
      // The server's export writes to its own dataset writer; read the same spans page by page instead.
      const keys = [...new Set(query.attributes_to_save)];
      for (let offset = 0; ; offset += DATASET_PAGE) {
        const spans = await store.querySpans({
          attribute_filters: query.attribute_filters,
          attributes_to_return: keys,
          max_depth: query.max_depth ?? null,
          limit: DATASET_PAGE,
          offset,
        });
        await onRows(spans.map((span) => datasetRow(span, keys)));
        if (spans.length < DATASET_PAGE) break;
      }
    },
    close: async () => {},
  };
  return store;
}

/** A dataset row of a span, as the store's `saveSpansToDataset` writes it. */
function datasetRow(span: Span, keys: readonly string[]): DatasetRow {
  const row: DatasetRow = {
    trace_id: span.trace_id,
    span_id: span.span_id,
    parent_span_id: span.parent_span_id ?? null,
    name: span.name,
    start_time: span.start_time,
    end_time: span.end_time,
  };
  for (const key of keys) {
    // defineProperty: a key such as `__proto__` is an ordinary column.
    Object.defineProperty(row, key, {
      value: span.attributes?.[key] ?? null,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return row;
}
