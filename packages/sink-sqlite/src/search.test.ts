/**
 * The search extensions (issue 14), through the public API over real SQLite
 * files: trace search, trace detail, span events, suggestions, tail; bad and
 * hostile input.
 */
import { join } from 'node:path';
import {
  type CompletedSpan,
  TelemetryNotFoundError,
  TelemetryValidationError,
  type TraceSearchParams,
} from '@telemetry/core';
import {
  createMigrator,
  createSqliteSink,
  type Database,
  type SqliteSink,
} from '@telemetry/sink-sqlite';
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { childScript, runNode } from './test-support/child.ts';
import { log, metric, sid, span, T0, tempDir, tid } from './test-support/fixtures.ts';
import { insertRawSpan, insertRawTrace } from './test-support/hostile.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let files = 0;
function openSink(options: Parameters<typeof createSqliteSink>[0] = {}): SqliteSink {
  const sink = createSqliteSink({
    path: join(tmp.dir, `search-${files++}.db`),
    retentionIntervalMs: 0,
    serviceName: 'app',
    ...options,
  });
  cleanups.push(() => sink.shutdown());
  return sink;
}

const ms = 1000;
const s = 1_000_000;
const iso = (micros: number) => {
  const d = new Date(Math.floor(micros / 1000)).toISOString().slice(0, 19);
  return `${d}.${String(micros % 1_000_000).padStart(6, '0')}Z`;
};

interface TraceSpec {
  readonly n: number;
  readonly start?: number;
  readonly durationMs?: number;
  readonly name?: string;
  /** `service.name` on the root, as OTLP ingest writes it. */
  readonly otelService?: string;
  readonly errors?: number;
  readonly children?: number;
  readonly rootAttributes?: Record<string, string | number | boolean>;
  readonly childAttributes?: Record<string, string | number | boolean>;
}

/** A root and its children; the root lasts `durationMs`, the first `errors` children fail. */
function trace(spec: TraceSpec): CompletedSpan[] {
  const start = spec.start ?? T0 + spec.n * s;
  const duration = (spec.durationMs ?? 10) * ms;
  const root = span({
    trace_id: tid(spec.n),
    span_id: sid(spec.n * 1000),
    name: spec.name ?? 'GET /',
    kind: 'server',
    start_time: start,
    end_time: start + duration,
    attributes: {
      ...(spec.otelService ? { 'service.name': spec.otelService } : {}),
      ...spec.rootAttributes,
    },
  });
  const children = Array.from({ length: spec.children ?? 1 }, (_, i) =>
    span({
      trace_id: tid(spec.n),
      span_id: sid(spec.n * 1000 + i + 1),
      parent_span_id: root.span_id,
      name: `step ${i}`,
      start_time: start + (i + 1) * 10,
      end_time: start + (i + 1) * 10 + 5,
      status: i < (spec.errors ?? 0) ? 'error' : 'ok',
      ...(i < (spec.errors ?? 0) ? { status_message: 'boom' } : {}),
      attributes: { step: i, ...spec.childAttributes },
    }),
  );
  return [...children, root];
}

async function issuesOf(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TelemetryValidationError);
  return (error as TelemetryValidationError).issues.map((i) => i.path);
}

const ids = (r: { traces: { trace_id: string }[] }) => r.traces.map((t) => t.trace_id);

