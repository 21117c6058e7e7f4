import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TelemetryConfigError, TelemetryValidationError } from '@telemetry/core';
import { recordingContext } from '@telemetry/core/testing';
import {
  createMigrator,
  createSqliteSink,
  type Database,
  MIGRATION_TABLE,
  migrations,
  SqliteSinkClosedError,
} from '@telemetry/sink-sqlite';
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { dataset } from './test-support/dataset.ts';
import { log, metric, sid, span, T0, tempDir, tid } from './test-support/fixtures.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function temp() {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

function openSink(options: Parameters<typeof createSqliteSink>[0] = {}) {
  const sink = createSqliteSink({ retentionIntervalMs: 0, ...options });
  cleanups.push(() => sink.shutdown());
  return sink;
}

function inspect(path: string) {
  const db = new Sqlite(path, { readonly: true });
  cleanups.push(() => db.close());
  return db;
}

function counts(db: Sqlite.Database) {
  const one = (table: string) =>
    (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
  return {
    traces: one('traces'),
    spans: one('spans'),
    span_attributes: one('span_attributes'),
    span_events: one('span_events'),
    metric_series: one('metric_series'),
  };
}

describe('opening', () => {
  it('creates missing directories, runs the shipped migrations once, and uses WAL', async () => {
    const path = join(temp(), 'a', 'b', 'telemetry.db');
    const first = openSink({ path });
    await first.whenReady();
    await first.shutdown();
    const second = openSink({ path });
    await second.whenReady();
    const db = inspect(path);
    expect(db.prepare(`select name from ${MIGRATION_TABLE} order by name`).pluck().all()).toEqual([
      '2025_11_29_0001_initial',
      '2026_12_01_0002_local_root_markers',
      '2026_12_02_0003_trace_search',
    ]);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(
      db
        .prepare(
          "select name from sqlite_master where type = 'table' and name not like 'telemetry_%' order by name",
        )
        .pluck()
        .all(),
    ).toEqual(['metric_series', 'span_attributes', 'span_events', 'spans', 'traces']);
  });

  it("ships its migrations as code: they run with Kysely's Migrator on your own Kysely instance", async () => {
    const path = join(temp(), 'own.db');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new Sqlite(path) }) });
    const { error, results } = await createMigrator(db).migrateToLatest();
    expect(error).toBeUndefined();
    expect(results?.map((r) => [r.migrationName, r.status])).toEqual(
      Object.keys(migrations).map((name) => [name, 'Success']),
    );
    await db.destroy();
    const sink = openSink({ path });
    await sink.writeSpans([span({ trace_id: tid(1), span_id: sid(1), attributes: { k: 'v' } })]);
    await sink.shutdown();
    const reader = new Kysely<Database>({
      dialect: new SqliteDialect({ database: new Sqlite(path) }),
    });
    expect(await reader.selectFrom('span_attributes').select(['key', 'value']).execute()).toEqual([
      { key: 'k', value: 'v' },
    ]);
    await reader.destroy();
  });

  it('accepts a bare file name (relative to the working directory)', async () => {
    const dir = temp();
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const sink = openSink({ path: 'bare.db' });
      await sink.writeSpans([span({ trace_id: tid(1), span_id: sid(1) })]);
      await sink.shutdown();
    } finally {
      process.chdir(cwd);
    }
    expect(counts(inspect(join(dir, 'bare.db'))).spans).toBe(1);
  });

  it('defaults to an in-memory store', async () => {
    const sink = openSink();
    expect(sink.path).toBe(':memory:');
    expect(sink.name).toBe('sqlite');
    await sink.writeSpans([span({ trace_id: tid(1), span_id: sid(1) })]);
    expect((await sink.queryTraces()).length).toBe(1);
  });

  it('rejects bad options all at once', () => {
    let error: unknown;
    try {
      createSqliteSink({ ttlSeconds: -1, maxSpans: 1.5, path: '', datasetWriter: {} as never });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TelemetryValidationError);
    expect((error as TelemetryValidationError).issues.map((i) => i.path)).toEqual([
      'options.path',
      'options.ttlSeconds',
      'options.maxSpans',
      'options.datasetWriter',
    ]);
  });

  it('says clearly when the path cannot be opened', () => {
    const dir = temp();
    mkdirSync(join(dir, 'is-a-dir.db'));
    expect(() => createSqliteSink({ path: join(dir, 'is-a-dir.db') })).toThrow(
      TelemetryConfigError,
    );
    expect(() => createSqliteSink({ path: join(dir, 'is-a-dir.db') })).toThrow(
      /Cannot open the SQLite telemetry store/,
    );
  });
});

