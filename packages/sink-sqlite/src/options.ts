import { type DatasetWriter, DEFAULT_TTL_SECONDS } from '@telemetry/core';

/** Options of `createSqliteSink`. */
export interface SqliteSinkOptions {
  /**
   * Database file. Missing directories are created; a bare file name is
   * relative to the working directory. `:memory:` keeps everything in this
   * process only (gone at exit): pass a path to query data later.
   * @default ':memory:'
   */
  path?: string;
  /**
   * How long a span (with its logs and metrics) is kept when its events carry
   * no `ttl_seconds`; counted from the span's end.
   * @default 604800 (7 days, Llama Stack's `log_event` default)
   */
  ttlSeconds?: number;
  /**
   * The `service_name` of the traces this process writes.
   * @default process.env.OTEL_SERVICE_NAME, else 'unknown_service'
   */
  serviceName?: string;
  /**
   * Keep at most this many spans: past it, the oldest are deleted (with their
   * events and attributes) after a write. Unlimited when absent.
   * @default undefined
   */
  maxSpans?: number;
  /**
   * How often expired rows are deleted (they are also deleted on open).
   * `0` turns the periodic run off.
   * @default 60000
   */
  retentionIntervalMs?: number;
  /**
   * Where `saveSpansToDataset` appends rows when the caller passes no writer.
   * @default undefined (saveSpansToDataset then needs a writer argument)
   */
  datasetWriter?: DatasetWriter;
  /**
   * The sink's name in stats and error messages.
   * @default 'sqlite'
   */
  name?: string;
  /**
   * How long a write waits for another process that holds the write lock.
   * @default 5000
   */
  busyTimeoutMs?: number;
  /**
   * Spans per transaction. A batch larger than this is written in several
   * transactions with the event loop free in between, so no single write
   * blocks the application for long.
   * @default 200
   */
  transactionSize?: number;
}

/** Every default in one place. */
export const SQLITE_SINK_DEFAULTS = Object.freeze({
  path: ':memory:',
  ttlSeconds: DEFAULT_TTL_SECONDS,
  serviceName: 'unknown_service',
  retentionIntervalMs: 60_000,
  name: 'sqlite',
  busyTimeoutMs: 5_000,
  transactionSize: 200,
});

export interface ResolvedOptions {
  readonly path: string;
  readonly ttlSeconds: number;
  readonly serviceName: string;
  readonly maxSpans: number | undefined;
  readonly retentionIntervalMs: number;
  readonly datasetWriter: DatasetWriter | undefined;
  readonly name: string;
  readonly busyTimeoutMs: number;
  readonly transactionSize: number;
}

export function resolveOptions(options: SqliteSinkOptions = {}): {
  resolved: ResolvedOptions;
  issues: { path: string; message: string }[];
} {
  const issues: { path: string; message: string }[] = [];
  const d = SQLITE_SINK_DEFAULTS;
  const positiveInt = (key: keyof SqliteSinkOptions, value: unknown, allowZero = false) => {
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
      issues.push({
        path: key,
        message: `expected a whole number ${allowZero ? '>= 0' : '>= 1'}, got ${JSON.stringify(value)}`,
      });
    }
  };
  positiveInt('ttlSeconds', options.ttlSeconds);
  positiveInt('maxSpans', options.maxSpans);
  positiveInt('retentionIntervalMs', options.retentionIntervalMs, true);
  positiveInt('busyTimeoutMs', options.busyTimeoutMs, true);
  positiveInt('transactionSize', options.transactionSize);
  if (options.path !== undefined && (typeof options.path !== 'string' || options.path === '')) {
    issues.push({ path: 'path', message: 'expected a file path or ":memory:"' });
  }
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) {
    issues.push({ path: 'name', message: 'expected a non-empty string' });
  }
  if (
    options.datasetWriter !== undefined &&
    typeof (options.datasetWriter as { appendRows?: unknown })?.appendRows !== 'function'
  ) {
    issues.push({
      path: 'datasetWriter',
      message: 'expected an object with appendRows(datasetId, rows)',
    });
  }
  const envService = typeof process !== 'undefined' ? process.env.OTEL_SERVICE_NAME : undefined;
  return {
    resolved: {
      path: options.path ?? d.path,
      ttlSeconds: options.ttlSeconds ?? d.ttlSeconds,
      serviceName: options.serviceName ?? (envService || d.serviceName),
      maxSpans: options.maxSpans,
      retentionIntervalMs: options.retentionIntervalMs ?? d.retentionIntervalMs,
      datasetWriter: options.datasetWriter,
      name: options.name ?? d.name,
      busyTimeoutMs: options.busyTimeoutMs ?? d.busyTimeoutMs,
      transactionSize: options.transactionSize ?? d.transactionSize,
    },
    issues,
  };
}
