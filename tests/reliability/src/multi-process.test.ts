/**
 * Two processes write one SQLite file while a third queries it, as the
 * workers of a web server and a viewer would: no error reaches anyone, every
 * row of both writers is there, and each query's latency under those writes
 * is reported.
 */
import { join } from 'node:path';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import { expect, it } from 'vitest';
import { recordOf, scratchDir, start } from './support/children.ts';
import { recordFigures, total } from './support/figures.ts';
import { auditStore } from './support/store-file.ts';

const TRACES = 2_500;
/** Per trace: root, retrieve (a log), infer (a metric) and its tool. */
const SPANS_PER_TRACE = 4;
const EVENTS_PER_TRACE = 10;
const dir = scratchDir('multi');

it('two writers and a reader on one file: no error surfaced, all rows present, query latency reported', async () => {
  const sqlitePath = join(dir, 'shared.db');
  // The reader first, on the file the writers are about to create.
  const prepare = createSqliteSink({ path: sqlitePath, retentionIntervalMs: 0 });
  await prepare.whenReady();
  await prepare.shutdown();

  const querier = start('querier', { sqlitePath });
  const writers = ['a', 'b'].map((label) =>
    start('writer', { sqlitePath, label, traces: TRACES, tracesPerChunk: 25 }),
  );
  const written = await Promise.all(writers.map((w) => w.result));
  querier.send('stop');
  const queried = await querier.result;

  for (const [i, result] of written.entries()) {
    expect(result.code, result.stderr).toBe(0);
    // Nothing was printed: no busy error, no retry, no drop.
    expect(result.stderr).toBe('');
    const done = recordOf(result, 'done');
    expect(done.flushed, `writer ${i}`).toBe(true);
    expect(done.stats.sinks.sqlite).toEqual({
      delivered: TRACES * EVENTS_PER_TRACE,
      dropped: {},
      failed: 0,
      pending: 0,
    });
  }
  expect(queried.code, queried.stderr).toBe(0);
  const reads = recordOf(queried, 'done');
  expect(reads.errors).toEqual([]);
  expect(reads.rounds).toBeGreaterThan(0);

  // Every row of both writers, once, whole.
  const audit = auditStore(sqlitePath);
  expect(audit).toMatchObject({
    integrity: 'ok',
    spans: 2 * TRACES * SPANS_PER_TRACE,
    distinctSpans: 2 * TRACES * SPANS_PER_TRACE,
    traces: 2 * TRACES,
    orphans: 0,
    crossTraceParents: 0,
    spansWithoutTrace: 0,
    traceCountMismatches: 0,
  });
  const store = createSqliteSink({ path: sqlitePath, retentionIntervalMs: 0 });
  try {
    for (const writer of ['a', 'b']) {
      const traces = await store.queryTraces({
        attribute_filters: [{ key: 'writer', op: 'eq', value: writer }],
        limit: 10 * TRACES,
      });
      expect(traces, writer).toHaveLength(TRACES);
    }
    const stats = await store.storeStats();
    expect(stats).toMatchObject({ traces: 2 * TRACES, spans: 2 * TRACES * SPANS_PER_TRACE });
    expect(stats.services.map((s) => [s.service_name, s.traces])).toEqual(
      expect.arrayContaining([
        ['a', TRACES],
        ['b', TRACES],
      ]),
    );
  } finally {
    await store.shutdown();
  }

  const summary = reads.summary as Record<string, { count: number; maxMs: number; p99Ms: number }>;
  const longest = Object.entries(summary).sort((x, y) => y[1].maxMs - x[1].maxMs)[0]!;
  recordFigures({
    scenario: 'two writer processes + one reader on one SQLite file',
    accepted: written.reduce((a, r) => a + recordOf(r, 'done').stats.accepted, 0),
    lostCounted: Object.fromEntries(
      written.map((r, i) => [
        `writer ${'ab'[i]}`,
        total(recordOf(r, 'done').stats.sinks.sqlite.dropped),
      ]),
    ),
    lostUncounted: 2 * TRACES * SPANS_PER_TRACE - audit.spans,
    queryMaxMs: longest[1].maxMs,
    queryUnderWrites: true,
    note: `${reads.rounds} rounds of ${Object.keys(summary).length} queries; longest: ${longest[0]}; p99 per query: ${Object.entries(
      summary,
    )
      .map(([name, s]) => `${name} ${s.p99Ms.toFixed(1)} ms`)
      .join(', ')}`,
  });
});
