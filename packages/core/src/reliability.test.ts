/**
 * Issue 11, the core's part: nothing hangs, every loss is counted, hostile
 * input is refused at the door, and ordinary concurrency loses no trace.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { trace as otelTrace } from '@opentelemetry/api';
import {
  type CompletedSpan,
  createMemorySink,
  createTelemetry,
  EventSchema,
  generateSpanId,
  generateTraceId,
  nowMicros,
  parseIsoMicros,
  type TelemetryEvent,
  type TelemetryStats,
  TelemetryValidationError,
  toIsoMicros,
  withSpan,
  withTrace,
} from '@telemetry/core';
import type { TelemetrySink } from '@telemetry/core/sink';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { useChildScripts } from './test-support/child.ts';

afterEach(() => {
  vi.useRealTimers();
});

function expectBalanced(stats: TelemetryStats): void {
  for (const [name, s] of Object.entries(stats.sinks)) {
    const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
    expect(s.delivered + dropped + s.pending, `sink ${name}: ${JSON.stringify(s)}`).toBe(
      stats.accepted,
    );
  }
}

describe('every deadline of flush and shutdown bounds them, in a real process', () => {
  const children = useChildScripts();

  const REPORT = `process.stdout.write(JSON.stringify({ ms: Date.now() - started, ...result, stats: t.stats() }) + '\\n');`;

  it('a script awaiting shutdown() of a sink that never settles ends at the deadline, with the loss counted and reported once', async () => {
    const file = await children.script(`
import { createTelemetry } from '@telemetry/core';
const t = createTelemetry({
  sinks: [{ name: 'stuck', writeSpans: () => new Promise(() => {}), shutdown: () => new Promise(() => {}) }],
  shutdownTimeoutMs: 400,
  warn: (m) => process.stderr.write(m + '\\n'),
});
t.withTrace('request', () => t.withSpan('step', () => {}));
const started = Date.now();
await t.shutdown();
const result = {};
${REPORT}
`);
    const r = await children.run(file);
    // Before: the deadline's timer was unref'd, so Node exited with code 13 here, printing nothing.
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.ms).toBeGreaterThanOrEqual(390);
    expect(report.ms).toBeLessThan(5_000);
    expect(report.stats.sinks.stuck).toEqual({
      delivered: 0,
      dropped: { shutdown_timeout: 4 },
      failed: 0,
      pending: 0,
    });
    expect(r.stderr).toBe(
      '[telemetry] shutdown: not everything was delivered: sink "stuck" lost 4 (shutdown_timeout: 4). See stats().\n',
    );
  });

  it('flush() with a stalled event sink resolves false at its deadline and the script goes on; shutdown() then ends in time', async () => {
    const file = await children.script(`
import { createTelemetry } from '@telemetry/core';
const t = createTelemetry({
  sinks: [{ name: 'stalled', writeEvents: () => new Promise(() => {}) }],
  warn: (m) => process.stderr.write(m + '\\n'),
});
for (let i = 0; i < 10; i++) t.withTrace('r' + i, () => {});
let started = Date.now();
const flushed = await t.flush({ timeoutMs: 300 });
const flushMs = Date.now() - started;
started = Date.now();
await t.shutdown({ timeoutMs: 300 });
const result = { flushed, flushMs };
${REPORT}
`);
    const r = await children.run(file);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.flushed).toBe(false);
    expect(report.flushMs).toBeGreaterThanOrEqual(290);
    expect(report.ms).toBeGreaterThanOrEqual(290);
    expect(report.stats.sinks.stalled).toMatchObject({
      pending: 0,
      dropped: { shutdown_timeout: 20 },
    });
  });

  it('a sink that delivers quickly does not wait for a stuck one at shutdown', async () => {
    const file = await children.script(`
import { createTelemetry, createMemorySink } from '@telemetry/core';
const memory = createMemorySink();
let closedAt = 0;
let stuckAtClose;
memory.shutdown = async () => {
  closedAt = Date.now();
  stuckAtClose = t.stats().sinks.stuck;
};
const t = createTelemetry({
  sinks: [memory, { name: 'stuck', writeEvents: () => new Promise(() => {}) }],
  shutdownTimeoutMs: 1000,
  warn: () => {},
});
t.withTrace('r', () => {});
const started = Date.now();
await t.shutdown();
const result = { closedAfter: closedAt - started, stuckAtClose, spans: memory.spans.length };
${REPORT}
`);
    const r = await children.run(file);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.spans).toBe(1);
    // Closed while the stuck sink still held its span, not after its deadline gave it up.
    expect(report.stuckAtClose.dropped).toEqual({});
    expect(report.stuckAtClose.pending).toBeGreaterThan(0);
    expect(report.closedAfter).toBeLessThan(report.ms);
    expect(report.ms).toBeGreaterThanOrEqual(990);
  });
});

describe('timestamps are validated to years 0001-9999 at every boundary', () => {
  const base = {
    type: 'metric',
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    span_id: 'b7ad6b7169203331',
    metric: 'm',
    value: 1,
    unit: '',
  };
  const rejected: [string, unknown][] = [
    ['a number past year 9999', 8_640_000_000_001_000_000],
    ['1e300', 1e300],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['a number before year 1', -62_135_596_800_001_000],
    ['year 10000', '10000-01-01T00:00:00Z'],
    ['year 0000', '0000-06-01T00:00:00Z'],
    ['February 30', '2025-02-30T00:00:00Z'],
    ['February 29 of a common year', '2023-02-29T12:00:00Z'],
    ['April 31', '2025-04-31T00:00:00Z'],
    ['an offset of +99:99', '2025-01-01T00:00:00+99:99'],
    ['an offset of -24:00', '2025-01-01T00:00:00-24:00'],
    ['an offset with 60 minutes', '2025-01-01T00:00:00+05:60'],
    ['the largest Date', new Date(8.64e15)],
    ['an invalid Date', new Date(Number.NaN)],
  ];
  for (const [label, timestamp] of rejected) {
    it(`rejects ${label}, naming event.timestamp`, () => {
      const t = createTelemetry();
      let error: unknown;
      try {
        t.logEvent({ event: { ...base, timestamp } as never });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TelemetryValidationError);
      expect((error as TelemetryValidationError).issues).toEqual([
        {
          path: 'event.timestamp',
          message:
            'expected an ISO-8601 date-time such as 2025-01-31T12:00:00.123456Z, a Date, or epoch microseconds, from year 0001 to 9999 (-62135596800000000 to 253402300799999970)',
        },
      ]);
    });
  }

  it('keeps years 0001-0099 as they are (0050 is not 1950) and round-trips them', () => {
    // Before 1685 a double holds epoch microseconds to 8 µs: these fractions are multiples of 8.
    for (const iso of [
      '0001-01-01T00:00:00.000000Z',
      '0050-06-15T12:34:56.789008Z',
      '0099-12-31T23:59:59.999992Z',
      '1969-12-31T23:59:59.999999Z',
      '2024-02-29T00:00:00.000001Z',
    ]) {
      const event = EventSchema.parse({ ...base, timestamp: iso });
      expect(toIsoMicros(event.timestamp)).toBe(iso);
    }
    expect(toIsoMicros(parseIsoMicros('0050-01-01T00:00:00Z')!)).toBe(
      '0050-01-01T00:00:00.000000Z',
    );
    // Negative epoch numbers inside the range are times before 1970.
    expect(toIsoMicros(EventSchema.parse({ ...base, timestamp: -1 }).timestamp)).toBe(
      '1969-12-31T23:59:59.999999Z',
    );
  });

  it('keeps the end of year 9999 (to the 32 µs a double holds there) and formats it', () => {
    const last = EventSchema.parse({ ...base, timestamp: '9999-12-31T23:59:59.999999Z' });
    expect(toIsoMicros(last.timestamp)).toBe('9999-12-31T23:59:59.999968Z');
  });

  it('a span started through @opentelemetry/api with an impossible start time starts now', async () => {
    const sink = createMemorySink({ keep: 'spans' });
    const t = createTelemetry({ sinks: [sink] });
    const tracer = t.tracerProvider.getTracer('x');
    const before = nowMicros();
    for (const startTime of [
      Number.NaN,
      1e300,
      new Date(Number.NaN),
      [Number.NaN, 0] as [number, number],
    ]) {
      tracer.startSpan('odd', { startTime }).end(1e300);
    }
    await t.flush();
    expect(sink.spans).toHaveLength(4);
    for (const span of sink.spans) {
      expect(span.start_time).toBeGreaterThanOrEqual(before);
      expect(span.end_time).toBeGreaterThanOrEqual(span.start_time);
      expect(() => toIsoMicros(span.end_time)).not.toThrow();
    }
    await t.shutdown();
  });
});

describe('concurrency loses no trace', () => {
  it('1,000 concurrent traces of 15 nested spans (Promise.all, timers, some through @opentelemetry/api), default options: every trace whole, no orphan', async () => {
    const sink = createMemorySink({ keep: 'spans' });
    const warnings: string[] = [];
    const t = createTelemetry({ sinks: [sink], warn: (m) => warnings.push(m) }).register();
    const tracer = otelTrace.getTracer('db-client');
    const TRACES = 1000;
    const DEPTH = 15;
    async function level(depth: number): Promise<void> {
      if (depth === DEPTH) return;
      // Every spans stays open across timers while the others run: 15,000 open at once.
      const body = async () => {
        await sleep(Math.random() * 20);
        await level(depth + 1);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
      };
      if (depth % 3 === 0) {
        await tracer.startActiveSpan(`otel-${depth}`, async (span) => {
          try {
            await body();
          } finally {
            span.end();
          }
        });
      } else {
        await withSpan(`helper-${depth}`, body);
      }
    }
    await Promise.all(
      Array.from({ length: TRACES }, (_, i) => withTrace(`request-${i}`, () => level(1))),
    );
    expect(await t.flush()).toBe(true);
    const byTrace = new Map<string, CompletedSpan[]>();
    for (const s of sink.spans) {
      const list = byTrace.get(s.trace_id) ?? [];
      list.push(s);
      byTrace.set(s.trace_id, list);
    }
    expect(byTrace.size).toBe(TRACES);
    for (const [traceId, spans] of byTrace) {
      expect(spans, traceId).toHaveLength(DEPTH);
      const ids = new Set(spans.map((s) => s.span_id));
      const roots = spans.filter((s) => s.parent_span_id === null);
      expect(roots).toHaveLength(1);
      expect(roots[0]!.name).toMatch(/^request-/);
      // No orphan and no parent in another trace: every parent is in this trace.
      for (const s of spans)
        if (s.parent_span_id !== null) expect(ids.has(s.parent_span_id)).toBe(true);
    }
    const s = t.stats();
    expect(s.sinks.memory).toMatchObject({
      delivered: TRACES * DEPTH * 2,
      dropped: {},
      pending: 0,
    });
    expect(s.dropped).toEqual({});
    expect(warnings).toEqual([]);
    await t.shutdown();
  });
});

describe('defaults that hold a burst', () => {
  it('sinkCapacity defaults to capacity, whatever capacity is', async () => {
    const stalled: TelemetrySink = { name: 'stalled', writeEvents: () => new Promise(() => {}) };
    const t = createTelemetry({ sinks: [stalled], capacity: 250_000, warn: () => {} });
    const event = (i: number): TelemetryEvent => ({
      type: 'unstructured_log',
      trace_id: generateTraceId(),
      span_id: generateSpanId(),
      timestamp: nowMicros(),
      attributes: {},
      message: String(i),
      severity: 'info',
    });
    for (let i = 0; i < 240_000; i++) t.logEvent({ event: event(i) });
    await new Promise((r) => setImmediate(r));
    // Before: 100,000 stayed, 140,000 were dropped as sink_backlog.
    expect(t.stats().sinks.stalled).toMatchObject({ pending: 240_000, dropped: {} });
  });

  it('a synchronous burst of 100,000 spans into a memory sink is delivered whole with default options', async () => {
    const sink = createMemorySink();
    const warnings: string[] = [];
    const t = createTelemetry({ sinks: [sink], warn: (m) => warnings.push(m) });
    for (let i = 0; i < 100_000; i++) t.startSpan('burst').end();
    expect(await t.flush()).toBe(true);
    expect(sink.spans).toHaveLength(100_000);
    expect(sink.events).toHaveLength(200_000);
    expect(t.stats()).toMatchObject({ accepted: 200_000, dropped: {} });
    expect(warnings).toEqual([]);
    await t.shutdown();
  });
});

describe('losses are warned about, and counted right', () => {
  it('the rate-limited warning counts every drop of every reason between two warnings', async () => {
    vi.useFakeTimers();
    const warnings: string[] = [];
    const stalled: TelemetrySink = { name: 'stalled', writeEvents: () => new Promise(() => {}) };
    const t = createTelemetry({
      sinks: [stalled],
      capacity: 2_000,
      sinkCapacity: 100,
      warnIntervalMs: 1_000,
      warn: (m) => warnings.push(m),
    });
    let total = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3_000; i++) t.startSpan('s').end();
      await vi.advanceTimersByTimeAsync(400);
    }
    await vi.advanceTimersByTimeAsync(2_000);
    const s = t.stats();
    total = (s.dropped.queue_full ?? 0) + (s.sinks.stalled!.dropped.sink_backlog ?? 0);
    expect(total).toBeGreaterThan(15_000);
    const counted = warnings
      .map((w) => Number(/dropped (\d+) event/.exec(w)?.[1] ?? 0))
      .reduce((a, b) => a + b, 0);
    expect(counted).toBe(total);
    expectBalanced(s);
    expect(warnings.some((w) => w.includes('sink_backlog for "stalled"'))).toBe(true);
    expect(warnings.some((w) => w.includes('queue_full'))).toBe(true);
    // At most one warning per interval.
    expect(warnings.length).toBeLessThanOrEqual(4);
  });
});

describe('attribute keys that Object.prototype also has', () => {
  // A computed key: `__proto__: 'p'` in a literal would set the prototype instead.
  const keys = { constructor: 'c', toString: 't', ['__proto__']: 'p', hasOwnProperty: 'h' };
  const attributes = () => {
    const a: Record<string, string> = {};
    for (const [k, v] of Object.entries(keys))
      Object.defineProperty(a, k, { value: v, enumerable: true });
    return a;
  };

  it('set on a span start (helpers, setAttribute, @opentelemetry/api) are kept', async () => {
    const sink = createMemorySink();
    const t = createTelemetry({ sinks: [sink] });
    t.startSpan('start-attributes', { attributes: attributes() }).end();
    const s = t.startSpan('set-later');
    for (const [k, v] of Object.entries(keys)) s.setAttribute(k, v);
    s.end();
    t.tracerProvider.getTracer('x').startSpan('otel', { attributes: attributes() }).end();
    await t.flush();
    for (const span of sink.spans) {
      for (const [k, v] of Object.entries(keys)) {
        expect(Object.hasOwn(span.attributes, k), `${span.name} ${k}`).toBe(true);
        expect(Object.getOwnPropertyDescriptor(span.attributes, k)!.value).toBe(v);
      }
      expect(Object.getPrototypeOf(span.attributes)).toBe(Object.prototype);
    }
    const starts = sink.events.filter(
      (e) => e.type === 'structured_log' && e.payload.type === 'span_start',
    );
    expect(Object.getOwnPropertyDescriptor(starts[0]!.attributes, '__proto__')?.value).toBe('p');
  });

  it('logged as JSON through logEvent, on a start the end event does not repeat', async () => {
    const sink = createMemorySink({ keep: 'spans' });
    const t = createTelemetry({ sinks: [sink] });
    const ids = { trace_id: generateTraceId(), span_id: generateSpanId() };
    t.logEvent({
      event: JSON.parse(
        JSON.stringify({
          type: 'structured_log',
          ...ids,
          timestamp: '2025-01-01T00:00:00Z',
          payload: { type: 'span_start', name: 'raw' },
        }).replace(
          '"payload"',
          '"attributes":{"__proto__":"p","constructor":"c","toString":"t"},"payload"',
        ),
      ),
    });
    t.logEvent({
      event: {
        type: 'structured_log',
        ...ids,
        timestamp: '2025-01-01T00:00:01Z',
        attributes: { other: 1 },
        payload: { type: 'span_end', status: 'ok' },
      },
    });
    await t.flush();
    const [span] = sink.spans;
    expect(Object.entries(span!.attributes).sort()).toEqual([
      ['__proto__', 'p'],
      ['constructor', 'c'],
      ['other', 1],
      ['toString', 't'],
    ]);
  });
});
