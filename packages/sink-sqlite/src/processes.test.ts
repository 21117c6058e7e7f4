/**
 * Real processes against one database file: two writers at once, and a writer
 * killed with SIGKILL in the middle of sustained writes.
 */
import { join } from 'node:path';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import Sqlite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { childScript, runNode } from './test-support/child.ts';
import { tempDir } from './test-support/fixtures.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('two processes writing one file', () => {
  it('keeps every row, shares traces and metric series, and no SQLITE_BUSY reaches the caller', async () => {
    const path = join(tmp.dir, 'shared', 'two.db');
    const count = 6000;
    const [a, b] = await Promise.all(
      ['1', '2'].map((id) =>
        runNode(childScript('writer-child.mjs'), [path, id, String(count), '100', '2']),
      ),
    );
    for (const r of [a!, b!]) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ written: count, problems: [] });
    }
    // The two really wrote at the same time.
    const [ra, rb] = [JSON.parse(a!.stdout), JSON.parse(b!.stdout)] as {
      began: number;
      ended: number;
    }[];
    expect(ra!.began < rb!.ended && rb!.began < ra!.ended).toBe(true);
    const db = new Sqlite(path, { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const one = (q: string) => db.prepare(q).pluck().get();
      expect(one('select count(*) from spans')).toBe(2 * count);
      expect(one('select count(distinct span_id) from spans')).toBe(2 * count);
      expect(one('select count(*) from span_attributes')).toBe(2 * count * 2);
      expect(one('select count(*) from span_events')).toBe(2 * count * 2);
      // 97 traces written by both processes: one row each, spanning both writers' spans.
      expect(one('select count(*) from traces')).toBe(97);
      expect(one('select count(*) from traces where root_span_id is null')).toBe(0);
      expect(one('select count(*) from metric_series')).toBe(3);
      expect(
        db
          .prepare(
            'select count(*) from traces t where start_time != (select min(start_time) from spans s where s.trace_id = t.trace_id) or end_time != (select max(end_time) from spans s where s.trace_id = t.trace_id)',
          )
          .pluck()
          .get(),
      ).toBe(0);
    } finally {
      db.close();
    }
    const sink = createSqliteSink({ path, retentionIntervalMs: 0 });
    const series = await sink.queryMetrics('work', {
      query_type: 'instant',
      start_time: 0,
      end_time: 2_000_000_000,
    });
    expect(series.map((s) => [s.labels, s.values[0]!.value])).toEqual([
      [[{ name: 'shard', value: '0' }], 4000],
      [[{ name: 'shard', value: '1' }], 4000],
      [[{ name: 'shard', value: '2' }], 4000],
    ]);
    await sink.shutdown();
  });
});

describe('kill -9 during sustained writes', () => {
  it.each([1, 2, 3])(
    'leaves a sound database that lost at most the batch in flight (run %i)',
    async (run) => {
      const path = join(tmp.dir, `killed-${run}.db`);
      const batch = 200;
      let lastCommitted = 0;
      // Kill after a varying number of batches, while the writer is busy with the next one.
      const killAfter = 10 + run * 7;
      const result = await runNode(
        childScript('endless-writer.mjs'),
        [path, String(batch)],
        {},
        (line, child) => {
          const m = /^committed (\d+)$/.exec(line);
          if (!m) return;
          lastCommitted = Number(m[1]);
          if (lastCommitted >= killAfter * batch) child.kill('SIGKILL');
        },
      );
      expect(result.signal).toBe('SIGKILL');
      expect(result.stderr).toBe('');

      const db = new Sqlite(path);
      let spans: number;
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        spans = db.prepare('select count(*) from spans').pluck().get() as number;
        // Every batch reported as written is there; at most one more (written, not yet reported) may be.
        expect([lastCommitted, lastCommitted + batch]).toContain(spans);
        // Batches are whole: each span has its five attributes and its log, no more, no less.
        expect(db.prepare('select count(*) from span_attributes').pluck().get()).toBe(spans * 5);
        expect(db.prepare('select count(*) from span_events').pluck().get()).toBe(spans);
        expect(db.prepare('select count(*) from traces').pluck().get()).toBe(spans / 10);
      } finally {
        db.close();
      }
      // And the store opens and answers again.
      const sink = createSqliteSink({ path, retentionIntervalMs: 0 });
      expect((await sink.queryTraces({ limit: 10_000 })).length).toBe(spans / 10);
      await sink.shutdown();
    },
  );
});
