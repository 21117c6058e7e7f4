import {
  createMemorySink,
  createTelemetry,
  EventSchema,
  generateSpanId,
  generateTraceId,
  isValidSpanId,
  isValidTraceId,
  parseIsoMicros,
  TelemetryValidationError,
  toIsoMicros,
} from '@telemetry/core';
import { describe, expect, it } from 'vitest';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';
const PARENT = '00f067aa0ba902b7';

// Exactly what Llama Stack's clients put on the wire.
const llamaStackJson = {
  unstructured: `{"trace_id":"${TRACE}","span_id":"${SPAN}","timestamp":"2025-03-01T12:00:00.123456","attributes":{"model":"llama","retries":2,"cached":false,"note":null},"type":"unstructured_log","message":"hello","severity":"info"}`,
  metric: `{"trace_id":"${TRACE}","span_id":"${SPAN}","timestamp":"2025-03-01T12:00:00.123456+00:00","attributes":null,"type":"metric","metric":"prompt_tokens","value":42,"unit":"tokens"}`,
  spanStart: `{"trace_id":"${TRACE}","span_id":"${SPAN}","timestamp":"2025-03-01T12:00:00.000040Z","type":"structured_log","payload":{"type":"span_start","name":"inference","parent_span_id":"${PARENT}"}}`,
  spanEnd: `{"trace_id":"${TRACE}","span_id":"${SPAN}","timestamp":"2025-03-01T12:00:00.000080Z","attributes":{},"type":"structured_log","payload":{"type":"span_end","status":"error"}}`,
};

describe('Llama Stack JSON events', () => {
  it('parses the three event kinds as they are', () => {
    const log = EventSchema.parse(JSON.parse(llamaStackJson.unstructured));
    expect(log).toEqual({
      type: 'unstructured_log',
      trace_id: TRACE,
      span_id: SPAN,
      timestamp: parseIsoMicros('2025-03-01T12:00:00.123456Z'),
      attributes: { model: 'llama', retries: 2, cached: false, note: null },
      message: 'hello',
      severity: 'info',
    });
    const metric = EventSchema.parse(JSON.parse(llamaStackJson.metric));
    expect(metric).toMatchObject({
      type: 'metric',
      metric: 'prompt_tokens',
      value: 42,
      unit: 'tokens',
      attributes: {},
    });
    const start = EventSchema.parse(JSON.parse(llamaStackJson.spanStart));
    expect(start).toMatchObject({
      payload: { type: 'span_start', name: 'inference', parent_span_id: PARENT },
    });
    const end = EventSchema.parse(JSON.parse(llamaStackJson.spanEnd));
    expect(end).toMatchObject({ payload: { type: 'span_end', status: 'error' } });
  });

  it('keeps microseconds: a 40 µs span is 40 µs', () => {
    const start = EventSchema.parse(JSON.parse(llamaStackJson.spanStart));
    const end = EventSchema.parse(JSON.parse(llamaStackJson.spanEnd));
    expect(end.timestamp - start.timestamp).toBe(40);
    expect(toIsoMicros(start.timestamp)).toBe('2025-03-01T12:00:00.000040Z');
  });

  it('accepts Dates, offsets and nanosecond digits', () => {
    const base = {
      type: 'metric',
      trace_id: TRACE,
      span_id: SPAN,
      metric: 'm',
      value: 1,
      unit: '',
    };
    const fromDate = EventSchema.parse({
      ...base,
      timestamp: new Date('2025-01-01T00:00:00.001Z'),
    });
    expect(fromDate.timestamp).toBe(Date.UTC(2025, 0, 1) * 1000 + 1000);
    const offset = EventSchema.parse({ ...base, timestamp: '2025-01-01T02:00:00.5+02:00' });
    expect(toIsoMicros(offset.timestamp)).toBe('2025-01-01T00:00:00.500000Z');
    const nanos = EventSchema.parse({ ...base, timestamp: '2025-01-01T00:00:00.123456789Z' });
    expect(toIsoMicros(nanos.timestamp)).toBe('2025-01-01T00:00:00.123456Z');
  });

  it('logEvent accepts the JSON and delivers it', async () => {
    const sink = createMemorySink();
    const t = createTelemetry({ sinks: [sink] });
    t.logEvent({ event: JSON.parse(llamaStackJson.unstructured), ttl_seconds: 60 });
    await t.flush();
    expect(sink.events).toHaveLength(1);
    expect(sink.events[0]).toMatchObject({ message: 'hello' });
    await t.shutdown();
  });
});

