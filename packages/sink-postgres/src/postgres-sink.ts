import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CompletedSpan,
  type DatasetWriter,
  defineSink,
  eventCountOf,
  type PruneResult,
  RetryableSinkError,
  type SinkContext,
  TelemetryConfigError,
  TelemetryError,
} from '@telemetry/core/sink';
import {
  compilable,
  type PostgresDatabase,
  type PruneRequest,
  prune,
  type QueryContext,
  Retention,
  type RetentionResult,
  type RetentionRunner,
  SqlTraceStore,
  type StoreSink,
  StoreSinkClosedError,
} from '@telemetry/sql-store';
import { type CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { createMigrator } from './migrations.ts';
import {
  type PostgresSinkOptions,
  PostgresSinkOptionsSchema,
  postgresOptionsFromConfig,
  type ResolvedOptions,
} from './options.ts';
import { createQueryContext, isTransient, POOL_TYPES, pgParameters } from './pg-context.ts';
import { PostgresSpanWriter } from './span-writer.ts';

/**
 * A telemetry sink that stores completed spans, their logs and their metrics
 * in PostgreSQL, and answers the whole query API (`TraceStore`), the search
 * extensions (`TraceSearchStore`) and the store admin (`TraceStoreAdmin`).
 * Any number of processes may write to and query one database.
 */
export interface PostgresSink extends StoreSink {
  /**
   * Stores spans, one transaction per `transactionSize` of them. A lost or
   * refused connection rejects with a `RetryableSinkError`: core's dispatcher
   * writes the batch again after a backoff (spans already stored are skipped
   * by id).
   */
  writeSpans(spans: readonly CompletedSpan[]): Promise<void>;
  /** Waits for writes and retention in flight, stops retention, closes the pool. Idempotent. */
  shutdown(): Promise<void>;
  /**
   * Resolves when the database is reachable and migrated; rejects with the
   * reason it is not (a server that cannot be reached is tried again by the
   * next write or query).
   */
  whenReady(): Promise<void>;
  /**
   * Deletes expired rows (and spans past `maxSpans`) now, waiting for a run
   * of another process to end first. Retention also runs on open and every
   * `retentionIntervalMs`, in one process at a time.
   */
  purgeExpired(): Promise<RetentionResult>;
}

/** Thrown by queries and writes after `shutdown()`. */
export class PostgresSinkClosedError extends StoreSinkClosedError {}

/** One advisory lock per store (per schema): retention and prune run in one process at a time. */
const RETENTION_LOCK = sql`hashtext(current_schema() || '.telemetry_retention')`;
/** Attempts of one retention transaction that PostgreSQL failed to resolve a conflict (deadlock). */
const RETENTION_ATTEMPTS = 5;

function safeEventCount(span: CompletedSpan): number {
  try {
    return eventCountOf(span);
  } catch {
    return 2;
  }
}

/**
 * The connection string with the store's session settings added to its own
 * `options`: JIT off, since the store's queries are short index walks whose
 * cost the planner overestimates (a LIMIT over a per-row subplan), and JIT
 * would compile them for hundreds of milliseconds to save microseconds.
 */
function withSessionSettings(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    const own = url.searchParams.get('options');
    url.searchParams.set('options', own ? `${own} -c jit=off` : '-c jit=off');
    return url.toString();
  } catch {
    return connectionString;
  }
}

/** The connection string without its password, for messages. */
function redact(connectionString: string): string {
  return connectionString.replace(/(\/\/[^:/@]*):[^@/]*@/, '$1:***@');
}

class PostgresSinkImpl extends SqlTraceStore implements PostgresSink {
  readonly name: string;
  readonly #options: ResolvedOptions;
  readonly #where: string;
  readonly #pool: pg.Pool;
  readonly #db: Kysely<PostgresDatabase>;
  readonly #queries: QueryContext;
  readonly #writer: PostgresSpanWriter;
  readonly #context: SinkContext;
  #ready: Promise<void> | undefined;
  /** The last open failed because the server could not be reached: the next call tries again. */
  #openFailedTransiently = false;
  #inPipeline = false;
  #timer: NodeJS.Timeout | undefined;
  #inFlight = new Set<Promise<unknown>>();
  #closed = false;
  #shutdown: Promise<void> | undefined;

