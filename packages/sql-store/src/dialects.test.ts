/**
 * The dialect seam, compiled: the same query-building code gives each
 * engine its own SQL (what a query runs against a real database is tested by
 * the store suite, in sink-sqlite and sink-postgres).
 */
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  sql,
} from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  comparePositions,
  type Database,
  mergeTraceRow,
  postgresDialect,
  sqliteDialect,
  TRACE_ROW_COLUMNS,
  ValueType,
} from './index.ts';

const compilerOnly = (engine: 'sqlite' | 'postgres') =>
  new Kysely<Database>({
    dialect: {
      createAdapter: () => (engine === 'sqlite' ? new SqliteAdapter() : new PostgresAdapter()),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) =>
        engine === 'sqlite' ? new SqliteIntrospector(db) : new PostgresIntrospector(db),
      createQueryCompiler: () =>
        engine === 'sqlite' ? new SqliteQueryCompiler() : new PostgresQueryCompiler(),
    },
  });

const engines = [
  { dialect: sqliteDialect, db: compilerOnly('sqlite') },
  { dialect: postgresDialect, db: compilerOnly('postgres') },
] as const;

describe('the dialect seam', () => {
  it('writes what the engines spell differently, and binds every value', () => {
    const [lite, pg] = engines.map(({ dialect: d, db }) => {
      const q =
        sql`select ${d.greatest(sql.ref('a'), sql.ref('b'))}, ${d.isDistinct(sql.ref('a'), sql.ref('b'))}
        from ${d.integerTable([1n, 2n], 'r')} where ${d.inTexts(sql.ref('k'), ["'; drop table spans; --"])}
        and ${d.attributeCompare('x', ValueType.number, '>', 3)} and ${d.never}`.compile(db);
      return q;
    });
    expect(lite!.sql).toBe(`select max("a", "b"), "a" is not "b"
        from json_each(?) as "r" where "k" in (select value from json_each(?))
        and "x"."value" > ? and 0`);
    expect(lite!.parameters).toEqual(['[1,2]', '["\'; drop table spans; --"]', 3]);
    expect(pg!.sql).toBe(`select greatest("a", "b"), "a" is distinct from "b"
        from (select * from unnest(cast($1 as bigint[])) with ordinality as u(value, key)) as "r" where "k" = any(cast($2 as text[]))
        and substr("x"."value_text", 1, 200) is null and "x"."value_num" > $3 and false`);
    expect(pg!.parameters).toEqual([['1', '2'], ["'; drop table spans; --"], 3]);
  });

  it('merges a trace row with one definition in both engines', () => {
    const [lite, pg] = engines.map(
      ({ dialect, db }) =>
        db
          .insertInto('traces')
          .values(Object.fromEntries(TRACE_ROW_COLUMNS.map((c) => [c, 1])) as never)
          .onConflict(mergeTraceRow(dialect))
          .compile().sql,
    );
    expect(lite).toContain('min("traces"."start_time", "excluded"."start_time")');
    expect(pg).toContain('least("traces"."start_time", "excluded"."start_time")');
    // Apart from those words (and placeholders), the same statement.
    expect(lite!.replace(/min\(|max\(|" is not "/g, '')).toBe(
      pg!.replace(/\$\d+/g, '?').replace(/least\(|greatest\(|" is distinct from "/g, ''),
    );
  });

  it('keeps text as stored: PostgreSQL text has no NUL', () => {
    expect(sqliteDialect.storedText('a\0b')).toBe('a\0b');
    expect(postgresDialect.storedText('a\0b')).toBe('a\uFFFDb');
  });

  it('orders write positions left to right', () => {
    expect(comparePositions([1n, 5n], [2n, 0n])).toBe(-1);
    expect(comparePositions([2n, 1n], [2n, 0n])).toBe(1);
    expect(comparePositions([7n], [7n])).toBe(0);
  });
});
