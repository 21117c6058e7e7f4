/**
 * Issue 11, items 2, 3, 4 and 9, as an attacker meets them through the HTTP
 * server (@telemetry/server): a store holding cycles, out-of-range and
 * non-numeric times, and labels built for catastrophic backtracking, queried
 * through every Llama Stack route and search extension, and fed more of the
 * same through OTLP ingest and log_event. No request may hang, fail with a
 * 5xx or take the store down; refusals name their field. Then moderate
 * concurrency through the same server: every request answered, every span
 * stored.
 */
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import type { RunningChild } from '@telemetry/test-support/child-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDir, start } from './support/children.ts';
import { recordFigures } from './support/figures.ts';

const dir = scratchDir('hostile');
let server: RunningChild;
let info: Record<string, any>;
const timings: { what: string; ms: number }[] = [];

interface Answer {
  readonly status: number;
  readonly body: any;
}

/** One request; a hang is caught by the child's CPU watchdog or this generous timeout. */
async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(`${info.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(300_000),
  });
  const text = await response.text();
  timings.push({ what: `${method} ${path.slice(0, 60)}`, ms: performance.now() - started });
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: kept as text for the message.
  }
  return { status: response.status, body: parsed };
}

/** Answered, and not with a server error: 2xx, or a 4xx that says what was wrong. */
function answered(answer: Answer, what: string): void {
  expect(answer.status, `${what}: ${JSON.stringify(answer.body).slice(0, 500)}`).toBeLessThan(500);
}

beforeAll(async () => {
  let listening!: (record: Record<string, any>) => void;
  const ready = new Promise<Record<string, any>>((resolve) => {
    listening = resolve;
  });
  server = start(
    'hostile-server',
    { sqlitePath: join(dir, 'hostile.db') },
    {
      cpuLimitMs: 60_000,
      onLine: (line) => {
        if (line.startsWith('{"event":"listening"')) listening(JSON.parse(line));
      },
    },
  );
  const ended = server.result.then((r): never => {
    throw new Error(`the server child ended before listening: ${r.stderr.slice(-2000)}`);
  });
  info = await Promise.race([ready, ended]);
});

describe('a store of hostile rows, over HTTP', () => {
  it('every Llama Stack route answers for cycles and out-of-range times, each span once, within the trace', async () => {
    const traces = await call('POST', '/v1/telemetry/traces', {});
    answered(traces, 'queryTraces');
    expect(traces.status).toBe(200);
    const listed = traces.body.data.map((t: { trace_id: string }) => t.trace_id);
    // The ordinary trace, the 2-cycle with its marked root, the raw 3-cycle, the odd times.
    expect(listed).toEqual(
      expect.arrayContaining([info.traces[0], info.traces[2], info.traces[3]]),
    );
    answered(await call('POST', '/v1/telemetry/traces', { order_by: ['-end_time'] }), 'by end');

    for (const trace of info.traces) {
      const answer = await call('GET', `/v1/telemetry/traces/${trace}`);
      answered(answer, `getTrace ${trace}`);
      expect([200, 404]).toContain(answer.status);
    }
    for (const span of info.spans) {
      for (const body of [
        {},
        { max_depth: 0 },
        { max_depth: 2 },
        { attributes_to_return: ['__proto__', 'user'] },
      ]) {
        const tree = await call('POST', `/v1/telemetry/spans/${span}/tree`, body);
        answered(tree, `getSpanTree ${span} ${JSON.stringify(body)}`);
        expect(tree.status).toBe(200);
        const spans = Object.values(tree.body.data) as { span_id: string; trace_id: string }[];
        // A tree never leaves its trace and never repeats a span, whatever the parents say.
        expect(new Set(spans.map((s) => s.trace_id)).size).toBeLessThanOrEqual(1);
        expect(spans.length).toBeLessThanOrEqual(4);
        if (body.max_depth === 0) expect(spans.map((s) => s.span_id)).toEqual([span]);
      }
    }
    const all = await call('POST', '/v1/telemetry/spans', { attribute_filters: [] });
    answered(all, 'querySpans');
    const keys = all.body.data.map(
      (s: { trace_id: string; span_id: string }) => `${s.trace_id}:${s.span_id}`,
    );
    expect(new Set(keys).size).toBe(keys.length);
    // Times come back as ISO-8601 within years 0001-9999, whatever is stored.
    for (const s of all.body.data) {
      expect(s.start_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(s.end_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    }
    answered(
      await call('POST', '/v1/telemetry/spans/export', {
        attribute_filters: [],
        attributes_to_save: ['user'],
        dataset_id: 'audit',
      }),
      'saveSpansToDataset',
    );
  });

  it('label matchers built to backtrack answer in linear time; an invalid one is a 400 naming the matcher', async () => {
    const query = (operator: string, value: string) =>
      call('POST', '/v1/telemetry/metrics/tokens', {
        query_type: 'instant',
        ...info.metricWindow,
        label_matchers: [{ name: 'model', operator, value }],
      });
    const expected: [string, string, number][] = [
      ['=~', '(.*)*x', 2],
      ['=~', '(a+)+$', 1],
      ['!~', '(a|aa)+', 4],
      ['=~', '(a|a)*b', 0],
      ['=~', '((ab)*)*x', 2],
      ['=~', '(.?){900}x', 1],
      ['=~', '(?s)\\n+', 1],
    ];
    for (const [operator, value, series] of expected) {
      const answer = await query(operator, value);
      answered(answer, `${operator} ${value}`);
      expect(answer.body.data, `${operator} ${value}`).toHaveLength(series);
    }
    for (const bad of ['(a)\\1', '(?=a)', '[', 'a{1000}{1000}', 'x'.repeat(5_000)]) {
      const answer = await query('=~', bad);
      expect(answer.status, bad.slice(0, 20)).toBe(400);
      expect(JSON.stringify(answer.body)).toContain('label_matchers[0].value');
    }
  });

  it('every search extension answers for the same rows, and pages end', async () => {
    const paths = [
      '/api/v1/traces',
      '/api/v1/traces?status=error',
      '/api/v1/traces?min_duration_ms=0&max_duration_ms=1000000000',
      '/api/v1/traces?start=0001-01-01T00:00:00Z&end=9999-12-31T23:59:59Z',
      '/api/v1/services',
      '/api/v1/span-names',
      '/api/v1/attribute-keys',
      '/api/v1/metric-names',
      '/api/v1/spans/tail?limit=1000',
      '/api/v1/admin/stats',
      ...info.traces.map((t: string) => `/api/v1/traces/${t}`),
      ...info.spans.map(
        (s: string, i: number) => `/api/v1/traces/${info.traces[Math.min(i, 7)]}/spans/${s}/events`,
      ),
    ];
    for (const path of paths) {
      const answer = await call('GET', path);
      answered(answer, path);
      expect([200, 404], path).toContain(answer.status);
    }
    // Paging two at a time reaches the end, each trace once.
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 20; page++) {
      const answer: Answer = await call(
        'GET',
        `/api/v1/traces?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      answered(answer, `page ${page}`);
      seen.push(...answer.body.traces.map((t: { trace_id: string }) => t.trace_id));
      cursor = answer.body.next_cursor;
      if (!cursor) break;
    }
    expect(cursor).toBeNull();
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('more of the same through the doors (OTLP ingest, log_event): out-of-range times are refused by name, cycles are stored and answer', async () => {
    const now = BigInt(Date.now()) * 1_000_000n;
    const otlpSpan = (traceId: string, spanId: string, parentSpanId: string, extra = {}) => ({
      traceId,
      spanId,
      parentSpanId,
      name: 'ingested',
      kind: 1,
      startTimeUnixNano: String(now),
      endTimeUnixNano: String(now + 1_000n),
      ...extra,
    });
    const T = 'c'.repeat(32);
    const request = (spans: object[]) => ({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'hostile' } }] },
          scopeSpans: [{ scope: { name: 'x' }, spans }],
        },
      ],
    });
    const cycles = await call(
      'POST',
      '/v1/traces',
      request([
        otlpSpan(T, 'c1'.repeat(8), 'c1'.repeat(8)),
        otlpSpan(T, 'c2'.repeat(8), 'c3'.repeat(8)),
        otlpSpan(T, 'c3'.repeat(8), 'c2'.repeat(8)),
      ]),
    );
    answered(cycles, 'OTLP cycles');
    const times = await call(
      'POST',
      '/v1/traces',
      request([
        otlpSpan('d'.repeat(32), 'd1'.repeat(8), '', {
          startTimeUnixNano: '18446744073709551615',
          endTimeUnixNano: '0',
        }),
      ]),
    );
    answered(times, 'OTLP extreme times');

    const event = (timestamp: unknown) => ({
      event: {
        type: 'structured_log',
        trace_id: 'e'.repeat(32),
        span_id: 'e1'.repeat(8),
        timestamp,
        payload: { type: 'span_start', name: 'x' },
      },
    });
    for (const bad of [
      8_640_000_000_001_000_000,
      1e300,
      '2025-02-30T00:00:00Z',
      '2025-01-01T00:00:00+99:99',
      '0000-01-01T00:00:00Z',
    ]) {
      const answer = await call('POST', '/v1/telemetry/events', event(bad));
      expect(answer.status, String(bad)).toBe(400);
      expect(JSON.stringify(answer.body), String(bad)).toContain('event.timestamp');
    }
    answered(
      await call('POST', '/v1/telemetry/events', event('0050-03-01T00:00:00.000001Z')),
      'year 50',
    );

    // What was ingested answers too: a tree of each, never repeating a span.
    let tree: Answer | undefined;
    for (let i = 0; i < 600; i++) {
      tree = await call('POST', `/v1/telemetry/spans/${'c2'.repeat(8)}/tree`, {});
      if (tree.status !== 404) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    answered(tree!, 'tree of an ingested cycle');
    expect(Object.keys(tree!.body.data).sort()).toEqual(['c2'.repeat(8), 'c3'.repeat(8)]);
    answered(await call('GET', `/api/v1/traces/${T}`), 'detail of the ingested trace');
    answered(await call('POST', `/v1/telemetry/spans/${'c1'.repeat(8)}/tree`, {}), 'self-parent');
  });
});

