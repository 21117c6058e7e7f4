import {
  type CompletedSpan,
  createMemorySink,
  createTelemetry,
  generateSpanId,
  generateTraceId,
  nowMicros,
  type TelemetryEvent,
  type TelemetrySink,
  type TelemetryStats,
} from '@telemetry/core';
import type { SinkContext } from '@telemetry/core/sink';
import { afterEach, describe, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.useRealTimers();
});

/** A sink whose writes never finish. */
function stalledSink(name = 'stalled'): TelemetrySink & { calls: number } {
  const sink = {
    name,
    calls: 0,
    writeEvents(): Promise<void> {
      sink.calls += 1;
      return new Promise(() => {});
    },
  };
  return sink;
}

function expectBalanced(stats: TelemetryStats): void {
  for (const [name, s] of Object.entries(stats.sinks)) {
    const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
    expect(s.delivered + dropped + s.pending, `sink ${name}: ${JSON.stringify(s)}`).toBe(
      stats.accepted,
    );
  }
}

const ids = () => ({ trace_id: generateTraceId(), span_id: generateSpanId() });
const rawStart = (id: { trace_id: string; span_id: string }, name: string): TelemetryEvent => ({
  type: 'structured_log',
  ...id,
  timestamp: nowMicros(),
  attributes: {},
  payload: { type: 'span_start', name, parent_span_id: null },
});
const rawEnd = (id: { trace_id: string; span_id: string }): TelemetryEvent => ({
  type: 'structured_log',
  ...id,
  timestamp: nowMicros(),
  attributes: {},
  payload: { type: 'span_end', status: 'ok' },
});
const log = (i: number, id = ids()): TelemetryEvent => ({
  type: 'unstructured_log',
  ...id,
  timestamp: nowMicros(),
  attributes: { i },
  message: `m${i}`,
  severity: 'info',
});

describe('overload', () => {
  it('capacity 10 with a stalled sink: calls return at once, drops are counted, warnings are rate limited', async () => {
    vi.useFakeTimers();
    const warnings: string[] = [];
    const stalled = stalledSink();
    const t = createTelemetry({ sinks: [stalled], capacity: 10, warn: (m) => warnings.push(m) });
    for (let i = 0; i < 1000; i++) t.logEvent({ event: log(i) });
    const s = t.stats();
    expect(s.accepted + (s.dropped.queue_full ?? 0)).toBe(1000);
    expect(s.accepted).toBe(10);
    expect(warnings).toEqual([
      '[telemetry] dropped 1 event since the last warning (queue_full: 1): the queue holds 10 events: raise `capacity` or log less. See stats().',
    ]);
    vi.advanceTimersByTime(59_999);
    expect(warnings).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toContain('dropped 989 events since the last warning (queue_full: 989)');
    // Quiet afterwards: no drops, no warning.
    vi.advanceTimersByTime(120_000);
    expect(warnings).toHaveLength(2);
    expectBalanced(t.stats());
  });

  it('a stalled sink fills only its own backlog; the other sinks get everything', async () => {
    const memory = createMemorySink();
    const stalled = stalledSink();
    const t = createTelemetry({
      sinks: [stalled, memory],
      sinkCapacity: 50,
      batchSize: 10,
      warn: () => {},
    });
    for (let i = 0; i < 200; i++) t.logEvent({ event: log(i) });
    expect(await t.flush({ timeoutMs: 200 })).toBe(false); // the stalled sink never finishes
    expect(memory.events).toHaveLength(200);
    const s = t.stats();
    expect(s.sinks.memory).toMatchObject({ delivered: 200, pending: 0 });
    expect(s.sinks.stalled!.pending).toBe(50);
    expect(s.sinks.stalled!.dropped.sink_backlog).toBe(150);
    expectBalanced(s);
  });
});

