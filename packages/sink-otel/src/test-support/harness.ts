import { recordingContext } from '@telemetry/core/testing';
import { createOtelSink, type OtelSinkOptions } from '@telemetry/sink-otel';
import { startOtlpReceiver } from '@telemetry/test-support/otlp-receiver';
import { afterEach } from 'vitest';

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
    /** An OTLP sink on its own, attached to a recording SinkContext (its drops and errors). */
    sink(options: OtelSinkOptions) {
      const s = createOtelSink({ env: {}, ...options });
      const recorded = recordingContext(s.name);
      s.attach?.(recorded.context);
      cleanups.push(() => s.shutdown());
      return Object.assign(recorded, { sink: s });
    },
    cleanup(fn: () => Promise<void>) {
      cleanups.push(fn);
    },
  };
}
