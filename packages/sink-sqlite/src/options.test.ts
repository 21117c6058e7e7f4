/** The sink on core's floor: one options schema, the Llama Stack keys it reads, retry by the dispatcher. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createTelemetry, TelemetryError, TelemetryValidationError } from '@telemetry/core';
import { RetryableSinkError } from '@telemetry/core/sink';
import { checkSinkConformance, recordingContext } from '@telemetry/core/testing';
import { createSqliteSink, SQLITE_SINK_DEFAULTS, sqliteSink } from '@telemetry/sink-sqlite';
import Sqlite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { sid, span, tempDir, tid } from './test-support/fixtures.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function temp(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

/** What `fn` throws, which must be the floor's validation error. */
async function problems(fn: () => unknown): Promise<TelemetryValidationError> {
  const error = await Promise.resolve()
    .then(fn)
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(error).toBeInstanceOf(TelemetryValidationError);
  return error as TelemetryValidationError;
}

describe('options', () => {
  it('lists every invalid option at once, in the format every sink uses', async () => {
    const error = await problems(() =>
      createSqliteSink({
        name: '',
        path: '',
        ttlSeconds: 0,
        maxSpans: 1.5,
        retentionIntervalMs: -1,
        // @ts-expect-error invalid on purpose
        datasetWriter: {},
        busyTimeoutMs: Number.NaN,
        transactionSize: 0,
        // @ts-expect-error invalid on purpose
        serviceName: 7,
        // A typo of `ttlSeconds`.
        ttl: 60,
      }),
    );
    expect(error.code).toBe('TELEMETRY_INVALID_INPUT');
    expect(error.message).toMatchInlineSnapshot(`
      "Invalid sqlite sink options (10 problems):
        - options.name: expected a non-empty string
        - options.path: expected a file path or ":memory:"
        - options.ttlSeconds: expected a whole number >= 1
        - options.serviceName: expected a service name
        - options.maxSpans: expected a whole number >= 1
        - options.retentionIntervalMs: expected a whole number >= 0
        - options.datasetWriter: expected an object with appendRows(datasetId, rows)
        - options.busyTimeoutMs: expected a whole number >= 0
        - options.transactionSize: expected a whole number >= 1
        - options: unknown option "ttl": expected name, path, ttlSeconds, serviceName, maxSpans, retentionIntervalMs, purgeOnOpen, datasetWriter, busyTimeoutMs, transactionSize, readOnly"
    `);
  });

  it('refuses a path with a NUL byte instead of creating the file named up to it', async () => {
    const dir = temp();
    const error = await problems(() => createSqliteSink({ path: join(dir, 'traces.db\0.bak') }));
    expect(error.issues).toEqual([
      {
        path: 'options.path',
        message: `expected a file path without NUL bytes (SQLite would open the file named up to the first one), got ${JSON.stringify(join(dir, 'traces.db\0.bak'))}`,
      },
    ]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('has its defaults in one place: the options schema', () => {
    expect(SQLITE_SINK_DEFAULTS).toMatchInlineSnapshot(`
      {
        "busyTimeoutMs": 5000,
        "name": "sqlite",
        "path": ":memory:",
        "purgeOnOpen": true,
        "readOnly": false,
        "retentionIntervalMs": 60000,
        "transactionSize": 200,
        "ttlSeconds": 604800,
      }
    `);
    expect(Object.isFrozen(SQLITE_SINK_DEFAULTS)).toBe(true);
    expect(sqliteSink.parseOptions({})).toMatchObject(SQLITE_SINK_DEFAULTS);
  });

  it('takes serviceName from OTEL_SERVICE_NAME when it is not given', () => {
    const saved = process.env.OTEL_SERVICE_NAME;
    try {
      delete process.env.OTEL_SERVICE_NAME;
      expect(sqliteSink.parseOptions({}).serviceName).toBe('unknown_service');
      process.env.OTEL_SERVICE_NAME = 'checkout';
      expect(sqliteSink.parseOptions({}).serviceName).toBe('checkout');
      expect(sqliteSink.parseOptions({ serviceName: 'given' }).serviceName).toBe('given');
    } finally {
      if (saved === undefined) delete process.env.OTEL_SERVICE_NAME;
      else process.env.OTEL_SERVICE_NAME = saved;
    }
  });
});

describe('fromConfig: the keys of a Llama Stack config block', () => {
  const env = { HOME: '/home/ada' };

  it("stores under Llama Stack's runtime directory by default", () => {
    expect(sqliteSink.fromConfig({}, env)).toEqual({
      path: '/home/ada/.llama/runtime/trace_store.db',
      serviceName: 'unknown_service',
    });
    expect(
      sqliteSink.fromConfig(
        { sqlite_db_path: '' },
        { ...env, LLAMA_STACK_CONFIG_DIR: '/srv/llama' },
      ).path,
    ).toBe('/srv/llama/runtime/trace_store.db');
  });

  it('reads sqlite_db_path (a leading ~ is the home directory) and service_name', () => {
    expect(
      sqliteSink.fromConfig({ sqlite_db_path: '~/traces/t.db', service_name: 'chat-api' }, env),
    ).toEqual({ path: '/home/ada/traces/t.db', serviceName: 'chat-api' });
    expect(sqliteSink.fromConfig({ sqlite_db_path: '~' }, env).path).toBe('/home/ada');
    expect(sqliteSink.fromConfig({ sqlite_db_path: 'rel/~/t.db' }, env).path).toBe('rel/~/t.db');
    expect(sqliteSink.fromConfig({ sqlite_db_path: ':memory:' }, env).path).toBe(':memory:');
  });

  it('takes OTEL_SERVICE_NAME from the env it is given when service_name is not set', () => {
    expect(
      sqliteSink.fromConfig({ service_name: '' }, { ...env, OTEL_SERVICE_NAME: 'from-env' })
        .serviceName,
    ).toBe('from-env');
  });

  it('gives options that validate, so a NUL byte in sqlite_db_path is refused by the schema', async () => {
    const options = sqliteSink.fromConfig({ sqlite_db_path: '/tmp/a\0b.db' }, env);
    expect(
      (await problems(() => sqliteSink.parseOptions(options))).issues.map((i) => i.path),
    ).toEqual(['options.path']);
  });
});

describe('on the floor', () => {
  it('keeps the sink contract (core checkSinkConformance)', async () => {
    const report = await checkSinkConformance(() =>
      createSqliteSink({ path: join(temp(), 'c.db'), retentionIntervalMs: 0 }),
    );
    expect(report.delivered).toBe(report.accepted);
  });

  it('reports trouble off the write path through its creation context', async () => {
    const sink = createSqliteSink({ retentionIntervalMs: 0 });
    cleanups.push(() => sink.shutdown());
    const recorded = recordingContext('sqlite');
    sink.attach(recorded.context);
    await sink.writeSpans([
      span({ trace_id: tid(1), span_id: sid(1), start_time: Number.NaN }),
      span({ trace_id: tid(1), span_id: sid(2) }),
    ]);
    expect(recorded.dropped).toEqual({ invalid_span: 2 });
  });
});

describe('a database locked by another writer', () => {
  /** Another connection holding the write lock of `path`, as a second process would. */
  function lockHolder(path: string) {
    const db = new Sqlite(path);
    cleanups.push(() => db.open && db.close());
    return {
      lock: () => db.inTransaction || db.exec('BEGIN IMMEDIATE'),
      unlock: () => db.inTransaction && db.exec('COMMIT'),
    };
  }

  it('alone: a write past busyTimeoutMs rejects as retryable, and writing again stores each span once', async () => {
    const path = join(temp(), 'locked.db');
    const sink = createSqliteSink({ path, retentionIntervalMs: 0, busyTimeoutMs: 20 });
    cleanups.push(() => sink.shutdown());
    await sink.whenReady();
    const holder = lockHolder(path);
    const spans = Array.from({ length: 5 }, (_, i) =>
      span({ trace_id: tid(1), span_id: sid(i + 1) }),
    );
    holder.lock();
    const error = await sink.writeSpans(spans).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableSinkError);
    expect(error).toBeInstanceOf(TelemetryError);
    expect((error as RetryableSinkError).code).toBe('TELEMETRY_SINK_RETRYABLE');
    expect((error as Error).message).toContain('stayed locked by another writer for 20 ms');
    expect(((error as Error).cause as { code?: string }).code).toMatch(/^SQLITE_BUSY/);
    holder.unlock();
    await sink.writeSpans(spans);
    await sink.writeSpans(spans);
    expect((await sink.getTrace(tid(1))).trace_id).toBe(tid(1));
    const db = new Sqlite(path, { readonly: true });
    cleanups.push(() => db.close());
    expect(db.prepare('select count(*) from spans').pluck().get()).toBe(5);
  });

  it("in a pipeline: core's dispatcher retries until the lock is gone; nothing is lost or stored twice", async () => {
    const path = join(temp(), 'contended.db');
    const sink = createSqliteSink({
      path,
      retentionIntervalMs: 0,
      busyTimeoutMs: 5,
      transactionSize: 10,
    });
    await sink.whenReady();
    const telemetry = createTelemetry({ sinks: [sink], warn: () => {} });
    const holder = lockHolder(path);
    // Lock and unlock in turns, so that batches fail before, and between, their transactions.
    let rounds = 0;
    const toggling = setInterval(() => {
      rounds++;
      if (rounds % 2 === 1 && rounds < 40) holder.lock();
      else holder.unlock();
    }, 7);
    cleanups.push(() => clearInterval(toggling));
    holder.lock();
    for (let i = 0; i < 300; i++) telemetry.withTrace(`t${i}`, () => {});
    await new Promise((resolve) => setTimeout(resolve, 400));
    clearInterval(toggling);
    holder.unlock();
    await telemetry.shutdown({ timeoutMs: 30_000 });
    const stats = telemetry.stats().sinks.sqlite!;
    expect(stats).toMatchObject({ delivered: 600, failed: 0, pending: 0, dropped: {} });
    // It was retried, not lucky: the lock made writes fail on the way.
    expect(stats.lastError).toContain('stayed locked by another writer');
    const db = new Sqlite(path, { readonly: true });
    cleanups.push(() => db.close());
    expect(db.prepare('select count(*) from spans').pluck().get()).toBe(300);
    expect(db.prepare('select count(distinct span_id) from spans').pluck().get()).toBe(300);
  });
});