describe('searchTraces', () => {
  it('lists traces newest first with their summary', async () => {
    const sink = openSink();
    await sink.writeSpans([
      ...trace({ n: 1, durationMs: 5, children: 2, errors: 1 }),
      ...trace({ n: 2, name: 'POST /chat', otelService: 'gateway' }),
    ]);
    const result = await sink.searchTraces();
    expect(result.traces).toEqual([
      {
        trace_id: tid(2),
        root_span_id: sid(2000),
        root_name: 'POST /chat',
        service_name: 'gateway',
        start_time: iso(T0 + 2 * s),
        end_time: iso(T0 + 2 * s + 10 * ms),
        duration_ms: 10,
        span_count: 2,
        error_count: 0,
      },
      {
        trace_id: tid(1),
        root_span_id: sid(1000),
        root_name: 'GET /',
        service_name: 'app',
        start_time: iso(T0 + s),
        end_time: iso(T0 + s + 5 * ms),
        duration_ms: 5,
        span_count: 3,
        error_count: 1,
      },
    ]);
    expect(result.next_cursor).toBeNull();
    expect(typeof result.live_cursor).toBe('string');
  });

  it('filters by time, service, root name, status, duration and attributes, alone and together', async () => {
    const sink = openSink();
    await sink.writeSpans([
      ...trace({ n: 1, durationMs: 100, name: 'GET /a', rootAttributes: { user: 'ann' } }),
      ...trace({ n: 2, durationMs: 3000, name: 'GET /b', errors: 1, otelService: 'api' }),
      ...trace({ n: 3, durationMs: 2500, name: 'GET /a', errors: 2, otelService: 'api' }),
      ...trace({ n: 4, durationMs: 50, name: 'GET /a', childAttributes: { model: 'llama' } }),
      ...trace({ n: 5, durationMs: 9000, name: 'GET /b', childAttributes: { model: 'gpt' } }),
    ]);
    const search = async (p: TraceSearchParams) => ids(await sink.searchTraces(p));
    expect(await search({})).toEqual([tid(5), tid(4), tid(3), tid(2), tid(1)]);
    expect(await search({ start: T0 + 2 * s, end: iso(T0 + 4 * s) })).toEqual([
      tid(4),
      tid(3),
      tid(2),
    ]);
    expect(await search({ service: 'api' })).toEqual([tid(3), tid(2)]);
    expect(await search({ service: 'app' })).toEqual([tid(5), tid(4), tid(1)]);
    expect(await search({ name: 'GET /a' })).toEqual([tid(4), tid(3), tid(1)]);
    expect(await search({ status: 'error' })).toEqual([tid(3), tid(2)]);
    expect(await search({ status: 'ok' })).toEqual([tid(5), tid(4), tid(1)]);
    expect(await search({ min_duration_ms: 2000 })).toEqual([tid(5), tid(3), tid(2)]);
    expect(await search({ min_duration_ms: 2500, max_duration_ms: 3000 })).toEqual([
      tid(3),
      tid(2),
    ]);
    expect(await search({ max_duration_ms: 50 })).toEqual([tid(4)]);
    expect(
      await search({ attribute_filters: [{ key: 'model', op: 'eq', value: 'llama' }] }),
    ).toEqual([tid(4)]);
    expect(await search({ attribute_filters: [{ key: 'user', op: 'eq', value: 'ann' }] })).toEqual([
      tid(1),
    ]);
    // All filters must hold together; attribute conditions on one span.
    expect(
      await search({
        service: 'api',
        name: 'GET /a',
        status: 'error',
        min_duration_ms: 2000,
        start: T0,
        end: T0 + 10 * s,
      }),
    ).toEqual([tid(3)]);
    expect(
      await search({
        attribute_filters: [
          { key: 'model', op: 'eq', value: 'gpt' },
          { key: 'step', op: 'eq', value: 0 },
        ],
        min_duration_ms: 5000,
      }),
    ).toEqual([tid(5)]);
    expect(
      await search({
        attribute_filters: [
          { key: 'model', op: 'eq', value: 'gpt' },
          { key: 'user', op: 'eq', value: 'ann' },
        ],
      }),
    ).toEqual([]);
  });

  it('pages with a cursor: every trace once, in order', async () => {
    const sink = openSink();
    const spans: CompletedSpan[] = [];
    // Pairs of traces that start at the same microsecond: the trace id breaks the tie.
    for (let n = 1; n <= 25; n++) spans.push(...trace({ n, start: T0 + Math.ceil(n / 2) * s }));
    await sink.writeSpans(spans);
    const all = ids(await sink.searchTraces({ limit: 1000 }));
    expect(all).toHaveLength(25);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<SqliteSink['searchTraces']>> = await sink.searchTraces({
        limit: 4,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...ids(page));
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(7);
    expect(seen).toEqual(all);
  });

  it('keeps paging stable while traces are written between pages', async () => {
    const sink = openSink();
    const spans: CompletedSpan[] = [];
    for (let n = 10; n < 30; n++) spans.push(...trace({ n }));
    await sink.writeSpans(spans);
    const before = ids(await sink.searchTraces({ limit: 1000 }));
    const first = await sink.searchTraces({ limit: 5 });
    // Newer traces (before the cursor), older ones (after it), and one at the
    // cursor's exact start time with a smaller id (after it too).
    const last = first.traces[4]!;
    await sink.writeSpans([
      ...trace({ n: 40 }),
      ...trace({ n: 41 }),
      ...trace({ n: 1 }),
      ...trace({ n: 2 }),
      ...trace({ n: 3, start: T0 + 25 * s }),
    ]);
    expect(last.trace_id).toBe(tid(25));
    const rest: string[] = [];
    let cursor = first.next_cursor;
    while (cursor) {
      const page = await sink.searchTraces({ limit: 5, cursor });
      rest.push(...ids(page));
      cursor = page.next_cursor;
    }
    const seen = [...ids(first), ...rest];
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => before.includes(id))).toEqual(before);
    expect(rest).toEqual(expect.arrayContaining([tid(1), tid(2), tid(3)]));
    expect(rest).not.toContain(tid(40));
  });

  it('lists what became visible since a live cursor, with the same filters', async () => {
    const sink = openSink();
    await sink.writeSpans([...trace({ n: 5, errors: 1 }), ...trace({ n: 6 })]);
    const list = await sink.searchTraces({ status: 'error' });
    expect(ids(list)).toEqual([tid(5)]);
    let live = list.live_cursor;
    const poll = async () => {
      const r = await sink.searchTraces({ status: 'error', newer_than: live });
      live = r.live_cursor;
      return ids(r);
    };
    expect(await poll()).toEqual([]);
    // An older failed trace written now is new to the list; an ok one is filtered out.
    await sink.writeSpans([...trace({ n: 1, errors: 1 }), ...trace({ n: 9 })]);
    expect(await poll()).toEqual([tid(1)]);
    expect(await poll()).toEqual([]);
    // Children first: the trace shows up when its root is written.
    const [child, root] = trace({ n: 7, errors: 1 }) as [CompletedSpan, CompletedSpan];
    await sink.writeSpans([child]);
    expect(await poll()).toEqual([]);
    await sink.writeSpans([root]);
    expect(await poll()).toEqual([tid(7)]);
  });

  it('refuses bad parameters with an error naming each field', async () => {
    const sink = openSink();
    await sink.writeSpans(trace({ n: 1 }));
    expect(await issuesOf(sink.searchTraces({ status: 'failed' as never }))).toEqual(['status']);
    expect(await issuesOf(sink.searchTraces({ start: T0 + 10 * s, end: T0 }))).toEqual(['start']);
    expect(await issuesOf(sink.searchTraces({ min_duration_ms: 10, max_duration_ms: 1 }))).toEqual([
      'min_duration_ms',
    ]);
    expect(await issuesOf(sink.searchTraces({ limit: 1_000_000_000 }))).toEqual(['limit']);
    expect(await issuesOf(sink.searchTraces({ limit: 0 }))).toEqual(['limit']);
    expect(await issuesOf(sink.searchTraces({ min_duration_ms: -1 }))).toEqual(['min_duration_ms']);
    expect(await issuesOf(sink.searchTraces({ start: 'yesterday' }))).toEqual(['start']);
    expect(await issuesOf(sink.searchTraces({ srevice: 'x' } as never))).toEqual(['srevice']);
    expect(await issuesOf(sink.searchTraces('nope' as never))).toEqual(['params']);
    expect(
      await issuesOf(
        sink.searchTraces({ attribute_filters: [{ key: 'n', op: 'gt', value: null }] }),
      ),
    ).toEqual(['attribute_filters[0].value']);
    expect(
      await issuesOf(
        sink.searchTraces({
          attribute_filters: Array.from({ length: 65 }, () => ({
            key: 'k',
            op: 'eq' as const,
            value: 1,
          })),
        }),
      ),
    ).toEqual(['attribute_filters']);
  });

  it('refuses malformed and forged cursors before any query', async () => {
    const sink = openSink();
    await sink.writeSpans([...trace({ n: 1 }), ...trace({ n: 2 })]);
    const page = await sink.searchTraces({ limit: 1 });
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const cursor of [
      'not a cursor',
      '!!!!',
      b64({ start: 1 }),
      b64(['p', '1']),
      b64(['p', '1; DROP TABLE traces; --', tid(1)]),
      b64(['p', '99999999999999999999', tid(1)]),
      b64(['p', '1', 'x'.repeat(300)]),
      b64(['p', 1, tid(1)]),
      page.live_cursor, // a cursor of another kind
    ]) {
      expect(await issuesOf(sink.searchTraces({ cursor }))).toEqual(['cursor']);
    }
    expect(await issuesOf(sink.searchTraces({ newer_than: page.next_cursor! }))).toEqual([
      'newer_than',
    ]);
    expect(
      await issuesOf(
        sink.searchTraces({ cursor: page.next_cursor!, newer_than: page.live_cursor }),
      ),
    ).toEqual(['cursor']);
    // A well-formed cursor made by hand is only a position to page from.
    const forged = b64(['p', String(T0 + 2 * s), tid(2)]);
    expect(ids(await sink.searchTraces({ cursor: forged }))).toEqual([tid(1)]);
  });

  it('treats SQL in every string as data', async () => {
    const sink = openSink();
    await sink.writeSpans([...trace({ n: 1, otelService: "x' OR '1'='1" }), ...trace({ n: 2 })]);
    const probes = ["' OR 1=1 --", "'; DROP TABLE traces; --", '" OR ""="', '%', '_', '\\', '\0'];
    for (const probe of probes) {
      const r = await sink.searchTraces({
        service: probe,
        name: probe,
        attribute_filters: [{ key: probe, op: 'eq', value: probe }],
      });
      expect(r.traces).toEqual([]);
      expect((await sink.suggest({ field: 'attribute_key', prefix: probe })).values).toEqual([]);
    }
    expect(ids(await sink.searchTraces({ service: "x' OR '1'='1" }))).toEqual([tid(1)]);
    expect(ids(await sink.searchTraces())).toEqual([tid(2), tid(1)]);
  });
});