describe('failing sinks', () => {
  it('a sink that throws on every batch: the memory sink still receives 100%, failures counted by name', async () => {
    const warnings: string[] = [];
    const memory = createMemorySink();
    const throwing: TelemetrySink = {
      name: 'flaky-db',
      writeEvents() {
        throw new Error('disk full');
      },
    };
    const rejecting: TelemetrySink = {
      name: 'dead-endpoint',
      writeSpans: async () => Promise.reject(new Error('ECONNREFUSED')),
    };
    const t = createTelemetry({
      sinks: [throwing, rejecting, memory],
      batchSize: 100,
      warn: (m) => warnings.push(m),
    });
    t.register();
    for (let i = 0; i < 1000; i++) t.logEvent({ event: log(i) });
    t.withTrace('r', () => t.withSpan('c', () => {}));
    await t.flush();
    const s = t.stats();
    expect(memory.events).toHaveLength(1004);
    expect(memory.spans).toHaveLength(2);
    expect(s.sinks['flaky-db']).toMatchObject({
      delivered: 0,
      failed: 11,
      dropped: { sink_error: 1004 },
      lastError: 'disk full',
    });
    expect(s.sinks['dead-endpoint']).toMatchObject({
      delivered: 0,
      failed: 1,
      dropped: { sink_error: 4 },
      lastError: 'ECONNREFUSED',
    });
    // The 1000 lone logs never find their span: held for the span sink until they time out.
    expect(s.sinks['dead-endpoint']!.pending).toBe(1000);
    expectBalanced(s);
    expect(warnings).toContain(
      '[telemetry] sink "flaky-db" failed: disk full (100 events lost). See stats().sinks["flaky-db"].',
    );
    expect(
      warnings.some((w) => w.startsWith('[telemetry] sink "dead-endpoint" failed: ECONNREFUSED')),
    ).toBe(true);
    expect(warnings.filter((w) => w.includes('flaky-db'))).toHaveLength(1); // rate limited
    await t.shutdown();
  });

  it('a slow async sink does not hold back a fast one', async () => {
    const fast = createMemorySink({ name: 'fast' });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slowGot: number[] = [];
    const slow: TelemetrySink = {
      name: 'slow',
      async writeEvents(events) {
        await gate;
        slowGot.push(events.length);
      },
    };
    const t = createTelemetry({ sinks: [slow, fast] });
    for (let i = 0; i < 10; i++) t.logEvent({ event: log(i) });
    await new Promise((r) => setTimeout(r, 20));
    expect(fast.events).toHaveLength(10);
    expect(slowGot).toEqual([]);
    expect(t.stats().sinks.slow!.pending).toBe(10);
    release();
    await t.flush();
    expect(slowGot).toEqual([10]);
  });
});

describe('volume and shutdown', () => {
  it('100,000 events over three sinks: after flush every sink has all of them; after shutdown events are counted', async () => {
    const sinks = [
      createMemorySink({ name: 'a' }),
      createMemorySink({ name: 'b', keep: 'events' }),
      createMemorySink({ name: 'c', keep: 'spans' }),
    ];
    const shutdownCalls: string[] = [];
    for (const s of sinks)
      (s as { shutdown?: () => Promise<void> }).shutdown = async () =>
        void shutdownCalls.push(s.name);
    const t = createTelemetry({ sinks, warn: () => {} });
    // 25,000 spans of four events each: start, a log, a metric, end.
    for (let i = 0; i < 25_000; i++) {
      const span = t.startSpan(`op-${i}`);
      span.log('working');
      span.metric('items', i, 'count');
      span.end();
    }
    expect(t.stats().accepted).toBe(100_000);
    expect(await t.flush()).toBe(true);
    expect(sinks[0]!.events).toHaveLength(100_000);
    expect(sinks[1]!.events).toHaveLength(100_000);
    expect(sinks[2]!.spans).toHaveLength(25_000);
    expect(sinks[2]!.spans[24_999]!.events.map((e) => e.type)).toEqual([
      'unstructured_log',
      'metric',
    ]);
    const s = t.stats();
    for (const name of ['a', 'b', 'c'])
      expect(s.sinks[name]).toMatchObject({ delivered: 100_000, pending: 0, dropped: {} });
    await t.shutdown();
    await t.shutdown(); // idempotent
    expect(shutdownCalls.sort()).toEqual(['a', 'b', 'c']);
    expect(() => t.logEvent({ event: log(1) })).not.toThrow();
    t.startSpan('late').end();
    expect(t.stats().dropped.shutdown).toBe(3);
    expect(t.stats().accepted).toBe(100_000);
    expectBalanced(t.stats());
  });

  it('shutdown counts spans that never ended, and Symbol.asyncDispose shuts down', async () => {
    const sink = createMemorySink({ keep: 'spans' });
    {
      await using t = createTelemetry({ sinks: [sink] });
      t.startSpan('never-ends');
      t.startSpan('ends').end();
      await t.flush();
      expect(t.stats().openSpans).toBe(1);
      globalThis.lastTelemetry = t;
    }
    const s = (globalThis.lastTelemetry as ReturnType<typeof createTelemetry>).stats();
    expect(sink.spans.map((x) => x.name)).toEqual(['ends']);
    expect(s.sinks.memory!.dropped).toEqual({ unfinished_at_shutdown: 1 });
    expectBalanced(s);
  });
});

