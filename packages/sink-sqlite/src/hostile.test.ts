/**
 * Stored data that the writer would never produce, but a file can hold
 * anyway (an old version, another program, a hand edit, an event accepted
 * before validation was tightened): spans that are their own ancestors, times
 * outside any calendar, JSON that is not an object, blobs where text belongs.
 * Every query must still answer, in bounded time and memory, and answer
 * correctly for the rows that are fine.
 *
 * The queries run in a child process with a deadline (test-support/query-runner.ts):
 * a regression to an endless loop fails here instead of hanging the run.
 */
import { join } from 'node:path';
import { createTelemetry, type TelemetryEventInput } from '@telemetry/core';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import Sqlite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FOREVER, metric, sid, span, T0, tempDir, tid } from './test-support/fixtures.ts';
import { insertRawSpan, insertRawTrace } from './test-support/hostile.ts';
import { type Outcome, runQueries } from './test-support/query-runner.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

// Each test's child is killed once it has used 60 s of CPU (a hang detector,
// whatever the load); the test's own timeout leaves room for a busy machine.
const MIN = '0001-01-01T00:00:00.000000Z';
const MAX = '9999-12-31T23:59:59.999999Z';
const iso = (micros: number) => {
  const d = new Date(Math.floor(micros / 1000)).toISOString();
  return `${d.slice(0, -1)}${String(micros % 1000).padStart(3, '0')}Z`;
};
const ms = 1000;
const s = 1_000_000;

/** The answer of a call that must succeed. */
function ok(outcome: Outcome | undefined): any {
  if (!outcome || outcome.error)
    throw new Error(`expected an answer, got ${JSON.stringify(outcome)}`);
  return outcome.ok;
}
const treeIds = (tree: Record<string, unknown>) => Object.keys(tree);
/** An own property, even one named `__proto__`. */
const own = (o: object, key: string): any => Object.getOwnPropertyDescriptor(o, key)?.value;
const spanIds = (spans: { trace_id: string; span_id: string }[]) =>
  spans.map((x) => [x.trace_id, x.span_id]);

/** span_start + span_end through logEvent, as a Llama Stack client sends them. */
function spanEvents(
  trace: number,
  span: number,
  parent: number | null,
  at: number,
  attributes: Record<string, string | number | boolean | null> = {},
): TelemetryEventInput[] {
  const ids = { trace_id: tid(trace), span_id: sid(span) };
  return [
    {
      ...ids,
      type: 'structured_log',
      timestamp: iso(at),
      attributes,
      payload: {
        type: 'span_start',
        name: `s${span.toString(16)}`,
        ...(parent === null ? {} : { parent_span_id: sid(parent) }),
      },
    },
    {
      ...ids,
      type: 'structured_log',
      timestamp: iso(at + 500),
      payload: { type: 'span_end', status: 'ok' },
    },
  ];
}

