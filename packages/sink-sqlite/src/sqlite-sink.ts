import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import {
  type GetSpanTreeParams,
  GetSpanTreeParamsSchema,
  type MetricSeries,
  type QueryMetricsParams,
  QueryMetricsParamsSchema,
  type QuerySpansParams,
  QuerySpansParamsSchema,
  type QueryTracesParams,
  QueryTracesParamsSchema,
  type SaveSpansToDatasetParams,
  SaveSpansToDatasetParamsSchema,
  type Span,
  SpanIdSchema,
  type SpanWithStatus,
  type Trace,
  TraceIdSchema,
} from '@telemetry/core';
import {
  type CompletedSpan,
  type DatasetWriter,
  defineSink,
  eventCountOf,
  formatPath,
  type PruneParams,
  PruneParamsSchema,
  type PruneResult,
  parseSearchParams,
  RetryableSinkError,
  SEARCH_LIMITS,
  type SinkContext,
  type SpanEvents,
  type SpanEventsParams,
  SpanEventsParamsSchema,
  type StoreStats,
  type Suggestions,
  type SuggestParams,
  SuggestParamsSchema,
  type TailSpansParams,
  TailSpansParamsSchema,
  type TailSpansResult,
  TelemetryConfigError,
  TelemetryError,
  type TelemetrySink,
  TelemetryValidationError,
  type TraceDetail,
  type TraceDetailParams,
  TraceDetailParamsSchema,
  type TraceSearchParams,
  TraceSearchParamsSchema,
  type TraceSearchResult,
  type TraceSearchStore,
  type TraceStore,
  type TraceStoreAdmin,
  type ValidationIssue,
} from '@telemetry/core/sink';
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import * as admin from './admin.ts';
import { Checkpointer } from './checkpointer.ts';
import { compileMatchers } from './label-matchers.ts';
import { granularitySeconds, queryMetrics } from './metrics.ts';
import { checkMigrated, createMigrator } from './migrations.ts';
import {
  type ResolvedOptions,
  type SqliteSinkOptions,
  SqliteSinkOptionsSchema,
  sqliteOptionsFromConfig,
} from './options.ts';
import * as queries from './queries.ts';
import { createQueryContext, type QueryContext } from './query-context.ts';
import { Retention, type RetentionResult } from './retention.ts';
import { setField } from './rows.ts';
import type { Database } from './schema.ts';
import * as search from './search.ts';
import * as spanEvents from './span-events.ts';
import { SpanWriter } from './span-writer.ts';
import * as suggestions from './suggest.ts';
import * as tail from './tail.ts';
import {
  checkListSizes,
  MAX_UNIX_SECONDS,
  paramIssues,
  parseArgument,
  parseParams,
  preview,
  QUERY_LIMITS,
} from './validation.ts';

/**
 * A telemetry sink that stores completed spans, their logs and their metrics
 * in SQLite, and answers the whole query API (`TraceStore`), the search
 * extensions (`TraceSearchStore`) and the store admin (`TraceStoreAdmin`).
 */
