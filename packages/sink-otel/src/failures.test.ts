import { createOtelSink, OTLP_ERROR_CODES, OtlpExportError } from '@telemetry/sink-otel';
import { describe, expect, it } from 'vitest';
import { useOtlpHarness } from './test-support/harness.ts';
import type { OtlpReceiver } from './test-support/otlp-receiver.ts';
import { completedSpan, logEvent, manySpans, metricEvent } from './test-support/spans.ts';

const { receiver, sink } = useOtlpHarness();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function codes(errors: unknown[]): string[] {
  return errors.map((e) => (e instanceof OtlpExportError ? e.code : String(e)));
}

function traceStatuses(r: OtlpReceiver): number[] {
  return r.requests.filter((q) => q.signal === 'traces').map((q) => q.status);
}

describe('when the collector is down, slow or refusing', () => {
  it('keeps the spans while the receiver is down for 2 seconds and delivers every one when it is back', async () => {
    const r = await receiver();
    await r.stop();
    // A short request timeout leaves the retrying to the sink's own backoff.
    const {
      sink: s,
      errors,
      dropped,
    } = sink({ endpoint: r.tracesUrl, metrics: false, timeoutMillis: 300 });
    const spans = manySpans(500);
    s.writeSpans(spans);
    const flushed = s.forceFlush();
    await sleep(2000);
    expect(r.spanCount()).toBe(0);
    expect(s.stats().pendingSpans).toBe(500);
    await r.start();
    await flushed;

    expect(r.spanIds.size).toBe(500);
    for (const span of spans) expect(r.spanIds.has(`${span.trace_id}:${span.span_id}`)).toBe(true);
    expect(s.stats()).toMatchObject({ exportedSpans: 500, pendingSpans: 0, droppedSpans: {} });
    expect(s.stats().exportRequests).toBeGreaterThan(1);
    expect(dropped).toEqual({});
    expect(codes(errors)).toContain(OTLP_ERROR_CODES.unreachable);
    const report = errors.find((e) => e instanceof OtlpExportError) as OtlpExportError;
    expect(report.message).toContain(r.tracesUrl);
    expect(report.message).toContain('ECONNREFUSED');
  });

  it('retries after 503 answers and delivers once the receiver answers 200', async () => {
    const r = await receiver({
      responder: ({ signal, attempt }) => (signal === 'traces' && attempt <= 2 ? 503 : 200),
    });
    const { sink: s, dropped } = sink({
      endpoint: r.tracesUrl,
      metrics: false,
      timeoutMillis: 500,
    });
    const spans = manySpans(20);
    s.writeSpans(spans);
    await s.forceFlush();
    expect(traceStatuses(r)).toEqual([503, 503, 200]);
    expect(r.traces.map((t) => t.spanId)).toEqual(spans.map((x) => x.span_id));
    expect(dropped).toEqual({});
  });

  it('also retries through the exporter’s own quick retries with its default timeout', async () => {
    const r = await receiver({
      responder: ({ signal, attempt }) => (signal === 'traces' && attempt === 1 ? 503 : undefined),
    });
    const { sink: s, dropped } = sink({ endpoint: r.tracesUrl, metrics: false });
    s.writeSpans(manySpans(5));
    await s.forceFlush();
    expect(traceStatuses(r)).toEqual([503, 200]);
    expect(r.spanIds.size).toBe(5);
    expect(dropped).toEqual({});
  });

  it('does not retry a 400 answer forever: drops the batch, counts it, and says why', async () => {
    const r = await receiver({ responder: () => ({ status: 400, body: 'span name too long' }) });
    const { sink: s, errors, dropped } = sink({ endpoint: r.tracesUrl, metrics: false });
    const spans = manySpans(30).map((span) => ({ ...span, events: [logEvent(span)] }));
    s.writeSpans(spans);
    await s.forceFlush();
    await sleep(300); // room for a retry that must not come
    expect(traceStatuses(r)).toEqual([400]);
    expect(r.spanCount()).toBe(0);
    // Counted in events, as core's stats count them: start + end + one log per span.
    expect(dropped).toEqual({ otlp_rejected: 90 });
    expect(s.stats()).toMatchObject({ pendingSpans: 0, droppedSpans: { otlp_rejected: 30 } });
    expect(errors).toHaveLength(1);
    const error = errors[0] as OtlpExportError;
    expect(error).toBeInstanceOf(OtlpExportError);
    expect(error).toMatchObject({
      code: OTLP_ERROR_CODES.rejected,
      status: 400,
      lostSpans: 30,
      signal: 'traces',
    });
    expect(error.message).toContain(r.tracesUrl);
    expect(error.message).toContain('HTTP 400');
    expect(error.message).toContain('span name too long');

    // The next batch is tried once too, not held back.
    s.writeSpans(manySpans(3));
    await s.forceFlush();
    expect(traceStatuses(r)).toEqual([400, 400]);
    expect(dropped).toEqual({ otlp_rejected: 96 });
  });

  it('sends a batch that is too large (413) in halves until the collector takes it', async () => {
    const probe = await receiver();
    const { sink: probeSink } = sink({ endpoint: probe.tracesUrl, metrics: false });
    const spans = manySpans(40);
    probeSink.writeSpans(spans);
    await probeSink.forceFlush();
    const fullSize = probe.requests[0]!.bytes;

    const r = await receiver({ responder: ({ bytes }) => (bytes > fullSize / 3 ? 413 : 200) });
    const { sink: s, dropped } = sink({ endpoint: r.tracesUrl, metrics: false });
    s.writeSpans(spans);
    await s.forceFlush();
    // 40 -> 20 + 20 -> four requests of 10 (two exports run at once, so their order varies).
    expect(traceStatuses(r).sort()).toEqual([200, 200, 200, 200, 413, 413, 413]);
    expect(r.requests.filter((q) => q.status === 200).map((q) => q.items)).toEqual([
      10, 10, 10, 10,
    ]);
    expect(r.traces.map((t) => t.spanId).sort()).toEqual(spans.map((x) => x.span_id).sort());
    expect(dropped).toEqual({});
  });

  it('holds at most maxQueueSize spans and counts the rest as dropped', async () => {
    const r = await receiver();
    await r.stop();
    const {
      sink: s,
      errors,
      dropped,
    } = sink({
      endpoint: r.tracesUrl,
      metrics: false,
      maxQueueSize: 100,
      timeoutMillis: 200,
    });
    const spans = manySpans(250);
    s.writeSpans(spans.slice(0, 60));
    s.writeSpans(spans.slice(60));
    expect(s.stats()).toMatchObject({ pendingSpans: 100, droppedSpans: { otlp_queue_full: 150 } });
    await Promise.resolve(); // drops reach the dispatcher after the write returns
    expect(dropped).toEqual({ otlp_queue_full: 300 });
    expect(codes(errors)).toContain(OTLP_ERROR_CODES.queueFull);

    await r.start();
    await s.forceFlush();
    expect(r.spanIds.size).toBe(100);
    for (const span of spans.slice(0, 100))
      expect(r.spanIds.has(`${span.trace_id}:${span.span_id}`)).toBe(true);
    expect(s.stats()).toMatchObject({ exportedSpans: 100, pendingSpans: 0 });
  });

  it('never makes the writer wait for a slow collector', async () => {
    const r = await receiver({ responder: () => ({ status: 200, delayMs: 300 }) });
    const { sink: s } = sink({ endpoint: r.tracesUrl, metrics: false });
    const result = s.writeSpans(manySpans(50)) as unknown;
    expect(result).toBeUndefined();
    expect(s.stats().pendingSpans).toBe(50);
    await s.forceFlush();
    expect(r.spanIds.size).toBe(50);
  });
});

