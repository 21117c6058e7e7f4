/**
 * A script exporting to a collector that goes away (stops listening, answers
 * 503, hangs, or resets connections) between two bursts: the first burst is
 * delivered, the second never can be; flush() and shutdown() must settle at
 * their deadlines and count exactly what was lost.
 */
import { createTelemetry } from '@telemetry/core';
import { createOtelSink } from '@telemetry/sink-otel';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import { after, emit, nextLine, scenario, warnToStderr } from './common.ts';

const cfg = scenario<{
  endpoint: string;
  sqlitePath: string;
  /** Traces per burst: a root and a child with a metric, 5 events. */
  traces: number;
  flushTimeoutMs: number;
  shutdownTimeoutMs: number;
}>();

const telemetry = createTelemetry({
  sinks: [
    createOtelSink({
      endpoint: cfg.endpoint,
      serviceName: 'reliability-export',
      // Far beyond the pipeline's deadlines: were flush() or shutdown() to wait for the
      // exporter's own timers, the test would see minutes, not a loaded machine's seconds.
      timeoutMillis: 600_000,
    }),
    createSqliteSink({ path: cfg.sqlitePath }),
  ],
  warn: warnToStderr,
});

function burst(label: string): void {
  for (let i = 0; i < cfg.traces; i++) {
    telemetry.withTrace(`${label} ${i}`, () =>
      telemetry.withSpan('step', (span) => span.metric('tokens', 1, 'tokens')),
    );
  }
}

burst('delivered');
// The collector is up: this flush has all the time it needs.
const first = await telemetry.flush({ timeoutMs: 120_000 });
emit({ event: 'first flush', flushed: first, stats: telemetry.stats() });

// The test takes the collector away, then says go.
await nextLine();
burst('lost');
let started = performance.now();
const flushed = await telemetry.flush({ timeoutMs: cfg.flushTimeoutMs });
emit({ event: 'flushed', flushed, ms: performance.now() - started, stats: telemetry.stats() });
started = performance.now();
await telemetry.shutdown({ timeoutMs: cfg.shutdownTimeoutMs });
emit({ event: 'shut down', ms: performance.now() - started, stats: telemetry.stats() });
after();
