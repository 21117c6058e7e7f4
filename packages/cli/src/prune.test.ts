/** `prune` deletes exactly what it says, from a file or through a server with its token. */
import { join } from 'node:path';
import type { CompletedSpan, StoreStats } from '@telemetry/core';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, cli, oneLineError, runDemo, serve, tempDir } from './test-support/cli.ts';

const tmp = tempDir();
const env = cleanEnv(tmp.dir, { NO_COLOR: '1' });
afterAll(() => tmp.cleanup());

/** Spans of `traces` traces of `perTrace` spans each (one log each), ended in January 2025, kept for `ttl` seconds. */
function oldSpans(traces: number, perTrace: number, ttl: number, tag: string): CompletedSpan[] {
  const spans: CompletedSpan[] = [];
  const t0 = Date.UTC(2025, 0, 15) * 1000;
  for (let t = 0; t < traces; t++) {
    const traceId = `${tag}${t.toString(16).padStart(32 - tag.length, '0')}`;
    for (let s = 0; s < perTrace; s++) {
      const spanId = `${tag}${(t * 100 + s).toString(16).padStart(16 - tag.length, '0')}`;
      spans.push({
        trace_id: traceId,
        span_id: spanId,
        parent_span_id:
          s === 0 ? null : `${tag}${(t * 100).toString(16).padStart(16 - tag.length, '0')}`,
        name: `old-${s}`,
        kind: 'internal',
        start_time: t0 + t * 10_000 + s,
        end_time: t0 + t * 10_000 + s + 500,
        status: 'ok',
        attributes: {},
        events: [
          {
            type: 'unstructured_log',
            trace_id: traceId,
            span_id: spanId,
            timestamp: t0 + t * 10_000 + s + 100,
            message: 'old log',
            severity: 'info',
            attributes: {},
          },
        ],
        ttl_seconds: ttl,
      });
    }
  }
  return spans;
}

async function stats(db: string): Promise<StoreStats> {
  const result = await cli(['stats', '--db', db, '--json'], { env });
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

const db = join(tmp.dir, 'prune.db');

beforeAll(async () => {
  await runDemo(db, env);
  const sink = createSqliteSink({ path: db, retentionIntervalMs: 0 });
  // 4 old traces of 3 spans kept for 10 years, and 2 of 2 spans that expired long ago.
  await sink.writeSpans([...oldSpans(4, 3, 315_360_000, 'a0'), ...oldSpans(2, 2, 1, 'b0')]);
  await sink.shutdown();
});

describe('prune', () => {
  it('--older-than deletes the old traces, whole, and reports exactly that; nothing it was not asked', async () => {
    const before = await stats(db);
    expect(before.traces).toBe(3 + 4 + 2);
    const result = await cli(['prune', '--db', db, '--older-than', '30d', '--json'], { env });
    expect(result.code).toBe(0);
    const pruned = JSON.parse(result.stdout);
    // The expired traces ended before the cutoff too: they are among what it deleted, and said so.
    expect(pruned).toMatchObject({
      deleted_traces: 6,
      deleted_spans: 16,
      deleted_events: 16,
      vacuumed: false,
    });
    const after = await stats(db);
    expect(before.traces - after.traces).toBe(pruned.deleted_traces);
    expect(before.spans - after.spans).toBe(pruned.deleted_spans);
    expect(before.logs + before.metric_points - after.logs - after.metric_points).toBe(
      pruned.deleted_events,
    );
    expect(after.traces).toBe(3);
  });

  it('--keep-spans then --vacuum: says what went and the sizes, and leaves that many', async () => {
    const before = await stats(db);
    const result = await cli(['prune', '--db', db, '--keep-spans', '5', '--vacuum'], { env });
    expect(result.code).toBe(0);
    const after = await stats(db);
    expect(after.spans).toBe(5);
    const deleted = before.spans - after.spans;
    const events = before.logs + before.metric_points - after.logs - after.metric_points;
    expect(result.stdout).toMatch(
      new RegExp(
        `^Deleted \\d+ traces?, ${deleted} spans and ${events} logs and metric events from .*prune\\.db\\. Vacuumed: [\\d.]+ kB -> [\\d.]+ kB\\.\\n$`,
      ),
    );
  });

  it('opens without deleting expired rows it was not asked to delete', async () => {
    const other = join(tmp.dir, 'expired.db');
    const sink = createSqliteSink({ path: other, retentionIntervalMs: 0 });
    await sink.writeSpans(oldSpans(2, 2, 1, 'c0'));
    await sink.shutdown();
    const result = await cli(['prune', '--db', other, '--keep-spans', '100', '--json'], { env });
    expect(JSON.parse(result.stdout)).toMatchObject({
      deleted_traces: 0,
      deleted_spans: 0,
      deleted_events: 0,
    });
    expect((await stats(other)).spans).toBe(4);
  });

  it('through a server: needs its token, then prunes the same way', async () => {
    const served = join(tmp.dir, 'served.db');
    const sink = createSqliteSink({ path: served, retentionIntervalMs: 0 });
    await sink.writeSpans(oldSpans(3, 2, 315_360_000, 'd0'));
    await sink.shutdown();
    const { server, address } = await serve(['--db', served, '--token', 'sesame'], env);
    try {
      const refused = await cli(['prune', '--url', address.url, '--older-than', '1d'], { env });
      expect(refused.code).toBe(1);
      expect(oneLineError(refused)).toMatch(/401 Unauthorized/);
      const result = await cli(['prune', '--url', address.url, '--older-than', '1d', '--json'], {
        env: { ...env, TELEMETRY_SERVER_TOKEN: 'sesame' },
      });
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({
        deleted_traces: 3,
        deleted_spans: 6,
        deleted_events: 6,
      });
    } finally {
      await server.stop();
    }
    expect((await stats(served)).spans).toBe(0);
  });

  it('without a token on the server, prune over HTTP is refused with the reason', async () => {
    const { server, address } = await serve(['--db', join(tmp.dir, 'open.db')], env);
    try {
      const result = await cli(['prune', '--url', address.url, '--keep-spans', '0'], { env });
      expect(result.code).toBe(1);
      expect(oneLineError(result)).toMatch(/answered 403: Pruning over HTTP needs a token/);
    } finally {
      await server.stop();
    }
  });
});
