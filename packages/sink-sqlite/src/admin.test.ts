/**
 * Store admin for `telemetry stats` and `telemetry prune`, over real files:
 * exact counts, exactly what a prune deleted, VACUUM giving space back.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { type CompletedSpan, TelemetryValidationError } from '@telemetry/core';
import { createSqliteSink, type SqliteSink } from '@telemetry/sink-sqlite';
import Sqlite from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { log, metric, sid, span, T0, tempDir, tid } from './test-support/fixtures.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let files = 0;
function openSink(options: Parameters<typeof createSqliteSink>[0] = {}): SqliteSink & {
  file: string;
} {
  const path = join(tmp.dir, `admin-${files++}.db`);
  const sink = createSqliteSink({ path, retentionIntervalMs: 0, serviceName: 'app', ...options });
  cleanups.push(() => sink.shutdown());
  return Object.assign(sink, { file: path });
}

const s = 1_000_000;

/** Trace n: `spans` spans from T0 + n s, each with one log and one metric point; `service` on the root. */
function trace(n: number, spans: number, opts: { service?: string; error?: boolean } = {}) {
  const out: CompletedSpan[] = [];
  for (let i = 0; i < spans; i++) {
    const ids = { trace_id: tid(n), span_id: sid(n * 1000 + i) };
    out.push(
      span({
        ...ids,
        parent_span_id: i === 0 ? null : sid(n * 1000),
        name: i === 0 ? `root ${n}` : 'child',
        start_time: T0 + n * s + i,
        end_time: T0 + n * s + i + 500,
        status: opts.error && i === 1 ? 'error' : 'ok',
        attributes: i === 0 && opts.service ? { 'service.name': opts.service } : { i },
        events: [log(ids, 'x', T0 + n * s + i), metric(ids, 'tokens', i, T0 + n * s + i)],
      }),
    );
  }
  return out;
}

function count(path: string, table: string): number {
  const db = new Sqlite(path, { readonly: true });
  try {
    return db.prepare(`select count(*) from ${table}`).pluck().get() as number;
  } finally {
    db.close();
  }
}

async function issuesOf(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TelemetryValidationError);
  return (error as TelemetryValidationError).issues.map((i) => i.path);
}

describe('storeStats', () => {
  it('counts traces, spans, logs, metric points and series, per service', async () => {
    const sink = openSink();
    await sink.writeSpans([
      ...trace(1, 3),
      ...trace(2, 2, { service: 'api', error: true }),
      ...trace(3, 4, { service: 'api' }),
    ]);
    const stats = await sink.storeStats();
    expect(stats).toEqual({
      traces: 3,
      spans: 9,
      logs: 9,
      metric_points: 9,
      metric_series: 1,
      size_bytes: expect.any(Number),
      oldest: '2025-01-15T12:00:01.000000Z',
      newest: '2025-01-15T12:00:03.000000Z',
      services: [
        {
          service_name: 'api',
          traces: 2,
          spans: 6,
          error_traces: 1,
          oldest: '2025-01-15T12:00:02.000000Z',
          newest: '2025-01-15T12:00:03.000000Z',
        },
        {
          service_name: 'app',
          traces: 1,
          spans: 3,
          error_traces: 0,
          oldest: '2025-01-15T12:00:01.000000Z',
          newest: '2025-01-15T12:00:01.000000Z',
        },
      ],
      services_truncated: false,
    });
    expect(stats.size_bytes).toBeGreaterThanOrEqual(statSync(sink.file).size);
  });

  it('answers for an empty store and for :memory:', async () => {
    const memory = createSqliteSink({ retentionIntervalMs: 0 });
    cleanups.push(() => memory.shutdown());
    expect(await memory.storeStats()).toMatchObject({
      traces: 0,
      spans: 0,
      oldest: null,
      newest: null,
      services: [],
      size_bytes: expect.any(Number),
    });
    expect((await memory.storeStats()).size_bytes).toBeGreaterThan(0);
  });
});

