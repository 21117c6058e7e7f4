/**
 * Bad input and failures reach the user as one `telemetry: ...` line on
 * stderr and a non-zero exit: 2 for what was typed, 1 for a store or server
 * that cannot answer. Never a stack trace, never output on stdout.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createTelemetry } from '@telemetry/core';
import { createTelemetryServer, type TelemetryServer } from '@telemetry/server';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, cli, oneLineError, tempDir } from './test-support/cli.ts';

const tmp = tempDir();
const db = join(tmp.dir, 'store.db');
const garbage = join(tmp.dir, 'garbage.db');
const env = cleanEnv(tmp.dir, { NO_COLOR: '1' });
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
let closedPort: number;
let server: TelemetryServer;
let telemetry: ReturnType<typeof createTelemetry>;
let url: string;

beforeAll(async () => {
  const sink = createSqliteSink({ path: db, retentionIntervalMs: 0 });
  const start = Date.now() * 1000;
  await sink.writeSpans([
    {
      trace_id: TRACE,
      span_id: '00f067aa0ba902b7',
      parent_span_id: null,
      name: 'only',
      kind: 'internal',
      start_time: start,
      end_time: start + 1_000,
      status: 'ok',
      attributes: {},
      events: [],
      ttl_seconds: 86_400,
    },
  ]);
  await sink.shutdown();
  writeFileSync(garbage, 'not a database '.repeat(100));
  // A port nothing listens on: taken, then released.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  telemetry = createTelemetry({ sinks: [createSqliteSink({ path: db, readOnly: true })] });
  server = createTelemetryServer({ telemetry, port: 0, token: 'sesame' });
  url = (await server.listen()).url;
});

afterAll(async () => {
  await server?.close();
  await telemetry?.shutdown();
  tmp.cleanup();
});

type Case = [what: string, args: () => string[], code: number, line: RegExp];

const cases: Case[] = [
  [
    'an unknown flag',
    () => ['traces', '--bogus'],
    2,
    /^telemetry: unknown option '--bogus' \(see `telemetry traces --help`\)$/,
  ],
  [
    'a misspelt flag',
    () => ['traces', '--sinse', '1h'],
    2,
    /unknown option '--sinse' \(Did you mean --since\?\)/,
  ],
  ['an unknown command', () => ['trace'], 2, /unknown command 'trace' \(Did you mean traces\?\)/],
  [
    'a missing argument',
    () => ['show'],
    2,
    /missing required argument 'trace_id' \(see `telemetry show --help`\)/,
  ],
  ['too many arguments', () => ['show', TRACE, 'extra', '--db', db], 2, /too many arguments/],
  [
    '--db and --url together',
    () => ['traces', '--db', db, '--url', url],
    2,
    /option '--url <url>' cannot be used with option '--db <file\|url>'/,
  ],
  [
    'a missing database file',
    () => ['traces', '--db', join(tmp.dir, 'nope.db')],
    1,
    /^telemetry: No telemetry store at .*nope\.db: start `telemetry serve` to create one there, or pass --db <file> or --url <server>\.$/,
  ],
  [
    'the default store, not created yet',
    () => ['stats'],
    1,
    /No telemetry store at .*\/\.local\/share\/telemetry\/telemetry\.db: start `telemetry serve`/,
  ],
  [
    'a directory as --db',
    () => ['stats', '--db', tmp.dir],
    1,
    /is a directory: pass the store's file with --db\.$/,
  ],
  [
    'a corrupt database file',
    () => ['traces', '--db', garbage],
    1,
    /^telemetry: Cannot open the SQLite telemetry store at ".*garbage\.db" for reading: file is not a database\./,
  ],
  [
    'an unknown trace id',
    () => ['show', '0123456789abcdef0123456789abcdef', '--db', db],
    1,
    /^telemetry: Trace 0123456789abcdef0123456789abcdef not found in .*store\.db: `telemetry traces` lists the trace ids there\.$/,
  ],
  [
    'an unknown trace id, from a server',
    () => ['show', '0123456789abcdef0123456789abcdef', '--url', url, '--token', 'sesame'],
    1,
    /^telemetry: Trace 0123456789abcdef0123456789abcdef not found in http:\/\/127\.0\.0\.1:\d+: /,
  ],
  [
    'a malformed trace id',
    () => ['show', 'd17b0720', '--db', db],
    2,
    /"d17b0720" is not a trace id: expected 32 hex digits/,
  ],
  [
    'a bad duration',
    () => ['traces', '--since', '5 minutes', '--db', db],
    2,
    /option '--since <time>' argument '5 minutes' is invalid\. Expected a time: a duration ago such as 15m, 1h or 7d/,
  ],
  [
    'a bad --min-duration',
    () => ['traces', '--min-duration', '2x', '--db', db],
    2,
    /argument '2x' is invalid\. Expected a number and a unit \(ms, s, m, h, d, w\) such as 500ms, 90s, 15m, 1h30m or 7d, or a plain number of milliseconds\./,
  ],
  [
    '--min-duration above --max-duration',
    () => ['traces', '--min-duration', '2s', '--max-duration', '1s', '--db', db],
    2,
    /^telemetry: --min-duration: expected at most max_duration_ms$/,
  ],
  [
    'a label matcher without an operator',
    () => ['metrics', 'tokens', '--label', 'model', '--db', db],
    2,
    /argument 'model' is invalid\. Expected name=value, name!=value, name=~regex or name!~regex\./,
  ],
  [
    'a label matcher with a bad regular expression',
    () => ['metrics', 'tokens', '--label', 'model=~(a', '--db', db],
    2,
    /^telemetry: --label #1: not a valid RE2 regular expression .*missing closing \)/,
  ],
  [
    'a bad --granularity',
    () => ['metrics', 'tokens', '--granularity', '5x', '--db', db],
    2,
    /--granularity "5x": expected a whole number and a unit/,
  ],
  [
    'a bad --attr',
    () => ['traces', '--attr', 'novalue', '--db', db],
    2,
    /argument 'novalue' is invalid\. Expected key=value, key!=value, key>value or key<value\./,
  ],
  [
    'a bad --format',
    () => ['export', '--format', 'csv', '--db', db],
    2,
    /argument 'csv' is invalid\. Expected otlp, otlp-lines, dataset\./,
  ],
  [
    'prune without saying what',
    () => ['prune', '--db', db],
    2,
    /say what to prune: --older-than, --keep-spans and\/or --vacuum/,
  ],
  [
    'an unreachable server',
    () => ['traces', '--url', `http://127.0.0.1:${closedPort}`],
    1,
    /^telemetry: Cannot reach the telemetry server at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): start it with `telemetry serve`, or check --url\.$/,
  ],
  [
    'a server that wants a token',
    () => ['traces', '--url', url],
    1,
    /refused the request \(401 Unauthorized\): pass its token with --token or TELEMETRY_SERVER_TOKEN\.$/,
  ],
  ['a wrong token', () => ['stats', '--url', url, '--token', 'open'], 1, /\(401 Unauthorized\)/],
  [
    'a --url that is not http',
    () => ['traces', '--url', 'ftp://example'],
    2,
    /--url "ftp:\/\/example" is not an http\(s\) URL/,
  ],
];

describe('bad input: one line, a non-zero exit, nothing on stdout', () => {
  it.concurrent.each(cases)('%s', async (_what, args, code, line) => {
    const result = await cli(args(), { env });
    expect(result.stdout).toBe('');
    expect(oneLineError(result)).toMatch(line);
    expect(result.code).toBe(code);
  });

  it('the right token works where the wrong one did not (the same command)', async () => {
    const ok = await cli(['stats', '--url', url], {
      env: { ...env, TELEMETRY_SERVER_TOKEN: 'sesame' },
    });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Traces   1');
  });

  it('help and version exit 0 on stdout', async () => {
    const help = await cli(['traces', '--help'], { env });
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('Examples:\n  $ telemetry traces --since 1h');
    const version = await cli(['--version'], { env });
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