describe('a span that is its own ancestor', () => {
  const path = join(tmp.dir, 'cycles.db');
  beforeAll(async () => {
    // Through the public API: a normal trace, a span whose parent is itself,
    // and a marked root and its child, each the other's parent.
    const sink = createSqliteSink({ path, retentionIntervalMs: 0 });
    const telemetry = createTelemetry({ sinks: [sink], warn: () => {} });
    await sink.writeSpans([
      span({ trace_id: tid(1), span_id: sid(0x11), name: 'r1', start_time: T0 }),
      span({
        trace_id: tid(1),
        span_id: sid(0x12),
        parent_span_id: sid(0x11),
        start_time: T0 + ms,
      }),
    ]);
    const events = [
      ...spanEvents(2, 0x21, null, T0 + s),
      ...spanEvents(2, 0x22, 0x21, T0 + s + ms),
      ...spanEvents(2, 0x23, 0x23, T0 + s + 2 * ms),
      ...spanEvents(3, 0x31, 0x32, T0 + 2 * s, { __root__: true }),
      ...spanEvents(3, 0x32, 0x31, T0 + 2 * s + ms),
    ];
    for (const event of events) telemetry.logEvent({ event, ttl_seconds: FOREVER });
    await telemetry.shutdown();

    // Straight into the file: a three-span cycle A -> B -> C -> A with D under
    // B, and the trace row naming A as its root.
    const db = new Sqlite(path);
    const at = T0 + 3 * s;
    insertRawSpan(db, {
      trace_id: tid(4),
      span_id: sid(0x41),
      parent_span_id: sid(0x43),
      start_time: at,
    });
    insertRawSpan(db, {
      trace_id: tid(4),
      span_id: sid(0x42),
      parent_span_id: sid(0x41),
      start_time: at + 1,
    });
    insertRawSpan(db, {
      trace_id: tid(4),
      span_id: sid(0x43),
      parent_span_id: sid(0x42),
      start_time: at + 2,
    });
    insertRawSpan(db, {
      trace_id: tid(4),
      span_id: sid(0x44),
      parent_span_id: sid(0x42),
      start_time: at + 3,
    });
    insertRawTrace(db, {
      trace_id: tid(4),
      root_span_id: sid(0x41),
      start_time: at,
      end_time: at + 10,
    });
    db.close();
  });

  it('getSpanTree, querySpans, queryTraces and saveSpansToDataset answer, each span at most once', async () => {
    const { outcomes, maxRssMb } = await runQueries(tmp.dir, path, [
      { method: 'getSpanTree', args: [sid(0x23)] },
      { method: 'getSpanTree', args: [sid(0x31)] },
      { method: 'getSpanTree', args: [sid(0x32)] },
      { method: 'getSpanTree', args: [sid(0x41)] },
      { method: 'getSpanTree', args: [sid(0x42)] },
      { method: 'getSpanTree', args: [sid(0x41), { max_depth: 2 }] },
      { method: 'getSpanTree', args: [sid(0x41), { max_depth: 0 }] },
      { method: 'querySpans', args: [{ attribute_filters: [] }] },
      { method: 'querySpans', args: [{ attribute_filters: [], limit: 3, offset: 5 }] },
      { method: 'queryTraces', args: [] },
      {
        method: 'saveSpansToDataset',
        args: [{ attribute_filters: [], attributes_to_save: [], dataset_id: 'd' }],
      },
      { method: 'getSpanTree', args: [sid(0x11)] },
    ]);
    const [self, root3, child3, a, b, aDepth2, aDepth0, all, page, traces, saved, normal] =
      outcomes;
    // A span whose parent is itself is a tree of one.
    expect(treeIds(ok(self))).toEqual([sid(0x23)]);
    expect(ok(self)[sid(0x23)]).toMatchObject({ parent_span_id: sid(0x23), status: 'ok' });
    // Two spans each other's parent: each tree holds both, once.
    expect(treeIds(ok(root3))).toEqual([sid(0x31), sid(0x32)]);
    expect(treeIds(ok(child3))).toEqual([sid(0x32), sid(0x31)]);
    // A longer cycle: depth order, each span once.
    expect(treeIds(ok(a))).toEqual([sid(0x41), sid(0x42), sid(0x43), sid(0x44)]);
    expect(treeIds(ok(b))).toEqual([sid(0x42), sid(0x43), sid(0x44), sid(0x41)]);
    expect(treeIds(ok(aDepth2))).toEqual([sid(0x41), sid(0x42)]);
    expect(treeIds(ok(aDepth0))).toEqual([sid(0x41)]);
    const expected = [
      [tid(1), sid(0x11)],
      [tid(1), sid(0x12)],
      [tid(2), sid(0x21)],
      [tid(2), sid(0x22)],
      [tid(3), sid(0x31)],
      [tid(3), sid(0x32)],
      [tid(4), sid(0x41)],
      [tid(4), sid(0x42)],
      [tid(4), sid(0x43)],
      [tid(4), sid(0x44)],
    ];
    expect(spanIds(ok(all))).toEqual(expected);
    expect(spanIds(ok(page))).toEqual(expected.slice(5, 8));
    expect(ok(traces).map((t: { trace_id: string }) => t.trace_id)).toEqual([
      tid(1),
      tid(2),
      tid(3),
      tid(4),
    ]);
    expect(spanIds(ok(saved).rows)).toEqual(expected);
    // The rest of the store is as it would be without the cycles.
    expect(treeIds(ok(normal))).toEqual([sid(0x11), sid(0x12)]);
    expect(maxRssMb).toBeLessThan(400);
  }, 300_000);
});

