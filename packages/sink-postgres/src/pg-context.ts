/**
 * How the shared queries run on pg: compiled by Kysely, sent to the pool,
 * with 64-bit integers read as numbers (or exactly, as bigints, where a
 * cursor binds them back) instead of pg's strings.
 */
import { type PlannerSettings, postgresDialect, type QueryContext } from '@telemetry/sql-store';
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
  const run = async <R>(on: Queryable, query: Compilable<R>, exact: boolean): Promise<R[]> => {
    const compiled = query.compile();
    const result = await on.query({
      text: compiled.sql,
      values: pgParameters(compiled.parameters),
      types: exact ? exactTypes : numberTypes,
    });
    return result.rows as R[];
  };
  return {
    db,
    dialect: postgresDialect,
    all: (query) => run(pool, query, false),
    allExact: (query) => run(pool, query, true),
    allWith: (settings, query) =>
      // A context on one client (retention's) may be inside a transaction of
      // its own: the settings only steer plans, so it runs the query as is.
      pool instanceof pg.Pool && Object.keys(settings).length > 0
        ? runWithSettings(pool, settings, (client) => run(client, query, false))
        : run(pool, query, false),
  };
}

/**
 * A query in a transaction of its own on one pooled connection, after
 * `set_config(name, value, true)` for each setting: the settings end with
 * the transaction, so the connection goes back to the pool as it came (or
 * closed, after an error). Names and values are the dialect's constants,
 * quoted by pg all the same.
 */
async function runWithSettings<R>(
  pool: pg.Pool,
  settings: PlannerSettings,
  run: (client: pg.PoolClient) => Promise<R[]>,
): Promise<R[]> {
  const client = await pool.connect();
  try {
    const set = Object.entries(settings).map(
      ([name, value]) =>
        `select set_config(${client.escapeLiteral(name)}, ${client.escapeLiteral(value)}, true);`,
    );
    await client.query(`begin; ${set.join(' ')}`);
    const rows = await run(client);
    // The answer is in: the read-only transaction ends on the client's way
    // back to the pool, not in the caller's time.
    client.query('commit').then(
      () => client.release(),
      (error: Error) => client.release(error),
    );
    return rows;
  } catch (error) {
    // Its transaction may still be open (or the connection lost): close it, never pool it.
    client.release(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
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
