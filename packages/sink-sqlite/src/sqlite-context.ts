/**
 * How the shared queries run on better-sqlite3: synchronously, through
 * statements kept prepared (the same SQL text with new parameters skips
 * SQLite's parse and plan), answered as settled promises.
 */
import { type QueryContext, type RetentionRunner, sqliteDialect } from '@telemetry/sql-store';
import type BetterSqlite3 from 'better-sqlite3';
import type { Compilable, CompiledQuery, Kysely } from 'kysely';

const CACHE_SIZE = 64;

/** Keeps the most recently used prepared statements, by SQL text. */
export class StatementCache {
  readonly #raw: BetterSqlite3.Database;
  readonly #cache = new Map<string, BetterSqlite3.Statement>();

  constructor(raw: BetterSqlite3.Database) {
    this.#raw = raw;
  }

  get(sql: string, exact = false): BetterSqlite3.Statement {
    const key = exact ? `exact:${sql}` : sql;
    let statement = this.#cache.get(key);
    if (statement) {
      // Map order is insertion order: re-insert to keep this one freshest.
      this.#cache.delete(key);
    } else {
      statement = this.#raw.prepare(sql);
      if (exact) statement.safeIntegers(true);
      if (this.#cache.size >= CACHE_SIZE) {
        this.#cache.delete(this.#cache.keys().next().value as string);
      }
    }
    this.#cache.set(key, statement);
    return statement;
  }
}

export function createQueryContext(db: Kysely<any>, statements: StatementCache): QueryContext {
  const run = <R>(query: Compilable<R>, exact: boolean): Promise<R[]> => {
    try {
      const compiled = query.compile();
      const statement = statements.get(compiled.sql, exact);
      return Promise.resolve(statement.all(...(compiled.parameters as unknown[])) as R[]);
    } catch (error) {
      return Promise.reject(error);
    }
  };
  return {
    db,
    dialect: sqliteDialect,
    all: (query) => run(query, false),
    allExact: (query) => run(query, true),
    // SQLite's dialect asks for no planner settings (its plans already stop at a LIMIT).
    allWith: (_settings, query) => run(query, false),
  };
}

/**
 * Retention's statements in one IMMEDIATE transaction: it waits for other
 * writers through the busy timeout, and holds the write lock for a few
 * milliseconds (one chunk).
 */
export function runAtomically(
  raw: BetterSqlite3.Database,
  statements: StatementCache,
  compiled: readonly CompiledQuery[],
): number[] {
  const transaction = raw.transaction(() =>
    compiled.map((q) => {
      const statement = statements.get(q.sql);
      // A statement that returns rows (none of retention's do) cannot be run().
      return statement.reader
        ? statement.all(...(q.parameters as unknown[])).length
        : statement.run(...(q.parameters as unknown[])).changes;
    }),
  );
  return transaction.immediate();
}

export type { RetentionRunner };
