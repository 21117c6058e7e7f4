import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Env, type LlamaStackConfig, SinkNameSchema, z } from '@telemetry/core/sink';
import {
  serviceNameFrom,
  storeSinkOptionFields,
  wholeNumberOption as wholeNumber,
} from '@telemetry/sql-store';

/**
 * The SQLite sink's options: their validation and every default, in one
 * place (the types below are inferred from it).
 */
export const SqliteSinkOptionsSchema = z
  .strictObject({
    /**
     * The sink's name in stats and error messages.
     * @default 'sqlite'
     */
    name: SinkNameSchema.default('sqlite'),
    /**
     * Database file. Missing directories are created; a bare file name is
     * relative to the working directory. `:memory:` keeps everything in this
     * process only (gone at exit): pass a path to query data later.
     * @default ':memory:'
     */
    path: z
      .string({ error: 'expected a file path or ":memory:"' })
      .min(1, { error: 'expected a file path or ":memory:"' })
      // SQLite would open the name up to the NUL: a file nobody asked for.
      .refine((path) => !path.includes('\0'), {
        error: (issue) =>
          `expected a file path without NUL bytes (SQLite would open the file named up to the first one), got ${JSON.stringify(issue.input)}`,
      })
      .default(':memory:'),
    ...storeSinkOptionFields,
    /**
     * Keep at most this many spans: past it, the oldest are deleted (with their
     * events and attributes) after a write. Unlimited when absent.
     * @default undefined
     */
    maxSpans: storeSinkOptionFields.maxSpans,
    /**
     * How long a write waits for another process that holds the write lock;
     * past it the write fails as retryable and core's dispatcher writes the
     * batch again after a backoff.
     * @default 5000
     */
    busyTimeoutMs: wholeNumber(0).default(5_000),
    /**
     * Spans per transaction. A batch larger than this is written in several
     * transactions with the event loop free in between, so no single write
     * blocks the application for long.
     * @default 200
     */
    transactionSize: wholeNumber(1).default(200),
    /**
     * Open an existing store for reading only, as a tool that reads a file
     * another process writes (`telemetry traces`, `telemetry tail`): no
     * migration, no retention, no WAL checkpoints, nothing written. The file must
     * exist and have been migrated by a writer of this version; writes,
     * `purgeExpired` and `prune` reject.
     * @default false
     */
    readOnly: z.boolean({ error: 'expected true or false' }).default(false),
  })
  .check(
    z.refine((o) => !(o?.readOnly === true && o.path === ':memory:'), {
      path: ['readOnly'],
      error: 'expected a file path with readOnly: a new :memory: database has nothing to read',
      when: () => true,
    }),
  );

/** Options of `createSqliteSink`; each is documented, with its default, in `SqliteSinkOptionsSchema`. */
export type SqliteSinkOptions = z.input<typeof SqliteSinkOptionsSchema>;

/** The options after validation, defaults filled in. */
export type ResolvedOptions = z.output<typeof SqliteSinkOptionsSchema>;

/**
 * What a Llama Stack config block asks of the SQLite sink: `sqlite_db_path`
 * (a leading `~` is the home directory), by default Llama Stack's own store,
 * `$LLAMA_STACK_CONFIG_DIR/runtime/trace_store.db`, else
 * `~/.llama/runtime/trace_store.db` (its `RUNTIME_BASE_DIR`); and
 * `service_name`, else `OTEL_SERVICE_NAME`.
 */
export function sqliteOptionsFromConfig(config: LlamaStackConfig, env: Env): SqliteSinkOptions {
  const home = () => env.HOME || homedir();
  const given = config.sqlite_db_path;
  const path =
    typeof given === 'string' && given !== ''
      ? given === '~' || given.startsWith('~/')
        ? home() + given.slice(1)
        : given
      : join(env.LLAMA_STACK_CONFIG_DIR || join(home(), '.llama'), 'runtime', 'trace_store.db');
  return { path, serviceName: config.service_name || serviceNameFrom(env) };
}
