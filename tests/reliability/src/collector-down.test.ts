/**
 * Issue 11, item 1: the collector goes away between two bursts, in each way a
 * collector fails (nothing listening, 503 with Retry-After, no answer, the
 * connection reset). The first burst was delivered; the second cannot be.
 * flush() and shutdown() settle at their deadlines, the script goes on and
 * the process exits, and the loss is counted exactly: what the collector
 * accepted is delivered, everything else is `shutdown_timeout`, named once.
 */
import { join } from 'node:path';
import {
  type OtlpReceiver,
  type OtlpResponder,
  startOtlpReceiver,
} from '@telemetry/test-support/otlp-receiver';
import { afterAll, describe, expect, it } from 'vitest';
import { recordOf, scratchDir, shutdownSummary, start } from './support/children.ts';
import { recordFigures } from './support/figures.ts';
import { auditStore } from './support/store-file.ts';

const TRACES = 300;
/** Per trace: root and child (start and end each) and the child's metric. */
const EVENTS = 5 * TRACES;
const FLUSH_MS = 1_000;
const SHUTDOWN_MS = 1_500;
/**
 * A hang detector, not a speed limit: the exporter's own request timeout is set to
 * 10 minutes (see children/export.ts), so a flush or shutdown that waited for the
 * exporter instead of its own deadline would take minutes; one that keeps its
 * deadline settles within it plus whatever a loaded machine adds to a timer.
 */
const SETTLED_MS = 60_000;

const dir = scratchDir('collector');
const receivers: OtlpReceiver[] = [];
afterAll(() => Promise.all(receivers.map((r) => r.close())));

type Failure = 'nothing listening' | '503 with Retry-After' | 'no answer' | 'connection reset';
const FAILURES: Record<Exclude<Failure, 'nothing listening'>, OtlpResponder> = {
  '503 with Retry-After': () => ({ status: 503, headers: { 'retry-after': '1' } }),
  'no answer': () => ({ status: 200, hang: true }),
  'connection reset': () => ({ status: 200, reset: true }),
};

describe.concurrent('the collector goes away between two bursts', () => {
  for (const failure of [
    'nothing listening',
    '503 with Retry-After',
    'no answer',
    'connection reset',
  ] as const) {
    it(`${failure}: flush and shutdown settle at their deadlines, the first burst is delivered, the second counted as lost`, async () => {
      const receiver = await startOtlpReceiver();
      receivers.push(receiver);
      const sqlitePath = join(dir, `${failure.replace(/\W+/g, '-')}.db`);
      const child = start(
        'export',
        {
          endpoint: receiver.tracesUrl,
          sqlitePath,
          traces: TRACES,
          flushTimeoutMs: FLUSH_MS,
          shutdownTimeoutMs: SHUTDOWN_MS,
        },
        {
          // The process must end by itself: one that does not is killed long before the
          // run's own timeout, so that the failure says so.
          wallLimitMs: 180_000,
          onLine: (line) => {
            if (!line.startsWith('{"event":"first flush"')) return;
            // The first burst is in; now the collector fails, then the second burst comes.
            const go = () => child.send('go');
            if (failure === 'nothing listening') void receiver.stop().then(go);
            else {
              receiver.respondWith(FAILURES[failure]);
              go();
            }
          },
        },
      );
      const result = await child.result;
      const first = recordOf(result, 'first flush');
      const flushed = recordOf(result, 'flushed');
      const shutdown = recordOf(result, 'shut down');

      // The script went on after each await, and the process ended by itself, at once.
      expect(result.code, result.stderr).toBe(0);
      expect(recordOf(result, 'after')).toBeDefined();
      // Were it still running 2 s later, it would say what keeps it alive: nothing may.
      const alive = result.records.find((r) => r.event === 'still alive');
      expect(alive?.resources ?? []).toEqual([]);

      expect(first.flushed).toBe(true);
      expect(first.stats.sinks.otel).toMatchObject({ delivered: EVENTS, pending: 0 });
      expect(flushed.flushed).toBe(false);
      expect(flushed.ms).toBeGreaterThanOrEqual(FLUSH_MS - 20);
      expect(flushed.ms).toBeLessThan(FLUSH_MS + SETTLED_MS);
      expect(shutdown.ms).toBeGreaterThanOrEqual(SHUTDOWN_MS - 20);
      expect(shutdown.ms).toBeLessThan(SHUTDOWN_MS + SETTLED_MS);

      // Exactly: the collector holds the first burst's spans, once each, and nothing of the
      // second; the sink delivered the first burst's events and lost the second's.
      expect(receiver.spanIds.size).toBe(2 * TRACES);
      expect(receiver.spanCount()).toBe(2 * TRACES);
      const otel = shutdown.stats.sinks.otel;
      expect(otel).toMatchObject({
        delivered: EVENTS,
        pending: 0,
        dropped: { shutdown_timeout: EVENTS },
      });
      // The healthy sink beside it got both bursts.
      expect(shutdown.stats.sinks.sqlite).toMatchObject({
        delivered: 2 * EVENTS,
        dropped: {},
        pending: 0,
      });
      expect(auditStore(sqlitePath)).toMatchObject({ integrity: 'ok', spans: 4 * TRACES });

      // One line says so, with the exact count.
      const summary = shutdownSummary(result.stderr);
      expect(summary.lines).toHaveLength(1);
      expect(summary.lost).toEqual({ otel: EVENTS });

      recordFigures({
        scenario: `collector down at shutdown: ${failure}`,
        accepted: shutdown.stats.accepted,
        lostCounted: { otel: EVENTS },
        lostUncounted: 2 * EVENTS - otel.delivered - otel.dropped.shutdown_timeout,
        flushMs: flushed.ms,
        shutdownMs: shutdown.ms,
        note: `deadlines ${FLUSH_MS} / ${SHUTDOWN_MS} ms; ${receiver.requests.length} requests reached the receiver`,
      });
    });
  }
});
