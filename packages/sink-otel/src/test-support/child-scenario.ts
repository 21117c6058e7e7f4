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
  emit({ event: 'shut down', ms: shutdownMs, stats: telemetry.stats(), otel: otel?.stats() });
}

/** What keeps the event loop alive, leaving out the stdio handles the process started with. */
function aliveResources(baseline: readonly string[]): string[] {
  const left = [...baseline];
  return process.getActiveResourcesInfo().filter((type) => {
    const i = left.indexOf(type);
    if (i < 0) return true;
    left.splice(i, 1);
    return false;
  });
}

const baseline = process.getActiveResourcesInfo();

/**
 * After the script's last await: a timer that does not keep the process alive.
 * Should the process still run 2 s later, it says what keeps it alive: a timer
 * or socket left behind is named; on a machine merely too busy to have exited
 * yet the list is empty (unref'd timers are not listed).
 */
export function after(): void {
  emit({ event: 'after', at: Date.now() });
  setTimeout(() => {
    // Two turns of the loop, so that handles being closed are closed.
    setImmediate(() =>
      setImmediate(() =>
        emit({ event: 'still alive 2 s after shutdown', resources: aliveResources(baseline) }),
      ),
    );
  }, 2_000).unref();
}
