/**
 * Issue 11 (and the design's promise): a process killed with SIGKILL while it
 * writes to SQLite leaves a file that passes integrity_check, keeps every
 * event the store had committed, loses at most what was in flight, and takes
 * the next writer as if nothing happened. Three kills at different moments,
 * on one file, then a clean run.
 */
import { join } from 'node:path';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import { expect, it } from 'vitest';
import { recordOf, run, scratchDir, start } from './support/children.ts';
import { recordFigures } from './support/figures.ts';
import { auditStore, storedEvents } from './support/store-file.ts';

/** Per trace: root, retrieve (with a log), infer (with a metric). */
const EVENTS_PER_TRACE = 8;
const SPANS_PER_TRACE = 3;
const dir = scratchDir('kill9');

interface Progress {
  readonly traces: number;
  readonly accepted: number;
  readonly delivered: number;
}

it('SIGKILL mid-ingest, three times on one file: integrity ok, committed data kept, loss at most what was in flight, the next writer goes on', async () => {
  const sqlitePath = join(dir, 'killed.db');
  const rounds: { committedBefore: number; inFlight: number; stored: number; lost: number }[] = [];
  let storedBefore = 0;
  let eventsBefore = 0;
  for (const [round, killAt] of [3_000, 9_000, 20_000].entries()) {
    let last: Progress | undefined;
    let killed: Progress | undefined;
    const child = start(
      'ingest',
      { sqlitePath, tracesPerChunk: 25, label: `round ${round}` },
      {
        onLine: (line, process) => {
          if (!line.startsWith('{"event":"progress"')) return;
          last = JSON.parse(line) as Progress;
          // Kill once the store has committed this round's share, in the middle of the stream.
          if (!killed && last.delivered >= killAt) {
            killed = last;
            process.kill('SIGKILL');
          }
        },
      },
    );
    const result = await child.result;
    expect(result.signal, result.stderr).toBe('SIGKILL');
    expect(killed, 'the writer never got that far').toBeDefined();

    const audit = auditStore(sqlitePath, { readOnly: false });
    expect(audit.integrity).toBe('ok');
    expect(audit.spans).toBe(audit.distinctSpans);
    // A batch of spans and the rows of their traces are one transaction: all or nothing.
    expect(audit.spansWithoutTrace).toBe(0);
    expect(audit.traceCountMismatches).toBe(0);
    // Whatever the store had committed when last seen (the last progress line) is still
    // there: the loss is at most what was in flight. Counted in events: a stored span
    // stands for its start and end, and each trace has one log and one metric.
    const rows = storedEvents(sqlitePath) - eventsBefore;
    expect(rows).toBeGreaterThanOrEqual(last!.delivered);
    rounds.push({
      committedBefore: last!.delivered,
      inFlight: last!.accepted - last!.delivered,
      stored: rows,
      lost: last!.accepted - rows,
    });
    eventsBefore += rows;
    storedBefore = audit.spans;
  }

  // The next writer opens the file, writes, and shuts down cleanly; the store answers.
  const clean = await run('ingest', {
    sqlitePath,
    tracesPerChunk: 25,
    traces: 500,
    label: 'after the kills',
  });
  expect(clean.code, clean.stderr).toBe(0);
  expect(recordOf(clean, 'shut down').stats.sinks.sqlite).toEqual({
    delivered: 500 * EVENTS_PER_TRACE,
    dropped: {},
    failed: 0,
    pending: 0,
  });
  const audit = auditStore(sqlitePath);
  expect(audit.integrity).toBe('ok');
  expect(audit.spans - storedBefore).toBe(500 * SPANS_PER_TRACE);

  const store = createSqliteSink({ path: sqlitePath, retentionIntervalMs: 0 });
  try {
    const after = await store.queryTraces({
      attribute_filters: [{ key: 'run', op: 'eq', value: 'after the kills' }],
      limit: 1_000,
    });
    expect(after).toHaveLength(500);
    const tree = await store.getSpanTree(after[0]!.root_span_id);
    expect(Object.keys(tree)).toHaveLength(SPANS_PER_TRACE);
    expect((await store.storeStats()).traces).toBe(audit.traces);
  } finally {
    await store.shutdown();
  }

  recordFigures({
    scenario: 'kill -9 mid-ingest into SQLite (3 kills, one file)',
    accepted: rounds.reduce((a, r) => a + r.stored + Math.max(0, r.lost), 0),
    lostInFlightAtKill: rounds.reduce((a, r) => a + Math.max(0, r.lost), 0),
    note: rounds
      .map(
        (r, i) =>
          `kill ${i + 1}: ${r.committedBefore} events committed when last seen, ${r.inFlight} in flight, ${r.stored} found, ${Math.max(0, r.lost)} lost`,
      )
      .join('; '),
  });
});
