/**
 * Which span makes a trace listable (issue 11, item 9): traces continued from
 * a caller, as Llama Stack writes them, and `max_depth: 0`.
 */
import { join } from 'node:path';
import {
  createTelemetry,
  type TelemetryEventInput,
  TelemetryValidationError,
} from '@telemetry/core';
import {
  createMigrator,
  createSqliteSink,
  type Database,
  ROOT_MARKERS,
} from '@telemetry/sink-sqlite';
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { FOREVER, sid, span, T0, tempDir, tid } from './test-support/fixtures.ts';
import { insertRawSpan, insertRawTrace } from './test-support/hostile.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const at = (micros: number) => new Date(micros / 1000).toISOString();

/** A span as Llama Stack's start_trace writes it under a caller's traceparent. */
function continuedTrace(trace: number, marker: string, start: number): TelemetryEventInput[] {
  const ids = { trace_id: tid(trace), span_id: sid(trace) };
  const child = { trace_id: tid(trace), span_id: sid(trace + 0x100) };
  return [
    {
      ...ids,
      type: 'structured_log',
      timestamp: at(start),
      attributes: { [marker]: true, route: '/chat' },
      // The caller's span, in another process: never stored here.
      payload: { type: 'span_start', name: 'POST /chat', parent_span_id: sid(0xcafe) },
    },
    {
      ...child,
      type: 'structured_log',
      timestamp: at(start + 1000),
      payload: { type: 'span_start', name: 'inference', parent_span_id: ids.span_id },
    },
    {
      ...child,
      type: 'structured_log',
      timestamp: at(start + 2000),
      payload: { type: 'span_end', status: 'ok' },
    },
    {
      ...ids,
      type: 'structured_log',
      timestamp: at(start + 3000),
      payload: { type: 'span_end', status: 'ok' },
    },
  ];
}

describe('a trace continued from a caller', () => {
  it.each(['__local_root_span__', '__root_span__', '__root__'])(
    'is listed by queryTraces with its local root marked %s under a remote parent',
    async (marker) => {
      const sink = createSqliteSink({ retentionIntervalMs: 0 });
      const telemetry = createTelemetry({ sinks: [sink], warn: () => {} });
      for (const event of continuedTrace(1, marker, T0))
        telemetry.logEvent({ event, ttl_seconds: FOREVER });
      await telemetry.flush();
      expect(await telemetry.queryTraces()).toEqual([
        {
          trace_id: tid(1),
          root_span_id: sid(1),
          start_time: '2025-01-15T12:00:00.000000Z',
          end_time: '2025-01-15T12:00:00.003000Z',
        },
      ]);
      const spans = await telemetry.querySpans({
        attribute_filters: [{ key: 'route', op: 'eq', value: '/chat' }],
      });
      expect(spans.map((s) => [s.span_id, s.parent_span_id])).toEqual([
        [sid(1), sid(0xcafe)],
        [sid(0x101), sid(1)],
      ]);
      await telemetry.shutdown();
    },
  );

  it('a span marked false is not a root', async () => {
    const sink = createSqliteSink({ retentionIntervalMs: 0 });
    await sink.writeSpans([
      span({
        trace_id: tid(2),
        span_id: sid(2),
        parent_span_id: sid(0xcafe),
        attributes: { __local_root_span__: false },
      }),
    ]);
    expect(await sink.queryTraces()).toEqual([]);
    await sink.shutdown();
  });

  it('exports the markers it recognises', () => {
    expect(ROOT_MARKERS).toEqual(['__root__', '__root_span__', '__local_root_span__']);
  });

  it('a file written before these markers counted gets its roots on open', async () => {
    const path = join(tmp.dir, 'old.db');
    // The schema as the first release made it, and rows as its writer stored
    // them: the local root under a remote parent was not taken as the root.
    const old = new Kysely<Database>({
      dialect: new SqliteDialect({ database: new Sqlite(path) }),
    });
    const { error } = await createMigrator(old).migrateTo('2025_11_29_0001_initial');
    expect(error).toBeUndefined();
    await old.destroy();
    const db = new Sqlite(path);
    const root = insertRawSpan(db, {
      trace_id: tid(3),
      span_id: sid(3),
      parent_span_id: sid(0xcafe),
      start_time: T0,
    });
    db.prepare("insert into span_attributes values (?, '__local_root_span__', 3, 1)").run(root);
    insertRawSpan(db, {
      trace_id: tid(3),
      span_id: sid(0x103),
      parent_span_id: sid(3),
      start_time: T0 + 1,
    });
    insertRawTrace(db, { trace_id: tid(3), root_span_id: null, start_time: T0 });
    // A trace whose root simply has not ended yet stays unlisted.
    insertRawSpan(db, {
      trace_id: tid(4),
      span_id: sid(0x104),
      parent_span_id: sid(4),
      start_time: T0 + 5,
    });
    insertRawTrace(db, { trace_id: tid(4), root_span_id: null, start_time: T0 + 5 });
    db.close();

    const sink = createSqliteSink({ path, retentionIntervalMs: 0 });
    expect((await sink.queryTraces()).map((t) => [t.trace_id, t.root_span_id])).toEqual([
      [tid(3), sid(3)],
    ]);
    await sink.shutdown();
  });

  it('retention keeps a marked local root as the root when other spans expire', async () => {
    const sink = createSqliteSink({ retentionIntervalMs: 0 });
    await sink.writeSpans([
      span({
        trace_id: tid(5),
        span_id: sid(5),
        parent_span_id: sid(0xcafe),
        attributes: { __local_root_span__: true },
      }),
      span({
        trace_id: tid(5),
        span_id: sid(0x105),
        parent_span_id: sid(5),
        ttl_seconds: 1,
        end_time: T0,
      }),
    ]);
    await sink.purgeExpired();
    expect((await sink.queryTraces()).map((t) => [t.trace_id, t.root_span_id])).toEqual([
      [tid(5), sid(5)],
    ]);
    await sink.shutdown();
  });
});

describe('getSpanTree max_depth', () => {
  it('0 gives the span alone, as the reference does; a negative depth is refused', async () => {
    const sink = createSqliteSink({ retentionIntervalMs: 0 });
    await sink.writeSpans([
      span({ trace_id: tid(6), span_id: sid(6) }),
      span({ trace_id: tid(6), span_id: sid(0x106), parent_span_id: sid(6) }),
    ]);
    expect(Object.keys(await sink.getSpanTree(sid(6), { max_depth: 0 }))).toEqual([sid(6)]);
    expect(Object.keys(await sink.getSpanTree(sid(6), { max_depth: 1 }))).toEqual([sid(6)]);
    expect(Object.keys(await sink.getSpanTree(sid(6), { max_depth: 2 }))).toEqual([
      sid(6),
      sid(0x106),
    ]);
    expect(
      (await sink.querySpans({ attribute_filters: [], max_depth: 0 })).map((s) => s.span_id),
    ).toEqual([sid(6)]);
    const error = await sink.getSpanTree(sid(6), { max_depth: -1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelemetryValidationError);
    expect((error as TelemetryValidationError).issues).toEqual([
      { path: 'max_depth', message: 'expected a depth of 0 or more' },
    ]);
    await sink.shutdown();
  });
});