  constructor(options: ResolvedOptions, context: SinkContext) {
    super();
    this.#options = options;
    this.#context = context;
    this.name = options.name;
    this.#where = redact(options.connectionString);
    this.#pool = new pg.Pool({
      connectionString: withSessionSettings(options.connectionString),
      max: options.poolSize,
      connectionTimeoutMillis: options.connectTimeoutMs,
      application_name: 'telemetry-sink-postgres',
      types: POOL_TYPES,
    });
    // An idle connection that breaks (the server restarted) is dropped by the
    // pool and reported; the next query opens another. A connection that
    // breaks while checked out between two queries emits 'error' on its
    // client: without a listener that would crash the process. Its next query
    // fails as transient, and the write or retention run is tried again.
    this.#pool.on('error', (error) => this.#report(error));
    this.#pool.on('connect', (client) => {
      client.on('error', () => {});
    });
    this.#db = new Kysely<PostgresDatabase>({ dialect: new PostgresDialect({ pool: this.#pool }) });
    this.#queries = createQueryContext(this.#db, this.#pool);
    this.#writer = new PostgresSpanWriter(this.#db, {
      serviceName: options.serviceName,
      defaultTtlSeconds: options.ttlSeconds,
    });
    this.#ensureReady().catch(() => {});
  }

  /** Opens (migrates) once; again after a failure to reach the server. */
  #ensureReady(): Promise<void> {
    if (!this.#ready || this.#openFailedTransiently) {
      this.#openFailedTransiently = false;
      this.#ready = this.#open();
      // Failures surface through whenReady(), writes and queries; never as an unhandled rejection.
      this.#ready.catch(() => {});
    }
    return this.#ready;
  }

  async #open(): Promise<void> {
    try {
      // Kysely looks for its bookkeeping tables in every schema unless told which.
      const schema = (
        await this.#queries.all(
          compilable<{ schema: string | null }>(
            this.#queries,
            sql`select current_schema() as schema`,
          ),
        )
      )[0]?.schema;
      if (!schema) {
        throw new TelemetryConfigError(
          `The PostgreSQL telemetry store at ${this.#where} has no schema to create its tables in: the connection's search_path names none that exists. Create the schema, or fix search_path.`,
        );
      }
      const { error } = await createMigrator(this.#db, schema).migrateToLatest();
      if (error) throw error;
    } catch (error) {
      if (isTransient(error)) {
        this.#openFailedTransiently = true;
        throw new RetryableSinkError(
          `Cannot reach the PostgreSQL telemetry store at ${this.#where}: ${(error as Error).message}. It is tried again with the next write.`,
          { cause: error },
        );
      }
      throw new TelemetryConfigError(
        `Cannot prepare the PostgreSQL telemetry store at ${this.#where}: ${(error as Error).message}. ` +
          'Check the connection string (user, password, database) and that the user may create tables in the first schema of its search_path.',
        { cause: error },
      );
    }
    if (this.#closed) return;
    // Expired rows go on open (unless another process is deleting them now);
    // trouble here is reported, and the next run tries again.
    if (this.#options.purgeOnOpen) {
      await this.#track(this.#retentionRun(false)).catch((error) => this.#report(error));
    }
    this.#scheduleRetention();
  }

  #scheduleRetention(): void {
    if (this.#timer || this.#closed) return;
    const run = () => {
      if (this.#closed) return;
      this.#track(this.#retentionRun(false)).catch((error) => this.#report(error));
    };
    if (this.#options.retentionIntervalMs > 0) {
      this.#timer = setInterval(run, this.#options.retentionIntervalMs);
      this.#timer.unref();
    }
  }

  whenReady(): Promise<void> {
    return this.#ensureReady();
  }

  attach(): void {
    // defineSink has bound the creation context to the pipeline already.
    this.#inPipeline = true;
  }

  /** Errors off the write path: counted by the pipeline, or a process warning for a sink used alone. */
  #report(error: unknown): void {
    this.#context.reportError(error);
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#inFlight.add(promise);
    const done = () => this.#inFlight.delete(promise);
    promise.then(done, done);
    return promise;
  }

  writeSpans(spans: readonly CompletedSpan[]): Promise<void> {
    if (this.#closed) return Promise.reject(new PostgresSinkClosedError(this.name));
    return this.#track(this.#writeSpans(spans));
  }

  #retryable(error: unknown): RetryableSinkError {
    return new RetryableSinkError(
      `The PostgreSQL telemetry store at ${this.#where} could not be reached (${(error as Error)?.message ?? String(error)}); the batch will be written again.`,
      { cause: error },
    );
  }

  async #writeSpans(spans: readonly CompletedSpan[]): Promise<void> {
    // An unreachable server rejects as retryable; a misconfigured store as TelemetryConfigError.
    await this.#ensureReady();
    const size = this.#options.transactionSize;
    let invalidSpans = 0;
    let invalidEvents = 0;
    let failedEvents = 0;
    let failure: unknown;
    for (let i = 0; i < spans.length; i += size) {
      const chunk = spans.slice(i, i + size);
      const { prepared, invalid } = this.#writer.prepare(chunk);
      invalidSpans += invalid.length;
      invalidEvents += invalid.reduce((n, s) => n + safeEventCount(s), 0);
      if (prepared.length === 0) continue;
      let client: pg.PoolClient;
      try {
        client = await this.#pool.connect();
      } catch (error) {
        // Nothing is counted for this attempt: the dispatcher writes the batch
        // again, and spans stored by earlier chunks are skipped by id.
        throw this.#retryable(error);
      }
      let broken: Error | undefined;
      try {
        await this.#writer.write(client, prepared, prepared.length);
      } catch (error) {
        if (isTransient(error)) {
          broken = error as Error;
          throw this.#retryable(error);
        }
        failedEvents += prepared.reduce((n, p) => n + safeEventCount(p.span), 0);
        failure ??= error;
      } finally {
        // A connection that broke is closed, not handed to the next write.
        client.release(broken);
      }
    }
    if (this.#inPipeline) {
      // The valid spans are stored: what could not be is counted, not the whole batch.
      if (invalidEvents > 0) this.#context.recordDropped(invalidEvents, 'invalid_span');
      if (failedEvents > 0) {
        this.#context.recordDropped(failedEvents, 'postgres_write_failed');
        this.#context.reportError(failure);
      }
      return;
    }
    if (failure !== undefined) throw failure;
    if (invalidSpans > 0) {
      throw new TelemetryError(
        'TELEMETRY_INVALID_SPAN',
        `${invalidSpans} span(s) could not be stored: they lack ids, have non-finite times, or ids or metric names longer than 1,000 bytes.`,
      );
    }
  }

  async forceFlush(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }

  purgeExpired(): Promise<RetentionResult> {
    return this.#track(
      (async () => {
        await this.usable();
        const result = await this.#retentionRun(true);
        return result ?? { deletedSpans: 0, deletedTraces: 0, deletedEvents: 0 };
      })(),
    );
  }

  /**
   * One retention run on one connection, under the store's advisory lock:
   * the expired spans, then the spans past `maxSpans`. `wait` waits for a
   * run of another process; otherwise a run already going on elsewhere
   * means there is nothing to do here (null).
   */
  async #retentionRun(wait: boolean): Promise<RetentionResult | null> {
    return this.#withRetentionLock(wait, async (retention) => {
      const expired = await retention.purgeExpired(Date.now() * 1000);
      if (this.#options.maxSpans === undefined) return expired;
      const cap = await retention.enforceCap(this.#options.maxSpans);
      return {
        deletedSpans: expired.deletedSpans + cap.deletedSpans,
        deletedTraces: expired.deletedTraces + cap.deletedTraces,
        deletedEvents: expired.deletedEvents + cap.deletedEvents,
      };
    });
  }

  async #withRetentionLock<T>(
    wait: boolean,
    work: (retention: Retention) => Promise<T>,
  ): Promise<T | null> {
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      if (wait) {
        await client.query(sql`select pg_advisory_lock(${RETENTION_LOCK})`.compile(this.#db).sql);
      } else {
        const got = await client.query(
          sql`select pg_try_advisory_lock(${RETENTION_LOCK}) as ok`.compile(this.#db).sql,
        );
        if (got.rows[0]?.ok !== true) return null;
      }
      try {
        return await work(
          new Retention(createQueryContext(this.#db, client), this.#runner(client)),
        );
      } finally {
        await client.query(sql`select pg_advisory_unlock(${RETENTION_LOCK})`.compile(this.#db).sql);
      }
    } catch (error) {
      if (isTransient(error)) broken = error as Error;
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** Retention's transactions, on the connection that holds the lock (and its temp table). */
  #runner(client: pg.PoolClient): RetentionRunner {
    return {
      atomically: async (statements: readonly CompiledQuery[]) => {
        for (let attempt = 1; ; attempt++) {
          await client.query('begin');
          try {
            const changes: number[] = [];
            for (const s of statements) {
              const result = await client.query({
                text: s.sql,
                values: pgParameters(s.parameters),
              });
              changes.push(result.rowCount ?? 0);
            }
            await client.query('commit');
            return changes;
          } catch (error) {
            await client.query('rollback').catch(() => {});
            const code = (error as { code?: unknown })?.code;
            // A deadlock with a writer: PostgreSQL failed this transaction; try it again.
            if ((code === '40P01' || code === '40001') && attempt < RETENTION_ATTEMPTS) {
              await sleep(20 * attempt);
              continue;
            }
            throw error;
          }
        }
      },
    };
  }

  shutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      this.#closed = true;
      if (this.#timer) clearInterval(this.#timer);
      await this.#ready?.catch(() => {});
      await this.forceFlush();
      await this.#db.destroy();
    })();
    return this.#shutdown;
  }

  // ---------------------------------------------------------------------------
  // The query side is SqlTraceStore's (@telemetry/sql-store); these are its hooks.

  protected async usable(): Promise<QueryContext> {
    if (this.#closed) throw new PostgresSinkClosedError(this.name);
    await this.#ensureReady();
    if (this.#closed) throw new PostgresSinkClosedError(this.name);
    return this.#queries;
  }

  protected closedError(): Error {
    return new PostgresSinkClosedError(this.name);
  }

  protected isClosed(): boolean {
    return this.#closed;
  }

  protected defaultDatasetWriter(): DatasetWriter | undefined {
    return this.#options.datasetWriter;
  }

  protected readonly datasetWriterExample =
    "createPostgresSink({ connectionString, datasetWriter: createJsonlDatasetWriter({ directory: './datasets' }) })";

  /** The store's tables with their indexes and TOAST, in bytes. */
  protected async storeSizeBytes(): Promise<number> {
    const rows = await this.#queries.all(
      compilable<{ bytes: number }>(
        this.#queries,
        sql`select coalesce(sum(pg_total_relation_size(c.oid)), 0) as bytes
          from pg_class c
          where c.relkind = 'r' and c.relnamespace = current_schema()::regnamespace
            and c.relname in ('traces', 'spans', 'span_attributes', 'span_events', 'metric_series')`,
      ),
    );
    return Number(rows[0]?.bytes ?? 0);
  }

  protected runPrune(request: PruneRequest): Promise<PruneResult> {
    return this.#track(
      (async () => {
        await this.usable();
        const result = await this.#withRetentionLock(true, (retention) =>
          prune(
            {
              retention,
              sizeBytes: () => this.storeSizeBytes(),
              // Plain VACUUM: no exclusive lock, writers go on; the space is
              // reused by PostgreSQL (trailing empty pages go back to the disk).
              vacuum: async () => {
                await this.#pool.query(
                  'vacuum (analyze) traces, spans, span_attributes, span_events, metric_series',
                );
              },
            },
            request,
          ),
        );
        return result!;
      })(),
    );
  }
}

/**
 * The PostgreSQL sink's definition: options schema, what it reads of a Llama
 * Stack config block (`postgres_url`, `service_name`), and how to create it.
 */
export const postgresSink = defineSink({
  type: 'postgres',
  options: PostgresSinkOptionsSchema,
  fromConfig: postgresOptionsFromConfig,
  create: (options, context): PostgresSink => new PostgresSinkImpl(options, context),
});

/**
 * Creates the PostgreSQL sink: connects a pool, migrates the database (once,
 * whatever number of processes start at once), and runs retention in one
 * process at a time. Throws `TelemetryValidationError` for bad options (every
 * problem at once, paths `options.<key>`); an unreachable server is tried
 * again with each write, which fails as retryable meanwhile.
 */
export function createPostgresSink(options: PostgresSinkOptions): PostgresSink {
  return postgresSink.create(options);
}

/** Defaults of every option but those without one, from the schema. */
export const POSTGRES_SINK_DEFAULTS: Readonly<
  Omit<ResolvedOptions, 'connectionString' | 'serviceName' | 'maxSpans' | 'datasetWriter'>
> = (() => {
  const {
    connectionString: _,
    serviceName: __,
    maxSpans: ___,
    datasetWriter: ____,
    ...defaults
  } = postgresSink.parseOptions({ connectionString: 'postgres://localhost/defaults' });
  return Object.freeze(defaults);
})();
