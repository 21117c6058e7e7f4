import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
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
  type PruneRequest,
  prune,
  type QueryContext,
  Retention,
  type RetentionResult,
  type SqliteDatabase,
  SqlTraceStore,
  type StoreSink,
  StoreSinkClosedError,
} from '@telemetry/sql-store';
import Sqlite from 'better-sqlite3';
import { type CompiledQuery, Kysely, SqliteDialect } from 'kysely';
import { Checkpointer } from './checkpointer.ts';
import { checkMigrated, createMigrator } from './migrations.ts';
import {
  type ResolvedOptions,
  type SqliteSinkOptions,
  SqliteSinkOptionsSchema,
  sqliteOptionsFromConfig,
} from './options.ts';
import { SpanWriter } from './span-writer.ts';
import { createQueryContext, runAtomically, StatementCache } from './sqlite-context.ts';

/**
 * A telemetry sink that stores completed spans, their logs and their metrics
 * in SQLite, and answers the whole query API (`TraceStore`), the search
 * extensions (`TraceSearchStore`) and the store admin (`TraceStoreAdmin`).
 */
export interface SqliteSink extends StoreSink {
  /** The database file (or `:memory:`). */
  readonly path: string;
  /**
   * Stores spans, one transaction per `transactionSize` of them. A database
   * locked by another writer past `busyTimeoutMs` rejects with a
   * `RetryableSinkError`: core's dispatcher writes the batch again after a
   * backoff (spans already stored are skipped by id).
   */
  writeSpans(spans: readonly CompletedSpan[]): Promise<void>;
}

/** Thrown by queries and writes after `shutdown()`. */
export class SqliteSinkClosedError extends StoreSinkClosedError {}

/** Retries of opening and retention work (off the write path) while another writer holds the lock. */
const BUSY_RETRIES = 8;
/** How often the worker thread checkpoints the WAL. */
const CHECKPOINT_INTERVAL_MS = 200;
/**
 * SQLite's own checkpoint threshold while the worker does the work: a safety
 * net that bounds the WAL (about 40 MB) should the worker fall behind.
 */
const FALLBACK_AUTOCHECKPOINT_PAGES = 10_000;
const SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES = 1_000;
/**
 * After about this many spans (roughly 8 MB of WAL) the writer waits, without
 * blocking the event loop, for a checkpoint before its next transaction.
 */
const SPANS_PER_CHECKPOINT = 4_000;
/** Deleting a span rewrites more scattered index pages than writing one. */
const DELETED_SPAN_WEIGHT = 4;

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return (
    typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
  );
}

function openDatabase(options: ResolvedOptions): Sqlite.Database {
  if (options.readOnly) return openReadOnly(options);
  const memory = options.path === ':memory:';
  try {
    if (!memory) mkdirSync(dirname(resolve(options.path)), { recursive: true });
    const raw = new Sqlite(options.path);
    // busy_timeout first: switching to WAL needs a lock another process may hold.
    raw.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
    if (!memory) raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = NORMAL');
    raw.pragma('temp_store = MEMORY');
    // 32 MiB of page cache (SQLite's default is 2 MiB): index pages of a large
    // store stay in memory across batches and queries.
    raw.pragma('cache_size = -32768');
    return raw;
  } catch (error) {
    throw new TelemetryConfigError(
      `Cannot open the SQLite telemetry store at ${JSON.stringify(options.path)}: ${(error as Error).message}. ` +
        `Pass a writable file path (or ':memory:') as the sqlite sink's path.`,
      { cause: error },
    );
  }
}

/** A reader's connection: the file must exist; nothing is created or written. */
function openReadOnly(options: ResolvedOptions): Sqlite.Database {
  try {
    const raw = new Sqlite(options.path, { readonly: true, fileMustExist: true });
    raw.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
    raw.pragma('temp_store = MEMORY');
    raw.pragma('cache_size = -32768');
    return raw;
  } catch (error) {
    throw new TelemetryConfigError(
      `Cannot open the SQLite telemetry store at ${JSON.stringify(options.path)} for reading: ${(error as Error).message}. ` +
        'Pass the path of an existing store.',
      { cause: error },
    );
  }
}

/**
 * Migrates inside one IMMEDIATE transaction on the sink's own connection:
 * Kysely runs SQLite migrations without a transaction or lock, so two processes
 * opening a new file at once would both try to create the tables. The second
 * waits here, then finds nothing left to do.
 */