describe('times out of range in stored rows', () => {
  const path = join(tmp.dir, 'times.db');
  const good = { start: T0 + 2 * s, end: T0 + 2 * s + 5 * ms };
  beforeAll(async () => {
    const sink = createSqliteSink({ path, retentionIntervalMs: 0 });
    await sink.writeSpans([
      span({
        trace_id: tid(0x10),
        span_id: sid(0x10),
        name: 'good',
        start_time: good.start,
        end_time: good.end,
      }),
      span({
        trace_id: tid(0x10),
        span_id: sid(0x11),
        parent_span_id: sid(0x10),
        start_time: good.start + ms,
        end_time: good.end,
      }),
      // Past the end of JavaScript's Date (8.64e18 µs): accepted as a finite number.
      span({
        trace_id: tid(0x20),
        span_id: sid(0x20),
        name: 'far future',
        start_time: 8_640_000_000_001_000_000,
        end_time: 8_640_000_000_002_000_000,
      }),
    ]);
    await sink.shutdown();
    const db = new Sqlite(path);
    // Before year 1, and a REAL past any calendar.
    insertRawSpan(db, {
      trace_id: tid(0x30),
      span_id: sid(0x30),
      start_time: -9_000_000_000_000_000_000n,
      end_time: 1e300,
    });
    insertRawTrace(db, {
      trace_id: tid(0x30),
      root_span_id: sid(0x30),
      start_time: -9_000_000_000_000_000_000n,
      end_time: 1e300,
    });
    // Not numbers at all: text and a blob in INTEGER columns.
    insertRawSpan(db, {
      trace_id: tid(0x40),
      span_id: sid(0x40),
      start_time: 'soon',
      end_time: Buffer.from([0, 255]),
    });
    insertRawTrace(db, {
      trace_id: tid(0x40),
      root_span_id: sid(0x40),
      start_time: 'soon',
      end_time: Buffer.from([0, 255]),
    });
    db.close();
  });

  it('never throws RangeError: fine rows answer exactly, out-of-range times are clamped', async () => {
    const { outcomes } = await runQueries(tmp.dir, path, [
      { method: 'queryTraces', args: [] },
      { method: 'getTrace', args: [tid(0x10)] },
      { method: 'getTrace', args: [tid(0x20)] },
      { method: 'getTrace', args: [tid(0x30)] },
      { method: 'getTrace', args: [tid(0x40)] },
      { method: 'getSpan', args: [tid(0x20), sid(0x20)] },
      { method: 'getSpanTree', args: [sid(0x30)] },
      { method: 'querySpans', args: [{ attribute_filters: [] }] },
      {
        method: 'saveSpansToDataset',
        args: [{ attribute_filters: [], attributes_to_save: [], dataset_id: 'd' }],
      },
      { method: 'queryTraces', args: [{ order_by: ['-end_time'] }] },
    ]);
    const [traces, g, far, before, text, farSpan, tree, spans, saved, byEnd] = outcomes;
    const goodTrace = {
      trace_id: tid(0x10),
      root_span_id: sid(0x10),
      start_time: iso(good.start),
      end_time: iso(good.end),
    };
    const farTrace = {
      trace_id: tid(0x20),
      root_span_id: sid(0x20),
      start_time: MAX,
      end_time: MAX,
    };
    const beforeTrace = {
      trace_id: tid(0x30),
      root_span_id: sid(0x30),
      start_time: MIN,
      end_time: MAX,
    };
    const textTrace = {
      trace_id: tid(0x40),
      root_span_id: sid(0x40),
      start_time: MIN,
      end_time: MIN,
    };
    // SQLite orders numbers before text.
    expect(ok(traces)).toEqual([beforeTrace, goodTrace, farTrace, textTrace]);
    expect(ok(g)).toEqual(goodTrace);
    expect(ok(far)).toEqual(farTrace);
    expect(ok(before)).toEqual(beforeTrace);
    expect(ok(text)).toEqual(textTrace);
    expect(ok(farSpan)).toEqual({
      span_id: sid(0x20),
      trace_id: tid(0x20),
      name: 'far future',
      start_time: MAX,
      end_time: MAX,
      attributes: {},
    });
    expect(ok(tree)[sid(0x30)]).toMatchObject({ start_time: MIN, end_time: MAX, status: 'ok' });
    expect(ok(spans).map((x: { start_time: string }) => x.start_time)).toEqual([
      MIN,
      iso(good.start),
      iso(good.start + ms),
      MAX,
      MIN,
    ]);
    expect(ok(saved).rows).toHaveLength(5);
    expect(ok(byEnd).map((t: { trace_id: string }) => t.trace_id)).toEqual([
      tid(0x40),
      tid(0x30),
      tid(0x20),
      tid(0x10),
    ]);
  }, 300_000);
});