describe('moderate concurrency through the same server', () => {
  it('550 requests at once over a pool of 32 connections: ingest and queries all answered, every span stored', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    const post = (path: string, body: unknown) =>
      new Promise<number>((resolve, reject) => {
        const started = performance.now();
        const req = httpRequest(
          `${info.url}${path}`,
          { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => {
              timings.push({
                what: `POST ${path.slice(0, 40)} (concurrent)`,
                ms: performance.now() - started,
              });
              resolve(res.statusCode ?? 0);
            });
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify(body));
      });
    const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
    const now = BigInt(Date.now()) * 1_000_000n;
    const work: Promise<number>[] = [];
    const INGESTS = 300;
    for (let i = 0; i < INGESTS; i++) {
      const traceId = `f${hex(i, 31)}`;
      const root = `a${hex(i, 15)}`;
      const spans = [root, `b${hex(i, 15)}`, `c${hex(i, 15)}`].map((spanId, j) => ({
        traceId,
        spanId,
        parentSpanId: j === 0 ? '' : root,
        name: j === 0 ? 'load request' : 'load step',
        kind: 2,
        startTimeUnixNano: String(now + BigInt(j)),
        endTimeUnixNano: String(now + 1_000n),
      }));
      work.push(
        post('/v1/traces', {
          resourceSpans: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: 'load' } }] },
              scopeSpans: [{ scope: { name: 'load' }, spans }],
            },
          ],
        }),
      );
      if (i % 2 === 0)
        work.push(post('/v1/telemetry/traces', { limit: 20, order_by: ['-start_time'] }));
      if (i % 3 === 0) work.push(post(`/v1/telemetry/spans/${root}/tree`, {}));
    }
    const statuses = await Promise.all(work);
    agent.destroy();
    // A tree asked for before its spans were written is a 404; nothing else but 200.
    expect(statuses.filter((s) => s !== 200 && s !== 404)).toEqual([]);
    expect(statuses).toHaveLength(550);

    // Every ingested trace is listed once it is written (the server's pipeline delivers
    // on its own schedule: polled, with a generous deadline that only a hang reaches).
    let listed = 0;
    for (let i = 0; i < 600 && listed < INGESTS; i++) {
      const answer = await call('GET', '/api/v1/traces?service=load&limit=1000');
      listed = answer.body.traces.length;
      if (listed < INGESTS) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(listed).toBe(INGESTS);
  });
});

afterAll(async () => {
  if (!server) return;
  server.send('stop');
  const result = await server.result;
  const done = result.records.findLast((r) => r.event === 'done');
  // The child served everything without an error of its own, and shut down.
  expect(
    done,
    `the server child did not shut down cleanly: ${result.stderr.slice(-2000)}`,
  ).toBeDefined();
  expect(done!.errors).toEqual([]);
  expect(result.killedBy).toBeUndefined();
  const longest = timings.reduce((a, b) => (b.ms > a.ms ? b : a), { what: '', ms: 0 });
  recordFigures({
    scenario: 'hostile store over HTTP (cycles, times, regexes) + 550 concurrent requests',
    accepted: done!.stats.accepted,
    queryMaxMs: longest.ms,
    note: `${timings.length} requests, none 5xx; longest: ${longest.what}`,
  });
});
