/**
 * Writes traces into a SQLite file without end, saying every few
 * milliseconds how many events the store has committed (`delivered`) and how
 * many the pipeline has accepted: the test kills it with SIGKILL at some
 * point. With `traces` set, it writes that many and shuts down instead.
 */
import { createTelemetry } from '@telemetry/core';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import { emit, scenario, warnToStderr } from './common.ts';

const cfg = scenario<{
  sqlitePath: string;
  /** Traces of a root, two children and a log per chunk. */
  tracesPerChunk: number;
  /** Stop after this many traces and shut down (a clean run). */
  traces?: number;
  label: string;
}>();

const store = createSqliteSink({ path: cfg.sqlitePath });
const telemetry = createTelemetry({ sinks: [store], warn: warnToStderr });
const logger = telemetry.createLogger('ingest');

let traces = 0;
function progress(): void {
  const stats = telemetry.stats();
  emit({
    event: 'progress',
    traces,
    accepted: stats.accepted,
    delivered: stats.sinks.sqlite!.delivered,
  });
}
const timer = setInterval(progress, 10);

while (cfg.traces === undefined || traces < cfg.traces) {
  for (let i = 0; i < cfg.tracesPerChunk; i++) {
    telemetry.withTrace(`${cfg.label} ${traces}`, (root) => {
      root.setAttribute('run', cfg.label);
      telemetry.withSpan('retrieve', () => logger.info('found 3 documents'));
      telemetry.withSpan('infer', (span) => span.metric('tokens', 42, 'tokens'));
    });
    traces += 1;
  }
  await new Promise((resolve) => setImmediate(resolve));
}
clearInterval(timer);
await telemetry.shutdown({ timeoutMs: 120_000 });
progress();
emit({ event: 'shut down', stats: telemetry.stats() });
