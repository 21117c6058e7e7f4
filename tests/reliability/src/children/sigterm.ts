/**
 * A service under a steady burst, with the shutdown hooks installed, that
 * receives SIGTERM in the middle of it (a deploy, Kubernetes scaling down).
 * It writes how many events the pipeline accepted to a file after every
 * chunk of work, synchronously: the process dies by the signal, so that file
 * is what it leaves behind.
 */
import { createWriteStream, openSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTelemetry, installShutdownHooks } from '@telemetry/core';
import { createConsoleSink } from '@telemetry/sink-console';
import { createOtelSink } from '@telemetry/sink-otel';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import { emit, scenario, warnToStderr } from './common.ts';

const cfg = scenario<{
  chunks: number;
  /** Traces of two spans per chunk, logged at once. */
  tracesPerChunk: number;
  /** Requests per chunk that stay open across timers (in flight when the signal comes). */
  slowPerChunk: number;
  consolePath: string;
  sqlitePath: string;
  endpoint: string;
  progressPath: string;
  hookTimeoutMs: number;
}>();

const telemetry = createTelemetry({
  sinks: [
    createConsoleSink({ stream: createWriteStream(cfg.consolePath), format: 'json' }),
    createSqliteSink({ path: cfg.sqlitePath }),
    createOtelSink({ endpoint: cfg.endpoint, serviceName: 'reliability-sigterm' }),
  ],
  warn: warnToStderr,
});
installShutdownHooks(telemetry, { timeoutMs: cfg.hookTimeoutMs });

const progress = openSync(cfg.progressPath, 'w');
let spans = 0;
function report(): void {
  const stats = telemetry.stats();
  writeSync(
    progress,
    `${JSON.stringify({ spans, accepted: stats.accepted, refused: stats.dropped.shutdown ?? 0 })}\n`,
  );
}

for (let chunk = 0; chunk < cfg.chunks; chunk++) {
  for (let i = 0; i < cfg.tracesPerChunk; i++) {
    telemetry.withTrace('request', () => telemetry.withSpan('step', () => {}));
    spans += 2;
  }
  for (let i = 0; i < cfg.slowPerChunk; i++) {
    void telemetry.withTrace('slow request', async () => {
      await sleep(20);
      await telemetry.withSpan('slow step', () => sleep(5));
    });
    spans += 2;
  }
  report();
  emit({ event: 'progress', spans });
  await new Promise((resolve) => setImmediate(resolve));
}
report();
emit({ event: 'burst done', spans });
