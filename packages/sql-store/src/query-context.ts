import type { Compilable, CompiledQuery, RawBuilder } from 'kysely';
import type { QueryRunner, StoreDialect } from './dialect.ts';

/**
 * What the query functions take first: the sink's runner (its Kysely
 * instance and how it runs a compiled query) and the dialect that writes what
 * the engines spell differently.
 *
 * The runner is each sink's own: sink-sqlite runs a compiled query
 * synchronously through better-sqlite3 (keeping recent statements prepared),
 * sink-postgres sends it to its pool. Both answer a promise, so one query
 * function serves both.
 */
export interface QueryContext extends QueryRunner {
  readonly dialect: StoreDialect;
}

/** Lets a raw `sql` query run through a context's runner. */
export function compilable<R>(ctx: QueryContext, query: RawBuilder<unknown>): Compilable<R> {
  return { compile: () => query.compile(ctx.db) as CompiledQuery<R> };
}
