/**
 * Issue 11, items 5 and 9: 1,000 concurrent traces of 15 nested spans, made
 * through the helpers (withSpan, traced, autoTrace, startTrace), plain
 * @opentelemetry/api (startActiveSpan, startSpan with context.with), timers,
 * setImmediate and microtasks; one in ten continues a caller's trace from a
 * traceparent. Every trace is listed by queryTraces, every span is in its own
 * trace under its own parent, nothing is evicted or dropped.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { recordOf, run, scratchDir } from './support/children.ts';
import { recordFigures, total } from './support/figures.ts';
import { auditStore } from './support/store-file.ts';

const TRACES = 1_000;
const DEPTH = 15;
const dir = scratchDir('concurrent');

it('1,000 concurrent traces of 15 nested spans: every trace listed, whole, no orphan, no cross-trace parent', async () => {
  const sqlitePath = join(dir, 'concurrent.db');
  const result = await run('concurrent', { sqlitePath, traces: TRACES, depth: DEPTH });
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).toBe('');
  const done = recordOf(result, 'done');
  expect(done.flushed).toBe(true);

  // Nothing evicted, refused or dropped (before: 504 of 1,000 roots evicted).
  expect(done.stats.dropped).toEqual({});
  expect(done.stats.openSpans).toBe(0);
  expect(done.stats.sinks.sqlite).toEqual({
    delivered: 2 * TRACES * DEPTH,
    dropped: {},
    failed: 0,
    pending: 0,
  });

  // Every trace is listed by queryTraces, continued ones included, each with its 15 spans.
  const created = new Set<string>(done.traceIds);
  expect(created.size).toBe(TRACES);
  expect(new Set(done.listed)).toEqual(created);
  expect(done.listed).toHaveLength(TRACES);
  const sizes = Object.values(done.treeSizes as Record<string, number>);
  expect(sizes.filter((n) => n !== DEPTH)).toEqual([]);

  // In the file: each span once, in its own trace, under a parent of its own trace (or,
  // for a continued trace's local root, a remote parent, marked as such).
  expect(auditStore(sqlitePath)).toMatchObject({
    integrity: 'ok',
    spans: TRACES * DEPTH,
    distinctSpans: TRACES * DEPTH,
    traces: TRACES,
    orphans: 0,
    // The local roots of the continued traces: their parents are the callers' spans.
    parentsOutsideTrace: TRACES / 10,
    crossTraceParents: 0,
    spansWithoutTrace: 0,
    traceCountMismatches: 0,
  });

  recordFigures({
    scenario: '1,000 concurrent traces x 15 nested spans (helpers, OTel API, timers)',
    accepted: done.stats.accepted,
    lostCounted: { sqlite: total(done.stats.sinks.sqlite.dropped) },
    lostUncounted: done.stats.accepted - 2 * TRACES * DEPTH,
    note: `ran in ${Math.round(done.ranMs)} ms`,
  });
});
