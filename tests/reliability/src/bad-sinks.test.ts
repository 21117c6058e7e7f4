/**
 * Issue 11, item 8: a sink that throws (an Error, `undefined`, `null`,
 * synchronously or by rejecting) and a sink that never settles anything
 * (writes, forceFlush, shutdown), next to a healthy SQLite sink. The
 * application never sees either; the healthy sink gets everything; the bad
 * ones lose everything, counted under the right reason; the process ends.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { recordOf, run, scratchDir, shutdownSummary } from './support/children.ts';
import { recordFigures, total } from './support/figures.ts';
import { auditStore } from './support/store-file.ts';

const TRACES = 5_000;
const EVENTS = 4 * TRACES;
const FLUSH_MS = 1_000;
const SHUTDOWN_MS = 1_500;
/** A hang detector, not a speed limit: the stuck sink never settles, so only a deadline ends the wait. */
const SETTLED_MS = 60_000;
const dir = scratchDir('bad-sinks');

it('a throwing sink and a sink that never resolves: nothing reaches the application, the healthy sink gets all, every loss is counted, the process ends', async () => {
  const sqlitePath = join(dir, 'healthy.db');
  const result = await run(
    'bad-sinks',
    { sqlitePath, traces: TRACES, flushTimeoutMs: FLUSH_MS, shutdownTimeoutMs: SHUTDOWN_MS },
    // The process must end by itself: one that does not is killed long before the run's timeout.
    { wallLimitMs: 180_000 },
  );
  const flushed = recordOf(result, 'flushed');
  const shutdown = recordOf(result, 'shut down');
  expect(result.code, result.stderr).toBe(0);
  expect(result.records.find((r) => r.event === 'still alive')?.resources ?? []).toEqual([]);
  expect(shutdown.seenByApplication).toBe(0);

  expect(flushed.flushed).toBe(false);
  expect(flushed.ms).toBeLessThan(FLUSH_MS + SETTLED_MS);
  expect(shutdown.ms).toBeGreaterThanOrEqual(SHUTDOWN_MS - 20);
  expect(shutdown.ms).toBeLessThan(SHUTDOWN_MS + SETTLED_MS);

  const { accepted, sinks } = shutdown.stats;
  expect(accepted).toBe(EVENTS);
  // Both of its methods fail: each batch is counted once as sink_error.
  expect(sinks.thrower).toMatchObject({
    delivered: 0,
    pending: 0,
    dropped: { sink_error: EVENTS },
  });
  expect(sinks.thrower.failed).toBeGreaterThan(0);
  // Its writes never settled: what it was handed and what waited is lost at the deadline.
  expect(sinks.stuck).toEqual({
    delivered: 0,
    dropped: { shutdown_timeout: EVENTS },
    failed: 0,
    pending: 0,
  });
  expect(sinks.sqlite).toEqual({ delivered: EVENTS, dropped: {}, failed: 0, pending: 0 });
  expect(auditStore(sqlitePath)).toMatchObject({
    integrity: 'ok',
    spans: 2 * TRACES,
    traces: TRACES,
  });

  // The errors are printed, rate limited, with the sink's name; the loss once, at shutdown.
  expect(result.stderr).toContain('sink "thrower" failed');
  const summary = shutdownSummary(result.stderr);
  expect(summary.lines).toHaveLength(1);
  expect(summary.lost).toEqual({ thrower: EVENTS, stuck: EVENTS });
  expect(
    result.stderr.split('\n').filter((l) => l.includes('"thrower" failed')).length,
  ).toBeLessThan(10);

  recordFigures({
    scenario: 'a sink that throws, one that never resolves, and SQLite',
    accepted,
    lostCounted: {
      thrower: total(sinks.thrower.dropped),
      stuck: total(sinks.stuck.dropped),
      sqlite: total(sinks.sqlite.dropped),
    },
    lostUncounted:
      3 * accepted -
      (sinks.thrower.delivered + sinks.stuck.delivered + 2 * auditStore(sqlitePath).spans) -
      total(sinks.thrower.dropped) -
      total(sinks.stuck.dropped) -
      total(sinks.sqlite.dropped),
    flushMs: flushed.ms,
    shutdownMs: shutdown.ms,
  });
});
