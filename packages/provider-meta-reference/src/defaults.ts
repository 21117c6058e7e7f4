import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Env } from './env-substitution.ts';

/** Every default of this package, in one place. */
export const META_REFERENCE_DEFAULTS = Object.freeze({
  /** The provider type this package implements. */
  providerType: 'inline::meta-reference',
  /** `provider_id` when a config gives only the `config` block. */
  providerId: 'meta-reference',
  /** Llama Stack's default sinks. */
  sinks: Object.freeze(['console', 'sqlite']) as readonly string[],
  /** File name of the trace store, as Llama Stack's `trace_store.db`. */
  sqliteFileName: 'trace_store.db',
  /** The variable Llama Stack reads for its config directory. */
  configDirVariable: 'LLAMA_STACK_CONFIG_DIR',
  /** Signals that `installShutdownHooks` handles. */
  signals: Object.freeze(['SIGTERM', 'SIGINT']) as readonly NodeJS.Signals[],
  /** `installShutdownHooks` also shuts down when the event loop empties. */
  beforeExit: true,
  /** How long a shutdown hook waits for the sinks. */
  shutdownTimeoutMs: 10_000,
});

/**
 * Llama Stack's default trace store: `$LLAMA_STACK_CONFIG_DIR/runtime/trace_store.db`,
 * else `~/.llama/runtime/trace_store.db` (its `RUNTIME_BASE_DIR`).
 */
export function defaultSqliteDbPath(env: Env): string {
  const configDir =
    env[META_REFERENCE_DEFAULTS.configDirVariable] || join(env.HOME || homedir(), '.llama');
  return join(configDir, 'runtime', META_REFERENCE_DEFAULTS.sqliteFileName);
}
