/**
 * Through core, as a user would: createTelemetry + tracing helpers, the OTLP
 * sink next to a memory sink, and a real receiver that decodes the protobuf.
 */
import {
  createMemorySink,
  createTelemetry,
  type StructuredLogEvent,
  type TelemetryStats,
} from '@telemetry/core';
import { checkSinkConformance } from '@telemetry/core/testing';
import { createOtelSink } from '@telemetry/sink-otel';
import { describe, expect, it } from 'vitest';
import { useOtlpHarness } from './test-support/harness.ts';

const { receiver, cleanup } = useOtlpHarness();

function setup(
  sinkOptions: Parameters<typeof createOtelSink>[0],
  telemetryOptions: Parameters<typeof createTelemetry>[0] = {},
) {
  const otel = createOtelSink({ env: {}, ...sinkOptions });
  const memory = createMemorySink();
  const warnings: string[] = [];
  const telemetry = createTelemetry({
    sinks: [otel, memory],
    warn: (m) => warnings.push(m),
    ...telemetryOptions,
  });
  cleanup(() => telemetry.shutdown());
  return { otel, memory, telemetry, warnings };
}

function sum(record: Readonly<Record<string, number>>): number {
  return Object.values(record).reduce((a, b) => a + b, 0);
}

/** accepted = delivered + dropped + pending, for one sink. */
function expectBalanced(stats: TelemetryStats, sink: string) {
  const s = stats.sinks[sink]!;
  expect(s.delivered + sum(s.dropped) + s.pending).toBe(stats.accepted);
}