describe('writing', () => {
  it('stores spans, a trace row per trace (service, local root, min start, max end), logs and metrics as in the reference', async () => {
    const path = join(temp(), 't.db');
    const sink = openSink({ path, serviceName: 'checkout' });
    const a = { trace_id: tid(1), span_id: sid(2) };
    // Two batches: the trace row is widened by the second.
    await sink.writeSpans([
      span({
        ...a,
        parent_span_id: sid(1),
        start_time: T0 + 5,
        end_time: T0 + 45,
        attributes: { k: 'v' },
        events: [
          log(a, 'hello', T0 + 10, { user: 'u1' }),
          metric(a, 'prompt_tokens', 12, T0 + 20, { model: 'llama' }),
        ],
      }),
    ]);
    await sink.writeSpans([
      span({
        trace_id: tid(1),
        span_id: sid(1),
        start_time: T0,
        end_time: T0 + 100,
        attributes: { __root__: true },
      }),
    ]);
    const db = inspect(path);
    expect(db.prepare('select * from traces').all()).toEqual([
      {
        trace_id: tid(1),
        service_name: 'checkout',
        root_span_id: sid(1),
        root_name: 'op',
        start_time: T0,
        end_time: T0 + 100,
        span_count: 2,
        error_count: 0,
      },
    ]);
    expect(
      db.prepare('select name, timestamp, attributes, value from span_events order by id').all(),
    ).toEqual([
      {
        name: 'unstructured_log',
        timestamp: T0 + 10,
        attributes: JSON.stringify({ user: 'u1', message: 'hello', severity: 'info' }),
        value: null,
      },
      {
        name: 'metric.prompt_tokens',
        timestamp: T0 + 20,
        attributes: JSON.stringify({ model: 'llama', value: 12, unit: 'tokens' }),
        value: 12,
      },
    ]);
    // A 40 µs span stays 40 µs.
    const stored = await sink.getSpan(tid(1), sid(2));
    expect([stored.start_time, stored.end_time]).toEqual([
      '2025-01-15T12:00:00.000005Z',
      '2025-01-15T12:00:00.000045Z',
    ]);
  });

  it('a duplicate span id does not poison the batch, and its events are not stored twice', async () => {
    const path = join(temp(), 'dup.db');
    const sink = openSink({ path });
    const first = span({
      trace_id: tid(1),
      span_id: sid(1),
      events: [log({ trace_id: tid(1), span_id: sid(1) }, 'x', T0)],
    });
    await sink.writeSpans([first]);
    await sink.writeSpans([
      first,
      span({ trace_id: tid(1), span_id: sid(2), parent_span_id: sid(1) }),
      first,
    ]);
    expect(counts(inspect(path))).toMatchObject({ spans: 2, span_events: 1, traces: 1 });
  });

  it('prefers a span without a parent over a marked local root under a remote parent', async () => {
    const sink = openSink();
    await sink.writeSpans([
      span({
        trace_id: tid(4),
        span_id: sid(31),
        parent_span_id: sid(30),
        start_time: T0 + 10,
        attributes: { __root__: true },
      }),
    ]);
    expect((await sink.getTrace(tid(4))).root_span_id).toBe(sid(31));
    await sink.writeSpans([span({ trace_id: tid(4), span_id: sid(30), start_time: T0 + 20 })]);
    expect((await sink.getTrace(tid(4))).root_span_id).toBe(sid(30));
    // A later marked span does not displace it.
    await sink.writeSpans([
      span({
        trace_id: tid(4),
        span_id: sid(32),
        parent_span_id: sid(99),
        start_time: T0,
        attributes: { __root__: true },
      }),
    ]);
    expect(await sink.getTrace(tid(4))).toMatchObject({
      root_span_id: sid(30),
      start_time: '2025-01-15T12:00:00.000000Z',
    });
  });

  it('skips spans that cannot be stored and counts their events as dropped', async () => {
    const sink = openSink();
    const recorded = recordingContext('sqlite');
    sink.attach(recorded.context);
    const bad = span({
      trace_id: tid(1),
      span_id: sid(9),
      start_time: Number.NaN,
      events: [log({ trace_id: tid(1), span_id: sid(9) }, 'x', T0)],
    });
    await sink.writeSpans([bad, span({ trace_id: tid(1), span_id: sid(1) })]);
    expect(recorded.dropped).toEqual({ invalid_span: 3 });
    expect(recorded.errors).toEqual([]);
    expect((await sink.queryTraces()).map((t) => t.root_span_id)).toEqual([sid(1)]);
  });

  it('without a dispatcher, rejects after storing the valid spans', async () => {
    const sink = openSink();
    const bad = span({ trace_id: tid(1), span_id: sid(9), end_time: Number.POSITIVE_INFINITY });
    await expect(
      sink.writeSpans([bad, span({ trace_id: tid(1), span_id: sid(1) })]),
    ).rejects.toThrow(/1 span\(s\) could not be stored/);
    expect((await sink.queryTraces()).length).toBe(1);
  });

  it('splits a large batch into transactions of transactionSize', async () => {
    const path = join(temp(), 'big.db');
    const sink = openSink({ path, transactionSize: 7 });
    const spans = Array.from({ length: 50 }, (_, i) =>
      span({ trace_id: tid(1 + (i % 5)), span_id: sid(i + 1), attributes: { i, __root__: i < 5 } }),
    );
    await sink.writeSpans(spans);
    expect(counts(inspect(path))).toMatchObject({ spans: 50, traces: 5, span_attributes: 100 });
  });
});