async function migrate(raw: Sqlite.Database, db: Kysely<SqliteDatabase>): Promise<void> {
  raw.exec('BEGIN IMMEDIATE');
  try {
    const { error } = await createMigrator(db).migrateToLatest();
    if (error) throw error;
    raw.exec('COMMIT');
  } catch (error) {
    if (raw.inTransaction) raw.exec('ROLLBACK');
    throw error;
  }
}

/** Bytes the store takes: the database file and its WAL (pages, for `:memory:`). */
function storeSize(raw: Sqlite.Database, path: string): number {
  if (path === ':memory:') {
    return (
      (raw.pragma('page_count', { simple: true }) as number) *
      (raw.pragma('page_size', { simple: true }) as number)
    );
  }
  let bytes = 0;
  for (const file of [path, `${path}-wal`]) {
    try {
      bytes += statSync(file).size;
    } catch {
      // No WAL file (checkpointed and removed): nothing to add.
    }
  }
  return bytes;
}

class SqliteSinkImpl extends SqlTraceStore implements SqliteSink {
  readonly name: string;
  readonly path: string;
  readonly #options: ResolvedOptions;
  readonly #raw: Sqlite.Database;
  readonly #db: Kysely<SqliteDatabase>;
  readonly #statements: StatementCache;
  readonly #ready: Promise<void>;
  #writer: SpanWriter | undefined;
  #retention: Retention | undefined;
  #queries: QueryContext | undefined;
  readonly #context: SinkContext;
  /** True once the sink is in a pipeline, which counts what it drops; alone, a write rejects instead. */
  #inPipeline = false;
  #timer: NodeJS.Timeout | undefined;
  #checkpointer: Checkpointer | undefined;
  #inFlight = new Set<Promise<unknown>>();
  #closed = false;
  #shutdown: Promise<void> | undefined;
  #spanCount = 0;
  #spansSinceCheckpoint = 0;

  constructor(options: ResolvedOptions, context: SinkContext) {
    super();
    this.#options = options;
    this.#context = context;
    this.name = options.name;
    this.path = options.path;
    this.#raw = openDatabase(options);
    this.#db = new Kysely<SqliteDatabase>({ dialect: new SqliteDialect({ database: this.#raw }) });
    this.#statements = new StatementCache(this.#raw);
    this.#ready = this.#open();
    // Failures surface through whenReady(), writes and queries; never as an unhandled rejection.
    this.#ready.catch(() => {});
  }

