import type { Compilable, CompiledQuery, Kysely, RawBuilder } from 'kysely';
import type { StoreDialect } from './dialect.ts';
import type { Database } from './schema.ts';

/**
 * What the query functions take first: the typed Kysely instance to build
 * queries with (it only compiles; it never runs them), the dialect that
 * writes what the engines spell differently, and the engine's runner.
 *
 * The runner is each sink's own: sink-sqlite runs a compiled query
 * synchronously through better-sqlite3 (keeping recent statements prepared),
 * sink-postgres sends it to its pool. Both answer a promise, so one query
 * function serves both.
 */
export interface QueryContext {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
  all<R>(query: Compilable<R>): Promise<R[]>;
  /**
   * The same, with 64-bit integers read exactly (as `bigint`): for values
   * bound back into a later query, such as a keyset cursor. Stored times past
   * 2^53 would otherwise round, and a cursor could repeat or skip rows.
   */
  allExact<R>(query: Compilable<R>): Promise<R[]>;
}

/** Lets a raw `sql` query run through a context's runner. */
export function compilable<R>(ctx: QueryContext, query: RawBuilder<unknown>): Compilable<R> {
  return { compile: () => query.compile(ctx.db) as CompiledQuery<R> };
}