describe('shutdown', () => {
  it('sends everything written before shutdown() without a flush', async () => {
    const r = await receiver();
    const { sink: s, errors } = sink({ endpoint: r.tracesUrl });
    const span = completedSpan();
    s.writeSpans([
      ...manySpans(1500),
      { ...span, events: [metricEvent(span, { metric: 'last', value: 9 })] },
    ]);
    await s.shutdown();
    expect(r.spanIds.size).toBe(1501);
    expect(r.latestMetric('last')!.points[0]!.value).toBe(9);
    expect(errors).toEqual([]);
  });

  it('gives up at its deadline, counts what it could not send, and reports it', async () => {
    const r = await receiver();
    await r.stop();
    const {
      sink: s,
      errors,
      dropped,
    } = sink({
      endpoint: r.tracesUrl,
      timeoutMillis: 100,
      shutdownTimeoutMs: 400,
    });
    const span = completedSpan();
    s.writeSpans([
      ...manySpans(9),
      { ...span, events: [metricEvent(span, { metric: 'm', value: 1 })] },
    ]);
    const first = s.shutdown();
    expect(s.shutdown()).toBe(first); // idempotent
    await first;

    expect(dropped).toEqual({ otlp_shutdown: 21 });
    expect(s.stats()).toMatchObject({ pendingSpans: 0, droppedSpans: { otlp_shutdown: 10 } });
    const report = errors.at(-1) as OtlpExportError;
    expect(report).toMatchObject({
      code: OTLP_ERROR_CODES.unsent,
      lostSpans: 10,
      signal: 'traces',
    });
    expect(report.message).toContain(`10 spans (21 events) to ${r.tracesUrl}`);
    expect(report.message).toContain(`the latest metrics to ${r.metricsUrl}`);
    expect(report.message).toContain('within 400 ms');
    expect(report.message).toContain('ECONNREFUSED');

    // Nothing is written after shutdown; if it is, it is counted, not lost silently.
    s.writeSpans(manySpans(2));
    await Promise.resolve();
    expect(dropped).toEqual({ otlp_shutdown: 25 });
  });

  it('is also reachable as Symbol.asyncDispose', async () => {
    const r = await receiver();
    const s = createOtelSink({ endpoint: r.tracesUrl, metrics: false });
    s.writeSpans(manySpans(3));
    await s[Symbol.asyncDispose]();
    expect(r.spanIds.size).toBe(3);
  });
});

