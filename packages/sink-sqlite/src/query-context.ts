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
}

const CACHE_SIZE = 64;

export function createQueryContext(
  raw: BetterSqlite3.Database,
  db: Kysely<Database>,
): QueryContext {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    db,
    all<R>(query: Compilable<R>): R[] {
      const compiled = query.compile();
      let statement = cache.get(compiled.sql);
      if (statement) {
        // Map order is insertion order: re-insert to keep this one freshest.
        cache.delete(compiled.sql);
      } else {
        statement = raw.prepare(compiled.sql);
        if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      }
      cache.set(compiled.sql, statement);
      return statement.all(...(compiled.parameters as unknown[])) as R[];
    },
  };
}
