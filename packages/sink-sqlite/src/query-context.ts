import type BetterSqlite3 from 'better-sqlite3';
import type { Compilable, Kysely } from 'kysely';
import type { Database } from './schema.ts';

/**
 * What the query functions take first: the typed Kysely instance to build
 * queries with, and a runner that keeps recently used statements prepared
 * (the same SQL text with new parameters skips SQLite's parse and plan).
 */
export interface QueryContext {
  readonly db: Kysely<Database>;
  all<R>(query: Compilable<R>): R[];
  /**
   * The same, with integers read exactly (as `bigint`): for values bound back
   * into a later query, such as a keyset cursor. Stored times past 2^53
   * would otherwise round, and a cursor could repeat or skip rows.
   */
  allExact<R>(query: Compilable<R>): R[];
}

const CACHE_SIZE = 64;

export function createQueryContext(
  raw: BetterSqlite3.Database,
  db: Kysely<Database>,
): QueryContext {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const run = <R>(query: Compilable<R>, exact: boolean): R[] => {
    const compiled = query.compile();
    const key = exact ? `exact:${compiled.sql}` : compiled.sql;
    let statement = cache.get(key);
    if (statement) {
      // Map order is insertion order: re-insert to keep this one freshest.
      cache.delete(key);
    } else {
      statement = raw.prepare(compiled.sql);
      if (exact) statement.safeIntegers(true);
      if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    }
    cache.set(key, statement);
    return statement.all(...(compiled.parameters as unknown[])) as R[];
  };
  return {
    db,
    all: (query) => run(query, false),
    allExact: (query) => run(query, true),
  };
}
