/**
 * What a child process of process.test.ts does, as a plain script would: log
 * traces, flush, shut down, and say what happened as JSON lines on stdout.
 * Bundled from source (core and the sinks included) by child-processes.ts.
 */
import { createTelemetry, type TelemetrySink } from '@telemetry/core';
import { createConsoleSink } from '@telemetry/sink-console';
import { createOtelSink } from '@telemetry/sink-otel';
import { createSqliteSink } from '@telemetry/sink-sqlite';

export interface ScenarioConfig {
  readonly sinks: readonly ('console' | 'sqlite' | 'otel')[];
  /** OTLP traces URL. */
  readonly endpoint: string;
  readonly traces: number;
  readonly flushTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  readonly sqlitePath?: string;
  readonly maxExportBatchSize?: number;
}

export function emit(record: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

export function config(): ScenarioConfig {
  return JSON.parse(process.env.SCENARIO ?? '{}') as ScenarioConfig;
}

/** Traces of two spans each, the child with a metric: 5 events per trace. */
export async function scenario(cfg: ScenarioConfig): Promise<void> {
  const sinks: TelemetrySink[] = [];
  let otel: ReturnType<typeof createOtelSink> | undefined;
  let sqlite: ReturnType<typeof createSqliteSink> | undefined;
  for (const name of cfg.sinks) {
    if (name === 'console') sinks.push(createConsoleSink());
    if (name === 'sqlite') {
      sqlite = createSqliteSink({ path: cfg.sqlitePath! });
      sinks.push(sqlite);
    }
    if (name === 'otel') {
      otel = createOtelSink({
        endpoint: cfg.endpoint,
        ...(cfg.maxExportBatchSize ? { maxExportBatchSize: cfg.maxExportBatchSize } : {}),
      });
      sinks.push(otel);
    }
  }
  const telemetry = createTelemetry({ sinks, shutdownTimeoutMs: cfg.shutdownTimeoutMs });
  for (let i = 0; i < cfg.traces; i++) {
    telemetry.withTrace(`request ${i}`, () => {
      telemetry.withSpan('step', (span) => span.metric('tokens', i, 'tokens'));
    });
  }

  let started = performance.now();
  const flushed = await telemetry.flush({ timeoutMs: cfg.flushTimeoutMs });
  const flushMs = performance.now() - started;
  const stored = sqlite ? (await sqlite.queryTraces({ limit: 1_000 })).length : undefined;
  emit({ event: 'flushed', flushed, ms: flushMs, stats: telemetry.stats(), stored });

  started = performance.now();
  await telemetry.shutdown();
  const shutdownMs = performance.now() - started;
  // A moment for handles being closed (a socket destroyed at the deadline) to go.
  await new Promise((resolve) => setTimeout(resolve, 50));
  emit({
    event: 'shut down',
    ms: shutdownMs,
    stats: telemetry.stats(),
    otel: otel?.stats(),
    // What still keeps the event loop alive (unref'd timers and idle sockets are not listed).
    resources: process.getActiveResourcesInfo(),
  });
}

/** After the script's last await: a timer that may not keep the process alive, and says so if it was kept. */
export function after(): void {
  emit({ event: 'after', at: Date.now() });
  setTimeout(() => emit({ event: 'still alive 2 s after shutdown' }), 2_000).unref();
}
