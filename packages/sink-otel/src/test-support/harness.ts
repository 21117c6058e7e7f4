import { createOtelSink } from '@telemetry/sink-otel';
import { afterEach } from 'vitest';
import { startOtlpReceiver } from './otlp-receiver.ts';
import { recordingContext } from './spans.ts';

/**
 * Receivers and sinks made in a test are shut down after it: sinks (and
 * anything passed to `cleanup`) first, then the receivers.
 */
export function useOtlpHarness() {
  const receivers: Array<{ close(): Promise<void> }> = [];
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((c) => c()));
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });
  return {
    async receiver(...args: Parameters<typeof startOtlpReceiver>) {
      const r = await startOtlpReceiver(...args);
      receivers.push(r);
      return r;
    },
    /** An OTLP sink attached to a recording SinkContext (its drops and errors). */
    sink(options: Parameters<typeof createOtelSink>[0]) {
      const s = createOtelSink(options);
      const recorded = recordingContext();
      s.attach(recorded.context);
      cleanups.push(() => s.shutdown());
      return Object.assign(recorded, { sink: s });
    },
    cleanup(fn: () => Promise<void>) {
      cleanups.push(fn);
    },
  };
}
