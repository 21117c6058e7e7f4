import { createTelemetry, TelemetryValidationError } from '@telemetry/core';
import { checkSinkConformance, recordingContext } from '@telemetry/core/testing';
import {
  createMigrator,
  createPostgresSink,
  MIGRATION_TABLE,
  POSTGRES_SINK_DEFAULTS,
  type PostgresSink,
  PostgresSinkClosedError,
  postgresSink,
} from '@telemetry/sink-postgres';
import { FOREVER, metric, SECOND, sid, span, T0, tid } from '@telemetry/store-suite';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminQuery, createDatabase, withSessionOptions } from './test-support/databases.ts';

const server = inject('postgresUrl');
let url: string;
let schemas = 0;
const sinks: PostgresSink[] = [];

beforeAll(async () => {
  url = await createDatabase(server, `sink_${process.pid}`);
});
afterAll(async () => {
  for (const sink of sinks) await sink.shutdown();
  await adminQuery(server, `drop database if exists sink_${process.pid} with (force)`);
});

/** A URL whose tables live in a new, empty schema. */
async function freshSchema(): Promise<string> {
  const schema = `s${schemas++}`;
  await adminQuery(url, `create schema ${schema}`);
  return withSessionOptions(url, { search_path: schema });
}

function open(
  options: Partial<Parameters<typeof createPostgresSink>[0]> & { connectionString: string },
) {
  const sink = createPostgresSink({ retentionIntervalMs: 0, ...options });
  sinks.push(sink);
  return sink;
}

describe('options', () => {
  it('has its defaults in one schema and refuses bad options, each named', () => {
    expect(POSTGRES_SINK_DEFAULTS).toEqual({
      name: 'postgres',
      ttlSeconds: 604_800,
      retentionIntervalMs: 60_000,
      purgeOnOpen: true,
      poolSize: 4,
      connectTimeoutMs: 5_000,
      transactionSize: 1_000,
    });
    const error = (() => {
      try {
        createPostgresSink({
          connectionString: 'mysql://u:secret@h/db',
          ttlSeconds: 0,
          pool: 3,
        } as never);
      } catch (e) {
        return e as TelemetryValidationError;
      }
    })();
    expect(error).toBeInstanceOf(TelemetryValidationError);
    expect(error!.message).toContain(
      'options.connectionString: expected a connection string starting with postgres:// or postgresql://, got "mysql://***@h/db"',
    );
    expect(error!.message).not.toContain('secret');
    expect(error!.issues.map((i) => i.path)).toEqual([
      'options.connectionString',
      'options.ttlSeconds',
      'options',
    ]);
  });

  it('reads postgres_url and service_name from a Llama Stack config block', () => {
    expect(
      postgresSink.fromConfig(
        { sinks: ['postgres'], postgres_url: 'postgres://u@h/db', service_name: 'api' },
        {},
      ),
    ).toEqual({ connectionString: 'postgres://u@h/db', serviceName: 'api' });
    expect(postgresSink.fromConfig({ sinks: ['postgres'] }, { OTEL_SERVICE_NAME: 'svc' })).toEqual({
      serviceName: 'svc',
    });
  });
});

describe('the sink contract', () => {
  it('keeps it (core checkSinkConformance)', async () => {
    const connectionString = await freshSchema();
    await checkSinkConformance(() => open({ connectionString }));
  });

  it('counts spans it cannot store, stores the rest, and refuses calls after shutdown', async () => {
    const sink = open({ connectionString: await freshSchema() });
    const recorded = recordingContext('postgres');
    sink.attach(recorded.context);
    await sink.writeSpans([
      span({ trace_id: tid(1), span_id: sid(1) }),
      span({ trace_id: tid(2), span_id: 'x'.repeat(2_000) }),
      span({ trace_id: tid(3), span_id: sid(3), start_time: Number.NaN }),
      span({
        trace_id: tid(4),
        span_id: sid(4),
        events: [metric({ trace_id: tid(4), span_id: sid(4) }, 'm'.repeat(1_001), 1, T0)],
      }),
    ]);
    // 2 events for each span, and the metric point: 7 events in 3 spans.
    expect(recorded.dropped).toEqual({ invalid_span: 7 });
    expect((await sink.storeStats()).spans).toBe(1);
    await sink.shutdown();
    await expect(sink.queryTraces()).rejects.toBeInstanceOf(PostgresSinkClosedError);
    await expect(sink.writeSpans([])).rejects.toBeInstanceOf(PostgresSinkClosedError);
    await expect(sink.storeStats()).rejects.toMatchObject({
      name: 'PostgresSinkClosedError',
      code: 'TELEMETRY_SINK_CLOSED',
      message:
        "The 'postgres' sink is shut down; create a new sink to read or write this database.",
    });
  });

  it('keeps long names and keys: the span whole, the trace row and attribute index within bounds', async () => {
    const sink = open({ connectionString: await freshSchema() });
    const name = 'n'.repeat(3_000);
    const key = 'k'.repeat(3_000);
    await sink.writeSpans([
      span({
        trace_id: tid(1),
        span_id: sid(1),
        name,
        attributes: { [key]: 'v', 'service.name': 'é'.repeat(2_000) },
      }),
    ]);
    expect((await sink.getSpan(tid(1), sid(1))).name).toBe(name);
    expect((await sink.getSpan(tid(1), sid(1))).attributes).toMatchObject({ [key]: 'v' });
    const [summary] = (await sink.searchTraces()).traces;
    // Cut to 1,000 bytes of UTF-8 on a character boundary.
    expect(summary!.root_name).toBe('n'.repeat(1_000));
    expect(summary!.service_name).toBe('é'.repeat(500));
    // A key longer than the index holds is in the span's attributes, not filterable.
    expect(await sink.queryTraces({ attribute_filters: [{ key, op: 'eq', value: 'v' }] })).toEqual(
      [],
    );
  });

  it('writes again through the pipeline, skipping what a failed attempt stored (no span twice)', async () => {
    const connectionString = await freshSchema();
    const sink = open({ connectionString, transactionSize: 3 });
    await sink.whenReady();
    const batch = Array.from({ length: 10 }, (_, i) =>
      span({ trace_id: tid(1), span_id: sid(i + 1) }),
    );
    await sink.writeSpans(batch.slice(0, 4));
    await sink.writeSpans(batch);
    const stats = await sink.storeStats();
    expect([stats.spans, stats.traces]).toEqual([10, 1]);
    expect((await sink.searchTraces()).traces[0]).toMatchObject({ span_count: 10 });
  });
});