declare global {
  var lastTelemetry: unknown;
}

describe('span assembly', () => {
  it('a log or metric that arrives before its span start is still attached', async () => {
    const sink = createMemorySink({ keep: 'spans' });
    const t = createTelemetry({ sinks: [sink] });
    const id = ids();
    const ts = '2025-01-01T00:00:00.000001Z';
    t.logEvent({ event: { ...log(0, id), timestamp: ts, message: 'early' } as never });
    t.logEvent({
      event: { type: 'metric', ...id, timestamp: ts, metric: 'm', value: 1, unit: 'u' },
    });
    await t.flush();
    t.logEvent({
      event: {
        type: 'structured_log',
        ...id,
        timestamp: ts,
        payload: { type: 'span_end', status: 'ok' },
      },
    });
    t.logEvent({
      event: {
        type: 'structured_log',
        ...id,
        timestamp: ts,
        payload: { type: 'span_start', name: 'late start' },
      },
    });
    await t.flush();
    expect(sink.spans).toHaveLength(1);
    expect(sink.spans[0]!.events.map((e) => e.type)).toEqual(['unstructured_log', 'metric']);
    expect(t.stats().sinks.memory).toMatchObject({ delivered: 4, pending: 0 });
  });

  it('merges start attributes missing from a hand-written end event (end values win)', async () => {
    const sink = createMemorySink({ keep: 'spans' });
    const t = createTelemetry({ sinks: [sink] });
    const id = ids();
    const ts = '2025-01-01T00:00:00Z';
    t.logEvent({
      event: {
        type: 'structured_log',
        ...id,
        timestamp: ts,
        attributes: { a: 1, b: 1 },
        payload: { type: 'span_start', name: 's' },
      },
    });
    t.logEvent({
      event: {
        type: 'structured_log',
        ...id,
        timestamp: ts,
        attributes: { b: 2, c: 3 },
        payload: { type: 'span_end', status: 'ok' },
      },
    });
    await t.flush();
    expect(sink.spans[0]!.attributes).toEqual({ a: 1, b: 2, c: 3 });
  });

  it('raw spans that never end hold bounded memory: the newest beyond the limit is refused, the open ones stay whole', async () => {
    const sink = createMemorySink({ keep: 'spans' });
    const warnings: string[] = [];
    const t = createTelemetry({ sinks: [sink], maxOpenSpans: 100, warn: (m) => warnings.push(m) });
    const spans = Array.from({ length: 1000 }, () => ids());
    for (const [i, id] of spans.entries()) t.logEvent({ event: rawStart(id, `leak-${i}`) });
    await t.flush();
    let s = t.stats();
    expect(s.openSpans).toBe(100);
    expect(s.sinks.memory!.dropped.open_span_limit).toBe(900);
    expectBalanced(s);
    // Their ends come: the 100 held first are completed; the refused ones stay refused.
    for (const id of spans) t.logEvent({ event: rawEnd(id) });
    t.logEvent({ event: { ...log(1, spans[999]!) } });
    await t.flush();
    expect(sink.spans.map((x) => x.name)).toEqual(spans.slice(0, 100).map((_, i) => `leak-${i}`));
    s = t.stats();
    expect(s.sinks.memory!.dropped.open_span_limit).toBe(900 + 900 + 1);
    expect(s.openSpans).toBe(0);
    expectBalanced(s);
    // Warned at once for the first, then for the rest in one rate-limited line; summed up at shutdown.
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(
      '(open_span_limit: 1): more than 100 spans written as raw span_start events were open at once: raise `maxOpenSpans`',
    );
    await t.shutdown();
    expect(warnings).toHaveLength(3);
    expect(warnings[1]).toContain(
      'dropped 1800 events since the last warning (open_span_limit: 1800)',
    );
    expect(warnings[2]).toBe(
      '[telemetry] shutdown: not everything was delivered: sink "memory" lost 1801 (open_span_limit: 1801). See stats().',
    );
  });

  it('open raw spans and early events time out', async () => {
    vi.useFakeTimers();
    const sink = createMemorySink({ keep: 'spans' });
    const t = createTelemetry({ sinks: [sink], openSpanTimeoutMs: 1000, orphanTimeoutMs: 500 });
    t.logEvent({ event: rawStart(ids(), 'stuck') });
    t.logEvent({ event: log(1) }); // its span never starts
    await vi.advanceTimersByTimeAsync(10);
    vi.advanceTimersByTime(2000);
    t.startSpan('fresh').end();
    await vi.advanceTimersByTimeAsync(10);
    const s = t.stats();
    expect(s.sinks.memory!.dropped).toEqual({ open_span_timeout: 1, orphan_timeout: 1 });
    expect(sink.spans.map((x) => x.name)).toEqual(['fresh']);
    expectBalanced(s);
  });

  it('merges start and end attributes, keeps renames, and counts duplicate and late events', async () => {
    const sink = createMemorySink({ keep: 'spans' });
    const t = createTelemetry({ sinks: [sink] });
    const span = t.startSpan('first', { attributes: { a: 1 } });
    span.setAttribute('b', 'two');
    span.updateName('second');
    span.end();
    await t.flush();
    const got: CompletedSpan = sink.spans[0]!;
    expect(got.name).toBe('second');
    expect(got.attributes).toEqual({ __root__: true, a: 1, b: 'two' });
    const id = { trace_id: span.trace_id, span_id: span.span_id };
    t.logEvent({ event: { ...log(1, id) } });
    t.logEvent({
      event: {
        type: 'structured_log',
        ...id,
        timestamp: nowMicros(),
        payload: { type: 'span_end', status: 'ok' },
      },
    });
    await t.flush();
    expect(t.stats().sinks.memory!.dropped).toEqual({ late_event: 1, duplicate_span_end: 1 });
    expectBalanced(t.stats());
  });
});

