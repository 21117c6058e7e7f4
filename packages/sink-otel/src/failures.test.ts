/**
 * The sink on its own, as core's dispatcher drives it: each write resolves when
 * the collector took the batch and rejects when it did not, retryable or not.
 * Retrying, backoff and accounting are core's (see telemetry.test.ts).
 */
import type { CompletedSpan } from '@telemetry/core';
import { createOtelSink, OTLP_ERROR_CODES, OtlpExportError } from '@telemetry/sink-otel';
import { type OtlpReceiver, tracePartialSuccess } from '@telemetry/test-support/otlp-receiver';
import { describe, expect, it } from 'vitest';
import { useOtlpHarness } from './test-support/harness.ts';
import { completedSpan, logEvent, manySpans, metricEvent } from './test-support/spans.ts';

const { receiver, sink } = useOtlpHarness();

function traceStatuses(r: OtlpReceiver): number[] {
  return r.requests.filter((q) => q.signal === 'traces').map((q) => q.status);
}

/** The error a write rejected with. */
async function rejection(write: Promise<void>): Promise<OtlpExportError> {
  try {
    await write;
  } catch (error) {
    expect(error).toBeInstanceOf(OtlpExportError);
    return error as OtlpExportError;
  }
  throw new Error('expected the write to reject');
}