describe('several processes at once', () => {
  it('migrates a new database once when many sinks open it at the same moment', async () => {
    const connectionString = await freshSchema();
    const many = Array.from({ length: 6 }, () => open({ connectionString }));
    await Promise.all(many.map((s) => s.whenReady()));
    const client = new pg.Client({ connectionString });
    await client.connect();
    try {
      const rows = await client.query(`select name from ${MIGRATION_TABLE} order by name`);
      expect(rows.rows.map((r) => r.name)).toEqual([
        '2025_11_29_0001_initial',
        '2026_12_01_0002_local_root_markers',
        '2026_12_02_0003_trace_search',
      ]);
    } finally {
      await client.end();
    }
  });

  it("ships its migrations as code: they run with Kysely's Migrator on your own Kysely instance", async () => {
    const connectionString = await freshSchema();
    const pool = new pg.Pool({ connectionString });
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
    try {
      const schema = (await pool.query('select current_schema() as s')).rows[0].s;
      const { error, results } = await createMigrator(db, schema).migrateToLatest();
      expect(error).toBeUndefined();
      expect(results?.map((r) => r.status)).toEqual(['Success', 'Success', 'Success']);
    } finally {
      await db.destroy();
    }
  });

  it('runs retention in one process at a time: concurrent runs delete each span once', async () => {
    const connectionString = await freshSchema();
    const [a, b, c] = [
      open({ connectionString }),
      open({ connectionString }),
      open({ connectionString }),
    ];
    // Each deletes what expired when it opens: open all three before writing.
    await Promise.all([a!, b!, c!].map((s) => s.whenReady()));
    const now = Date.now() * 1000;
    const expired = Array.from({ length: 700 }, (_, i) =>
      span({
        trace_id: tid(1 + (i % 50)),
        span_id: sid(i + 1),
        start_time: now - 10 * SECOND,
        end_time: now - 9 * SECOND,
        ttl_seconds: 1,
      }),
    );
    const kept = span({ trace_id: tid(999), span_id: sid(999), ttl_seconds: FOREVER });
    await a!.writeSpans([...expired, kept]);
    const results = await Promise.all([a!, b!, c!].map((s) => s.purgeExpired()));
    expect(results.reduce((n, r) => n + r.deletedSpans, 0)).toBe(700);
    expect(results.reduce((n, r) => n + r.deletedTraces, 0)).toBe(50);
    expect((await b!.storeStats()).spans).toBe(1);
  });

  it('deletes what expired when it opens, unless purgeOnOpen is false', async () => {
    const connectionString = await freshSchema();
    const writer = open({ connectionString });
    await writer.whenReady();
    const now = Date.now() * 1000;
    await writer.writeSpans([
      span({
        trace_id: tid(1),
        span_id: sid(1),
        start_time: now - 10 * SECOND,
        end_time: now - 9 * SECOND,
        ttl_seconds: 1,
      }),
      span({ trace_id: tid(2), span_id: sid(2), ttl_seconds: FOREVER }),
    ]);
    const keeping = open({ connectionString, purgeOnOpen: false });
    await keeping.whenReady();
    expect((await keeping.storeStats()).spans).toBe(2);
    const purging = open({ connectionString });
    await purging.whenReady();
    expect((await purging.storeStats()).spans).toBe(1);
  });

  it('keeps at most maxSpans, oldest written first, on the retention run', async () => {
    const connectionString = await freshSchema();
    const sink = open({ connectionString, maxSpans: 5 });
    await sink.writeSpans(
      Array.from({ length: 12 }, (_, i) =>
        span({ trace_id: tid(i + 1), span_id: sid(i + 1), start_time: T0 + i }),
      ),
    );
    expect((await sink.purgeExpired()).deletedSpans).toBe(7);
    expect((await sink.queryTraces()).map((t) => t.trace_id)).toEqual(
      Array.from({ length: 5 }, (_, i) => tid(i + 8)),
    );
  });

  it('in a pipeline, an error of the database is counted and named, never thrown', async () => {
    const connectionString = await freshSchema();
    const sink = open({ connectionString });
    await sink.whenReady();
    // A table the sink writes to is gone: every write fails for good.
    await adminQuery(connectionString, 'alter table span_events rename to span_events_gone');
    const warnings: string[] = [];
    const telemetry = createTelemetry({ sinks: [sink], warn: (m) => warnings.push(m) });
    await telemetry.withTrace('t', async (root) => {
      root.log('a log', 'info');
    });
    await telemetry.flush();
    const stats = telemetry.stats().sinks.postgres!;
    expect(stats.dropped).toEqual({ postgres_write_failed: 3 });
    expect(stats.lastError).toMatch(/span_events/);
    await telemetry.shutdown();
  });
});