describe('sink contract', () => {
  it('drops a sink reports during a write come out of that batch; later ones out of delivered', async () => {
    let ctx!: SinkContext;
    let calls = 0;
    const sink: TelemetrySink = {
      name: 'lossy',
      attach(c) {
        ctx = c;
      },
      writeEvents() {
        calls += 1;
        if (calls === 1) ctx.recordDropped(3, 'buffer_full'); // during the first write
      },
    };
    const t = createTelemetry({ sinks: [sink], batchSize: 10 });
    for (let i = 0; i < 10; i++) t.logEvent({ event: log(i) });
    await t.flush();
    expect(t.stats().sinks.lossy).toMatchObject({
      delivered: 7,
      dropped: { buffer_full: 3 },
      pending: 0,
    });
    ctx.recordDropped(2, 'rejected'); // after delivery, e.g. an endpoint refused them
    expect(t.stats().sinks.lossy).toMatchObject({
      delivered: 5,
      dropped: { buffer_full: 3, rejected: 2 },
    });
    expectBalanced(t.stats());
  });

  it('flush resolves false when a sink cannot flush, true otherwise', async () => {
    const warnings: string[] = [];
    const holding: TelemetrySink = {
      name: 'holding',
      writeEvents() {},
      forceFlush: async () => false,
    };
    const failing: TelemetrySink = {
      name: 'failing',
      writeEvents() {},
      forceFlush: () => Promise.reject(new Error('socket closed')),
    };
    expect(await createTelemetry({ sinks: [holding] }).flush()).toBe(false);
    expect(await createTelemetry({ sinks: [failing], warn: (m) => warnings.push(m) }).flush()).toBe(
      false,
    );
    expect(warnings[0]).toContain('sink "failing" failed: socket closed');
    expect(await createTelemetry({ sinks: [createMemorySink()] }).flush()).toBe(true);
  });

  it('two sinks with one name are a config error with a code', () => {
    expect(() => createTelemetry({ sinks: [createMemorySink(), createMemorySink()] })).toThrowError(
      expect.objectContaining({
        code: 'TELEMETRY_CONFIG',
        message: 'Two sinks are named "memory": give each sink a unique `name` option.',
      }),
    );
  });
});

