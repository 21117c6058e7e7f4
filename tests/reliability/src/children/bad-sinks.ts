/**
 * Sinks that misbehave next to a healthy one: one throws (synchronously, an
 * Error or `undefined`) or rejects, one never settles anything (writes,
 * forceFlush, shutdown). The application must never see either, the healthy
 * SQLite sink must get everything, and the process must end on time.
 */
import { createTelemetry, type TelemetrySink } from '@telemetry/core';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import { after, emit, scenario, warnToStderr } from './common.ts';

const cfg = scenario<{
  sqlitePath: string;
  traces: number;
  flushTimeoutMs: number;
  shutdownTimeoutMs: number;
}>();

let calls = 0;
const thrower: TelemetrySink = {
  name: 'thrower',
  writeSpans() {
    calls += 1;
    if (calls % 3 === 0) throw new Error('the thrower failed');
    if (calls % 3 === 1) throw undefined;
    return Promise.reject(new TypeError('the thrower rejected'));
  },
  writeEvents() {
    throw null;
  },
};
const never = new Promise<never>(() => {});
const stuck: TelemetrySink = {
  name: 'stuck',
  writeSpans: () => never,
  writeEvents: () => never,
  forceFlush: () => never,
  shutdown: () => never,
};

const telemetry = createTelemetry({
  sinks: [thrower, stuck, createSqliteSink({ path: cfg.sqlitePath })],
  warn: warnToStderr,
});

let seenByApplication = 0;
for (let i = 0; i < cfg.traces; i++) {
  try {
    telemetry.withTrace(`request ${i}`, () => telemetry.withSpan('step', () => {}));
  } catch {
    seenByApplication += 1;
  }
  if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
}

// The healthy sink gets all it was handed before the short deadlines start:
// they are for the bad sinks, and SQLite on a loaded machine can need more
// than the flush's second for 20,000 events. The wall limit catches a hang.
while (telemetry.stats().sinks.sqlite!.pending > 0) {
  await new Promise((resolve) => setTimeout(resolve, 10));
}

let started = performance.now();
const flushed = await telemetry.flush({ timeoutMs: cfg.flushTimeoutMs });
emit({ event: 'flushed', flushed, ms: performance.now() - started, stats: telemetry.stats() });
started = performance.now();
await telemetry.shutdown({ timeoutMs: cfg.shutdownTimeoutMs });
emit({
  event: 'shut down',
  ms: performance.now() - started,
  stats: telemetry.stats(),
  seenByApplication,
});
after();
