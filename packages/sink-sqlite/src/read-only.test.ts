/** `readOnly` (a reader of a file another process writes) and `purgeOnOpen`. */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TelemetryConfigError, TelemetryValidationError } from '@telemetry/core';
import { createSqliteSink, MIGRATION_TABLE, type SqliteSink } from '@telemetry/sink-sqlite';
import Sqlite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { sid, span, T0, tempDir, tid } from './test-support/fixtures.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function temp(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

function open(options: Parameters<typeof createSqliteSink>[0]): SqliteSink {
  const sink = createSqliteSink({ retentionIntervalMs: 0, ...options });
  cleanups.push(() => sink.shutdown());
  return sink;
}

/** A store with one expired trace (ended 2025, one-second TTL) and one kept trace. */
async function storeWithExpired(path: string): Promise<void> {
  const writer = createSqliteSink({ path, retentionIntervalMs: 0 });
  await writer.writeSpans([
    span({ trace_id: tid(1), span_id: sid(1), name: 'expired', ttl_seconds: 1 }),
    span({ trace_id: tid(2), span_id: sid(2), name: 'kept' }),
  ]);
  await writer.shutdown();
}

const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('readOnly', () => {
  it('reads what a writer committed, including writes made after it opened', async () => {
    const path = join(temp(), 'store.db');
    const writer = open({ path });
    await writer.writeSpans([span({ trace_id: tid(1), span_id: sid(1), name: 'first' })]);
    const reader = open({ path, readOnly: true });
    await reader.whenReady();
    const end = (await reader.tailSpans({ limit: 0 })).cursor;
    expect((await reader.searchTraces()).traces.map((t) => t.root_name)).toEqual(['first']);

    await writer.writeSpans([
      span({ trace_id: tid(2), span_id: sid(2), name: 'second', start_time: T0 + 5 }),
    ]);
    const tail = await reader.tailSpans({ cursor: end });
    expect(tail.spans.map((s) => s.name)).toEqual(['second']);
    expect((await reader.storeStats()).spans).toBe(2);
  });

  it('neither migrates, purges nor writes: the file stays byte for byte the same', async () => {
    const path = join(temp(), 'store.db');
    await storeWithExpired(path);
    const before = digest(path);
    const reader = open({ path, readOnly: true });
    await reader.whenReady();
    // The expired trace is still there: retention did not run.
    expect((await reader.searchTraces()).traces.map((t) => t.root_name).sort()).toEqual([
      'expired',
      'kept',
    ]);
    await expect(reader.writeSpans([span({ trace_id: tid(3), span_id: sid(3) })])).rejects.toThrow(
      /read-only and cannot write spans/,
    );
    await expect(reader.prune({ keep_spans: 0 })).rejects.toBeInstanceOf(TelemetryConfigError);
    await expect(reader.purgeExpired()).rejects.toThrow(/cannot delete expired rows/);
    await reader.shutdown();
    expect(digest(path)).toBe(before);
    expect((await open({ path, readOnly: true }).storeStats()).spans).toBe(2);
  });

  it('a missing file is a config error at creation, and no file is created', () => {
    const path = join(temp(), 'missing.db');
    expect(() => createSqliteSink({ path, readOnly: true })).toThrow(TelemetryConfigError);
    expect(() => createSqliteSink({ path, readOnly: true })).toThrow(
      /for reading: unable to open database file\. Pass the path of an existing store/,
    );
    expect(() => readFileSync(path)).toThrow(/ENOENT/);
  });

  it('a file that is not a database, an empty database, an older schema: each says which', async () => {
    const dir = temp();
    const garbage = join(dir, 'garbage.db');
    writeFileSync(garbage, 'this is not a database, but long enough to have a header'.repeat(20));
    expect(() => open({ path: garbage, readOnly: true })).toThrow(
      /Cannot open the SQLite telemetry store at ".*garbage\.db" for reading: file is not a database/,
    );

    const empty = join(dir, 'empty.db');
    new Sqlite(empty).exec('create table other (x)');
    const error = await open({ path: empty, readOnly: true })
      .whenReady()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelemetryConfigError);
    expect((error as Error).message).toMatch(/it has no telemetry tables/);

    const older = join(dir, 'older.db');
    await storeWithExpired(older);
    const db = new Sqlite(older);
    db.prepare(`delete from ${MIGRATION_TABLE} where name like '%trace_search'`).run();
    db.close();
    const reader = open({ path: older, readOnly: true });
    await expect(reader.whenReady()).rejects.toThrow(
      /written by an older version \(migrations not run: 2026_12_02_0003_trace_search\); open it once for writing/,
    );
    // Every query says the same.
    await expect(reader.searchTraces()).rejects.toThrow(/older version/);
  });

  it('is refused for :memory:, with the reason', () => {
    let error: unknown;
    try {
      createSqliteSink({ readOnly: true });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TelemetryValidationError);
    expect((error as Error).message).toContain(
      'options.readOnly: expected a file path with readOnly: a new :memory: database has nothing to read',
    );
  });
});

describe('purgeOnOpen', () => {
  it('true (the default) deletes expired rows on open; false keeps them for prune to report', async () => {
    const dir = temp();
    const a = join(dir, 'a.db');
    const b = join(dir, 'b.db');
    await storeWithExpired(a);
    await storeWithExpired(b);
    const purged = open({ path: a });
    expect((await purged.storeStats()).spans).toBe(1);
    const kept = open({ path: b, purgeOnOpen: false });
    expect((await kept.storeStats()).spans).toBe(2);
    expect(await kept.purgeExpired()).toEqual({
      deletedSpans: 1,
      deletedTraces: 1,
      deletedEvents: 0,
    });
  });
});