describe('malformed events', () => {
  const good = JSON.parse(llamaStackJson.unstructured) as Record<string, unknown>;
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['missing trace_id', { trace_id: undefined }, 'event.trace_id', /trace id/],
    ['short trace_id', { trace_id: 'abc' }, 'event.trace_id', /32 hex digits/],
    ['all-zero trace_id', { trace_id: '0'.repeat(32) }, 'event.trace_id', /not all zeros/],
    ['non-hex span_id', { span_id: 'zzzzzzzzzzzzzzzz' }, 'event.span_id', /16 hex digits/],
    ['bad timestamp', { timestamp: 'yesterday' }, 'event.timestamp', /ISO-8601/],
    ['impossible date', { timestamp: '2025-13-45T99:00:00Z' }, 'event.timestamp', /ISO-8601/],
    ['unknown severity', { severity: 'loud' }, 'event.severity', /verbose.*critical/],
    ['message not a string', { message: 42 }, 'event.message', /string/],
    [
      'nested attribute value',
      { attributes: { deep: { a: 1 } } },
      'event.attributes.deep',
      /string, number, boolean or null/,
    ],
    ['unknown type', { type: 'trace' }, 'event.type', /unstructured_log|metric|structured_log/],
  ];
  for (const [label, patch, path, message] of cases) {
    it(`rejects ${label}, naming ${path}`, () => {
      const t = createTelemetry();
      let error: unknown;
      try {
        t.logEvent({ event: { ...good, ...patch } as never });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TelemetryValidationError);
      const v = error as TelemetryValidationError;
      expect(v.code).toBe('TELEMETRY_INVALID_INPUT');
      const issue = v.issues.find((i) => i.path === path);
      expect(issue, `issues: ${JSON.stringify(v.issues)}`).toBeDefined();
      expect(issue!.message).toMatch(message);
      expect(v.message).toContain(path);
    });
  }

  it('rejects a metric with a non-finite value and a span start without a name', () => {
    const t = createTelemetry();
    const metric = JSON.parse(llamaStackJson.metric);
    expect(() => t.logEvent({ event: { ...metric, value: Number.NaN } })).toThrow(/event\.value/);
    const start = JSON.parse(llamaStackJson.spanStart);
    expect(() => t.logEvent({ event: { ...start, payload: { type: 'span_start' } } })).toThrow(
      /event\.payload\.name/,
    );
    expect(() =>
      t.logEvent({ event: { ...start, payload: { type: 'span_end', status: 'meh' } } }),
    ).toThrow(/event\.payload\.status/);
    expect(() => t.logEvent({ event: metric, ttl_seconds: -5 })).toThrow(
      /ttl_seconds: expected a positive/,
    );
  });

  it('lists every problem of one event at once', () => {
    const t = createTelemetry();
    try {
      t.logEvent({ event: { ...good, trace_id: 'x', span_id: 'y', severity: 'z' } as never });
      expect.unreachable();
    } catch (e) {
      expect((e as TelemetryValidationError).issues.map((i) => i.path)).toEqual([
        'event.trace_id',
        'event.span_id',
        'event.severity',
      ]);
      expect((e as Error).message.split('\n')[0]).toBe('Invalid event (3 problems):');
    }
  });

  it('with onInvalidEvent "drop", counts instead of throwing', () => {
    const t = createTelemetry({ onInvalidEvent: 'drop' });
    t.logEvent({ event: { ...good, trace_id: 'nope' } as never });
    expect(t.stats().dropped).toEqual({ invalid: 1 });
    expect(t.stats().accepted).toBe(0);
  });
});

describe('ids', () => {
  it('are OpenTelemetry-shaped and unique over many blocks of randomness', () => {
    const spans = new Set<string>();
    const traces = new Set<string>();
    for (let i = 0; i < 50_000; i++) {
      const span = generateSpanId();
      const trace = generateTraceId();
      expect(isValidSpanId(span)).toBe(true);
      expect(isValidTraceId(trace)).toBe(true);
      spans.add(span);
      traces.add(trace);
    }
    expect(spans.size).toBe(50_000);
    expect(traces.size).toBe(50_000);
  });
});
