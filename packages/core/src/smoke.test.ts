import { createMemorySink, createTelemetry } from '@telemetry/core';
import { describe, expect, it } from 'vitest';

describe('smoke', () => {
  it('records a nested trace', async () => {
    const sink = createMemorySink();
    const t = createTelemetry({ sinks: [sink] });
    await t.withTrace('root', async () => {
      await t.withSpan('child', async (s) => {
        s.log('hello');
        s.metric('tokens', 3, 'tokens');
      });
    });
    await t.flush();
    expect(sink.spans.map((s) => s.name)).toEqual(['child', 'root']);
    expect(sink.spans[0]!.events.length).toBe(2);
    expect(t.stats().sinks.memory).toMatchObject({ delivered: 6, pending: 0 });
    await t.shutdown();
  });
});