describe('the service of a trace', () => {
  it("is the root span's service.name (OTLP), else the writer's serviceName, whatever arrives first", async () => {
    const path = join(tmp.dir, 'services.db');
    const app = openSink({ path, serviceName: 'app' });
    // Opened one after the other: two sinks migrating a new file in one process wait on each other.
    await app.whenReady();
    const worker = openSink({ path, serviceName: 'worker' });
    // Trace 1: a child from another process first, the root later.
    const [child1, root1] = trace({ n: 1 }) as [CompletedSpan, CompletedSpan];
    await worker.writeSpans([child1]);
    await app.writeSpans([root1]);
    // Trace 2: the root from OTLP (service.name set), a child of another service.
    const [child2, root2] = trace({ n: 2, otelService: 'gateway' }) as [
      CompletedSpan,
      CompletedSpan,
    ];
    await app.writeSpans([root2]);
    await worker.writeSpans([{ ...child2, attributes: { 'service.name': 'llm' } }]);
    // Trace 3: written by the worker alone.
    await worker.writeSpans(trace({ n: 3 }));
    expect(
      (await app.searchTraces()).traces.map((t) => [t.trace_id, t.service_name, t.span_count]),
    ).toEqual([
      [tid(3), 'worker', 2],
      [tid(2), 'gateway', 2],
      [tid(1), 'app', 2],
    ]);
    expect(ids(await app.searchTraces({ service: 'worker' }))).toEqual([tid(3)]);
    // Each span keeps its own service where it has one.
    const detail = await app.getTraceDetail(tid(2));
    expect(detail.spans.map((sp) => [sp.span_id, sp.service_name])).toEqual([
      [sid(2000), 'gateway'],
      [sid(2001), 'llm'],
    ]);
    // A downstream OTLP service is found through its attribute.
    expect(
      ids(
        await app.searchTraces({
          attribute_filters: [{ key: 'service.name', op: 'eq', value: 'llm' }],
        }),
      ),
    ).toEqual([tid(2)]);
  });

  it('is filled in, with counts and root names, in a file written before search existed', async () => {
    const path = join(tmp.dir, 'before-search.db');
    const old = new Kysely<Database>({
      dialect: new SqliteDialect({ database: new Sqlite(path) }),
    });
    const { error } = await createMigrator(old).migrateTo('2026_12_01_0002_local_root_markers');
    expect(error).toBeUndefined();
    await old.destroy();
    const db = new Sqlite(path);
    const root = insertRawSpan(db, {
      trace_id: tid(1),
      span_id: sid(1),
      name: 'POST /v1/chat',
      start_time: T0,
      end_time: T0 + 3000 * ms,
      attributes: { 'service.name': 'gateway' },
    });
    db.prepare("insert into span_attributes values (?, 'service.name', 1, 'gateway')").run(root);
    for (const [i, status] of (['error', 'ok', 'error'] as const).entries()) {
      insertRawSpan(db, {
        trace_id: tid(1),
        span_id: sid(10 + i),
        parent_span_id: sid(1),
        start_time: T0 + 1,
        status,
      });
    }
    insertRawTrace(db, {
      trace_id: tid(1),
      root_span_id: sid(1),
      start_time: T0,
      end_time: T0 + 3000 * ms,
    });
    insertRawSpan(db, { trace_id: tid(2), span_id: sid(2), name: 'plain', start_time: T0 + s });
    insertRawTrace(db, { trace_id: tid(2), root_span_id: sid(2), start_time: T0 + s });
    db.close();

    const sink = openSink({ path });
    expect((await sink.searchTraces({ status: 'error', min_duration_ms: 2000 })).traces).toEqual([
      {
        trace_id: tid(1),
        root_span_id: sid(1),
        root_name: 'POST /v1/chat',
        service_name: 'gateway',
        start_time: iso(T0),
        end_time: iso(T0 + 3000 * ms),
        duration_ms: 3000,
        span_count: 4,
        error_count: 2,
      },
    ]);
    // The other trace keeps the service its writer stored.
    expect((await sink.searchTraces({ name: 'plain' })).traces[0]?.service_name).toBe('raw');
  });
});