export interface SqliteSink extends TelemetrySink, TraceStore, TraceSearchStore, TraceStoreAdmin {
  readonly name: string;
  /** The database file (or `:memory:`). */
  readonly path: string;
  /**
   * Stores spans, one transaction per `transactionSize` of them. A database
   * locked by another writer past `busyTimeoutMs` rejects with a
   * `RetryableSinkError`: core's dispatcher writes the batch again after a
   * backoff (spans already stored are skipped by id).
   */
  writeSpans(spans: readonly CompletedSpan[]): Promise<void>;
  /** Called by the pipeline the sink joins: from then on, spans it cannot store are counted there. */
  attach(context: SinkContext): void;
  /** Resolves once every write started so far has committed. */
  forceFlush(): Promise<void>;
  /** Waits for writes in flight, stops retention, closes the database. Idempotent. */
  shutdown(): Promise<void>;
  /** The same as `shutdown()`. */
  close(): Promise<void>;
  /** Resolves when the database is open and migrated; rejects with the reason it could not be. */
  whenReady(): Promise<void>;
  /** Deletes expired rows now (this also runs on open and every `retentionIntervalMs`). */
  purgeExpired(): Promise<RetentionResult>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Thrown by queries and writes after `shutdown()`. */
export class SqliteSinkClosedError extends TelemetryError {
  constructor(name: string) {
    super(
      'TELEMETRY_SINK_CLOSED',
      `The '${name}' sink is shut down; create a new sink to read or write this database.`,
    );
  }
}

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
async function migrate(raw: Sqlite.Database, db: Kysely<Database>): Promise<void> {
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

class SqliteSinkImpl implements SqliteSink {
  readonly name: string;
  readonly path: string;
  readonly #options: ResolvedOptions;
  readonly #raw: Sqlite.Database;
  readonly #db: Kysely<Database>;
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
    this.#options = options;
    this.#context = context;
    this.name = options.name;
    this.path = options.path;
    this.#raw = openDatabase(options);
    this.#db = new Kysely<Database>({ dialect: new SqliteDialect({ database: this.#raw }) });
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
      this.#queries = createQueryContext(this.#raw, this.#db);
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
    this.#retention = new Retention(this.#raw, this.#db);
    this.#queries = createQueryContext(this.#raw, this.#db);
    if (this.path !== ':memory:' && !this.#closed) this.#startCheckpointer();
    if (this.#options.purgeOnOpen) {
      await this.#retention.purgeExpired(Date.now() * 1000, this.#chunkRunner);
    }
    if (this.#options.maxSpans !== undefined) {
      this.#spanCount = (
        await this.#retention.enforceCap(this.#options.maxSpans, this.#chunkRunner)
      ).remaining;
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

  readonly #chunkRunner = async (chunk: () => number): Promise<number> => {
    await this.#checkpointIfDue();
    const deleted = await this.#withBusyRetry(chunk);
    this.#spansSinceCheckpoint += deleted * DELETED_SPAN_WEIGHT;
    return deleted;
  };

  async #checkpointIfDue(): Promise<void> {
    if (this.#checkpointer && this.#spansSinceCheckpoint >= SPANS_PER_CHECKPOINT) {
      this.#spansSinceCheckpoint = 0;
      await this.#checkpointer.checkpoint();
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
        const cap = await this.#retention!.enforceCap(this.#options.maxSpans, this.#chunkRunner);
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
        await this.#usable();
        const result = await this.#retention!.purgeExpired(Date.now() * 1000, this.#chunkRunner);
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

  close(): Promise<void> {
    return this.shutdown();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  async #usable(): Promise<QueryContext> {
    if (this.#closed) throw new SqliteSinkClosedError(this.name);
    await this.#ready;
    if (this.#closed) throw new SqliteSinkClosedError(this.name);
    return this.#queries!;
  }

  // ---------------------------------------------------------------------------
  // TraceStore

  async queryTraces(params?: QueryTracesParams): Promise<Trace[]> {
    const what = 'queryTraces parameters';
    checkListSizes(params, what, [
      ['attribute_filters', QUERY_LIMITS.attributeFilters],
      ['order_by', QUERY_LIMITS.orderBy],
    ]);
    const p = parseParams(QueryTracesParamsSchema, params, what, (d) => [
      ...filterIssues(d.attribute_filters ?? []),
      ...orderIssues(d.order_by ?? []),
    ]);
    const ctx = await this.#usable();
    return queries.queryTraces(ctx, {
      filters: p.attribute_filters ?? [],
      limit: p.limit ?? 100,
      offset: p.offset ?? 0,
      order: p.order_by?.length
        ? queries.parseTraceOrder(p.order_by).order
        : [{ field: 'start_time', descending: false }],
    });
  }

  async getTrace(traceId: string): Promise<Trace> {
    const id = parseArgument(TraceIdSchema, traceId, 'getTrace argument', 'trace_id');
    return queries.getTrace(await this.#usable(), id);
  }

  async getSpan(traceId: string, spanId: string): Promise<Span> {
    const ids = parseIds(traceId, spanId, 'getSpan arguments');
    return queries.getSpan(await this.#usable(), ids.traceId, ids.spanId);
  }

  async getSpanTree(
    spanId: string,
    params?: GetSpanTreeParams,
  ): Promise<Record<string, SpanWithStatus>> {
    const id = parseArgument(SpanIdSchema, spanId, 'getSpanTree argument', 'span_id');
    const what = 'getSpanTree parameters';
    checkListSizes(params, what, [['attributes_to_return', QUERY_LIMITS.attributeKeys]]);
    const p = parseParams(GetSpanTreeParamsSchema, params, what);
    return queries.getSpanTree(
      await this.#usable(),
      id,
      p.attributes_to_return ?? null,
      p.max_depth ?? null,
    );
  }

  async querySpans(params: QuerySpansParams): Promise<Span[]> {
    const what = 'querySpans parameters';
    checkListSizes(params, what, [
      ['attribute_filters', QUERY_LIMITS.attributeFilters],
      ['attributes_to_return', QUERY_LIMITS.attributeKeys],
    ]);
    const p = parseParams(QuerySpansParamsSchema, params, what, (d) =>
      filterIssues(d.attribute_filters),
    );
    return queries.querySpans(await this.#usable(), {
      filters: p.attribute_filters,
      attributesToReturn: p.attributes_to_return ?? null,
      maxDepth: p.max_depth ?? null,
      limit: p.limit ?? null,
      offset: p.offset ?? 0,
    });
  }

  async saveSpansToDataset(
    params: SaveSpansToDatasetParams,
    writer?: DatasetWriter,
  ): Promise<void> {
    const what = 'saveSpansToDataset parameters';
    checkListSizes(params, what, [
      ['attribute_filters', QUERY_LIMITS.attributeFilters],
      ['attributes_to_save', QUERY_LIMITS.attributeKeys],
    ]);
    const p = parseParams(SaveSpansToDatasetParamsSchema, params, what, (d) =>
      filterIssues(d.attribute_filters),
    );
    const target = writer ?? this.#options.datasetWriter;
    if (!target) {
      throw new TelemetryConfigError(
        'saveSpansToDataset() needs a dataset writer: pass one as its second argument, or create the sink with ' +
          "createSqliteSink({ datasetWriter: createJsonlDatasetWriter({ directory: './datasets' }) }).",
      );
    }
    const keys = [...new Set(p.attributes_to_save)];
    const walk = new queries.SpanWalk(await this.#usable(), {
      filters: p.attribute_filters,
      attributesToReturn: keys,
      maxDepth: p.max_depth ?? null,
      limit: null,
      offset: 0,
    });
    // A page at a time: memory follows the page, not the dataset, and the
    // event loop runs while the writer appends.
    for (let first = true; ; first = false) {
      if (this.#closed) throw new SqliteSinkClosedError(this.name);
      const spans = walk.next(DATASET_PAGE_ROWS);
      // The first page goes to the writer even when empty: it validates the dataset id.
      if (spans.length === 0 && !first) break;
      const rows = spans.map((span) => {
        const row: Record<string, unknown> = {
          trace_id: span.trace_id,
          span_id: span.span_id,
          parent_span_id: span.parent_span_id ?? null,
          name: span.name,
          start_time: span.start_time,
          end_time: span.end_time,
        };
        for (const key of keys) setField(row, key, span.attributes?.[key] ?? null);
        return row;
      });
      await target.appendRows(p.dataset_id, rows);
      if (spans.length < DATASET_PAGE_ROWS) break;
    }
  }

  async queryMetrics(metricName: string, params: QueryMetricsParams): Promise<MetricSeries[]> {
    const what = 'queryMetrics parameters';
    // The name is checked with the parameters, so one error lists every problem.
    const nameIssues: ValidationIssue[] =
      typeof metricName === 'string' && metricName !== ''
        ? []
        : [{ path: 'metric_name', message: 'expected a non-empty metric name' }];
    checkListSizes(params, what, [['label_matchers', QUERY_LIMITS.labelMatchers]]);
    const parsed = QueryMetricsParamsSchema.safeParse(params ?? {});
    if (!parsed.success) {
      throw new TelemetryValidationError(what, [...nameIssues, ...paramIssues(parsed.error)]);
    }
    const p = parsed.data;
    const issues = [...nameIssues];
    for (const field of ['start_time', 'end_time'] as const) {
      const value = p[field];
      if (value != null && value > MAX_UNIX_SECONDS) {
        issues.push({
          path: field,
          message: `expected unix seconds up to ${MAX_UNIX_SECONDS} (9999-12-31T23:59:59Z), got ${value}`,
        });
      }
    }
    if (p.end_time != null && p.start_time > p.end_time) {
      issues.push({
        path: 'start_time',
        message: `expected at most end_time (${p.end_time}), got ${p.start_time}`,
      });
    }
    if (p.granularity && granularitySeconds(p.granularity) > MAX_UNIX_SECONDS) {
      issues.push({
        path: 'granularity',
        message: `expected at most ${MAX_UNIX_SECONDS} seconds, got ${preview(p.granularity)}`,
      });
    }
    const { compiled, bad } = compileMatchers(p.label_matchers ?? []);
    for (const b of bad) {
      issues.push({ path: formatPath(['label_matchers', b.index, 'value']), message: b.message });
    }
    if (issues.length > 0) throw new TelemetryValidationError(what, issues);
    return queryMetrics(await this.#usable(), {
      metric: metricName,
      queryType: p.query_type,
      startTime: p.start_time,
      endTime: p.end_time ?? Math.floor(Date.now() / 1000),
      granularity: p.granularity ?? null,
      matchers: compiled,
    });
  }

  // ---------------------------------------------------------------------------
  // TraceSearchStore (search.ts, span-events.ts, suggest.ts, tail.ts)

  async searchTraces(params?: TraceSearchParams): Promise<TraceSearchResult> {
    const p = parseSearchParams(TraceSearchParamsSchema, params, 'searchTraces parameters');
    return search.searchTraces(await this.#usable(), p);
  }

  async getTraceDetail(traceId: string, params?: TraceDetailParams): Promise<TraceDetail> {
    const id = parseArgument(TraceIdSchema, traceId, 'getTraceDetail argument', 'trace_id');
    const p = parseSearchParams(TraceDetailParamsSchema, params, 'getTraceDetail parameters');
    return spanEvents.getTraceDetail(
      await this.#usable(),
      id,
      p.limit ?? SEARCH_LIMITS.detailSpans.default,
      p.event_limit ?? SEARCH_LIMITS.detailEvents.default,
    );
  }

  async getSpanEvents(
    traceId: string,
    spanId: string,
    params?: SpanEventsParams,
  ): Promise<SpanEvents> {
    const ids = parseIds(traceId, spanId, 'getSpanEvents arguments');
    const p = parseSearchParams(SpanEventsParamsSchema, params, 'getSpanEvents parameters');
    return spanEvents.getSpanEvents(
      await this.#usable(),
      ids.traceId,
      ids.spanId,
      p.limit ?? SEARCH_LIMITS.spanEvents.default,
    );
  }

  async suggest(params: SuggestParams): Promise<Suggestions> {
    const p = parseSearchParams(SuggestParamsSchema, params, 'suggest parameters');
    return suggestions.suggest(await this.#usable(), {
      field: p.field,
      prefix: p.prefix ?? '',
      service: p.service ?? null,
      limit: p.limit ?? SEARCH_LIMITS.suggestions.default,
    });
  }

  async tailSpans(params?: TailSpansParams): Promise<TailSpansResult> {
    const p = parseSearchParams(TailSpansParamsSchema, params, 'tailSpans parameters');
    return tail.tailSpans(
      await this.#usable(),
      p.cursor ?? null,
      p.limit ?? SEARCH_LIMITS.tail.default,
    );
  }

  // ---------------------------------------------------------------------------
  // TraceStoreAdmin (admin.ts)

  async storeStats(): Promise<StoreStats> {
    return admin.storeStats(await this.#usable(), this.#raw, this.path);
  }

  prune(params: PruneParams): Promise<PruneResult> {
    let p: ReturnType<typeof PruneParamsSchema.parse>;
    try {
      p = parseSearchParams(PruneParamsSchema, params, 'prune parameters');
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#options.readOnly) return Promise.reject(this.#readOnlyError('prune'));
    return this.#track(
      (async () => {
        await this.#usable();
        const result = await admin.prune(
          {
            raw: this.#raw,
            path: this.path,
            retention: this.#retention!,
            run: this.#chunkRunner,
            retry: (fn) => this.#withBusyRetry(fn),
          },
          {
            olderThan: p.older_than ?? null,
            keepSpans: p.keep_spans ?? null,
            vacuum: p.vacuum ?? false,
          },
        );
        if (this.#options.maxSpans !== undefined)
          this.#spanCount = Math.max(0, this.#spanCount - result.deleted_spans);
        return result;
      })(),
    );
  }
}

/** A trace id and a span id, both checked (one error names both when both are bad). */
function parseIds(traceId: unknown, spanId: unknown, what: string) {
  const issues: ValidationIssue[] = [];
  const t = TraceIdSchema.safeParse(traceId);
  const s = SpanIdSchema.safeParse(spanId);
  if (!t.success)
    issues.push({ path: 'trace_id', message: t.error.issues[0]?.message ?? 'invalid' });
  if (!s.success)
    issues.push({ path: 'span_id', message: s.error.issues[0]?.message ?? 'invalid' });
  if (!t.success || !s.success) throw new TelemetryValidationError(what, issues);
  return { traceId: t.data, spanId: s.data };
}

/** Rows per `appendRows` call of `saveSpansToDataset`. */
const DATASET_PAGE_ROWS = 1_000;

function safeEventCount(span: CompletedSpan): number {
  try {
    return eventCountOf(span);
  } catch {
    return 2;
  }
}

/**
 * Comparisons need an ordered value: `gt`/`lt` against null or an array mean
 * nothing (arrays compare only for equality, with array attributes).
 */
function filterIssues(filters: readonly { op: string; value: unknown }[]): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  filters.forEach((f, i) => {
    if ((f.op === 'gt' || f.op === 'lt') && (f.value === null || Array.isArray(f.value))) {
      issues.push({
        path: formatPath(['attribute_filters', i, 'value']),
        message: `'${f.op}' needs a string, number or boolean to compare with, got ${f.value === null ? 'null' : 'an array'}`,
      });
    }
  });
  return issues;
}

function orderIssues(orderBy: readonly string[]): ValidationIssue[] {
  return queries.parseTraceOrder(orderBy).bad.map((i) => ({
    path: formatPath(['order_by', i]),
    message: `expected one of ${queries.TRACE_ORDER_FIELDS.join(', ')} (prefix '-' for descending), got ${preview(orderBy[i])}`,
  }));
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
