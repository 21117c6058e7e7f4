import {
  type CompletedSpan,
  createMemorySink,
  createTelemetry,
  type MemorySink,
  type Telemetry,
} from '@telemetry/core';
import { afterEach } from 'vitest';

/**
 * A registered pipeline with a memory sink, shut down after each test.
 * `setup()` makes a fresh one (registering it replaces the previous one).
 */
export function usePipeline() {
  const pipeline = {
    telemetry: undefined as unknown as Telemetry,
    sink: undefined as unknown as MemorySink,
    setup(): void {
      pipeline.sink = createMemorySink();
      pipeline.telemetry = createTelemetry({ sinks: [pipeline.sink] }).register();
    },
    /** Flushes, then returns every span the memory sink received. */
    async spans(): Promise<CompletedSpan[]> {
      await pipeline.telemetry.flush();
      return pipeline.sink.spans;
    },
  };
  afterEach(async () => {
    await pipeline.telemetry?.shutdown();
  });
  return pipeline;
}