describe('retention', () => {
  const old = T0; // January 2025: long expired with a one-day TTL.

  it('deletes expired spans with their attributes, events and metric series, on open and on demand', async () => {
    const path = join(temp(), 'ttl.db');
    const sink = openSink({ path });
    const expired = { trace_id: tid(1), span_id: sid(1) };
    await sink.writeSpans([
      span({
        ...expired,
        ttl_seconds: 86_400,
        start_time: old,
        end_time: old + 1,
        attributes: { a: 1 },
        events: [log(expired, 'x', old), metric(expired, 'm', 1, old, { gone: 'yes' })],
      }),
      span({ trace_id: tid(2), span_id: sid(2), attributes: { b: 2 } }),
    ]);
    expect(counts(inspect(path))).toEqual({
      traces: 2,
      spans: 2,
      span_attributes: 2,
      span_events: 2,
      metric_series: 1,
    });
    await sink.shutdown();

    const reopened = openSink({ path });
    await reopened.whenReady();
    expect(counts(inspect(path))).toEqual({
      traces: 1,
      spans: 1,
      span_attributes: 1,
      span_events: 0,
      metric_series: 0,
    });

    await reopened.writeSpans([
      span({ trace_id: tid(3), span_id: sid(3), ttl_seconds: 1, start_time: old, end_time: old }),
    ]);
    expect((await reopened.queryTraces()).length).toBe(2);
    expect(await reopened.purgeExpired()).toEqual({
      deletedSpans: 1,
      deletedTraces: 1,
      deletedEvents: 0,
    });
    expect((await reopened.queryTraces()).map((t) => t.trace_id)).toEqual([tid(2)]);
  });

  it('uses the sink ttlSeconds when a span carries none', async () => {
    const sink = openSink({ ttlSeconds: 60 });
    const recent = Date.now() * 1000 - 120 * 1_000_000; // ended two minutes ago
    await sink.writeSpans([
      span({
        trace_id: tid(1),
        span_id: sid(1),
        start_time: recent,
        end_time: recent,
        ttl_seconds: undefined as never,
      }),
      span({
        trace_id: tid(2),
        span_id: sid(2),
        start_time: recent,
        end_time: recent,
        ttl_seconds: 3600,
      }),
    ]);
    expect(await sink.purgeExpired()).toEqual({
      deletedSpans: 1,
      deletedTraces: 1,
      deletedEvents: 0,
    });
    expect((await sink.queryTraces()).map((t) => t.trace_id)).toEqual([tid(2)]);
  });

  it('recomputes a trace when only some of its spans expire', async () => {
    const sink = openSink();
    await sink.writeSpans([
      span({
        trace_id: tid(1),
        span_id: sid(1),
        start_time: T0,
        end_time: T0 + 100,
        attributes: { __root__: true },
      }),
      span({
        trace_id: tid(1),
        span_id: sid(2),
        parent_span_id: sid(1),
        start_time: T0 + 10,
        end_time: T0 + 200,
        ttl_seconds: 1,
      }),
    ]);
    expect((await sink.getTrace(tid(1))).end_time).toBe('2025-01-15T12:00:00.000200Z');
    await sink.purgeExpired();
    expect(await sink.getTrace(tid(1))).toEqual({
      trace_id: tid(1),
      root_span_id: sid(1),
      start_time: '2025-01-15T12:00:00.000000Z',
      end_time: '2025-01-15T12:00:00.000100Z',
    });
  });

  it('runs periodically', async () => {
    const sink = openSink({ retentionIntervalMs: 20 });
    await sink.writeSpans([
      span({ trace_id: tid(1), span_id: sid(1), ttl_seconds: 1, start_time: T0, end_time: T0 }),
    ]);
    await vi.waitFor(async () => expect(await sink.queryTraces()).toEqual([]), {
      timeout: 5000,
      interval: 20,
    });
  });

  it('caps the number of stored spans, deleting the oldest written', async () => {
    const path = join(temp(), 'cap.db');
    const sink = openSink({ path, maxSpans: 20, transactionSize: 8 });
    for (let batch = 0; batch < 5; batch++) {
      await sink.writeSpans(
        Array.from({ length: 10 }, (_, i) => {
          const n = batch * 10 + i + 1;
          return span({
            trace_id: tid(n),
            span_id: sid(n),
            attributes: { n },
            events: [log({ trace_id: tid(n), span_id: sid(n) }, 'l', T0)],
          });
        }),
      );
    }
    const db = inspect(path);
    expect(counts(db)).toEqual({
      traces: 20,
      spans: 20,
      span_attributes: 20,
      span_events: 20,
      metric_series: 0,
    });
    expect(db.prepare('select min(id), max(id) from spans').raw().get()).toEqual([31, 50]);
  });
});