describe('prune', () => {
  it('deletes whole traces that ended before a time, and says exactly what it deleted', async () => {
    const sink = openSink();
    await sink.writeSpans([...trace(1, 3), ...trace(2, 5), ...trace(3, 2), ...trace(4, 1)]);
    // Trace 3 starts before the cutoff but ends after it: kept whole.
    const cutoff = T0 + 3 * s + 100;
    const result = await sink.prune({ older_than: cutoff });
    expect(result).toEqual({
      deleted_traces: 2,
      deleted_spans: 8,
      deleted_events: 16,
      vacuumed: false,
      size_bytes_before: expect.any(Number),
      size_bytes_after: expect.any(Number),
    });
    expect((await sink.searchTraces()).traces.map((t) => [t.trace_id, t.span_count])).toEqual([
      [tid(4), 1],
      [tid(3), 2],
    ]);
    await sink.forceFlush();
    expect(count(sink.file, 'spans')).toBe(3);
    expect(count(sink.file, 'span_events')).toBe(6);
    expect(count(sink.file, 'span_attributes')).toBe(3);
    // Nothing left to delete: zeros.
    expect(await sink.prune({ older_than: cutoff })).toMatchObject({
      deleted_traces: 0,
      deleted_spans: 0,
      deleted_events: 0,
    });
  });

  it('keeps the newest-written spans, recomputing traces cut in two', async () => {
    const sink = openSink();
    await sink.writeSpans([...trace(1, 300, { error: true })]);
    await sink.writeSpans([...trace(2, 10, { error: true })]);
    const result = await sink.prune({ keep_spans: 110 });
    expect(result).toMatchObject({ deleted_traces: 0, deleted_spans: 200, deleted_events: 400 });
    expect(
      (await sink.searchTraces()).traces.map((t) => [t.trace_id, t.span_count, t.error_count]),
    ).toEqual([[tid(2), 10, 1]]);
    const stats = await sink.storeStats();
    expect(stats).toMatchObject({ traces: 2, spans: 110 });
    // The first trace lost its root: it stays out of search, its spans are still there.
    const detail = await sink.getTraceDetail(tid(1));
    expect(detail.trace).toMatchObject({ root_span_id: null, span_count: 100, error_count: 0 });
    expect((await sink.getTraceDetail(tid(2))).trace).toMatchObject({ error_count: 1 });
    expect(await sink.prune({ keep_spans: 0 })).toMatchObject({
      deleted_traces: 2,
      deleted_spans: 110,
    });
    expect(await sink.storeStats()).toMatchObject({ traces: 0, spans: 0, metric_series: 0 });
  });

  it('gives the space back with vacuum', async () => {
    const sink = openSink();
    const spans: CompletedSpan[] = [];
    for (let n = 1; n <= 40; n++) spans.push(...trace(n, 100));
    await sink.writeSpans(spans);
    const result = await sink.prune({ older_than: T0 + 39 * s, vacuum: true });
    expect(result.deleted_traces).toBe(38);
    expect(result.vacuumed).toBe(true);
    expect(result.size_bytes_after).toBeLessThan(result.size_bytes_before / 4);
    expect(statSync(sink.file).size).toBeLessThanOrEqual(result.size_bytes_after);
    expect((await sink.searchTraces()).traces).toHaveLength(2);
  });

  it('gives the space back even while another connection is reading', async () => {
    // A reader (or the checkpoint worker) in the way makes a TRUNCATE checkpoint
    // answer "busy" instead of throwing: the vacuum must wait for it, not give up.
    const sink = openSink({ busyTimeoutMs: 50 });
    const spans: CompletedSpan[] = [];
    for (let n = 1; n <= 40; n++) spans.push(...trace(n, 100));
    await sink.writeSpans(spans);
    const reader = new Sqlite(sink.file, { readonly: true });
    cleanups.push(() => reader.close());
    reader.exec('begin');
    reader.prepare('select count(*) from spans').get();
    const release = setTimeout(() => reader.exec('commit'), 400);
    cleanups.push(() => clearTimeout(release));
    const result = await sink.prune({ older_than: T0 + 39 * s, vacuum: true });
    expect(result.deleted_traces).toBe(38);
    expect(result.size_bytes_after).toBeLessThan(result.size_bytes_before / 4);
    expect(statSync(`${sink.file}-wal`).size).toBe(0);
  });

  it('loses nothing written while it runs', async () => {
    const sink = openSink({ transactionSize: 50 });
    const old: CompletedSpan[] = [];
    for (let n = 1; n <= 20; n++) old.push(...trace(n, 100));
    await sink.writeSpans(old);
    const fresh: CompletedSpan[] = [];
    for (let n = 100; n < 120; n++) fresh.push(...trace(n, 50));
    const [pruned] = await Promise.all([
      sink.prune({ older_than: T0 + 50 * s }),
      sink.writeSpans(fresh),
    ]);
    expect(pruned).toMatchObject({ deleted_traces: 20, deleted_spans: 2000 });
    expect(await sink.storeStats()).toMatchObject({ traces: 20, spans: 1000 });
  });

  it('refuses parameters that say nothing or make no sense', async () => {
    const sink = openSink();
    expect(await issuesOf(sink.prune({}))).toEqual(['older_than']);
    expect(await issuesOf(sink.prune({ keep_spans: -1 }))).toEqual(['keep_spans']);
    expect(await issuesOf(sink.prune({ older_than: 'last week' }))).toEqual(['older_than']);
    expect(await issuesOf(sink.prune({ vacuum: 'yes' as never }))).toEqual(['vacuum']);
    expect(await issuesOf(sink.prune({ keep: 5 } as never))).toEqual(['keep', 'older_than']);
  });
});