describe('hostile rows of every other kind', () => {
  const path = join(tmp.dir, 'hostile.db');
  const deep = `{"deep": ${'['.repeat(100_000)}${']'.repeat(100_000)}, "fine": 1}`;
  const huge = 'x'.repeat(5_000_000);
  beforeAll(async () => {
    const sink = createSqliteSink({ path, retentionIntervalMs: 0 });
    const good = { trace_id: tid(0x50), span_id: sid(0x50) };
    await sink.writeSpans([
      span({
        ...good,
        name: 'good',
        attributes: { user: 'alice' },
        events: [metric(good, 'tokens', 7, T0 + 10, { model: 'llama' })],
      }),
    ]);
    await sink.shutdown();
    const db = new Sqlite(path);
    const t = tid(0x60);
    const root = sid(0x60);
    const child = (n: number, extra: Partial<Parameters<typeof insertRawSpan>[1]>) =>
      insertRawSpan(db, {
        trace_id: t,
        span_id: sid(0x60 + n),
        parent_span_id: root,
        start_time: T0 + s + n,
        ...extra,
      });
    insertRawSpan(db, {
      trace_id: t,
      span_id: root,
      start_time: T0 + s,
      attributes: '[1,2]',
      name: 'a\u0000b',
    });
    insertRawTrace(db, {
      trace_id: t,
      root_span_id: root,
      start_time: T0 + s,
      end_time: T0 + 2 * s,
    });
    child(1, { attributes: '"a string"' });
    child(2, { attributes: 'not json {' });
    child(3, { attributes: '' });
    child(4, { attributes: 'null' });
    child(5, { attributes: Buffer.from('{"k": 1}') });
    child(6, { attributes: deep });
    child(7, { attributes: { big: huge, 'k\u0000ey': 'v\u0000w' } });
    child(8, {
      name: Buffer.from('blob name'),
      status: Buffer.from('error'),
      parent_span_id: root,
    });
    child(9, { span_id: '__proto__', attributes: '{"__proto__": "data"}' });
    // A trace row whose root span does not exist.
    insertRawTrace(db, { trace_id: tid(0x70), root_span_id: sid(0x70), start_time: T0 + 3 * s });
    // Metric series and points no writer makes.
    const series = (labels: unknown, unit: unknown) =>
      Number(
        db
          .prepare("insert into metric_series (metric, unit, labels) values ('tokens', ?, ?)")
          .run(unit, labels).lastInsertRowid,
      );
    const point = (seriesId: number, timestamp: unknown, value: unknown) =>
      db
        .prepare(
          "insert into span_events (span_id, span_rowid, name, timestamp, attributes, series_id, value) values ('x', 0, 'metric.tokens', ?, '{}', ?, ?)",
        )
        .run(timestamp, seriesId, value);
    point(series('garbage', 'tokens'), T0 + 20, 1);
    point(series('[["model",1]]', 'tokens'), T0 + 20, 1);
    point(series('{"model":"x"}', 'tokens'), T0 + 20, 1);
    const odd = series('[["model","odd"]]', Buffer.from('units'));
    point(odd, T0 + 20, 'not a number');
    point(odd, 'not a time', 5);
    db.close();
  });

  it('every query answers, rows that are fine exactly, in bounded memory', async () => {
    const window = { start_time: Math.floor(T0 / s) - 60, end_time: Math.floor(T0 / s) + 60 };
    const { outcomes, maxRssMb } = await runQueries(tmp.dir, path, [
      { method: 'queryTraces', args: [] },
      { method: 'getSpanTree', args: [sid(0x60)] },
      {
        method: 'getSpanTree',
        args: [sid(0x60), { attributes_to_return: ['__proto__', 'fine', 'constructor'] }],
      },
      { method: 'querySpans', args: [{ attribute_filters: [], limit: 100 }] },
      {
        method: 'saveSpansToDataset',
        args: [{ attribute_filters: [], attributes_to_save: [], dataset_id: 'd' }],
      },
      { method: 'getSpan', args: [tid(0x60), sid(0x66)] },
      { method: 'queryMetrics', args: ['tokens', { query_type: 'range', ...window }] },
      {
        method: 'queryMetrics',
        args: ['tokens', { query_type: 'range', granularity: '1m', ...window }],
      },
      { method: 'queryMetrics', args: ['tokens', { query_type: 'instant', ...window }] },
      {
        method: 'queryTraces',
        args: [{ attribute_filters: [{ key: 'user', op: 'eq', value: 'alice' }] }],
      },
    ]);
    const [traces, tree, projected, spans, saved, deepSpan, raw, buckets, instant, filtered] =
      outcomes;
    expect(ok(traces).map((x: { trace_id: string }) => x.trace_id)).toEqual([
      tid(0x50),
      tid(0x60),
      tid(0x70),
    ]);
    const t = ok(tree) as Record<
      string,
      { name: string; attributes: Record<string, unknown>; status: string; parent_span_id?: string }
    >;
    expect(Object.keys(t)).toEqual([
      sid(0x60),
      ...[1, 2, 3, 4, 5, 6, 7, 8].map((n) => sid(0x60 + n)),
      '__proto__',
    ]);
    expect(t[sid(0x60)]!.name).toBe('a\u0000b');
    // Attributes that are not a JSON object read as none.
    for (const n of [0, 1, 2, 3, 4, 5]) expect(t[sid(0x60 + n)]!.attributes).toEqual({});
    // Nesting no answer could serialize again is cut; the rest stays.
    expect(t[sid(0x66)]!.attributes).toEqual({ deep: null, fine: 1 });
    expect(t[sid(0x67)]!.attributes).toEqual({ big: huge, 'k\u0000ey': 'v\u0000w' });
    // Blobs in text columns read as their UTF-8 text; a status other than 'error' is ok.
    expect(t[sid(0x68)]).toMatchObject({
      name: 'blob name',
      status: 'ok',
      parent_span_id: sid(0x60),
    });
    expect(own(t, '__proto__')).toMatchObject({
      span_id: '__proto__',
      attributes: { __proto__: 'data' },
    });
    const p = ok(projected) as Record<string, { attributes: Record<string, unknown> }>;
    expect(Object.keys(p[sid(0x66)]!.attributes)).toEqual(['__proto__', 'fine', 'constructor']);
    expect(own(p, '__proto__').attributes).toEqual(
      JSON.parse('{"__proto__": "data", "fine": null, "constructor": null}'),
    );
    expect(ok(spans)).toHaveLength(11);
    expect(ok(saved).rows).toHaveLength(11);
    expect(ok(deepSpan).attributes).toEqual({ deep: null, fine: 1 });
    // Series whose labels are not the canonical pairs are left out; odd units and values read safely.
    expect(ok(raw)).toEqual([
      {
        metric: 'tokens',
        labels: [{ name: 'model', value: 'llama' }],
        values: [{ timestamp: Math.floor(T0 / s), value: 7, unit: 'tokens' }],
      },
      {
        metric: 'tokens',
        labels: [{ name: 'model', value: 'odd' }],
        values: [{ timestamp: Math.floor(T0 / s), value: 0, unit: 'units' }],
      },
    ]);
    expect(ok(buckets)).toHaveLength(2);
    expect(ok(instant)).toHaveLength(2);
    expect(ok(filtered).map((x: { trace_id: string }) => x.trace_id)).toEqual([tid(0x50)]);
    // The 5 MB value is read a few times over; nothing grows past that.
    expect(maxRssMb).toBeLessThan(600);
  }, 300_000);
});