describe('query API without a store', () => {
  it('rejects (never throws synchronously) with an error naming the sink it needs', async () => {
    const t = createTelemetry({ sinks: [createMemorySink()] });
    const pending = t.queryTraces();
    expect(pending).toBeInstanceOf(Promise);
    await expect(pending).rejects.toMatchObject({
      code: 'TELEMETRY_STORE_REQUIRED',
      message:
        "queryTraces() needs a queryable sink: add 'sqlite' to your telemetry sinks (or pass a sink that implements TraceStore).",
    });
    await expect(t.getSpanTree('00f067aa0ba902b7')).rejects.toThrow(
      /getSpanTree\(\) needs a queryable sink/,
    );
    expect(t.isShutdown).toBe(false);
    await t.shutdown();
    expect(t.isShutdown).toBe(true);
  });
});

describe('options', () => {
  it('lists every invalid option at once, NaN included', () => {
    try {
      createTelemetry({
        capacity: -1,
        batchSize: 0.5,
        openSpanTimeoutMs: Number.NaN,
        onInvalidEvent: 'ignore' as never,
      });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatchInlineSnapshot(`
        "Invalid telemetry options (4 problems):
          - capacity: expected a number above 0
          - batchSize: expected a whole number
          - openSpanTimeoutMs: expected milliseconds
          - onInvalidEvent: Invalid option: expected one of "throw"|"drop""
      `);
    }
  });

  it('shutdown has one deadline for delivery and the sinks together', async () => {
    const hanging: TelemetrySink = {
      name: 'hanging',
      writeEvents: () => new Promise(() => {}),
      shutdown: () => new Promise(() => {}),
    };
    vi.useFakeTimers();
    const t = createTelemetry({ sinks: [hanging], shutdownTimeoutMs: 300 });
    t.logEvent({ event: log(1) });
    let resolved = false;
    void t.shutdown().then(() => {
      resolved = true;
    });
    await vi.advanceTimersByTimeAsync(299);
    expect(resolved).toBe(false);
    // Two separate deadlines would need another 300 ms here.
    await vi.advanceTimersByTimeAsync(2);
    expect(resolved).toBe(true);
    // What the stuck sink never took is counted as lost, not left pending forever.
    expect(t.stats().sinks.hanging).toMatchObject({
      pending: 0,
      dropped: { shutdown_timeout: 1 },
    });
    expectBalanced(t.stats());
  });
});