describe('getTraceDetail and getSpanEvents', () => {
  async function storeWithEvents() {
    const sink = openSink();
    const [child, root] = trace({ n: 1, errors: 1 }) as [CompletedSpan, CompletedSpan];
    await sink.writeSpans([
      {
        ...child,
        events: [
          log(child, 'calling model', T0 + s + 12, { model: 'llama' }),
          metric(child, 'tokens', 42, T0 + s + 13, { model: 'llama', value: 'label named value' }),
        ],
      },
      { ...root, events: [{ ...log(root, 'done', T0 + s + 20), severity: 'warn' }] },
    ]);
    return sink;
  }

  it('answers a trace with its spans, logs and metric events in one call', async () => {
    const sink = await storeWithEvents();
    const detail = await sink.getTraceDetail(tid(1).toUpperCase());
    expect(detail.trace).toMatchObject({ trace_id: tid(1), span_count: 2, error_count: 1 });
    expect(detail.spans).toEqual([
      {
        trace_id: tid(1),
        span_id: sid(1000),
        parent_span_id: null,
        name: 'GET /',
        service_name: 'app',
        kind: 'server',
        status: 'ok',
        status_message: null,
        start_time: iso(T0 + s),
        end_time: iso(T0 + s + 10 * ms),
        duration_ms: 10,
        attributes: {},
      },
      {
        trace_id: tid(1),
        span_id: sid(1001),
        parent_span_id: sid(1000),
        name: 'step 0',
        service_name: 'app',
        kind: 'internal',
        status: 'error',
        status_message: 'boom',
        start_time: iso(T0 + s + 10),
        end_time: iso(T0 + s + 15),
        duration_ms: 0.005,
        attributes: { step: 0 },
      },
    ]);
    expect(detail.logs).toEqual([
      {
        span_id: sid(1001),
        timestamp: iso(T0 + s + 12),
        severity: 'info',
        message: 'calling model',
        attributes: { model: 'llama' },
      },
      {
        span_id: sid(1000),
        timestamp: iso(T0 + s + 20),
        severity: 'warn',
        message: 'done',
        attributes: {},
      },
    ]);
    expect(detail.metrics).toEqual([
      {
        span_id: sid(1001),
        timestamp: iso(T0 + s + 13),
        metric: 'tokens',
        value: 42,
        unit: 'tokens',
        labels: { model: 'llama', value: 'label named value' },
      },
    ]);
    expect(detail.spans_truncated).toBe(false);
    expect(detail.events_truncated).toBe(false);

    const events = await sink.getSpanEvents(tid(1), sid(1001));
    expect(events).toEqual({ logs: [detail.logs[0]], metrics: detail.metrics, truncated: false });
    expect(await sink.getSpanEvents(tid(1), sid(1001), { limit: 1 })).toEqual({
      logs: [detail.logs[0]],
      metrics: [],
      truncated: true,
    });
  });

  it('is bounded: the earliest spans and events of a huge trace, marked truncated', async () => {
    const sink = openSink();
    const spans = trace({ n: 1, children: 20_000 }).map((sp, i) => ({
      ...sp,
      events: [log(sp, `event ${i}`, sp.start_time + 1)],
    }));
    await sink.writeSpans(spans.reverse());
    const detail = await sink.getTraceDetail(tid(1), { limit: 100, event_limit: 30 });
    expect(detail.trace.span_count).toBe(20_001);
    expect(detail.spans).toHaveLength(100);
    expect(detail.spans_truncated).toBe(true);
    expect(detail.spans[0]!.span_id).toBe(sid(1000));
    const starts = detail.spans.map((sp) => sp.start_time);
    expect([...starts].sort()).toEqual(starts);
    expect(detail.logs).toHaveLength(30);
    expect(detail.events_truncated).toBe(true);
    expect(detail.logs.every((l) => detail.spans.some((sp) => sp.span_id === l.span_id))).toBe(
      true,
    );
  });

  it('shows a trace whose root has not ended yet', async () => {
    const sink = openSink();
    await sink.writeSpans([trace({ n: 1 })[0]!]);
    const detail = await sink.getTraceDetail(tid(1));
    expect(detail.trace).toMatchObject({ root_span_id: null, root_name: null, span_count: 1 });
    expect(detail.spans).toHaveLength(1);
    expect((await sink.searchTraces()).traces).toEqual([]);
  });

  it('refuses bad ids and limits; unknown ids are not found', async () => {
    const sink = await storeWithEvents();
    await expect(sink.getTraceDetail(tid(9))).rejects.toBeInstanceOf(TelemetryNotFoundError);
    await expect(sink.getSpanEvents(tid(9), sid(1001))).rejects.toBeInstanceOf(
      TelemetryNotFoundError,
    );
    await expect(sink.getSpanEvents(tid(1), sid(9))).rejects.toBeInstanceOf(TelemetryNotFoundError);
    expect(await issuesOf(sink.getTraceDetail("' OR 1=1 --"))).toEqual(['trace_id']);
    expect(await issuesOf(sink.getTraceDetail(tid(1), { limit: 10_000_000 }))).toEqual(['limit']);
    expect(await issuesOf(sink.getTraceDetail(tid(1), { event_limit: -1 }))).toEqual([
      'event_limit',
    ]);
    expect(await issuesOf(sink.getSpanEvents('x', 'y'))).toEqual(['trace_id', 'span_id']);
    expect(await issuesOf(sink.getSpanEvents(tid(1), sid(1), { limit: 0 }))).toEqual(['limit']);
  });
});