describe('label matchers that a backtracking engine takes minutes over', () => {
  const path = join(tmp.dir, 'regex.db');
  const labels = ['a'.repeat(32), `${'a'.repeat(20_000)}!`, 'x', `${'ab'.repeat(5_000)}x`];
  beforeAll(async () => {
    const sink = createSqliteSink({ path, retentionIntervalMs: 0 });
    const ids = { trace_id: tid(0x80), span_id: sid(0x80) };
    await sink.writeSpans([
      span({ ...ids, events: labels.map((model, i) => metric(ids, 'tokens', i, T0, { model })) }),
    ]);
    await sink.shutdown();
  });

  it('answer at once, in linear time, with Prometheus anchoring', async () => {
    const query = (operator: string, value: string) => ({
      method: 'queryMetrics' as const,
      args: [
        'tokens',
        {
          query_type: 'instant',
          start_time: Math.floor(T0 / s) - 1,
          end_time: Math.floor(T0 / s) + 1,
          label_matchers: [{ name: 'model', operator, value }],
        },
      ],
    });
    const { outcomes } = await runQueries(tmp.dir, path, [
      query('=~', '(.*)*x'),
      query('=~', '(a+)+$'),
      query('!~', '(a|aa)+'),
      query('=~', '(a|a)*b'),
      query('=~', '((ab)*)*x'),
    ]);
    const models = (o: Outcome | undefined) =>
      (ok(o) as { labels: { value: string }[] }[]).map((x) => x.labels[0]!.value.slice(0, 3));
    expect(models(outcomes[0])).toEqual(['aba', 'x']);
    expect(models(outcomes[1])).toEqual(['aaa']);
    expect(models(outcomes[2])).toEqual(['aaa', 'aba', 'x']);
    expect(models(outcomes[3])).toEqual([]);
    expect(models(outcomes[4])).toEqual(['aba', 'x']);
  }, 300_000);
});
