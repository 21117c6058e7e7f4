/** `tail` follows spans that other processes write, into the same file or through a server. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, packageDir, Running, serve, tempDir } from './test-support/cli.ts';

const exec = promisify(execFile);
const tmp = tempDir();
const db = join(tmp.dir, 'tail.db');
const env = cleanEnv(tmp.dir, { NO_COLOR: '1', TELEMETRY_DB: db });
const WRITER = join(packageDir, 'src', 'test-support', 'span-writer.mjs');

beforeAll(async () => {
  // One span already there: the tails print it first, which says they are running.
  await exec(process.execPath, [WRITER, db, 'before', '1', '0'], { cwd: packageDir });
});
afterAll(() => tmp.cleanup());

describe('tail', () => {
  it('prints the spans another process writes into the file, and follows them as they come', async () => {
    const text = new Running(['tail', '--last', '1'], env);
    // --last 10: whatever was written before it started is in its first answer, the rest it follows.
    const json = new Running(['tail', '--last', '10', '--json', '--error'], env);
    try {
      await text.until(() => text.stdout.includes('before-0'), 'the newest span');
      const names = ['w-0', 'w-1', 'w-2', 'w-3', 'w-4'];
      // How soon each one shows up is measured by `pnpm --filter @telemetry/cli bench`
      // (latency from commit to printed line), not asserted here: the machine is shared.
      await exec(process.execPath, [WRITER, db, 'w', String(names.length), '300'], {
        cwd: packageDir,
      });
      await text.until(
        () => names.every((n) => text.stdout.includes(` ${n}  `)),
        'every written span',
        30_000,
      );
      // Each span on its END line, as the console prints it, in write order.
      const order = names.map((n) => text.stdout.indexOf(`END      ${n}  `));
      expect(order.every((i) => i > 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
      expect(text.stdout).toMatch(/END {6}w-1 {2}ERROR {2}2\.00ms\n {33}writer: span-writer\n/);

      // The JSON tail, filtered to failed spans, printed exactly w-1 and w-3.
      await json.until(() => json.stdout.includes('w-3'), 'the failed spans as JSON');
      const spans = json.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(spans.map((s) => s.name)).toEqual(['w-1', 'w-3']);
      expect(spans[0]).toMatchObject({
        status: 'error',
        duration_ms: 2,
        attributes: { writer: 'span-writer' },
      });
    } finally {
      const stopped = await text.stop('SIGINT');
      await json.stop('SIGTERM');
      // Ctrl-C is how a tail ends: not a failure.
      expect(stopped.code).toBe(0);
    }
    expect(text.stderr).toBe('');
  });

  it('--no-follow prints the newest spans and stops', async () => {
    const tail = new Running(['tail', '--last', '2', '--no-follow', '--no-attributes'], env);
    const { code } = await tail.exited;
    expect(code).toBe(0);
    const lines = tail.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} [0-9a-f]{8} END {6}w-4 {2}ok {2}2\.00ms$/);
  });

  it('follows a server: spans sent to it over OTLP', async () => {
    const served = await serve(['--db', join(tmp.dir, 'served.db')], env);
    const send = async (spanId: string, name: string) => {
      const now = BigInt(Date.now()) * 1_000_000n;
      const span = {
        traceId: '5b8efff798038103d269b633813fc60c',
        spanId,
        name,
        startTimeUnixNano: String(now - 3_000_000n),
        endTimeUnixNano: String(now),
      };
      const response = await fetch(`${served.address.otlp_url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          resourceSpans: [
            {
              resource: {
                attributes: [{ key: 'service.name', value: { stringValue: 'otlp-client' } }],
              },
              scopeSpans: [{ spans: [span] }],
            },
          ],
        }),
      });
      expect(response.status).toBe(200);
    };
    await send('eee19b7ec3c1b174', 'first-over-otlp');
    // The server writes what it accepted in the background: the tail's first answer shows when.
    const tail = new Running(['tail', '--url', served.address.url, '--last', '1'], env);
    try {
      await tail.until(() => tail.stdout.includes('first-over-otlp'), 'the first span');
      await send('eee19b7ec3c1b175', 'second-over-otlp');
      await tail.until(
        () => tail.stdout.includes('second-over-otlp'),
        'the span sent while tailing',
      );
      expect(tail.stdout).toMatch(
        /5b8efff7 END {6}second-over-otlp {2}ok {2}3\.00ms\n {33}service\.name: otlp-client/,
      );
    } finally {
      await tail.stop('SIGINT');
      await served.server.stop('SIGINT');
    }
  });
});