describe('a write that the collector did not take', () => {
  it('rejects as retryable when nothing listens, naming the URL and the cause', async () => {
    const r = await receiver();
    await r.stop();
    const { sink: s, dropped } = sink({ endpoint: r.tracesUrl, metrics: false });
    const error = await rejection(s.writeSpans(manySpans(5)));
    expect(error).toMatchObject({
      code: OTLP_ERROR_CODES.unreachable,
      retryable: true,
      retryAfterMs: undefined,
      status: undefined,
      signal: 'traces',
      url: r.tracesUrl,
    });
    expect(error.message).toContain(r.tracesUrl);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).toContain('retrying with backoff');
    // Counting is core's: the sink itself drops nothing.
    expect(dropped).toEqual({});
    expect(s.stats()).toMatchObject({ exportedSpans: 0, exportRequests: 1 });
  });

  it.each([408, 429, 502, 503, 504])(
    'rejects as retryable on HTTP %i, with the Retry-After the collector sent',
    async (status) => {
      const r = await receiver({
        responder: () => ({ status, headers: { 'retry-after': '7' } }),
      });
      const { sink: s } = sink({ endpoint: r.tracesUrl, metrics: false });
      const error = await rejection(s.writeSpans(manySpans(3)));
      expect(error).toMatchObject({ retryable: true, status, retryAfterMs: 7000 });
      expect(error.message).toContain(`HTTP ${status}`);
      expect(error.message).toContain('retrying in 7 s, as the collector asked');
      expect(traceStatuses(r)).toEqual([status]); // no hidden retries of its own
    },
  );

  it('reads a Retry-After given as an HTTP date', async () => {
    let written = 0;
    const r = await receiver({
      responder: () => {
        written = Date.now();
        return {
          status: 503,
          headers: { 'retry-after': new Date(written + 30_000).toUTCString() },
        };
      },
    });
    const { sink: s } = sink({ endpoint: r.tracesUrl, metrics: false });
    const error = await rejection(s.writeSpans(manySpans(1)));
    const read = Date.now();
    // An HTTP date has whole seconds: 29 to 30 s after it was written, less the
    // time until the sink read it (bounded by now, on a slow machine too).
    expect(error.retryAfterMs).toBeGreaterThanOrEqual(written + 29_000 - read);
    expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it.each([400, 401, 403, 404, 500])(
    'rejects as final on HTTP %i, with what the collector said',
    async (status) => {
      const r = await receiver({ responder: () => ({ status, body: 'span name too long' }) });
      const { sink: s } = sink({ endpoint: r.tracesUrl, metrics: false });
      const spans = manySpans(30).map((span) => ({ ...span, events: [logEvent(span)] }));
      const error = await rejection(s.writeSpans(spans));
      expect(error).toMatchObject({
        code: OTLP_ERROR_CODES.rejected,
        retryable: false,
        status,
        signal: 'traces',
      });
      expect(error.message).toContain(`the collector at ${r.tracesUrl} refused 30 spans`);
      expect(error.message).toContain(`HTTP ${status}`);
      expect(error.message).toContain('span name too long');
      expect(traceStatuses(r)).toEqual([status]);
    },
  );

  it('rejects as retryable when the collector does not answer within timeoutMillis', async () => {
    const r = await receiver({ responder: () => ({ status: 200, hang: true }) });
    const { sink: s } = sink({ endpoint: r.tracesUrl, metrics: false, timeoutMillis: 200 });
    const error = await rejection(s.writeSpans(manySpans(2)));
    expect(error).toMatchObject({ code: OTLP_ERROR_CODES.unreachable, retryable: true });
    expect(error.message).toContain('no answer within 200 ms');
    // The collector saw the request, but never accepted it: nothing counts as sent.
    expect(r.spanCount()).toBe(0);
    expect(s.stats().exportedSpans).toBe(0);
  });

  it('ends a request in flight at once when its context is aborted (the pipeline’s deadline)', async () => {
    const r = await receiver({ responder: () => ({ status: 200, hang: true }) });
    const { sink: s, abort } = sink({ endpoint: r.tracesUrl, timeoutMillis: 600_000 });
    const write = s.writeSpans(manySpans(2));
    await r.waitFor(() => r.requests.length === 1, 'the request');
    abort(new Error('deadline'));
    // With the 10-minute timeout, only the abort can end it within the test's timeout.
    const error = await rejection(write);
    expect(error.message).toContain('aborted: deadline');
    // And the sink writes no more: what comes is counted, not sent.
    const late = await s.writeSpans(manySpans(1)).then(
      () => 'resolved',
      () => 'rejected',
    );
    expect(late).toBe('resolved');
  });

  it('sends a batch that is too large (413) in halves until the collector takes it', async () => {
    const probe = await receiver();
    const { sink: probeSink } = sink({ endpoint: probe.tracesUrl, metrics: false });
    const spans = manySpans(40);
    await probeSink.writeSpans(spans);
    const fullSize = probe.requests[0]!.bytes;

    const r = await receiver({ responder: ({ bytes }) => (bytes > fullSize / 3 ? 413 : 200) });
    const { sink: s, dropped } = sink({ endpoint: r.tracesUrl, metrics: false });
    await s.writeSpans(spans);
    // 40 -> 20 + 20 -> four requests of 10.
    expect(traceStatuses(r)).toEqual([413, 413, 200, 200, 413, 200, 200]);
    expect(r.requests.filter((q) => q.status === 200).map((q) => q.items)).toEqual([
      10, 10, 10, 10,
    ]);
    expect(r.traces.map((t) => t.spanId)).toEqual(spans.map((x) => x.span_id));
    expect(dropped).toEqual({});
    expect(s.stats()).toMatchObject({ exportedSpans: 40, exportRequests: 7 });
  });

  it('rejects as final a single span the collector finds too large', async () => {
    const r = await receiver({ responder: () => 413 });
    const { sink: s } = sink({ endpoint: r.tracesUrl, metrics: false });
    const error = await rejection(s.writeSpans([completedSpan()]));
    expect(error).toMatchObject({ retryable: false, status: 413 });
    expect(traceStatuses(r)).toEqual([413]);
  });

  it('counts a half refused for good, and delivers the other', async () => {
    const r = await receiver({
      responder: ({ attempt }) => (attempt === 1 ? 413 : attempt === 2 ? 400 : 200),
    });
    const { sink: s, dropped, errors } = sink({ endpoint: r.tracesUrl, metrics: false });
    const spans = manySpans(10).map((span) => ({ ...span, events: [logEvent(span)] }));
    await s.writeSpans(spans);
    expect(traceStatuses(r)).toEqual([413, 400, 200]);
    expect(r.traces.map((t) => t.spanId)).toEqual(spans.slice(5).map((x) => x.span_id));
    // Five spans of three events each, out of the write's count.
    expect(dropped).toEqual({ sink_error: 15 });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: OTLP_ERROR_CODES.rejected, status: 400 });
  });

  it('when the second half must be retried, the retry of the batch sends only what is left', async () => {
    const r = await receiver({
      responder: ({ attempt }) => (attempt === 1 ? 413 : attempt === 3 ? 503 : 200),
    });
    const { sink: s, dropped } = sink({ endpoint: r.tracesUrl, metrics: false });
    const spans = manySpans(10);
    // The dispatcher writes the same batch again after a retryable failure.
    const error = await rejection(s.writeSpans(spans));
    expect(error.retryable).toBe(true);
    await s.writeSpans(spans);
    expect(traceStatuses(r)).toEqual([413, 200, 503, 200]);
    expect(r.requests.map((q) => q.items)).toEqual([10, 5, 5, 5]);
    // Every span once, none twice.
    expect(r.traces.map((t) => t.spanId)).toEqual(spans.map((x) => x.span_id));
    expect(dropped).toEqual({});
  });

  it('counts spans with a time OTLP cannot carry (before 1970) once, and sends the rest', async () => {
    const r = await receiver();
    const { sink: s, dropped, errors } = sink({ endpoint: r.tracesUrl, metrics: false });
    const old = completedSpan({ start_time: -1_000_000, end_time: 5 });
    const fine = completedSpan();
    const batch: CompletedSpan[] = [old, fine];
    r.respondWith(() => 503);
    await rejection(s.writeSpans(batch));
    r.respondWith(undefined);
    await s.writeSpans(batch); // the retry
    expect(r.traces.map((t) => t.spanId)).toEqual([fine.span_id]);
    expect(dropped).toEqual({ otlp_time_out_of_range: 2 });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: OTLP_ERROR_CODES.timeOutOfRange });
    expect((errors[0] as Error).message).toContain('1 span not sent');
  });

  it('reports spans the collector says it rejected in an accepted request (partial success)', async () => {
    const r = await receiver({
      responder: () => ({ status: 200, body: tracePartialSuccess(2, 'spans too old') }),
    });
    const { sink: s, errors, dropped } = sink({ endpoint: r.tracesUrl, metrics: false });
    await s.writeSpans(manySpans(5));
    expect(s.stats()).toMatchObject({ exportedSpans: 5, rejectedSpans: 2 });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: OTLP_ERROR_CODES.partial });
    expect((errors[0] as Error).message).toContain('rejected 2 of them: spans too old');
    expect(dropped).toEqual({});
  });
});

