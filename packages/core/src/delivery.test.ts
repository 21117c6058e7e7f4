/**
 * Delivery as the dispatcher owns it: a write resolves when its data is
 * delivered, so the sink's backlog is the backpressure; retryable failures
 * are written again after a backoff; a sink may have several writes in
 * flight; every event is accounted for at every moment.
 */
import {
  type CompletedSpan,
  createMemorySink,
  createTelemetry,
  generateSpanId,
  generateTraceId,
  nowMicros,
  type TelemetryEvent,
  type TelemetryStats,
} from '@telemetry/core';
import { RetryableSinkError, type SinkContext, type TelemetrySink } from '@telemetry/core/sink';
import { afterEach, describe, expect, it, vi } from 'vitest';

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

const log = (i: number): TelemetryEvent => ({
  type: 'unstructured_log',
  trace_id: generateTraceId(),
  span_id: generateSpanId(),
  timestamp: nowMicros(),
  attributes: { i },
  message: `m${i}`,
  severity: 'info',
});

/** A sink whose writes wait until released, one promise per write. */
function gatedSink(name: string, delivery?: TelemetrySink['delivery']) {
  const writes: { items: number; release: () => void; fail: (e: unknown) => void }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const received: unknown[] = [];
  const sink: TelemetrySink = {
    name,
    ...(delivery ? { delivery } : {}),
    writeEvents(events) {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return new Promise<void>((resolve, reject) => {
        let settled = false;
        writes.push({
          items: events.length,
          release: () => {
            if (settled) return;
            settled = true;
            inFlight -= 1;
            for (const e of events) received.push(e);
            resolve();
          },
          fail: (error) => {
            if (settled) return;
            settled = true;
            inFlight -= 1;
            reject(error);
          },
        });
      });
    },
  };
  return {
    sink,
    writes,
    received,
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('backpressure', () => {
  it("a write resolves when delivered: until then the sink's backlog holds what comes, bounded, and the overflow is counted and marked in order", async () => {
    const gated = gatedSink('slow');
    const gaps: string[] = [];
    gated.sink.onGap = (count, reason) =>
      gaps.push(`${count} ${reason} after ${gated.received.length}`);
    const warnings: string[] = [];
    const t = createTelemetry({
      sinks: [gated.sink],
      sinkCapacity: 300,
      batchSize: 100,
      warn: (m) => warnings.push(m),
    });
    for (let i = 0; i < 1000; i++) t.logEvent({ event: log(i) });
    await tick();
    // One write in flight (concurrency 1), the rest waits in the backlog up to 300 events.
    expect(gated.writes).toHaveLength(1);
    let s = t.stats();
    expect(s.sinks.slow).toMatchObject({
      delivered: 0,
      pending: 300,
      dropped: { sink_backlog: 700 },
    });
    expectBalanced(s);
    expect(warnings[0]).toMatch(
      /dropped 700 events since the last warning \(sink_backlog for "slow": 700\): a sink is slower than events arrive and its backlog holds 300 events: raise `sinkCapacity`/,
    );
    // The sink catches up, write by write.
    for (let w = 0; w < 3; w++) {
      gated.writes[w]!.release();
      await tick();
    }
    s = t.stats();
    expect(s.sinks.slow).toMatchObject({ delivered: 300, pending: 0 });
    // The gap is told where it happened: after the 300 events that were kept.
    expect(gaps).toEqual(['700 sink_backlog after 300']);
    expect(gated.received.map((e) => (e as { message: string }).message)).toEqual(
      Array.from({ length: 300 }, (_, i) => `m${i}`),
    );
    expectBalanced(s);
  });

  it('joins what waited into batches of up to maxBatchSize when the sink is busy', async () => {
    const gated = gatedSink('batched', { maxBatchSize: 250 });
    const t = createTelemetry({ sinks: [gated.sink] });
    t.logEvent({ event: log(0) });
    await tick();
    expect(gated.writes.map((w) => w.items)).toEqual([1]);
    // While the first write is out, 10 drains of 60 events queue up.
    for (let d = 0; d < 10; d++) {
      for (let i = 0; i < 60; i++) t.logEvent({ event: log(i) });
      await tick();
    }
    for (let w = 0; w < 4; w++) {
      gated.writes[w]!.release();
      await tick();
    }
    expect(gated.writes.map((w) => w.items)).toEqual([1, 250, 250, 100]);
    expect(await t.flush()).toBe(true);
    expectBalanced(t.stats());
  });
});

describe('concurrency', () => {
  it('a sink that declares concurrency 4 gets up to 4 writes in flight, never more', async () => {
    const gated = gatedSink('parallel', { concurrency: 4, maxBatchSize: 10 });
    const t = createTelemetry({ sinks: [gated.sink] });
    for (let i = 0; i < 100; i++) t.logEvent({ event: log(i) });
    await tick();
    expect(gated.writes).toHaveLength(4);
    // Finishing out of order frees a slot each time.
    gated.writes[2]!.release();
    await tick();
    expect(gated.writes).toHaveLength(5);
    const flushed = t.flush();
    for (let w = 0; w < 10; w++) {
      for (const write of gated.writes) write.release();
      await tick();
    }
    expect(await flushed).toBe(true);
    expect(gated.maxInFlight).toBe(4);
    expect(gated.received).toHaveLength(100);
    expect(t.stats().sinks.parallel).toMatchObject({ delivered: 100, pending: 0, failed: 0 });
  });

  it('without a declaration, writes to one sink never overlap', async () => {
    const gated = gatedSink('serial', { maxBatchSize: 10 });
    const t = createTelemetry({ sinks: [gated.sink] });
    for (let i = 0; i < 50; i++) t.logEvent({ event: log(i) });
    const flushed = t.flush();
    for (let w = 0; w < 10; w++) {
      await tick();
      for (const write of gated.writes) write.release();
    }
    expect(await flushed).toBe(true);
    expect(gated.maxInFlight).toBe(1);
  });
});

describe('retry', () => {
  it('a retryable failure is written again after an exponential backoff; a success resets it', async () => {
    vi.useFakeTimers();
    const attempts: number[] = [];
    let failuresLeft = 3;
    const received: CompletedSpan[] = [];
    const warnings: string[] = [];
    const sink: TelemetrySink = {
      name: 'collector',
      delivery: { retry: { initialDelayMs: 100, maxDelayMs: 1000 } },
      writeSpans(spans) {
        attempts.push(Date.now());
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          return Promise.reject(new RetryableSinkError('collector answered 503'));
        }
        received.push(...spans);
        return Promise.resolve();
      },
    };
    const t = createTelemetry({ sinks: [sink], warn: (m) => warnings.push(m) });
    t.startSpan('s').end();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(received.map((s) => s.name)).toEqual(['s']);
    // Three failures, then the write that got through: backoffs of about 100, 200, 400 ms (±20 %).
    const gaps = attempts.slice(1).map((at, i) => at - attempts[i]!);
    expect(gaps).toHaveLength(3);
    for (const [i, gap] of gaps.entries()) {
      expect(gap).toBeGreaterThanOrEqual(100 * 2 ** i * 0.8);
      expect(gap).toBeLessThanOrEqual(100 * 2 ** i * 1.2 + 1);
    }
    const s = t.stats();
    expect(s.sinks.collector).toMatchObject({
      delivered: 2,
      failed: 0,
      pending: 0,
      dropped: {},
      lastError: 'collector answered 503',
    });
    // Reported once (rate limited per error code), not once per attempt.
    expect(warnings).toEqual([
      '[telemetry] sink "collector" failed: collector answered 503. See stats().sinks["collector"].',
    ]);
  });

  it('keeps retrying within the bounded backlog: what comes meanwhile waits, the overflow is counted', async () => {
    vi.useFakeTimers();
    let down = true;
    const received: TelemetryEvent[] = [];
    const sink: TelemetrySink = {
      name: 'flaky',
      delivery: { maxBatchSize: 100, retry: { initialDelayMs: 50, maxDelayMs: 200 } },
      writeEvents(events) {
        if (down)
          return Promise.reject(Object.assign(new Error('ECONNREFUSED'), { retryable: true }));
        received.push(...events);
        return Promise.resolve();
      },
    };
    const t = createTelemetry({ sinks: [sink], sinkCapacity: 500, warn: () => {} });
    for (let round = 0; round < 8; round++) {
      for (let i = 0; i < 100; i++) t.logEvent({ event: log(round * 100 + i) });
      await vi.advanceTimersByTimeAsync(300);
    }
    let s = t.stats();
    expect(s.sinks.flaky).toMatchObject({
      delivered: 0,
      pending: 500,
      dropped: { sink_backlog: 300 },
    });
    expectBalanced(s);
    down = false;
    await vi.advanceTimersByTimeAsync(1000);
    s = t.stats();
    expect(s.sinks.flaky).toMatchObject({ delivered: 500, pending: 0, failed: 0 });
    // In order: the oldest 500, as they were accepted.
    expect(received.map((e) => (e as { message: string }).message)).toEqual(
      Array.from({ length: 500 }, (_, i) => `m${i}`),
    );
    expectBalanced(s);
  });

  it('gives a batch up after maxAttempts (retries_exhausted); a failure that is not retryable drops at once (sink_error)', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const t = createTelemetry({
      sinks: [
        {
          name: 'tries-thrice',
          delivery: { retry: { initialDelayMs: 10, maxAttempts: 3 } },
          writeEvents() {
            calls += 1;
            throw new RetryableSinkError('busy');
          },
        },
        {
          name: 'broken',
          writeEvents() {
            throw new TypeError('cannot serialise');
          },
        },
      ],
      warn: () => {},
    });
    t.logEvent({ event: log(1) });
    await vi.advanceTimersByTimeAsync(1000);
    const s = t.stats();
    expect(calls).toBe(3);
    expect(s.sinks['tries-thrice']).toMatchObject({
      failed: 1,
      dropped: { retries_exhausted: 1 },
      pending: 0,
    });
    expect(s.sinks.broken).toMatchObject({ failed: 1, dropped: { sink_error: 1 }, pending: 0 });
    expectBalanced(s);
  });

  it('honours a retry delay the sink asks for (Retry-After)', async () => {
    vi.useFakeTimers();
    const attempts: number[] = [];
    const sink: TelemetrySink = {
      name: 'rate-limited',
      delivery: { retry: { initialDelayMs: 10, maxDelayMs: 100 } },
      writeEvents() {
        attempts.push(Date.now());
        if (attempts.length === 1) {
          return Promise.reject(new RetryableSinkError('429', { retryAfterMs: 700 }));
        }
        return Promise.resolve();
      },
    };
    const t = createTelemetry({ sinks: [sink], warn: () => {} });
    t.logEvent({ event: log(1) });
    await vi.advanceTimersByTimeAsync(2000);
    expect(attempts).toHaveLength(2);
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(700);
    expect(t.stats().sinks['rate-limited']!.delivered).toBe(1);
  });

  it('shutdown cuts a backoff short, then counts what could not be sent by its deadline and aborts the sink', async () => {
    vi.useFakeTimers();
    let context!: SinkContext;
    let attempts = 0;
    const warnings: string[] = [];
    const sink: TelemetrySink = {
      name: 'down',
      delivery: { retry: { initialDelayMs: 60_000, maxDelayMs: 60_000 } },
      attach(c) {
        context = c;
      },
      writeSpans() {
        attempts += 1;
        return Promise.reject(new RetryableSinkError('connect ECONNREFUSED 127.0.0.1:4318'));
      },
    };
    const t = createTelemetry({
      sinks: [sink],
      shutdownTimeoutMs: 500,
      warn: (m) => warnings.push(m),
    });
    t.withTrace('lost', () => t.withSpan('child', () => {}));
    await vi.advanceTimersByTimeAsync(10);
    expect(attempts).toBe(1);
    const done = t.shutdown();
    await vi.advanceTimersByTimeAsync(10);
    expect(attempts).toBe(2); // the 60 s backoff did not hold shutdown
    expect(context.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(500);
    await done;
    expect(context.signal.aborted).toBe(true);
    const s = t.stats();
    expect(s.sinks.down).toMatchObject({
      delivered: 0,
      pending: 0,
      dropped: { shutdown_timeout: 4 },
    });
    expectBalanced(s);
    expect(warnings.at(-1)).toBe(
      '[telemetry] shutdown: not everything was delivered: sink "down" lost 4 (shutdown_timeout: 4; last error: connect ECONNREFUSED 127.0.0.1:4318). See stats().',
    );
  });
});

describe('accounting', () => {
  it('a sink that throws undefined synchronously is counted failed, not delivered', async () => {
    const warnings: string[] = [];
    const memory = createMemorySink();
    const t = createTelemetry({
      sinks: [
        {
          name: 'throws-undefined',
          writeEvents() {
            throw undefined;
          },
        },
        memory,
      ],
      warn: (m) => warnings.push(m),
    });
    for (let i = 0; i < 5; i++) t.logEvent({ event: log(i) });
    await t.flush();
    const s = t.stats();
    expect(s.sinks['throws-undefined']).toMatchObject({
      delivered: 0,
      failed: 1,
      dropped: { sink_error: 5 },
      pending: 0,
      lastError: 'threw undefined',
    });
    expect(memory.events).toHaveLength(5);
    expectBalanced(s);
    expect(warnings).toEqual([
      '[telemetry] sink "throws-undefined" failed: threw undefined (5 events lost). See stats().sinks["throws-undefined"].',
    ]);
  });

  it('a sink that rejects with undefined is counted failed too', async () => {
    const t = createTelemetry({
      sinks: [{ name: 'rejects', writeEvents: () => Promise.reject(undefined) }],
      warn: () => {},
    });
    t.logEvent({ event: log(1) });
    await t.flush();
    expect(t.stats().sinks.rejects).toMatchObject({
      failed: 1,
      delivered: 0,
      dropped: { sink_error: 1 },
    });
  });

  it('drops a sink reports while several writes are in flight come out of those writes', async () => {
    const gated = gatedSink('lossy', { concurrency: 2, maxBatchSize: 5 });
    let context!: SinkContext;
    gated.sink.attach = (c) => {
      context = c;
    };
    const t = createTelemetry({ sinks: [gated.sink] });
    for (let i = 0; i < 10; i++) t.logEvent({ event: log(i) });
    await tick();
    expect(gated.writes).toHaveLength(2);
    context.recordDropped(7, 'rejected_by_peer');
    expectBalanced(t.stats());
    gated.writes[0]!.release();
    gated.writes[1]!.release();
    await t.flush();
    const s = t.stats();
    expect(s.sinks.lossy).toMatchObject({
      delivered: 3,
      pending: 0,
      dropped: { rejected_by_peer: 7 },
    });
    expectBalanced(s);
  });
});