describe('metrics when the collector fails', () => {
  it('retries a metrics export that got 503 until it lands, on flush', async () => {
    const r = await receiver({
      responder: ({ signal, attempt }) => (signal === 'metrics' && attempt <= 2 ? 503 : 200),
    });
    const { sink: s } = sink({ endpoint: r.tracesUrl, timeoutMillis: 200 });
    const span = completedSpan();
    s.writeSpans([{ ...span, events: [metricEvent(span, { metric: 'n', value: 3 })] }]);
    await s.forceFlush();
    expect(r.requests.filter((q) => q.signal === 'metrics').map((q) => q.status)).toEqual([
      503, 503, 200,
    ]);
    expect(r.latestMetric('n')!.points[0]!.value).toBe(3);
    expect(s.stats().metricExports).toBe(1);
  });

  it('reports a refused metrics export once and does not retry it', async () => {
    const r = await receiver({ responder: ({ signal }) => (signal === 'metrics' ? 404 : 200) });
    const { sink: s, errors, dropped } = sink({ endpoint: r.tracesUrl });
    const span = completedSpan();
    s.writeSpans([{ ...span, events: [metricEvent(span, { metric: 'n', value: 3 })] }]);
    await s.forceFlush();
    expect(r.requests.filter((q) => q.signal === 'metrics').map((q) => q.status)).toEqual([404]);
    expect(r.spanIds.size).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      code: OTLP_ERROR_CODES.rejected,
      signal: 'metrics',
      status: 404,
    });
    // The span itself was delivered: metrics are not events lost.
    expect(dropped).toEqual({});
  });
});
