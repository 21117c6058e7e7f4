/**
 * Many writers on one database: four processes write 25,000 spans each
 * through real pipelines while this process (the fifth) searches, walks
 * trees and tails the store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresSink } from '@telemetry/sink-postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runChild } from './test-support/child.ts';
import { adminQuery, createDatabase } from './test-support/databases.ts';

const WRITERS = 4;
const SPANS_PER_WRITER = 25_000;
const TOTAL = WRITERS * SPANS_PER_WRITER;

let url: string;
beforeAll(async () => {
  url = await createDatabase(inject('postgresUrl'), `writers_${process.pid}`);
});
afterAll(async () => {
  await adminQuery(
    inject('postgresUrl'),
    `drop database if exists writers_${process.pid} with (force)`,
  );
});

describe('four processes writing one database while a fifth queries', () => {
  it('stores all 100,000 spans, surfaces no error, and queries see whole trees', async () => {
    const reader = createPostgresSink({ connectionString: url, retentionIntervalMs: 0 });
    try {
      await reader.whenReady();
      let cursor = (await reader.tailSpans({ limit: 0 })).cursor;
      const tailed = new Set<string>();
      let duplicatesTailed = 0;
      const poll = async () => {
        for (;;) {
          const page = await reader.tailSpans({ cursor, limit: 1000 });
          for (const s of page.spans) {
            if (tailed.has(s.span_id)) duplicatesTailed++;
            tailed.add(s.span_id);
          }
          cursor = page.cursor;
          if (!page.more) return;
        }
      };
      let treesChecked = 0;
      const problems: string[] = [];
      const check = async () => {
        const page = await reader.searchTraces({ limit: 20 });
        for (const t of page.traces) {
          // The root ends last, so a listed trace has all of its spans, written before it or with it.
          if (t.span_count !== 10) problems.push(`${t.trace_id}: span_count ${t.span_count}`);
          const tree = await reader.getSpanTree(t.root_span_id!);
          const spans = Object.values(tree);
          const ids = new Set(Object.keys(tree));
          if (spans.length !== 10) problems.push(`${t.trace_id}: tree of ${spans.length}`);
          for (const s of spans) {
            if (s.trace_id !== t.trace_id) problems.push(`${s.span_id}: in ${s.trace_id}`);
            if (s.span_id !== t.root_span_id && !ids.has(s.parent_span_id ?? '')) {
              problems.push(`${s.span_id}: parent ${s.parent_span_id} not in the tree`);
            }
          }
          treesChecked++;
        }
      };
      // The writers start producing together, once all are connected.
      const barrier = mkdtempSync(join(tmpdir(), 'telemetry-writers-'));
      const children = Array.from({ length: WRITERS }, (_, i) =>
        runChild('writer-child.mjs', [
          url,
          String(i + 1),
          String(SPANS_PER_WRITER),
          barrier,
          String(WRITERS),
        ]),
      );
      let running = true;
      const all = Promise.all(children).finally(() => {
        running = false;
      });
      while (running) {
        await check();
        await poll();
        await new Promise((r) => setTimeout(r, 25));
      }
      const results = await all;
      rmSync(barrier, { recursive: true, force: true });
      for (const r of results) {
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const summary = JSON.parse(r.stdout);
        expect(summary).toMatchObject({ thrown: 0, flushed: true, warnings: [] });
        expect(summary.sink).toMatchObject({ dropped: {}, failed: 0, pending: 0 });
        expect(summary.sink.delivered).toBe(summary.accepted);
      }
      // They wrote at the same time.
      const spans = results.map((r) => JSON.parse(r.stdout) as { began: number; ended: number });
      expect(Math.max(...spans.map((s) => s.began))).toBeLessThan(
        Math.min(...spans.map((s) => s.ended)),
      );
      const stats = await reader.storeStats();
      expect([stats.spans, stats.traces]).toEqual([TOTAL, TOTAL / 10]);
      expect(stats.services.map((s) => [s.service_name, s.traces, s.spans]).sort()).toEqual(
        Array.from({ length: WRITERS }, (_, i) => [
          `writer-${i + 1}`,
          TOTAL / WRITERS / 10,
          TOTAL / WRITERS,
        ]),
      );
      await check();
      expect(problems).toEqual([]);
      expect(treesChecked).toBeGreaterThan(20);
      // The tail saw every span once, in write order, although the writers committed concurrently.
      for (const deadline = Date.now() + 15_000; tailed.size < TOTAL && Date.now() < deadline; ) {
        await poll();
        await new Promise((r) => setTimeout(r, 50));
      }
      expect([tailed.size, duplicatesTailed]).toEqual([TOTAL, 0]);
    } finally {
      await reader.shutdown();
    }
  }, 240_000);
});
