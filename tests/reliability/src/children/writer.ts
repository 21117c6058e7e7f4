/**
 * One of several processes writing one SQLite file: traces in chunks, as a
 * worker of a web server would, then a clean shutdown.
 */
import { createTelemetry } from '@telemetry/core';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import { emit, scenario, warnToStderr } from './common.ts';

const cfg = scenario<{
  sqlitePath: string;
  label: string;
  traces: number;
  tracesPerChunk: number;
}>();

const telemetry = createTelemetry({
  sinks: [createSqliteSink({ path: cfg.sqlitePath, serviceName: cfg.label })],
  warn: warnToStderr,
});
const logger = telemetry.createLogger(cfg.label);

for (let n = 0; n < cfg.traces; ) {
  for (let i = 0; i < cfg.tracesPerChunk && n < cfg.traces; i++, n++) {
    telemetry.withTrace(`${cfg.label} request`, (root) => {
      root.setAttribute('writer', cfg.label);
      root.setAttribute('n', n);
      telemetry.withSpan('retrieve', () => logger.info('found documents'));
      telemetry.withSpan('infer', (span) => {
        span.metric('tokens', n % 100, 'tokens', { writer: cfg.label });
        telemetry.withSpan('tool', () => {});
      });
    });
  }
  await new Promise((resolve) => setTimeout(resolve, 1));
}
const flushed = await telemetry.flush({ timeoutMs: 300_000 });
await telemetry.shutdown();
emit({ event: 'done', flushed, stats: telemetry.stats() });