describe('metrics when the collector fails', () => {
  it('retries a metrics export that got 503 until it lands, on flush', async () => {
    const r = await receiver({
      responder: ({ signal, attempt }) => (signal === 'metrics' && attempt <= 2 ? 503 : 200),
    });
    const { sink: s } = sink({ endpoint: r.tracesUrl, timeoutMillis: 5_000 });
    const span = completedSpan();
    await s.writeSpans([{ ...span, events: [metricEvent(span, { metric: 'n', value: 3 })] }]);
    expect(await s.forceFlush()).toBe(true);
    expect(r.requests.filter((q) => q.signal === 'metrics').map((q) => q.status)).toEqual([
      503, 503, 200,
    ]);
    expect(r.latestMetric('n')!.points[0]!.value).toBe(3);
    expect(s.stats()).toMatchObject({ metricExports: 1, failedMetricExports: 2 });
  });

  it('reports a refused metrics export once, does not retry it, and says flush failed', async () => {
    const r = await receiver({ responder: ({ signal }) => (signal === 'metrics' ? 404 : 200) });
    const { sink: s, errors, dropped } = sink({ endpoint: r.tracesUrl });
    const span = completedSpan();
    await s.writeSpans([{ ...span, events: [metricEvent(span, { metric: 'n', value: 3 })] }]);
    expect(await s.forceFlush()).toBe(false);
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
    expect(s.stats().unsentMetricValues).toBe(1);
  });

  it('gives up a metrics flush after timeoutMillis when the collector is down', async () => {
    const r = await receiver();
    const { sink: s } = sink({ endpoint: r.tracesUrl, timeoutMillis: 400 });
    const span = completedSpan();
    await s.writeSpans([{ ...span, events: [metricEvent(span, { metric: 'n', value: 3 })] }]);
    await r.stop();
    expect(await s.forceFlush()).toBe(false);
    expect(s.stats().failedMetricExports).toBeGreaterThan(0);
    expect(s.stats().unsentMetricValues).toBe(1);
  });
});