describe('suggest', () => {
  it('lists distinct services, root names (per service), attribute keys and metric names', async () => {
    const sink = openSink();
    await sink.writeSpans([
      ...trace({ n: 1, otelService: 'api', name: 'GET /a' }),
      ...trace({ n: 2, otelService: 'api', name: 'GET /b' }),
      ...trace({ n: 3, otelService: 'api', name: 'GET /a' }),
      ...trace({ n: 4, otelService: 'web', name: 'render' }),
      ...trace({ n: 5, name: 'job', childAttributes: { 'gen_ai.model': 'x', 'gen_ai.tokens': 1 } }),
    ]);
    await sink.writeSpans([
      span({
        trace_id: tid(6),
        span_id: sid(6),
        events: [
          metric({ trace_id: tid(6), span_id: sid(6) }, 'tokens.in', 1, T0),
          metric({ trace_id: tid(6), span_id: sid(6) }, 'tokens.in', 1, T0, { model: 'b' }),
          metric({ trace_id: tid(6), span_id: sid(6) }, 'latency', 1, T0),
        ],
      }),
    ]);
    expect(await sink.suggest({ field: 'service' })).toEqual({
      values: ['api', 'app', 'web'],
      truncated: false,
    });
    expect((await sink.suggest({ field: 'span_name' })).values).toEqual([
      'GET /a',
      'GET /b',
      'job',
      'op',
      'render',
    ]);
    expect((await sink.suggest({ field: 'span_name', service: 'api' })).values).toEqual([
      'GET /a',
      'GET /b',
    ]);
    expect((await sink.suggest({ field: 'attribute_key', prefix: 'gen_ai.' })).values).toEqual([
      'gen_ai.model',
      'gen_ai.tokens',
    ]);
    expect((await sink.suggest({ field: 'metric_name' })).values).toEqual(['latency', 'tokens.in']);
    expect(await sink.suggest({ field: 'service', limit: 2 })).toEqual({
      values: ['api', 'app'],
      truncated: true,
    });
    expect((await sink.suggest({ field: 'span_name', prefix: 'GET' })).values).toEqual([
      'GET /a',
      'GET /b',
    ]);
    // A prefix is text, not a pattern.
    expect((await sink.suggest({ field: 'span_name', prefix: 'G_T' })).values).toEqual([]);
    expect((await sink.suggest({ field: 'span_name', prefix: '%' })).values).toEqual([]);
  });

  it('refuses bad parameters', async () => {
    const sink = openSink();
    expect(await issuesOf(sink.suggest({ field: 'hosts' as never }))).toEqual(['field']);
    expect(await issuesOf(sink.suggest({ field: 'service', limit: 5000 }))).toEqual(['limit']);
    expect(await issuesOf(sink.suggest({ field: 'metric_name', service: 'a' }))).toEqual([
      'service',
    ]);
    expect(await issuesOf(sink.suggest(undefined as never))).toEqual(['field']);
  });
});

