import {
  type DatasetWriter,
  DEFAULT_TTL_SECONDS,
  type Env,
  type LlamaStackConfig,
  SinkNameSchema,
  z,
} from '@telemetry/core/sink';

/** `service_name` of the traces written when none is given: OpenTelemetry's variable, else its fallback. */
function serviceNameFrom(env: Env): string {
  return env.OTEL_SERVICE_NAME || 'unknown_service';
}

const wholeNumber = (min: 0 | 1) => {
  const error = `expected a whole number >= ${min}`;
  return z.number({ error }).int({ error }).min(min, { error });
};

const CONNECTION_STRING = /^postgres(?:ql)?:\/\//;

/**
 * The PostgreSQL sink's options: their validation and every default, in one
 * place (the types below are inferred from it).
 */
export const PostgresSinkOptionsSchema = z.strictObject({
  /**
   * The sink's name in stats and error messages.
   * @default 'postgres'
   */
  name: SinkNameSchema.default('postgres'),
  /**
   * Where the store is: `postgres://user:password@host:5432/database`
   * (libpq's URL form; `?sslmode=require`, `?options=-c search_path=telemetry`
   * and the other parameters pg reads are honoured). The tables are created
   * in the first schema of the search path.
   */
  connectionString: z
    .string({ error: 'expected a connection string such as postgres://user@host:5432/db' })
    .regex(CONNECTION_STRING, {
      error: (issue) =>
        `expected a connection string starting with postgres:// or postgresql://, got ${JSON.stringify(
          String(issue.input).replace(/\/\/[^@/]*@/, '//***@'),
        )}`,
    }),
  /**
   * How long a span (with its logs and metrics) is kept when its events carry
   * no `ttl_seconds`; counted from the span's end.
   * @default 604800 (7 days, Llama Stack's `log_event` default)
   */
  ttlSeconds: wholeNumber(1).default(DEFAULT_TTL_SECONDS),
  /**
   * The `service_name` of the traces this process writes.
   * @default process.env.OTEL_SERVICE_NAME, else 'unknown_service'
   */
  serviceName: z
    .string({ error: 'expected a service name' })
    .default(() => serviceNameFrom(process.env)),
  /**
   * Keep at most about this many spans: the retention run (on open and every
   * `retentionIntervalMs`) deletes the oldest written past it. Unlimited when absent.
   * @default undefined
   */
  maxSpans: wholeNumber(1).optional(),
  /**
   * How often retention runs (it also runs on open). With many writers on
   * one database, one of them runs it at a time. `0` turns the timer off.
   * @default 60000
   */
  retentionIntervalMs: wholeNumber(0).default(60_000),
  /**
   * Run retention once when the store opens. `false` leaves expired rows to
   * the timer (or to nobody, with `retentionIntervalMs: 0`), so that a tool
   * such as `telemetry prune` deletes, and reports, exactly what it was asked.
   * @default true
   */
  purgeOnOpen: z.boolean({ error: 'expected true or false' }).default(true),
  /**
   * Where `saveSpansToDataset` appends rows when the caller passes no writer.
   * @default undefined (saveSpansToDataset then needs a writer argument)
   */
  datasetWriter: z
    .custom<DatasetWriter>(
      (value) => typeof (value as { appendRows?: unknown } | null)?.appendRows === 'function',
      { error: 'expected an object with appendRows(datasetId, rows)' },
    )
    .optional(),
  /**
   * Connections of this process to the database, at most (writes, queries
   * and retention share them).
   * @default 4
   */
  poolSize: wholeNumber(1).default(4),
  /**
   * How long to wait for a connection before a write fails as retryable (core's
   * dispatcher writes it again after a backoff) and a query fails.
   * @default 5000
   */
  connectTimeoutMs: wholeNumber(0).default(5_000),
  /**
   * Spans per transaction (each table gets one multi-row insert per transaction).
   * @default 1000
   */
  transactionSize: wholeNumber(1).default(1_000),
});

/** Options of `createPostgresSink`; each is documented, with its default, in `PostgresSinkOptionsSchema`. */
export type PostgresSinkOptions = z.input<typeof PostgresSinkOptionsSchema>;

/** The options after validation, defaults filled in. */
export type ResolvedOptions = z.output<typeof PostgresSinkOptionsSchema>;

/**
 * What a Llama Stack config block asks of the PostgreSQL sink: `postgres_url`
 * (the connection string; `${env.TELEMETRY_POSTGRES_URL}` in a config file
 * keeps the password out of it) and `service_name`, else `OTEL_SERVICE_NAME`.
 */
export function postgresOptionsFromConfig(
  config: LlamaStackConfig,
  env: Env,
): Partial<PostgresSinkOptions> {
  const url = config.postgres_url;
  return {
    ...(typeof url === 'string' && url !== '' ? { connectionString: url } : {}),
    serviceName: config.service_name || serviceNameFrom(env),
  };
}