describe('shutdown', () => {
  it('sends the latest metrics, then closes; a write afterwards is counted, not sent', async () => {
    const r = await receiver();
    const { sink: s, errors, dropped } = sink({ endpoint: r.tracesUrl });
    const span = completedSpan();
    await s.writeSpans([{ ...span, events: [metricEvent(span, { metric: 'last', value: 9 })] }]);
    const first = s.shutdown();
    expect(s.shutdown()).toBe(first); // idempotent
    await first;
    expect(r.latestMetric('last')!.points[0]!.value).toBe(9);
    expect(errors).toEqual([]);
    await s.writeSpans(manySpans(2));
    expect(dropped).toEqual({ after_shutdown: 4 });
    expect(r.spanIds.size).toBe(1);
  });

  it('with the collector down, gives up the metrics after timeoutMillis and says so once', async () => {
    const r = await receiver();
    await r.stop();
    const { sink: s, errors } = sink({ endpoint: r.tracesUrl, timeoutMillis: 300 });
    const span = completedSpan();
    const write = s.writeSpans([
      { ...span, events: [metricEvent(span, { metric: 'm', value: 1 })] },
    ]);
    await rejection(write);
    await s.shutdown();
    const unsent = errors.filter(
      (e) => (e as OtlpExportError).code === OTLP_ERROR_CODES.metricsUnsent,
    );
    expect(unsent).toHaveLength(1);
    expect((unsent[0] as Error).message).toContain(
      `the latest metrics (1 value recorded since the last accepted export) could not be sent to ${r.metricsUrl}`,
    );
    expect((unsent[0] as Error).message).toContain('ECONNREFUSED');
  });

  it('names the collector’s last answer, not its own deadline, when a metrics retry runs out of time', async () => {
    // The first export gets a 503; the retry hangs until the flush budget ends it.
    const r = await receiver({
      responder: ({ signal, attempt }) =>
        signal !== 'metrics' ? 200 : attempt === 1 ? 503 : { status: 200, hang: true },
    });
    const { sink: s, errors } = sink({ endpoint: r.tracesUrl, timeoutMillis: 1_500 });
    const span = completedSpan();
    await s.writeSpans([{ ...span, events: [metricEvent(span, { metric: 'm', value: 1 })] }]);
    expect(await s.forceFlush()).toBe(false);
    expect(r.requests.filter((q) => q.signal === 'metrics').length).toBeGreaterThanOrEqual(2);
    await s.shutdown();
    const unsent = errors.filter(
      (e) => (e as OtlpExportError).code === OTLP_ERROR_CODES.metricsUnsent,
    );
    expect(unsent).toHaveLength(1);
    expect((unsent[0] as Error).message).toMatch(/\(last failure: [^)]*HTTP 503/);
    expect((unsent[0] as Error).message).not.toContain('aborted');
  });

  it('is also reachable as Symbol.asyncDispose', async () => {
    const r = await receiver();
    const s = createOtelSink({ endpoint: r.tracesUrl, env: {} });
    const span = completedSpan();
    await s.writeSpans([{ ...span, events: [metricEvent(span, { metric: 'd', value: 2 })] }]);
    await s[Symbol.asyncDispose]();
    expect(r.latestMetric('d')!.points[0]!.value).toBe(2);
  });
});
