/**
 * Issue 11, items 7 and 1: a burst of 100,000 spans into console (JSON lines
 * to a file), SQLite and OTLP with default options, then a graceful shutdown:
 * nothing is lost anywhere, each span arrives once in each sink.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type OtlpReceiver, startOtlpReceiver } from '@telemetry/test-support/otlp-receiver';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { recordOf, run, scratchDir } from './support/children.ts';
import { recordFigures, total } from './support/figures.ts';
import { auditStore } from './support/store-file.ts';

const SPANS = 100_000;
const EVENTS = 2 * SPANS;
const dir = scratchDir('burst');
let receiver: OtlpReceiver;

beforeAll(async () => {
  receiver = await startOtlpReceiver({ storeSpans: false });
});
afterAll(() => receiver?.close());

it('100,000 spans into console (a file), SQLite and OTLP, then shutdown(): every span arrives once in every sink', async () => {
  const consolePath = join(dir, 'console.jsonl');
  const sqlitePath = join(dir, 'burst.db');
  const result = await run('burst', {
    traces: SPANS / 2,
    consolePath,
    sqlitePath,
    endpoint: receiver.tracesUrl,
    // Graceful means: as long as delivery takes. The default 10 s is a bound for a
    // quiet machine; this one may be running every package's tests.
    shutdownTimeoutMs: 300_000,
  });
  const shutdown = recordOf(result, 'shut down');
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).toBe('');

  // What the pipeline says: all accepted, all delivered, nothing dropped or pending.
  const stats = shutdown.stats;
  expect(stats.accepted).toBe(EVENTS);
  expect(stats.dropped).toEqual({});
  for (const sink of ['console', 'sqlite', 'otel']) {
    expect(stats.sinks[sink], sink).toEqual({
      delivered: EVENTS,
      dropped: {},
      failed: 0,
      pending: 0,
    });
  }

  // What arrived: every span once, in the file, the store and the collector.
  const ended = new Set<string>();
  let endLines = 0;
  for (const line of readFileSync(consolePath, 'utf8').split('\n')) {
    if (!line.includes('"span_end"')) continue;
    endLines += 1;
    ended.add(JSON.parse(line).span_id);
  }
  expect(endLines).toBe(SPANS);
  expect(ended.size).toBe(SPANS);

  const audit = auditStore(sqlitePath);
  expect(audit).toMatchObject({
    integrity: 'ok',
    spans: SPANS,
    distinctSpans: SPANS,
    traces: SPANS / 2,
    orphans: 0,
    crossTraceParents: 0,
  });

  expect(receiver.spanCount()).toBe(SPANS);
  expect(receiver.spanIds.size).toBe(SPANS);

  const lost = {
    console: total(stats.sinks.console.dropped),
    sqlite: total(stats.sinks.sqlite.dropped),
    otel: total(stats.sinks.otel.dropped),
  };
  recordFigures({
    scenario: 'burst: 100k spans, console file + SQLite + OTLP, graceful shutdown',
    accepted: stats.accepted,
    lostCounted: lost,
    lostUncounted:
      3 * EVENTS - 2 * (ended.size + audit.spans + receiver.spanIds.size) - total(lost),
    shutdownMs: shutdown.ms,
    note: `burst logged in ${Math.round(recordOf(result, 'burst').ms)} ms; child max RSS ${shutdown.maxRssMb} MB`,
  });
});
