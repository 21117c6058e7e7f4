/**
 * The search extensions over HTTP (issue 14): real server on 127.0.0.1 over a
 * real SQLite file, filled by OTLP ingest and by the in-process API.
 */
import { createMemorySink, createTelemetry } from '@telemetry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createTelemetryServer, SEARCH_ROUTES } from './index.ts';
import { type Fixture, startFixture, storedCounts } from './test-support/fixture.ts';
import { hexId, postOtlp, span, tracesRequest } from './test-support/otlp.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fixture(options: Parameters<typeof startFixture>[0] = {}): Promise<Fixture> {
  const fx = await startFixture({ store: { serviceName: 'in-process' }, ...options });
  cleanups.push(() => fx.close());
  return fx;
}

const T = Date.UTC(2026, 2, 1, 12) * 1000; // epoch micros
const nanos = (micros: number) => String(BigInt(micros) * 1000n);

/** An OTLP trace: a root lasting `ms` and one child, the child failed when `error`. */
function otlpTrace(opts: {
  start: number;
  ms: number;
  name: string;
  error?: boolean;
  model?: string;
}) {
  const traceId = hexId(16);
  const rootId = hexId(8);
  return {
    traceId,
    rootId,
    spans: [
      span({
        traceId,
        spanId: rootId,
        name: opts.name,
        kind: 2,
        startTimeUnixNano: nanos(opts.start),
        endTimeUnixNano: nanos(opts.start + opts.ms * 1000),
        attributes: [{ key: 'http.route', value: { stringValue: opts.name } }],
      }),
      span({
        traceId,
        spanId: hexId(8),
        parentSpanId: rootId,
        name: 'llm',
        startTimeUnixNano: nanos(opts.start + 10),
        endTimeUnixNano: nanos(opts.start + 20),
        attributes: [{ key: 'model', value: { stringValue: opts.model ?? 'llama' } }],
        status: opts.error ? { code: 2, message: 'rate limited' } : { code: 0 },
        events: [
          {
            timeUnixNano: nanos(opts.start + 15),
            name: 'retrying',
            attributes: [{ key: 'attempt', value: { intValue: 2 } }],
          },
        ],
      }),
    ],
  };
}

