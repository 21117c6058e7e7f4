/**
 * The page's requests: only to its own server, relative to the page's URL
 * (so any base path works), with the session cookie the server set (or no
 * credentials at all on a server without a token).
 */
import type {
  MetricSeries,
  SpanEvents,
  Suggestions,
  TraceDetail,
  TraceSearchResult,
} from '@telemetry/core';
import type { MetricsQuery } from '../route-state.ts';

export interface ApiIssue {
  readonly path: string;
  readonly message: string;
}

/** An answer that is not a success, with the server's `{ code, message, issues }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: readonly ApiIssue[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`./${path}`, {
      ...init,
      credentials: 'same-origin',
      headers: { accept: 'application/json', ...init.headers },
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'NETWORK', 'The server did not answer: is it still running?');
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const b = (body ?? {}) as { code?: string; message?: string; issues?: ApiIssue[] };
    throw new ApiError(
      response.status,
      b.code ?? `HTTP_${response.status}`,
      b.message ?? `The server answered ${response.status} ${response.statusText}.`,
      Array.isArray(b.issues) ? b.issues : [],
    );
  }
  return body as T;
}

const withQuery = (path: string, query: URLSearchParams) => {
  const text = query.toString();
  return text ? `${path}?${text}` : path;
};

export const api = {
  searchTraces: (query: URLSearchParams, signal?: AbortSignal) =>
    call<TraceSearchResult>(withQuery('api/v1/traces', query), { signal }),
  traceDetail: (traceId: string, signal?: AbortSignal) =>
    call<TraceDetail>(`api/v1/traces/${encodeURIComponent(traceId)}`, { signal }),
  spanEvents: (traceId: string, spanId: string, signal?: AbortSignal) =>
    call<SpanEvents>(
      `api/v1/traces/${encodeURIComponent(traceId)}/spans/${encodeURIComponent(spanId)}/events`,
      { signal },
    ),
  suggest: (route: SuggestRoute, query: URLSearchParams, signal?: AbortSignal) =>
    call<Suggestions>(withQuery(`api/v1/${route}`, query), { signal }),
  queryMetrics: (query: MetricsQuery, signal?: AbortSignal) =>
    call<{ data: MetricSeries[] }>(`v1/telemetry/metrics/${encodeURIComponent(query.metric)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(query.body),
      signal,
    }),
};

export type SuggestRoute = 'services' | 'span-names' | 'attribute-keys' | 'metric-names';