describe('tailSpans', () => {
  it('follows spans in write order after a cursor', async () => {
    const sink = openSink();
    await sink.writeSpans([...trace({ n: 1 }), ...trace({ n: 2 })]);
    const start = await sink.tailSpans({ limit: 3 });
    expect(start.spans.map((sp) => sp.span_id)).toEqual([sid(1000), sid(2001), sid(2000)]);
    expect(start.more).toBe(false);
    const empty = await sink.tailSpans({ cursor: start.cursor });
    expect(empty).toEqual({ spans: [], cursor: start.cursor, more: false });
    await sink.writeSpans(trace({ n: 3, children: 4 }));
    const next = await sink.tailSpans({ cursor: start.cursor, limit: 3 });
    expect(next.spans.map((sp) => sp.span_id)).toEqual([sid(3001), sid(3002), sid(3003)]);
    expect(next.more).toBe(true);
    const rest = await sink.tailSpans({ cursor: next.cursor });
    expect(rest.spans.map((sp) => sp.span_id)).toEqual([sid(3004), sid(3000)]);
    expect(rest.spans[1]).toMatchObject({ name: 'GET /', service_name: 'app', status: 'ok' });
    // limit 0: only a cursor at the end of the store.
    const end = await sink.tailSpans({ limit: 0 });
    expect(end.spans).toEqual([]);
    expect(end.cursor).toBe(rest.cursor);
  });

  it('sees every span another process writes, in order, by polling', async () => {
    const path = join(tmp.dir, 'tailed.db');
    const sink = openSink({ path });
    await sink.whenReady();
    let cursor = (await sink.tailSpans({ limit: 0 })).cursor;
    const seen: string[] = [];
    const writer = runNode(childScript('tail-writer.mjs'), [path, '12', '25', '30']);
    let done = false;
    writer.then(
      () => {
        done = true;
      },
      () => {
        done = true;
      },
    );
    for (;;) {
      const finished = done;
      const r = await sink.tailSpans({ cursor, limit: 40 });
      seen.push(...r.spans.map((sp) => sp.span_id));
      cursor = r.cursor;
      if (finished && !r.more) break;
      if (!r.more) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const result = await writer;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const written = result.stdout
      .trim()
      .split('\n')
      .flatMap((line) => (JSON.parse(line) as { spans: string[] }).spans);
    expect(written).toHaveLength(300);
    expect(seen).toEqual(written);
  });

  it('refuses bad cursors and limits', async () => {
    const sink = openSink();
    await sink.writeSpans(trace({ n: 1 }));
    const page = await sink.searchTraces({ limit: 1 });
    expect(await issuesOf(sink.tailSpans({ cursor: 'garbage' }))).toEqual(['cursor']);
    expect(
      await issuesOf(
        sink.tailSpans({ cursor: Buffer.from('["w","1 or 1"]').toString('base64url') }),
      ),
    ).toEqual(['cursor']);
    expect(await issuesOf(sink.tailSpans({ limit: 100_000 }))).toEqual(['limit']);
    // A live cursor of a search is a position too.
    expect((await sink.tailSpans({ cursor: page.live_cursor })).spans).toEqual([]);
    // A position past the end (a store emptied meanwhile) starts again at the end.
    const far = Buffer.from('["w","999999"]').toString('base64url');
    const reset = await sink.tailSpans({ cursor: far });
    expect(reset.spans).toEqual([]);
    await sink.writeSpans(trace({ n: 2 }));
    expect((await sink.tailSpans({ cursor: reset.cursor })).spans).toHaveLength(2);
  });
});

describe('odd stored rows', () => {
  it('search, detail and tail answer whatever the file holds', async () => {
    const path = join(tmp.dir, 'odd.db');
    const first = openSink({ path });
    await first.whenReady();
    await first.shutdown();
    const db = new Sqlite(path);
    insertRawSpan(db, {
      trace_id: tid(1),
      span_id: sid(1),
      name: Buffer.from('blob name'),
      start_time: 'not a time',
      end_time: 1e300,
      attributes: '[1,2]',
      status: 42,
    });
    insertRawTrace(db, { trace_id: tid(1), root_span_id: sid(1), start_time: 'x', end_time: null });
    db.prepare(
      "insert into span_events (span_id, span_rowid, name, timestamp, attributes, series_id, value) values (?, 1, 'unstructured_log', 'when', '{bad', null, null)",
    ).run(sid(1));
    db.prepare(
      "insert into span_events (span_id, span_rowid, name, timestamp, attributes, series_id, value) values (?, 1, 'metric.x', 5, '{}', 999, 'NaN')",
    ).run(sid(1));
    db.close();
    const sink = openSink({ path });
    const found = await sink.searchTraces();
    expect(found.traces).toHaveLength(1);
    expect(found.traces[0]).toMatchObject({ trace_id: tid(1), duration_ms: 0 });
    const detail = await sink.getTraceDetail(tid(1));
    expect(detail.spans[0]).toMatchObject({
      name: 'blob name',
      status: 'ok',
      start_time: '0001-01-01T00:00:00.000000Z',
      end_time: '9999-12-31T23:59:59.999999Z',
      attributes: {},
    });
    expect(detail.logs).toEqual([
      {
        span_id: sid(1),
        timestamp: '0001-01-01T00:00:00.000000Z',
        severity: 'info',
        message: '',
        attributes: {},
      },
    ]);
    expect(detail.metrics).toEqual([
      {
        span_id: sid(1),
        timestamp: expect.any(String),
        metric: '',
        value: 0,
        unit: '',
        labels: {},
      },
    ]);
    expect((await sink.tailSpans()).spans).toHaveLength(1);
    expect((await sink.suggest({ field: 'span_name' })).values).toEqual([]);
  });
});