async function get(fx: Fixture, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${fx.url}${path}`, { headers });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as any,
  };
}

/** Three OTLP traces from 'gateway' and one from the process itself. */
async function filled(options: Parameters<typeof startFixture>[0] = {}) {
  const fx = await fixture(options);
  const slowFailed = otlpTrace({ start: T, ms: 2500, name: 'POST /chat', error: true });
  const fast = otlpTrace({ start: T + 1_000_000, ms: 50, name: 'POST /chat', model: 'gpt' });
  const slowOk = otlpTrace({ start: T + 2_000_000, ms: 3000, name: 'GET /models' });
  const response = await postOtlp(
    fx.url,
    'traces',
    tracesRequest([...slowFailed.spans, ...fast.spans, ...slowOk.spans], {
      'service.name': 'gateway',
    }),
    options.server?.token ? { authorization: `Bearer ${options.server.token}` } : {},
  );
  expect(response.status).toBe(200);
  await fx.telemetry.withTrace('nightly job', async () => {});
  await fx.telemetry.flush();
  return { fx, slowFailed, fast, slowOk };
}

describe('GET /api/v1/traces', () => {
  it('finds OTLP and in-process traces by service, status, duration and attribute', async () => {
    const { fx, slowFailed, fast, slowOk } = await filled();
    const all = await get(fx, '/api/v1/traces');
    expect(all.status).toBe(200);
    expect(all.headers.get('cache-control')).toBe('no-store');
    expect(all.body.traces.map((t: any) => [t.root_name, t.service_name])).toEqual([
      ['nightly job', 'in-process'],
      ['GET /models', 'gateway'],
      ['POST /chat', 'gateway'],
      ['POST /chat', 'gateway'],
    ]);
    const failedSlow = await get(
      fx,
      `/api/v1/traces?service=gateway&status=error&min_duration_ms=2000&attr=model%3Dllama&start=${encodeURIComponent('2026-03-01T00:00:00Z')}&end=${T + 10_000_000}`,
    );
    expect(failedSlow.body).toEqual({
      traces: [
        {
          trace_id: slowFailed.traceId,
          root_span_id: slowFailed.rootId,
          root_name: 'POST /chat',
          service_name: 'gateway',
          start_time: '2026-03-01T12:00:00.000000Z',
          end_time: '2026-03-01T12:00:02.500000Z',
          duration_ms: 2500,
          span_count: 2,
          error_count: 1,
        },
      ],
      next_cursor: null,
      live_cursor: expect.any(String),
    });
    const ids = async (query: string) =>
      (await get(fx, `/api/v1/traces?${query}`)).body.traces.map((t: any) => t.trace_id);
    expect(await ids('name=POST%20%2Fchat&status=ok')).toEqual([fast.traceId]);
    expect(await ids('attr=model%3Dgpt')).toEqual([fast.traceId]);
    expect(await ids('attr=model!%3Dgpt&attr=service.name%3Dgateway')).toEqual([
      slowOk.traceId,
      slowFailed.traceId,
    ]);
    expect(await ids('service=in-process')).toHaveLength(1);
    expect(await ids('max_duration_ms=100&service=gateway')).toEqual([fast.traceId]);
  });

  it('pages with next_cursor and polls with live_cursor', async () => {
    const { fx } = await filled();
    const first = await get(fx, '/api/v1/traces?service=gateway&limit=2');
    expect(first.body.traces).toHaveLength(2);
    const second = await get(
      fx,
      `/api/v1/traces?service=gateway&limit=2&cursor=${encodeURIComponent(first.body.next_cursor)}`,
    );
    expect(second.body.traces).toHaveLength(1);
    expect(second.body.next_cursor).toBeNull();
    const poll = (cursor: string) =>
      get(fx, `/api/v1/traces?service=gateway&newer_than=${encodeURIComponent(cursor)}`);
    const quiet = await poll(first.body.live_cursor);
    expect(quiet.body.traces).toEqual([]);
    const fresh = otlpTrace({ start: T - 5_000_000, ms: 1, name: 'late' });
    await postOtlp(fx.url, 'traces', tracesRequest(fresh.spans, { 'service.name': 'gateway' }));
    await fx.telemetry.flush();
    const news = await poll(quiet.body.live_cursor);
    expect(news.body.traces.map((t: any) => t.trace_id)).toEqual([fresh.traceId]);
    expect((await poll(news.body.live_cursor)).body.traces).toEqual([]);
  });

  it('answers 400 naming every bad parameter, and never runs a forged cursor', async () => {
    const { fx } = await filled();
    const bad = await get(
      fx,
      '/api/v1/traces?status=failed&start=2026-03-02T00:00:00Z&end=2026-03-01T00:00:00Z&limit=100000&attr=oops&min_duration=5&service=a&service=b',
    );
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('TELEMETRY_INVALID_INPUT');
    expect(bad.body.issues.map((i: any) => i.path).sort()).toEqual(
      ['attr[0]', 'limit', 'min_duration', 'service', 'start', 'status'].sort(),
    );
    expect(bad.body.message).toMatch(/status: expected 'error'/);
    for (const cursor of ['garbage', Buffer.from('["p","1 OR 1=1","x"]').toString('base64url')]) {
      const r = await get(fx, `/api/v1/traces?cursor=${encodeURIComponent(cursor)}`);
      expect(r.status).toBe(400);
      expect(r.body.issues.map((i: any) => i.path)).toEqual(['cursor']);
    }
    const gt = await get(fx, '/api/v1/traces?attr=tokens%3Enull');
    expect(gt.body.issues.map((i: any) => i.path)).toEqual(['attr[0].value']);
  });

  it('treats SQL in every parameter as data', async () => {
    const { fx } = await filled();
    const probe = encodeURIComponent("' OR '1'='1'; DROP TABLE traces; --");
    for (const query of [
      `service=${probe}`,
      `name=${probe}`,
      `attr=${probe}%3D${probe}`,
      `attr=model%3D${probe}`,
    ]) {
      const r = await get(fx, `/api/v1/traces?${query}`);
      expect(r.status).toBe(200);
      expect(r.body.traces).toEqual([]);
    }
    for (const path of ['services', 'span-names', 'attribute-keys', 'metric-names']) {
      const r = await get(fx, `/api/v1/${path}?prefix=${probe}`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ values: [], truncated: false });
    }
    expect((await storedCounts(fx)).traces).toBe(4);
  });
});

describe('trace detail, span events, suggestions, tail', () => {
  it('answers a trace with its spans and events, and one span’s events', async () => {
    const { fx, slowFailed } = await filled();
    const detail = await get(fx, `/api/v1/traces/${slowFailed.traceId}`);
    expect(detail.status).toBe(200);
    expect(detail.body.trace).toMatchObject({ trace_id: slowFailed.traceId, error_count: 1 });
    const [root, child] = detail.body.spans;
    expect(root).toMatchObject({
      span_id: slowFailed.rootId,
      kind: 'server',
      parent_span_id: null,
    });
    expect(child).toMatchObject({
      parent_span_id: slowFailed.rootId,
      status: 'error',
      status_message: 'rate limited',
      service_name: 'gateway',
    });
    expect(detail.body.logs).toEqual([
      expect.objectContaining({ span_id: child.span_id, message: 'retrying' }),
    ]);
    expect(detail.body.spans_truncated).toBe(false);
    const limited = await get(fx, `/api/v1/traces/${slowFailed.traceId}?limit=1`);
    expect(limited.body.spans).toHaveLength(1);
    expect(limited.body.spans_truncated).toBe(true);
    const events = await get(
      fx,
      `/api/v1/traces/${slowFailed.traceId}/spans/${child.span_id}/events?limit=5`,
    );
    expect(events.body).toEqual({ logs: detail.body.logs, metrics: [], truncated: false });

    const missing = await get(fx, `/api/v1/traces/${'f'.repeat(32)}`);
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('TELEMETRY_NOT_FOUND');
    const badId = await get(fx, '/api/v1/traces/not-an-id?limit=0&extra=1');
    expect(badId.status).toBe(400);
    expect(badId.body.issues.map((i: any) => i.path).sort()).toEqual(['extra', 'limit']);
    const badTrace = await get(fx, '/api/v1/traces/not-an-id');
    expect(badTrace.body.issues.map((i: any) => i.path)).toEqual(['trace_id']);
  });

  it('suggests services, root names, attribute keys and metric names', async () => {
    const { fx } = await filled();
    fx.telemetry.withTrace('metered', (s) => s.metric('tokens.out', 3, 'tokens'));
    await fx.telemetry.flush();
    expect((await get(fx, '/api/v1/services')).body).toEqual({
      values: ['gateway', 'in-process'],
      truncated: false,
    });
    expect((await get(fx, '/api/v1/span-names?service=gateway')).body.values).toEqual([
      'GET /models',
      'POST /chat',
    ]);
    expect((await get(fx, '/api/v1/attribute-keys?prefix=http.')).body.values).toEqual([
      'http.route',
    ]);
    expect((await get(fx, '/api/v1/metric-names')).body.values).toEqual(['tokens.out']);
    expect((await get(fx, '/api/v1/services?limit=1')).body).toEqual({
      values: ['gateway'],
      truncated: true,
    });
    const bad = await get(fx, '/api/v1/services?service=x&limit=-1');
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((i: any) => i.path).sort()).toEqual(['limit', 'service']);
  });

  it('tails spans as they are written', async () => {
    const { fx } = await filled();
    const start = await get(fx, '/api/v1/spans/tail?limit=0');
    expect(start.body).toEqual({ spans: [], cursor: expect.any(String), more: false });
    await fx.telemetry.withTrace('later', async () => {
      await fx.telemetry.withSpan('inner', async () => {});
    });
    await fx.telemetry.flush();
    const next = await get(
      fx,
      `/api/v1/spans/tail?cursor=${encodeURIComponent(start.body.cursor)}`,
    );
    expect(next.body.spans.map((s: any) => s.name)).toEqual(['inner', 'later']);
    expect((await get(fx, '/api/v1/spans/tail?cursor=nope')).status).toBe(400);
  });
});

describe('access', () => {
  it('reads need the token when one is set; prune needs one always', async () => {
    const open = await fixture();
    const refused = await fetch(`${open.url}/api/v1/admin/prune`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ keep_spans: 0 }),
    });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'TELEMETRY_ADMIN_TOKEN_REQUIRED' });
    expect((await get(open, '/api/v1/admin/stats')).status).toBe(200);

    const { fx } = await filled({ server: { token: 's3cret' } });
    expect((await get(fx, '/api/v1/traces')).status).toBe(401);
    expect((await get(fx, '/api/v1/admin/stats')).status).toBe(401);
    const auth = { authorization: 'Bearer s3cret' };
    const stats = await get(fx, '/api/v1/admin/stats', auth);
    expect(stats.body).toMatchObject({ traces: 4, spans: 7 });
    const prune = (body: unknown, headers: Record<string, string> = auth) =>
      fetch(`${fx.url}/api/v1/admin/prune`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    expect((await prune({ keep_spans: 0 }, { authorization: 'Bearer guess' })).status).toBe(401);
    const badPrune = await prune({ keep_spans: -1, now: true });
    expect(badPrune.status).toBe(400);
    expect(((await badPrune.json()) as any).issues.map((i: any) => i.path).sort()).toEqual([
      'keep_spans',
      'now',
    ]);
    const pruned = await prune({ older_than: '2026-03-01T12:00:03Z' });
    expect(pruned.status).toBe(200);
    expect(await pruned.json()).toMatchObject({
      deleted_traces: 2,
      deleted_spans: 4,
      deleted_events: 2,
      vacuumed: false,
    });
    expect((await storedCounts(fx)).traces).toBe(2);
  });

  it('answers 501 when the pipeline has no store with the extensions', async () => {
    const telemetry = createTelemetry({ sinks: [createMemorySink()] });
    const server = createTelemetryServer({ telemetry, port: 0, token: 't', onError: () => {} });
    const address = await server.listen();
    cleanups.push(async () => {
      await server.close();
      await telemetry.shutdown();
    });
    const headers = { authorization: 'Bearer t' };
    for (const path of ['/api/v1/traces', '/api/v1/services', '/api/v1/admin/stats']) {
      const r = await fetch(`${address.url}${path}`, { headers });
      expect(r.status).toBe(501);
      expect(r.headers.get('x-should-retry')).toBe('false');
      expect(((await r.json()) as any).message).toMatch(/SQLite sink/);
    }
  });

  it('serves under the base path, and not on the OTLP-only port', async () => {
    const { fx } = await filled({ server: { basePath: '/telemetry', otlpPort: 0 } });
    expect(fx.url.endsWith('/telemetry')).toBe(true);
    expect((await get(fx, '/api/v1/traces')).body.traces).toHaveLength(4);
    const otlpOnly = await fetch(`${fx.address.otlpUrl}/api/v1/traces`);
    expect(otlpOnly.status).toBe(404);
    expect(Object.keys(SEARCH_ROUTES)).toHaveLength(10);
  });
});