describe('lifecycle', () => {
  it('shutdown is idempotent, waits for writes, and later calls fail clearly', async () => {
    const sink = createSqliteSink({ retentionIntervalMs: 0 });
    const write = sink.writeSpans([span({ trace_id: tid(1), span_id: sid(1) })]);
    await Promise.all([sink.shutdown(), sink.close(), sink[Symbol.asyncDispose]()]);
    await write;
    await expect(sink.queryTraces()).rejects.toBeInstanceOf(SqliteSinkClosedError);
    await expect(sink.writeSpans([])).rejects.toThrow("The 'sqlite' sink is shut down");
    await expect(sink.storeStats()).rejects.toMatchObject({
      name: 'SqliteSinkClosedError',
      code: 'TELEMETRY_SINK_CLOSED',
    });
  });

  it('checkpoints the WAL from a worker thread while the sink stays open', async () => {
    const path = join(temp(), 'wal.db');
    const sink = openSink({ path });
    await sink.whenReady();
    const empty = statSync(path).size;
    const spans = Array.from({ length: 20_000 }, (_, i) =>
      span({
        trace_id: tid(Math.floor(i / 10) + 1),
        span_id: sid(i + 1),
        attributes: { i, text: 'x'.repeat(40) },
      }),
    );
    await sink.writeSpans(spans);
    // SQLite's own threshold on the sink's connection is 40 MB of WAL; these writes
    // are far below it, so only the worker can have moved them into the file.
    await vi.waitFor(() => expect(statSync(path).size).toBeGreaterThan(empty + 2_000_000), {
      timeout: 10_000,
      interval: 50,
    });
    expect((await sink.queryTraces({ limit: 5000 })).length).toBe(2000);
  });

  it('forceFlush waits for writes in flight', async () => {
    const path = join(temp(), 'flush.db');
    const sink = openSink({ path, transactionSize: 10 });
    void sink.writeSpans(dataset());
    await sink.forceFlush();
    expect(counts(inspect(path)).spans).toBe(dataset().length);
    expect(existsSync(`${path}-wal`)).toBe(true);
  });
});
