import type { Context, Hono } from 'hono';
import { nodeIncoming, readJson } from './body.ts';
import {
  isTraceSearchStore,
  isTraceStoreAdmin,
  PruneParamsSchema,
  paramsFromQuery,
  parseSearchParams,
  type QueryParamKind,
  SpanEventsParamsSchema,
  SuggestParamsSchema,
  searchIssues,
  TailSpansParamsSchema,
  TelemetryValidationError,
  TraceDetailParamsSchema,
  type TraceSearchStore,
  type TraceStoreAdmin,
  traceSearchFromQuery,
  type ValidationIssue,
} from './core-api.ts';
import { HttpError } from './errors.ts';
import type { ResolvedOptions } from './options.ts';

/**
 * The search extensions, apart from the Llama Stack routes: every search is
 * a GET with query parameters (so it is a URL), answered with the store's
 * result as JSON. `admin/prune` is a POST with a JSON body and needs the token.
 */
export const SEARCH_ROUTES = Object.freeze({
  searchTraces: 'GET /api/v1/traces',
  getTraceDetail: 'GET /api/v1/traces/{trace_id}',
  getSpanEvents: 'GET /api/v1/traces/{trace_id}/spans/{span_id}/events',
  suggestServices: 'GET /api/v1/services',
  suggestSpanNames: 'GET /api/v1/span-names',
  suggestAttributeKeys: 'GET /api/v1/attribute-keys',
  suggestMetricNames: 'GET /api/v1/metric-names',
  tailSpans: 'GET /api/v1/spans/tail',
  storeStats: 'GET /api/v1/admin/stats',
  prune: 'POST /api/v1/admin/prune',
});

interface Schema {
  safeParse(value: unknown): { success: true } | { success: false; error: any };
}

/**
 * Query parameters by kind, checked with the method's schema: one 400 names
 * every bad, unknown or repeated parameter by its query name.
 */
function fromQuery(
  c: Context,
  kinds: Readonly<Record<string, QueryParamKind>>,
  schema: Schema,
  what: string,
  fixed: Record<string, unknown> = {},
): Record<string, unknown> {
  const { params, issues } = paramsFromQuery(new URL(c.req.url).searchParams, kinds);
  const all = { ...params, ...fixed };
  const checked = schema.safeParse(all);
  const problems: ValidationIssue[] = [...issues];
  if (!checked.success) problems.push(...searchIssues(checked.error));
  if (problems.length > 0) throw new TelemetryValidationError(what, problems);
  return all;
}

/** Search answers are live data: never cached by a browser or a proxy. */
function answer(c: Context, value: unknown): Response {
  c.header('Cache-Control', 'no-store');
  return c.json(value);
}

const SUGGEST_QUERY = { prefix: 'text', limit: 'number' } as const;

export function mountSearchRoutes(app: Hono, options: ResolvedOptions): void {
  const { telemetry } = options;
  const searchStore = (): TraceSearchStore => {
    const store = telemetry.sinks.find(isTraceSearchStore) as TraceSearchStore | undefined;
    if (store) return store;
    throw new HttpError(
      501,
      'TELEMETRY_SEARCH_UNSUPPORTED',
      `This server's pipeline has no store with the search extensions (${telemetry.sinks.length === 0 ? 'it has no sinks' : `its sinks: ${telemetry.sinks.map((s) => s.name).join(', ')}`}): add a SQLite sink (@telemetry/sink-sqlite) to search its traces.`,
      { headers: { 'x-should-retry': 'false' } },
    );
  };
  const adminStore = (): TraceStoreAdmin => {
    const store = telemetry.sinks.find(isTraceStoreAdmin) as TraceStoreAdmin | undefined;
    if (store) return store;
    throw new HttpError(
      501,
      'TELEMETRY_STORE_ADMIN_UNSUPPORTED',
      "This server's pipeline has no store with admin methods (storeStats, prune): add a SQLite sink (@telemetry/sink-sqlite).",
      { headers: { 'x-should-retry': 'false' } },
    );
  };

  app.get('/api/v1/traces', async (c) => {
    const params = traceSearchFromQuery(new URL(c.req.url).searchParams);
    return answer(c, await searchStore().searchTraces(params));
  });

  app.get('/api/v1/traces/:trace_id', async (c) => {
    const params = fromQuery(
      c,
      { limit: 'number', event_limit: 'number' },
      TraceDetailParamsSchema,
      'trace detail parameters',
    );
    return answer(c, await searchStore().getTraceDetail(c.req.param('trace_id'), params));
  });

  app.get('/api/v1/traces/:trace_id/spans/:span_id/events', async (c) => {
    const params = fromQuery(
      c,
      { limit: 'number' },
      SpanEventsParamsSchema,
      'span events parameters',
    );
    return answer(
      c,
      await searchStore().getSpanEvents(c.req.param('trace_id'), c.req.param('span_id'), params),
    );
  });

  const suggestRoute = (path: string, field: string, kinds: Record<string, QueryParamKind>) =>
    app.get(path, async (c) => {
      const params = fromQuery(c, kinds, SuggestParamsSchema, 'suggestion parameters', { field });
      return answer(c, await searchStore().suggest(params as never));
    });
  suggestRoute('/api/v1/services', 'service', SUGGEST_QUERY);
  suggestRoute('/api/v1/span-names', 'span_name', { ...SUGGEST_QUERY, service: 'text' });
  suggestRoute('/api/v1/attribute-keys', 'attribute_key', SUGGEST_QUERY);
  suggestRoute('/api/v1/metric-names', 'metric_name', SUGGEST_QUERY);

  app.get('/api/v1/spans/tail', async (c) => {
    const params = fromQuery(
      c,
      { cursor: 'text', limit: 'number' },
      TailSpansParamsSchema,
      'tail parameters',
    );
    return answer(c, await searchStore().tailSpans(params));
  });

  app.get('/api/v1/admin/stats', async (c) => {
    fromQuery(c, {}, { safeParse: () => ({ success: true }) }, 'stats parameters');
    return answer(c, await adminStore().storeStats());
  });

  app.post('/api/v1/admin/prune', async (c) => {
    // Deleting data needs a caller who proved who they are, even where reads need no token.
    if (!options.token) {
      throw new HttpError(
        403,
        'TELEMETRY_ADMIN_TOKEN_REQUIRED',
        'Pruning over HTTP needs a token: start the server with the token option (or TELEMETRY_SERVER_TOKEN) and send it as Authorization: Bearer <token>.',
      );
    }
    const body = await readJson(c.req.raw, options.maxBodyBytes, nodeIncoming(c.env));
    const params = parseSearchParams(PruneParamsSchema, body, 'prune body');
    return answer(c, await adminStore().prune(params));
  });
}
