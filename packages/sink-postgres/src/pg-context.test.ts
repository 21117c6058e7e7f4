import { postgresDialect } from '@telemetry/sql-store';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createQueryContext } from './pg-context.ts';

const server = inject('postgresUrl');
let pool: pg.Pool;
let db: Kysely<any>;

beforeAll(() => {
  // One connection: every query below runs on the connection the previous one used.
  pool = new pg.Pool({ connectionString: server, max: 1 });
  db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
});
afterAll(async () => {
  await pool.end();
});

const setting = (name: string) =>
  db.selectNoFrom(sql<string>`current_setting(${name})`.as('v')).$castTo<{ v: string }>();

describe('allWith (planner settings for one query)', () => {
  it('holds the settings for its query alone: the pooled connection comes back as it was', async () => {
    const ctx = createQueryContext(db, pool);
    const settings = { enable_bitmapscan: 'off', enable_seqscan: 'off' };
    expect(await ctx.allWith(settings, setting('enable_bitmapscan'))).toEqual([{ v: 'off' }]);
    expect(await ctx.allWith(settings, setting('enable_seqscan'))).toEqual([{ v: 'off' }]);
    expect(await ctx.all(setting('enable_bitmapscan'))).toEqual([{ v: 'on' }]);
    expect(await ctx.all(setting('enable_seqscan'))).toEqual([{ v: 'on' }]);
    // Its transaction is over: the next query is in a transaction of its own.
    const inTransaction = db
      .selectNoFrom(sql<string>`pg_current_xact_id_if_assigned()::text`.as('v'))
      .$castTo<{ v: string | null }>();
    expect(await ctx.all(inTransaction)).toEqual([{ v: null }]);
  });

  it('runs the probe settings of the dialect, and no settings as a plain query', async () => {
    const ctx = createQueryContext(db, pool);
    expect(await ctx.allWith(postgresDialect.probeSettings, setting('enable_bitmapscan'))).toEqual([
      { v: 'off' },
    ]);
    expect(await ctx.allWith({}, setting('enable_bitmapscan'))).toEqual([{ v: 'on' }]);
  });

  it('fails with the query, closes that connection, and the pool goes on without the settings', async () => {
    const ctx = createQueryContext(db, pool);
    const broken = db.selectNoFrom(sql<number>`1 / 0`.as('v'));
    await expect(ctx.allWith({ enable_bitmapscan: 'off' }, broken)).rejects.toThrow(
      /division by zero/,
    );
    expect(await ctx.all(setting('enable_bitmapscan'))).toEqual([{ v: 'on' }]);
    // Refused settings fail the same way, before the query runs.
    await expect(
      ctx.allWith({ 'no such setting': 'x' }, setting('enable_bitmapscan')),
    ).rejects.toThrow();
    expect(await ctx.all(setting('enable_bitmapscan'))).toEqual([{ v: 'on' }]);
  });

  it('on one client (which may be inside a transaction of its own) runs the query as is', async () => {
    const client = await pool.connect();
    try {
      await client.query('begin');
      const xact = 'select pg_current_xact_id_if_assigned()::text as x';
      const before = (await client.query('select pg_current_xact_id()::text as x')).rows[0];
      const ctx = createQueryContext(db, client);
      expect(await ctx.allWith({ enable_bitmapscan: 'off' }, setting('enable_bitmapscan'))).toEqual(
        [{ v: 'on' }],
      );
      // Still the caller's transaction: nothing was committed behind its back.
      expect((await client.query(xact)).rows[0]).toEqual(before);
      await client.query('rollback');
    } finally {
      client.release();
    }
  });
});