  async #open(): Promise<void> {
    if (this.#options.readOnly) {
      try {
        await this.#withBusyRetry(() => checkMigrated(this.#raw));
      } catch (error) {
        throw new TelemetryConfigError(
          `Cannot read the SQLite telemetry store at ${JSON.stringify(this.path)}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      this.#queries = createQueryContext(this.#db, this.#statements);
      return;
    }
    try {
      await this.#withBusyRetry(() => migrate(this.#raw, this.#db));
    } catch (error) {
      throw new TelemetryConfigError(
        `Cannot prepare the SQLite telemetry store at ${JSON.stringify(this.path)}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    this.#writer = new SpanWriter(this.#raw, this.#db, {
      serviceName: this.#options.serviceName,
      defaultTtlSeconds: this.#options.ttlSeconds,
    });
    this.#queries = createQueryContext(this.#db, this.#statements);
    this.#retention = new Retention(this.#queries, {
      atomically: (statements) => this.#atomically(statements),
      deleted: (spans) => {
        this.#spansSinceCheckpoint += spans * DELETED_SPAN_WEIGHT;
      },
    });
    if (this.path !== ':memory:' && !this.#closed) this.#startCheckpointer();
    if (this.#options.purgeOnOpen) await this.#retention.purgeExpired(Date.now() * 1000);
    if (this.#options.maxSpans !== undefined) {
      this.#spanCount = (await this.#retention.enforceCap(this.#options.maxSpans)).remaining;
    }
    if (this.#options.retentionIntervalMs > 0 && !this.#closed) {
      this.#timer = setInterval(() => {
        this.purgeExpired().catch((error) => this.#report(error));
      }, this.#options.retentionIntervalMs);
      this.#timer.unref();
    }
  }

  #startCheckpointer(): void {
    const restoreAutocheckpoint = (error: Error | undefined) => {
      if (this.#raw.open)
        this.#raw.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES}`);
      if (error) this.#report(error);
    };
    try {
      this.#checkpointer = new Checkpointer(this.path, {
        intervalMs: CHECKPOINT_INTERVAL_MS,
        busyTimeoutMs: this.#options.busyTimeoutMs,
        onError: (error) => this.#report(error),
        onExit: restoreAutocheckpoint,
      });
      this.#raw.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
    } catch (error) {
      restoreAutocheckpoint(error as Error);
    }
  }

  whenReady(): Promise<void> {
    return this.#ready;
  }

  #readOnlyError(what: string): TelemetryConfigError {
    return new TelemetryConfigError(
      `The '${this.name}' sink opened ${JSON.stringify(this.path)} read-only and cannot ${what}: create it without readOnly to write.`,
    );
  }

  attach(): void {
    // defineSink has bound the creation context to the pipeline already.
    this.#inPipeline = true;
  }

  /** Errors off the write path: counted by the pipeline, or a process warning for a sink used alone. */
  #report(error: unknown): void {
    this.#context.reportError(error);
  }

  /** One deleting transaction of retention: paced by WAL checkpoints, retried while another writer holds the lock. */
  async #atomically(statements: readonly CompiledQuery[]): Promise<readonly number[]> {
    await this.#checkpointIfDue();
    return this.#withBusyRetry(() => runAtomically(this.#raw, this.#statements, statements));
  }

  async #checkpointIfDue(): Promise<void> {
    if (this.#checkpointer && this.#spansSinceCheckpoint >= SPANS_PER_CHECKPOINT) {
      this.#spansSinceCheckpoint = 0;
      await this.#checkpointer.checkpoint();
    }
  }

  /**
   * Folds the WAL into the database and truncates it. A reader or the
   * checkpoint worker in the way makes SQLite answer "busy" in the result row
   * rather than throw, so that row is retried like a busy error. Still busy
   * after every retry: the space stays in the WAL (later writes reuse it), and
   * `size_bytes_after` shows it.
   */
  async #truncateWal(): Promise<void> {
    try {
      await this.#withBusyRetry(() => {
        const [row] = this.#raw.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
        if (row?.busy) {
          throw Object.assign(new Error('the WAL is in use'), { code: 'SQLITE_BUSY' });
        }
      });
    } catch (error) {
      if (!isBusy(error)) throw error;
    }
  }

  async #withBusyRetry<T>(fn: () => T | Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        // busy_timeout already waited; this covers a writer that holds the lock longer.
        if (!isBusy(error) || attempt >= BUSY_RETRIES) throw error;
        await new Promise((r) =>
          setTimeout(r, 25 * 2 ** Math.min(attempt, 5) * (1 + Math.random())),
        );
      }
    }
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#inFlight.add(promise);
    const done = () => this.#inFlight.delete(promise);
    promise.then(done, done);
    return promise;
  }

  writeSpans(spans: readonly CompletedSpan[]): Promise<void> {
    if (this.#closed) return Promise.reject(new SqliteSinkClosedError(this.name));
    if (this.#options.readOnly) return Promise.reject(this.#readOnlyError('write spans'));
    return this.#track(this.#writeSpans(spans));
  }

  async #writeSpans(spans: readonly CompletedSpan[]): Promise<void> {
    await this.#ready;
    const writer = this.#writer!;
    const size = this.#options.transactionSize;
    let written = 0;
    let invalidSpans = 0;
    let invalidEvents = 0;
    let failedEvents = 0;
    let failure: unknown;
    try {
      for (let i = 0; i < spans.length; i += size) {
        // Between transactions the event loop runs: no write blocks the app for long.
        if (i > 0) await yieldToEventLoop();
        await this.#checkpointIfDue();
        const chunk = spans.slice(i, i + size);
        try {
          const result = writer.writeChunk(chunk);
          written += result.written;
          this.#spansSinceCheckpoint += result.written;
          invalidSpans += result.invalid.length;
          invalidEvents += result.invalid.reduce((n, s) => n + safeEventCount(s), 0);
        } catch (error) {
          if (isBusy(error)) {
            // busy_timeout has waited already: let the dispatcher back off and write the
            // batch again. Nothing is counted for this attempt; the spans stored so far
            // are skipped by id next time.
            throw new RetryableSinkError(
              `The SQLite telemetry store ${JSON.stringify(this.path)} stayed locked by another writer for ${this.#options.busyTimeoutMs} ms; the batch will be written again.`,
              { cause: error },
            );
          }
          failedEvents += chunk.reduce((n, s) => n + safeEventCount(s), 0);
          failure ??= error;
        }
      }
    } finally {
      if (this.#options.maxSpans !== undefined) this.#spanCount += written;
    }
    if (this.#options.maxSpans !== undefined && written > 0) {
      if (this.#spanCount > this.#options.maxSpans) {
        const cap = await this.#retention!.enforceCap(this.#options.maxSpans);
        this.#spanCount = cap.remaining;
      }
    }
    if (this.#inPipeline) {
      // The valid spans are stored: what could not be is counted, not the whole batch.
      if (invalidEvents > 0) this.#context.recordDropped(invalidEvents, 'invalid_span');
      if (failedEvents > 0) {
        this.#context.recordDropped(failedEvents, 'sqlite_write_failed');
        this.#context.reportError(failure);
      }
      return;
    }
    if (failure !== undefined) throw failure;
    if (invalidSpans > 0) {
      throw new TelemetryError(
        'TELEMETRY_INVALID_SPAN',
        `${invalidSpans} span(s) could not be stored: they lack ids or have non-finite times.`,
      );
    }
  }

  async forceFlush(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }

  purgeExpired(): Promise<RetentionResult> {
    if (this.#options.readOnly) return Promise.reject(this.#readOnlyError('delete expired rows'));
    return this.#track(
      (async () => {
        await this.usable();
        const result = await this.#retention!.purgeExpired(Date.now() * 1000);
        if (this.#options.maxSpans !== undefined)
          this.#spanCount = Math.max(0, this.#spanCount - result.deletedSpans);
        return result;
      })(),
    );
  }

  shutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      this.#closed = true;
      if (this.#timer) clearInterval(this.#timer);
      await this.#ready.catch(() => {});
      await this.forceFlush();
      await this.#checkpointer?.stop();
      await this.#db.destroy();
    })();
    return this.#shutdown;
  }

  // ---------------------------------------------------------------------------
  // The query side is SqlTraceStore's (@telemetry/sql-store); these are its hooks.

  protected async usable(): Promise<QueryContext> {
    if (this.#closed) throw new SqliteSinkClosedError(this.name);
    await this.#ready;
    if (this.#closed) throw new SqliteSinkClosedError(this.name);
    return this.#queries!;
  }

  protected closedError(): Error {
    return new SqliteSinkClosedError(this.name);
  }

  protected isClosed(): boolean {
    return this.#closed;
  }

  protected defaultDatasetWriter(): DatasetWriter | undefined {
    return this.#options.datasetWriter;
  }

  protected readonly datasetWriterExample =
    "createSqliteSink({ datasetWriter: createJsonlDatasetWriter({ directory: './datasets' }) })";

  protected async storeSizeBytes(): Promise<number> {
    return storeSize(this.#raw, this.path);
  }

  protected runPrune(request: PruneRequest): Promise<PruneResult> {
    if (this.#options.readOnly) return Promise.reject(this.#readOnlyError('prune'));
    return this.#track(
      (async () => {
        await this.usable();
        const result = await prune(
          {
            retention: this.#retention!,
            sizeBytes: async () => storeSize(this.#raw, this.path),
            vacuum: async () => {
              await this.#withBusyRetry(() => this.#raw.exec('VACUUM'));
              // VACUUM writes the whole database through the WAL: fold it back in and
              // truncate it, so the file system gets the space now.
              if (this.path !== ':memory:') await this.#truncateWal();
            },
          },
          request,
        );
        if (this.#options.maxSpans !== undefined)
          this.#spanCount = Math.max(0, this.#spanCount - result.deleted_spans);
        return result;
      })(),
    );
  }
}

function safeEventCount(span: CompletedSpan): number {
  try {
    return eventCountOf(span);
  } catch {
    return 2;
  }
}

/**
 * The SQLite sink's definition: options schema, what it reads of a Llama
 * Stack config block (`sqlite_db_path`, `service_name`), and how to create it.
 */
export const sqliteSink = defineSink({
  type: 'sqlite',
  options: SqliteSinkOptionsSchema,
  fromConfig: sqliteOptionsFromConfig,
  create: (options, context): SqliteSink => new SqliteSinkImpl(options, context),
});

/**
 * Creates the SQLite sink: opens (creating directories as needed) and
 * migrates the database, deletes expired rows, and starts periodic retention.
 * Throws `TelemetryValidationError` for bad options (every problem at once,
 * paths `options.<key>`) and `TelemetryConfigError` when the file cannot be
 * opened; migration problems reject `whenReady()` and every later write and query.
 */
export function createSqliteSink(options: SqliteSinkOptions = {}): SqliteSink {
  return sqliteSink.create(options);
}

/**
 * Defaults of every option but `serviceName` (`OTEL_SERVICE_NAME`, else
 * `'unknown_service'`, read when a sink is created), from the schema.
 */
export const SQLITE_SINK_DEFAULTS: Readonly<
  Omit<ResolvedOptions, 'serviceName' | 'maxSpans' | 'datasetWriter'>
> = (() => {
  const {
    serviceName: _,
    maxSpans: __,
    datasetWriter: ___,
    ...defaults
  } = sqliteSink.parseOptions({});
  return Object.freeze(defaults);
})();