describe('through createTelemetry and the tracing helpers', () => {
  it('exports what core recorded: the same ids, parents, times, attributes, status, events and metrics', async () => {
    const r = await receiver();
    const { telemetry, memory, otel } = setup({
      endpoint: r.tracesUrl,
      serviceName: 'llama-stack',
    });
    const log = telemetry.createLogger('inference');

    telemetry.withTrace(
      'chat_completion',
      (root) => {
        root.setAttribute('model_id', 'llama-3.2-3b');
        telemetry.withSpan(
          'tokenize',
          (span) => {
            log.warn('prompt truncated', { max_tokens: 4096 });
            span.metric('prompt_tokens', 812, 'tokens', { model_id: 'llama-3.2-3b' });
          },
          { kind: 'client' },
        );
        try {
          telemetry.withSpan('safety', () => {
            throw new TypeError('shield unavailable');
          });
        } catch {
          // the span records the error; the caller decides what to do
        }
      },
      { attributes: { 'session.id': 's-1' } },
    );
    expect(await telemetry.flush()).toBe(true);

    // Core's view: the raw events and the completed spans.
    const starts = memory.events.filter(
      (e): e is StructuredLogEvent =>
        e.type === 'structured_log' && e.payload.type === 'span_start',
    );
    expect(starts).toHaveLength(3);
    expect(memory.spans).toHaveLength(3);
    expect(r.traces).toHaveLength(3);
    const exported = new Map(r.traces.map((s) => [s.spanId, s]));

    for (const start of starts) {
      const span = exported.get(start.span_id)!;
      expect(span, `span ${start.span_id} exported`).toBeDefined();
      expect(span.traceId).toBe(start.trace_id);
      expect(span.startTimeUnixNano).toBe(BigInt(start.timestamp) * 1000n);
      const payload = start.payload as { parent_span_id: string | null };
      expect(span.parentSpanId).toBe(payload.parent_span_id);
    }
    for (const completed of memory.spans) {
      const span = exported.get(completed.span_id)!;
      expect(span.name).toBe(completed.name);
      expect(span.endTimeUnixNano).toBe(BigInt(completed.end_time) * 1000n);
      expect(span.kind).toBe(completed.kind);
      const visible = Object.fromEntries(
        Object.entries(completed.attributes).filter(([k]) => !k.startsWith('__')),
      );
      expect(span.attributes).toEqual(visible);
      expect(span.status.code).toBe(completed.status);
      expect(span.resource['service.name']).toBe('llama-stack');
    }

    const byName = new Map(r.traces.map((s) => [s.name, s]));
    const root = byName.get('chat_completion')!;
    const tokenize = byName.get('tokenize')!;
    const safety = byName.get('safety')!;
    expect(root.parentSpanId).toBeNull();
    expect(tokenize.parentSpanId).toBe(root.spanId);
    expect(safety.parentSpanId).toBe(root.spanId);
    expect(new Set(r.traces.map((s) => s.traceId)).size).toBe(1);
    expect(root.attributes).toEqual({ 'session.id': 's-1', model_id: 'llama-3.2-3b' });
    expect(root.status).toEqual({ code: 'ok', message: '' });
    expect(tokenize.kind).toBe('client');
    expect(safety.status).toEqual({ code: 'error', message: 'shield unavailable' });
    expect(safety.attributes).toMatchObject({
      'error.type': 'TypeError',
      'error.message': 'shield unavailable',
    });

    const logEvent = memory.events.find((e) => e.type === 'unstructured_log')!;
    const metricEvent = memory.events.find((e) => e.type === 'metric')!;
    expect(tokenize.events).toEqual([
      {
        name: 'prompt truncated',
        timeUnixNano: BigInt(logEvent.timestamp) * 1000n,
        attributes: {
          'logger.name': 'inference',
          max_tokens: 4096,
          message: 'prompt truncated',
          severity: 'warn',
        },
      },
      {
        name: 'metric.prompt_tokens',
        timeUnixNano: BigInt(metricEvent.timestamp) * 1000n,
        attributes: { model_id: 'llama-3.2-3b', value: 812, unit: 'tokens' },
      },
    ]);

    const tokens = r.latestMetric('prompt_tokens')!;
    expect(tokens).toMatchObject({ kind: 'sum', monotonic: true, unit: 'tokens' });
    expect(tokens.points).toEqual([
      expect.objectContaining({
        value: 812,
        valueType: 'int',
        attributes: { model_id: 'llama-3.2-3b' },
      }),
    ]);
    expect(tokens.resource['service.name']).toBe('llama-stack');

    const stats = telemetry.stats();
    expect(stats.sinks.otel).toMatchObject({
      delivered: stats.accepted,
      dropped: {},
      failed: 0,
      pending: 0,
    });
    expect(otel.stats().exportedSpans).toBe(3);
  });

  it('continues a trace from a traceparent: the remote parent is kept and marked remote', async () => {
    const r = await receiver();
    const { telemetry } = setup({ endpoint: r.tracesUrl, metrics: false });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    telemetry.withTrace('handle', () => {}, { traceparent: `00-${traceId}-${parentId}-01` });
    await telemetry.flush();
    expect(r.traces).toHaveLength(1);
    expect(r.traces[0]).toMatchObject({ traceId, parentSpanId: parentId, name: 'handle' });
    expect(r.traces[0]!.flags & 0x300).toBe(0x300);
  });

  it('the collector down for 10 seconds, then back: every span arrives and nothing is counted lost', async () => {
    const r = await receiver();
    await r.stop();
    const { telemetry, otel, warnings } = setup({ endpoint: r.tracesUrl });
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      telemetry.withTrace(`request ${i}`, (root) => {
        ids.push(root.span_id);
        telemetry.withSpan('step', (s) => {
          ids.push(s.span_id);
          s.metric('steps', 1, '1');
        });
      });
    }
    const flushed = telemetry.flush({ timeoutMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    expect(r.spanCount()).toBe(0);
    const stats = telemetry.stats();
    expect(stats.sinks.otel).toMatchObject({ delivered: 0, dropped: {}, pending: stats.accepted });
    await r.start();
    expect(await flushed).toBe(true);

    expect(r.spanIds.size).toBe(400);
    const arrived = new Set(r.traces.map((t) => t.spanId));
    for (const id of ids) expect(arrived.has(id)).toBe(true);
    expect(r.latestMetric('steps')!.points[0]!.value).toBe(200);
    const after = telemetry.stats();
    expect(after.sinks.otel).toMatchObject({ delivered: after.accepted, dropped: {}, pending: 0 });
    expect(after.sinks.otel!.lastError).toContain('ECONNREFUSED');
    // Retried, not resent: each span exactly once.
    expect(otel.stats().exportedSpans).toBe(400);
    expect(r.spanCount()).toBe(400);
    // The outage was told once (one line per error code per warnIntervalMs), not per retry.
    expect(warnings.filter((w) => w.includes('ECONNREFUSED'))).toHaveLength(1);
  }, 40_000);

  it('a receiver answering 503, then 200: retried and delivered', async () => {
    const r = await receiver({
      responder: ({ signal, attempt }) => (signal === 'traces' && attempt <= 2 ? 503 : 200),
    });
    const { telemetry } = setup({ endpoint: r.tracesUrl, metrics: false });
    for (let i = 0; i < 50; i++) telemetry.withTrace('t', () => {});
    expect(await telemetry.flush()).toBe(true);
    expect(r.requests.filter((q) => q.signal === 'traces').map((q) => q.status)).toEqual([
      503, 503, 200,
    ]);
    expect(r.spanIds.size).toBe(50);
    const stats = telemetry.stats();
    expect(stats.sinks.otel).toMatchObject({ delivered: 100, dropped: {}, pending: 0 });
  });

  it('honours a 503’s Retry-After before the next attempt', async () => {
    const r = await receiver({
      responder: ({ signal, attempt }) =>
        signal === 'traces' && attempt === 1
          ? { status: 503, headers: { 'retry-after': '2' } }
          : undefined,
    });
    const { telemetry, warnings } = setup({ endpoint: r.tracesUrl, metrics: false });
    telemetry.withTrace('t', () => {});
    expect(await telemetry.flush()).toBe(true);
    const [first, second] = r.requests;
    expect([first!.status, second!.status]).toEqual([503, 200]);
    // Without the header the first retry comes after 200-300 ms.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1_950);
    expect(warnings.join('\n')).toContain('retrying in 2 s, as the collector asked');
  });

  it('metrics refused while spans go through: shutdown stops at its deadline and says so in one line', async () => {
    const r = await receiver({ responder: ({ signal }) => (signal === 'metrics' ? 503 : 200) });
    const { telemetry, otel, warnings } = setup({ endpoint: r.tracesUrl });
    for (let i = 0; i < 10; i++) telemetry.withTrace('t', (s) => s.metric('n', 1, '1'));
    await telemetry.shutdown({ timeoutMs: 1_000 });
    // Said before shutdown() resolved.
    const unsent = warnings.filter((w) => w.includes('the latest metrics'));
    expect(unsent).toHaveLength(1);
    expect(unsent[0]).toContain(
      `(10 values recorded since the last accepted export) could not be sent to ${r.metricsUrl}`,
    );
    expect(unsent[0]).toContain('HTTP 503');
    // No event was lost: the spans, metric events included, were delivered.
    expect(warnings.some((w) => w.includes('[telemetry] shutdown:'))).toBe(false);
    const stats = telemetry.stats();
    expect(stats.sinks.otel).toMatchObject({ delivered: stats.accepted, dropped: {}, pending: 0 });
    expect(r.spanIds.size).toBe(10);
    expect(otel.stats()).toMatchObject({ unsentMetricValues: 10, metricExports: 0 });
    expect(otel.stats().failedMetricExports).toBeGreaterThan(0);
  });

  it('shows refused spans in core’s stats under this sink', async () => {
    const r = await receiver({ responder: ({ signal }) => (signal === 'traces' ? 400 : 200) });
    const { telemetry, warnings } = setup({ endpoint: r.tracesUrl, metrics: false });
    for (let i = 0; i < 10; i++) telemetry.withTrace(`t${i}`, (s) => s.log('x'));
    expect(await telemetry.flush()).toBe(true);
    const stats = telemetry.stats();
    // 10 spans of 3 events (start, log, end).
    expect(stats.sinks.otel).toMatchObject({
      delivered: 0,
      dropped: { sink_error: 30 },
      pending: 0,
    });
    expect(stats.sinks.memory!.delivered).toBe(30);
    expectBalanced(stats, 'otel');
    expect(warnings.join('\n')).toContain('sink "otel" failed');
    expect(warnings.join('\n')).toContain('HTTP 400');
  });

  it('a burst past core’s queue: every span arrives or is counted, nothing is sent twice or fails', async () => {
    const r = await receiver({ storeSpans: false });
    // Sized to overflow the queue, as 200,000 spans overflow the default 200,000 events.
    const SPANS = 30_000;
    const { telemetry, otel } = setup(
      { endpoint: r.tracesUrl, metrics: false },
      { capacity: 40_000 },
    );
    telemetry.withTrace('burst', () => {
      for (let i = 1; i < SPANS; i++) telemetry.withSpan('op', () => {});
    });
    expect(await telemetry.flush({ timeoutMs: 60_000 })).toBe(true);
    await telemetry.shutdown();

    const stats = telemetry.stats();
    // Every event the helpers logged was either accepted or refused at the door...
    expect(stats.accepted + sum(stats.dropped)).toBe(2 * SPANS);
    expect(stats.dropped.queue_full).toBeGreaterThan(0);
    // ...and every accepted one was delivered or dropped, by reason, for this sink.
    expectBalanced(stats, 'otel');
    expect(stats.sinks.otel!.pending).toBe(0);
    // What arrived is exactly what core counts as delivered: two events per span.
    expect(r.spanIds.size).toBe(r.spanCount());
    expect(2 * r.spanCount()).toBe(stats.sinks.otel!.delivered);
    expect(otel.stats().exportedSpans).toBe(r.spanCount());
    expect(r.spanCount()).toBeGreaterThan(0);
    // No export failed on the way, and core joined the burst into full batches.
    expect(stats.sinks.otel!.lastError).toBeUndefined();
    expect(otel.stats().exportRequests).toBe(Math.ceil(r.spanCount() / 2000));
  });

  it('a burst past this sink’s backlog while the collector is slow: the overflow is counted, the rest arrives', async () => {
    const r = await receiver({
      storeSpans: false,
      responder: () => ({ status: 200, delayMs: 50 }),
    });
    const SPANS = 20_000;
    const { telemetry, otel } = setup(
      { endpoint: r.tracesUrl, metrics: false, maxExportBatchSize: 1_000 },
      { capacity: 100_000, sinkCapacity: 10_000 },
    );
    for (let i = 0; i < SPANS; i++) telemetry.withTrace('op', () => {});
    expect(await telemetry.flush({ timeoutMs: 60_000 })).toBe(true);
    await telemetry.shutdown();

    const stats = telemetry.stats();
    expect(stats.accepted).toBe(2 * SPANS);
    expect(stats.dropped).toEqual({});
    const otelStats = stats.sinks.otel!;
    expect(otelStats.pending).toBe(0);
    expect(otelStats.dropped.sink_backlog).toBeGreaterThan(0);
    expect(Object.keys(otelStats.dropped)).toEqual(['sink_backlog']);
    expectBalanced(stats, 'otel');
    // Spans: arrived + dropped for this sink = spans created.
    expect(r.spanIds.size).toBe(r.spanCount());
    expect(r.spanCount() + otelStats.dropped.sink_backlog! / 2).toBe(SPANS);
    expect(2 * r.spanCount()).toBe(otelStats.delivered);
    expect(otel.stats().exportedSpans).toBe(r.spanCount());
  });

  it('passes core’s sink conformance check', async () => {
    const r = await receiver();
    const report = await checkSinkConformance(() =>
      createOtelSink({ endpoint: r.tracesUrl, env: {} }),
    );
    expect(report.delivered).toBe(report.accepted);
    expect(r.spanIds.size).toBe(400);
  });
});
