/** What every command gets: its streams, the clock, the store it names, and how it stops. */

import type { AttributeFilter } from '@telemetry/core';
import { type Command, Option } from 'commander';
import { attrArg, durationArg, timeArg } from './args.ts';
import { type Io, type Paint, painter, wantsColor } from './output.ts';
import { DB_ENV_VAR, defaultDbPath, URL_ENV_VAR } from './paths.ts';
import { remoteStore } from './remote-store.ts';
import { type CliStore, localStore, openStoreSink, redact, type StoreMode } from './store.ts';

export interface StoreFlags {
  readonly db?: string;
  readonly url?: string;
  readonly token?: string;
}

export interface OutputFlags {
  readonly json?: boolean;
  readonly color?: boolean;
}

/** The environment variable `--token` falls back to (the server reads the same one). */
export const TOKEN_ENV_VAR = 'TELEMETRY_SERVER_TOKEN';

/** `--db`, `--url`, `--token`: a SQLite file by default, a server with `--url`. */
export function addStoreOptions(command: Command, env: NodeJS.ProcessEnv): Command {
  return command
    .option(
      '--db <file|url>',
      `the store: a SQLite file or a postgres:// URL (default: $${DB_ENV_VAR}, else ${defaultDbPath({ ...env, [DB_ENV_VAR]: '' })})`,
    )
    .addOption(
      new Option(
        '--url <url>',
        `ask a running server instead, as telemetry serve prints it (default: $${URL_ENV_VAR} when --db is not given)`,
      ).conflicts('db'),
    )
    .option('--token <token>', `bearer token for --url (default: $${TOKEN_ENV_VAR})`);
}

export function addOutputOptions(command: Command, jsonWhat: string): Command {
  return command
    .option('--json', `print ${jsonWhat} as JSON, for scripts`)
    .option('--no-color', 'no colours (they are used only on a terminal, never with NO_COLOR)');
}

/** The trace filters of `traces` and `export`. */
export function addTraceFilterOptions(command: Command, io: Io): Command {
  return command
    .option(
      '--since <time>',
      'traces that started at or after: a duration ago (15m, 1h, 7d) or an ISO-8601 time',
      timeArg(io.now),
    )
    .option('--until <time>', 'traces that started at or before (same forms)', timeArg(io.now))
    .option('--service <name>', "the trace's service (its root span's service.name)")
    .option('--name <name>', 'the root span name, exactly')
    .option('--error', 'only traces with a failed span')
    .option(
      '--min-duration <duration>',
      'at least this long (500ms, 2s; a plain number is ms)',
      durationArg('ms'),
    )
    .option('--max-duration <duration>', 'at most this long', durationArg('ms'))
    .option(
      '--attr <key=value>',
      'an attribute condition, repeatable, all on one span: key=value, key!=value, key>n, key<n',
      attrArg,
    );
}

export interface TraceFilterFlags {
  readonly since?: number;
  readonly until?: number;
  readonly service?: string;
  readonly name?: string;
  readonly error?: boolean;
  readonly minDuration?: number;
  readonly maxDuration?: number;
  readonly attr?: AttributeFilter[];
}

/** The search parameters of the trace filters. */
export function traceSearchParams(flags: TraceFilterFlags) {
  return {
    ...(flags.since === undefined ? {} : { start: new Date(flags.since) }),
    ...(flags.until === undefined ? {} : { end: new Date(flags.until) }),
    ...(flags.service === undefined ? {} : { service: flags.service }),
    ...(flags.name === undefined ? {} : { name: flags.name }),
    ...(flags.error ? { status: 'error' as const } : {}),
    ...(flags.minDuration === undefined ? {} : { min_duration_ms: flags.minDuration }),
    ...(flags.maxDuration === undefined ? {} : { max_duration_ms: flags.maxDuration }),
    ...(flags.attr?.length ? { attribute_filters: flags.attr } : {}),
  };
}

/** A few example lines under a command's help. */
export function examples(lines: readonly string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

/** The store named by the flags (`--url`, else `$TELEMETRY_URL` unless `--db`, else the file), for `fn`, then closed. */
export async function withStore<T>(
  flags: StoreFlags,
  mode: Exclude<StoreMode, 'serve'>,
  io: Io,
  fn: (store: CliStore) => Promise<T>,
): Promise<T> {
  const url = flags.url ?? (flags.db === undefined ? io.env[URL_ENV_VAR] || undefined : undefined);
  let store: CliStore;
  if (url !== undefined) {
    store = remoteStore(url, flags.token ?? (io.env[TOKEN_ENV_VAR] || undefined));
  } else {
    const db = flags.db ?? defaultDbPath(io.env);
    store = localStore(await openStoreSink(db, mode), redact(db));
  }
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function paintFor(io: Io, flags: OutputFlags): Paint {
  return painter(wantsColor(io.stdout, io.env, flags.color !== false));
}

/**
 * Resolves on the first SIGINT or SIGTERM with its name; a second one exits
 * at once (130), for a user who does not want to wait.
 */
export function untilStopped(io: Io): { stopped: Promise<string>; dispose(): void } {
  let resolve!: (signal: string) => void;
  const stopped = new Promise<string>((r) => {
    resolve = r;
  });
  let count = 0;
  const onSignal = (signal: string) => {
    count++;
    if (count === 1) resolve(signal);
    else {
      io.stderr.write(`telemetry: ${signal} again: stopping now, without waiting.\n`);
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stopped,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
