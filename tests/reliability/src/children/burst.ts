/**
 * A burst of spans into console (JSON lines to a file), SQLite and OTLP, then
 * a graceful shutdown: what a batch job or a busy request handler does.
 */
import { createWriteStream } from 'node:fs';
import { createTelemetry } from '@telemetry/core';
import { createConsoleSink } from '@telemetry/sink-console';
import { createOtelSink } from '@telemetry/sink-otel';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import { after, emit, maxRssMb, scenario, warnToStderr } from './common.ts';

const cfg = scenario<{
  /** Traces of two spans each. */
  traces: number;
  consolePath: string;
  sqlitePath: string;
  endpoint: string;
  shutdownTimeoutMs: number;
}>();

const file = createWriteStream(cfg.consolePath);
const telemetry = createTelemetry({
  sinks: [
    createConsoleSink({ stream: file, format: 'json' }),
    createSqliteSink({ path: cfg.sqlitePath }),
    createOtelSink({ endpoint: cfg.endpoint, serviceName: 'reliability-burst' }),
  ],
  shutdownTimeoutMs: cfg.shutdownTimeoutMs,
  warn: warnToStderr,
});

let started = performance.now();
for (let i = 0; i < cfg.traces; i++) {
  telemetry.withTrace(`request ${i}`, (root) => {
    root.setAttribute('request.index', i);
    telemetry.withSpan('step', (step) => step.setAttribute('step.index', i));
  });
}
emit({ event: 'burst', ms: performance.now() - started, stats: telemetry.stats() });

started = performance.now();
await telemetry.shutdown();
const shutdownMs = performance.now() - started;
await new Promise<void>((resolve) => file.end(resolve));
emit({ event: 'shut down', ms: shutdownMs, stats: telemetry.stats(), maxRssMb: maxRssMb() });
after();
