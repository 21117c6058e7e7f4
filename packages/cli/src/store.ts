/**
 * The store a command reads or writes: a SQLite file (`--db`, by default the
 * file `serve` writes), another engine picked by the `--db` value, or a
 * running server (`--url`). Every command talks to a `CliStore`, so the same
 * command prints the same output from a file and from a server.
 */
import { statSync } from 'node:fs';
import type {
  MetricSeries,
  PruneParams,
  PruneResult,
  QueryMetricsParams,
  QuerySpansParams,
  SaveSpansToDatasetParams,
  Span,
  StoreStats,
  TailSpansParams,
  TailSpansResult,
  TelemetrySink,
  TraceDetail,
  TraceDetailParams,
  TraceSearchParams,
  TraceSearchResult,
  TraceSearchStore,
  TraceStore,
  TraceStoreAdmin,
} from '@telemetry/core';
import { CliError } from './errors.ts';

/** One row of a dataset: what `saveSpansToDataset` appends. */
export type DatasetRow = Record<string, unknown>;
export type DatasetQuery = Omit<SaveSpansToDatasetParams, 'dataset_id'>;

export interface CliStore {
  /** The file or URL, for messages. */
  readonly location: string;
  searchTraces(params: TraceSearchParams): Promise<TraceSearchResult>;
  getTraceDetail(traceId: string, params?: TraceDetailParams): Promise<TraceDetail>;
  querySpans(params: QuerySpansParams): Promise<Span[]>;
  queryMetrics(name: string, params: QueryMetricsParams): Promise<MetricSeries[]>;
  tailSpans(params: TailSpansParams): Promise<TailSpansResult>;
  storeStats(): Promise<StoreStats>;
  prune(params: PruneParams): Promise<PruneResult>;
  /** The rows `saveSpansToDataset` would append, a page at a time. */
  datasetRows(
    query: DatasetQuery,
    onRows: (rows: readonly DatasetRow[]) => Promise<void>,
  ): Promise<void>;
  close(): Promise<void>;
}

/** What a store engine's sink offers: the pipeline sink, the queries, the search extensions and the admin. */
export type StoreSink = TelemetrySink &
  TraceStore &
  TraceSearchStore &
  TraceStoreAdmin & {
    whenReady?(): Promise<void>;
    shutdown(): Promise<void>;
    saveSpansToDataset(
      params: SaveSpansToDatasetParams,
      writer?: { appendRows(datasetId: string, rows: DatasetRow[]): Promise<void> },
    ): Promise<void>;
  };

/**
 * Why the store is opened: `read` changes nothing in it (read commands);
 * `admin` writes only what the command asks (prune: expired rows stay until
 * asked for, so what it reports is all it deleted); `serve` is the writer
 * with its retention.
 */
export type StoreMode = 'read' | 'admin' | 'serve';

export interface ServeStoreOptions {
  /** How long spans are kept, counted from their end. */
  readonly ttlSeconds?: number;
  /** Keep at most this many spans. */
  readonly maxSpans?: number;
}

const POSTGRES = /^postgres(?:ql)?:\/\//i;

/**
 * Opens the store a `--db` value names, as a sink: a `postgres://` URL with
 * `@telemetry/sink-postgres` (an optional package, loaded only then), else a
 * SQLite file with `@telemetry/sink-sqlite`. The one place that picks an
 * engine; a read command needs the store to exist.
 */
export async function openStoreSink(
  db: string,
  mode: StoreMode,
  options: ServeStoreOptions = {},
): Promise<StoreSink> {
  if (POSTGRES.test(db)) {
    const pg = await importOptional<{
      createPostgresSink(options: Record<string, unknown>): StoreSink;
    }>('@telemetry/sink-postgres', `--db ${redact(db)}`);
    return ready(
      () =>
        pg.createPostgresSink({
          connectionString: db,
          // A read or prune deletes nothing of its own accord (prune reports what it deleted).
          ...(mode === 'serve' ? {} : { retentionIntervalMs: 0, purgeOnOpen: false }),
          ...(options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }),
          ...(options.maxSpans === undefined ? {} : { maxSpans: options.maxSpans }),
        }),
      redact(db),
    );
  }
  if (mode !== 'serve') {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(db).isDirectory();
    } catch {
      throw new CliError(
        'TELEMETRY_CLI_NO_STORE',
        `No telemetry store at ${db}: start \`telemetry serve\` to create one there, or pass --db <file> or --url <server>.`,
      );
    }
    if (isDirectory) {
      throw new CliError(
        'TELEMETRY_CLI_NO_STORE',
        `${db} is a directory: pass the store's file with --db.`,
      );
    }
  }
  const { createSqliteSink } = await import('@telemetry/sink-sqlite');
  return ready(
    () =>
      createSqliteSink({
        path: db,
        readOnly: mode === 'read',
        purgeOnOpen: mode === 'serve',
        ...(mode === 'serve' ? {} : { retentionIntervalMs: 0 }),
        ...(options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }),
        ...(options.maxSpans === undefined ? {} : { maxSpans: options.maxSpans }),
      }) as StoreSink,
    db,
  );
}

async function ready(create: () => StoreSink, where: string): Promise<StoreSink> {
  let sink: StoreSink;
  try {
    sink = create();
  } catch (error) {
    throw storeError(error, where);
  }
  try {
    await sink.whenReady?.();
  } catch (error) {
    await sink.shutdown().catch(() => {});
    throw storeError(error, where);
  }
  return sink;
}

function storeError(error: unknown, where: string): CliError {
  const e = error as { retryable?: unknown; cause?: unknown } | null;
  if (e?.retryable === true && e.cause instanceof Error) {
    // The sink's own wording is for an application that keeps writing; a command ends here.
    return new CliError(
      'TELEMETRY_CLI_STORE',
      `Cannot reach the store at ${where}: ${e.cause.message}. Start the database, or check --db.`,
      1,
      { cause: error },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new CliError('TELEMETRY_CLI_STORE', message || `Cannot open the store at ${where}.`, 1, {
    cause: error,
  });
}

/** Where a `--db` value points, for messages: a URL with its password hidden. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}

/** Loads an optional package, or says which one to install. */
async function importOptional<T>(name: string, what: string): Promise<T> {
  try {
    return (await import(/* @vite-ignore */ name)) as T;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (
      (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
      String((error as Error).message).includes(name)
    ) {
      throw new CliError(
        'TELEMETRY_CLI_PACKAGE_MISSING',
        `${what} needs the package ${name}, which is not installed: run \`npm install ${name}\` next to @telemetry/cli.`,
      );
    }
    throw error;
  }
}

/** A store sink as the commands use it. */
export function localStore(sink: StoreSink, location: string): CliStore {
  return {
    location,
    searchTraces: (params) => sink.searchTraces(params),
    getTraceDetail: (traceId, params) => sink.getTraceDetail(traceId, params),
    querySpans: (params) => sink.querySpans(params),
    queryMetrics: (name, params) => sink.queryMetrics(name, params),
    tailSpans: (params) => sink.tailSpans(params),
    storeStats: () => sink.storeStats(),
    prune: (params) => sink.prune(params),
    datasetRows: (query, onRows) =>
      sink.saveSpansToDataset(
        // The rows go to the caller, not to a named dataset; the id is only checked.
        { ...query, dataset_id: 'export' },
        { appendRows: (_id, rows) => onRows(rows) },
      ),
    close: () => sink.shutdown(),
  };
}
