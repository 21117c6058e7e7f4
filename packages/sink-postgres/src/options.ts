import { type Env, type LlamaStackConfig, SinkNameSchema, z } from '@telemetry/core/sink';
import {
  serviceNameFrom,
  storeSinkOptionFields,
  wholeNumberOption as wholeNumber,
} from '@telemetry/sql-store';

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
  ...storeSinkOptionFields,
  /**
   * Keep at most about this many spans: the retention run (on open and every
   * `retentionIntervalMs`) deletes the oldest written past it. Unlimited when absent.
   * @default undefined
   */
  maxSpans: storeSinkOptionFields.maxSpans,
  /**
   * How often retention runs (it also runs on open). With many writers on
   * one database, one of them runs it at a time. `0` turns the timer off.
   * @default 60000
   */
  retentionIntervalMs: storeSinkOptionFields.retentionIntervalMs,
  /**
   * Run retention once when the store opens. `false` leaves expired rows to
   * the timer (or to nobody, with `retentionIntervalMs: 0`), so that a tool
   * such as `telemetry prune` deletes, and reports, exactly what it was asked.
   * @default true
   */
  purgeOnOpen: storeSinkOptionFields.purgeOnOpen,
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
