/**
 * How the shared queries run on pg: compiled by Kysely, sent to the pool,
 * with 64-bit integers read as numbers (or exactly, as bigints, where a
 * cursor binds them back) instead of pg's strings.
 */
import { postgresDialect, type QueryContext } from '@telemetry/sql-store';
import type { Compilable, Kysely } from 'kysely';
import pg from 'pg';

const INT8 = 20;
const NUMERIC = 1700;

/** int8 and numeric (sum of int8) as JS numbers. */
const numberTypes = {
  getTypeParser(oid: number, format?: string) {
    if (oid === INT8 || oid === NUMERIC) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/** int8 and whole numerics as bigints, read exactly. */
const exactTypes = {
  getTypeParser(oid: number, format?: string) {
    if (oid === INT8) return (value: string) => BigInt(value);
    if (oid === NUMERIC) {
      return (value: string) => (/^-?\d+$/.test(value) ? BigInt(value) : Number(value));
    }
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export const POOL_TYPES = numberTypes;

/**
 * PostgreSQL text cannot hold a NUL character: it becomes U+FFFD on the
 * way in, in stored rows and in query parameters alike, so a filter value
 * with a NUL matches what was stored for it.
 */
export const pgText: (value: string) => string = postgresDialect.storedText;

/** Query parameters as pg gets them: strings without NUL, bigints as decimal text. */
export function pgParameters(parameters: readonly unknown[]): unknown[] {
  return parameters.map(pgParameter);
}

function pgParameter(value: unknown): unknown {
  if (typeof value === 'string') return pgText(value);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(pgParameter);
  return value;
}

/** Anything pg can run a query on: the pool or one client. */
export interface Queryable {
  query(config: pg.QueryConfig): Promise<pg.QueryResult>;
}

export function createQueryContext(db: Kysely<any>, pool: Queryable): QueryContext {
  const run = async <R>(query: Compilable<R>, exact: boolean): Promise<R[]> => {
    const compiled = query.compile();
    const result = await pool.query({
      text: compiled.sql,
      values: pgParameters(compiled.parameters),
      types: exact ? exactTypes : numberTypes,
    });
    return result.rows as R[];
  };
  return {
    db,
    dialect: postgresDialect,
    all: (query) => run(query, false),
    allExact: (query) => run(query, true),
  };
}

/**
 * Errors worth writing the batch again for: the connection (lost, refused,
 * timed out, the server shutting down or starting), and the conflicts
 * PostgreSQL resolves by failing one transaction (deadlock, serialization).
 */
export function isTransient(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (/^(08|57P|53)/.test(code) || code === '40001' || code === '40P01' || code === '55P03') {
    return true;
  }
  if (
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)
  ) {
    return true;
  }
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|Connection ended/i.test(
    message,
  );
}
