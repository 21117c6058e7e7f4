import type { CompletedSpan } from '@telemetry/core';
import { describe, expect, it } from 'vitest';
import { useOtlpHarness } from './test-support/harness.ts';
import { completedSpan, logEvent, manySpans, metricEvent } from './test-support/spans.ts';

const { receiver, sink } = useOtlpHarness();

const NS = 1000n;

describe('span export', () => {
  it('sends spans with the same ids, parents, times, attributes, status, kind and events', async () => {
    const r = await receiver();
    const {
      sink: s,
      errors,
      dropped,
    } = sink({ endpoint: r.tracesUrl, serviceName: 'checkout', metrics: false });

    const start = 1_700_000_000_123_456;
    const root = completedSpan({
      name: 'GET /cart',
      kind: 'server',
      start_time: start,
      end_time: start + 40, // a 40 µs span stays 40 µs
      attributes: {
        'http.method': 'GET',
        retries: 3,
        ratio: 0.25,
        cached: false,
        missing: null,
        __root__: true,
        __autotraced__: true,
      },
    });
    const child = completedSpan({
      trace_id: root.trace_id,
      parent_span_id: root.span_id,
      name: 'db.query',
      kind: 'client',
      start_time: start + 5,
      end_time: start + 31,
      status: 'error',
      status_message: 'connection reset',
      attributes: { 'error.type': 'Error', 'error.message': 'connection reset', __class__: 'Db' },
    });
    const events = [
      logEvent(child, {
        message: 'retrying',
        severity: 'warn',
        timestamp: start + 7,
        attributes: { attempt: 2 },
      }),
      logEvent(child, { message: '', severity: 'debug', timestamp: start + 8 }),
      metricEvent(child, {
        metric: 'rows',
        value: 17,
        unit: 'rows',
        timestamp: start + 9,
        attributes: { table: 'cart' },
      }),
    ];
    const childWithEvents: CompletedSpan = { ...child, events };
    // A local root continuing a trace from another process (traceparent) has a remote parent.
    const remoteParent = 'a1b2c3d4e5f60718';
    const continued = completedSpan({
      parent_span_id: remoteParent,
      name: 'consume',
      kind: 'consumer',
      attributes: { __root__: true },
    });

    await s.writeSpans([childWithEvents, root, continued]);

    expect(r.traces).toHaveLength(3);
    const byId = new Map(r.traces.map((t) => [t.spanId, t]));

    const gotRoot = byId.get(root.span_id)!;
    expect(gotRoot.traceId).toBe(root.trace_id);
    expect(gotRoot.parentSpanId).toBeNull();
    expect(gotRoot.name).toBe('GET /cart');
    expect(gotRoot.kind).toBe('server');
    expect(gotRoot.startTimeUnixNano).toBe(1_700_000_000_123_456_000n);
    expect(gotRoot.endTimeUnixNano - gotRoot.startTimeUnixNano).toBe(40_000n);
    expect(gotRoot.attributes).toEqual({
      'http.method': 'GET',
      retries: 3,
      ratio: 0.25,
      cached: false,
    });
    expect(gotRoot.status).toEqual({ code: 'ok', message: '' });
    expect(gotRoot.events).toEqual([]);
    expect(gotRoot.flags & 0xff).toBe(1); // sampled
    expect(gotRoot.resource['service.name']).toBe('checkout');
    expect(gotRoot.resource['telemetry.sdk.language']).toBe('nodejs');
    expect(gotRoot.resource['telemetry.sdk.name']).toBe('opentelemetry');
    expect(gotRoot.scope.name).toBe('@telemetry/core');

    const gotChild = byId.get(child.span_id)!;
    expect(gotChild.traceId).toBe(root.trace_id);
    expect(gotChild.parentSpanId).toBe(root.span_id);
    expect(gotChild.kind).toBe('client');
    expect(gotChild.startTimeUnixNano).toBe(BigInt(start + 5) * NS);
    expect(gotChild.endTimeUnixNano).toBe(BigInt(start + 31) * NS);
    expect(gotChild.status).toEqual({ code: 'error', message: 'connection reset' });
    expect(gotChild.attributes).toEqual({
      'error.type': 'Error',
      'error.message': 'connection reset',
    });
    expect(gotChild.flags & 0x300).toBe(0x100); // parent known to be local
    expect(gotChild.events).toEqual([
      {
        name: 'retrying',
        timeUnixNano: BigInt(start + 7) * NS,
        attributes: { attempt: 2, message: 'retrying', severity: 'warn' },
      },
      {
        name: 'log',
        timeUnixNano: BigInt(start + 8) * NS,
        attributes: { message: '', severity: 'debug' },
      },
      {
        name: 'metric.rows',
        timeUnixNano: BigInt(start + 9) * NS,
        attributes: { table: 'cart', value: 17, unit: 'rows' },
      },
    ]);

    const gotContinued = byId.get(continued.span_id)!;
    expect(gotContinued.parentSpanId).toBe(remoteParent);
    expect(gotContinued.kind).toBe('consumer');
    expect(gotContinued.flags & 0x300).toBe(0x300); // parent is remote
    expect(gotContinued.attributes).toEqual({});

    expect(s.stats()).toMatchObject({ exportedSpans: 3, exportRequests: 1 });
    expect(errors).toEqual([]);
    expect(dropped).toEqual({});
  });

  it('does not mutate the spans it is given', async () => {
    const r = await receiver();
    const { sink: s } = sink({ endpoint: r.tracesUrl, metrics: false });
    const span = completedSpan({ attributes: { a: 1, __root__: true } });
    const frozen = Object.freeze({ ...span, attributes: Object.freeze({ ...span.attributes }) });
    await s.writeSpans(Object.freeze([frozen]));
    expect(r.traces[0]!.attributes).toEqual({ a: 1 });
    expect(frozen.attributes).toEqual({ a: 1, __root__: true });
  });

  it('sends headers and resource attributes from the options', async () => {
    const r = await receiver();
    const { sink: s } = sink({
      baseEndpoint: r.url,
      headers: { 'x-api-key': 'secret' },
      resourceAttributes: { 'deployment.environment': 'test', replicas: 2 },
    });
    await s.writeSpans([completedSpan()]);
    expect(r.requests[0]).toMatchObject({
      signal: 'traces',
      path: '/v1/traces',
      status: 200,
      items: 1,
    });
    expect(r.requests[0]!.headers['x-api-key']).toBe('secret');
    expect(r.requests[0]!.headers['content-type']).toBe('application/x-protobuf');
    expect(r.traces[0]!.resource).toMatchObject({ 'deployment.environment': 'test', replicas: 2 });
    expect(String(r.traces[0]!.resource['service.name'])).toMatch(/^unknown_service/);
  });

  it('resolves a write only once the collector accepted it, and declares its delivery to core', async () => {
    const r = await receiver({ responder: () => ({ status: 200, delayMs: 300 }) });
    const { sink: s } = sink({
      endpoint: r.tracesUrl,
      metrics: false,
      maxConcurrentExports: 3,
      maxExportBatchSize: 500,
    });
    expect(s.delivery).toEqual({ concurrency: 3, maxBatchSize: 500 });
    let resolved = false;
    const write = s.writeSpans([completedSpan()]).then(() => {
      resolved = true;
    });
    await r.waitFor(() => r.requests.length === 1, 'the request');
    expect(resolved).toBe(false);
    expect(r.spanCount()).toBe(1); // arrived, not yet answered
    await write;
    expect(resolved).toBe(true);
  });

  it('encodes exactly what OpenTelemetry’s own OTLPTraceExporter sends for the same spans', async () => {
    const ours = await receiver();
    const theirs = await receiver();
    const { sink: s } = sink({ endpoint: ours.tracesUrl, metrics: false, serviceName: 'same' });
    const span = completedSpan({ attributes: { a: 1, b: 'x', c: [1, 2] as never } });
    const spans = [
      { ...span, events: [logEvent(span), metricEvent(span)] },
      completedSpan({ trace_id: span.trace_id, parent_span_id: span.span_id, status: 'error' }),
    ];
    await s.writeSpans(spans);
    // The same ReadableSpans through the SDK's exporter: same bytes on the wire.
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
    const { toReadableSpans } = await import('./span-convert.ts');
    const { defaultResource, resourceFromAttributes } = await import('@opentelemetry/resources');
    const exporter = new OTLPTraceExporter({ url: theirs.tracesUrl });
    const resource = defaultResource().merge(resourceFromAttributes({ 'service.name': 'same' }));
    await new Promise<void>((resolve, reject) =>
      exporter.export(toReadableSpans(spans, resource, { name: '@telemetry/core' }), (result) =>
        result.code === 0 ? resolve() : reject(result.error),
      ),
    );
    await exporter.shutdown();
    expect(ours.traces).toEqual(theirs.traces);
    expect(ours.requests[0]!.bytes).toBe(theirs.requests[0]!.bytes);
    expect(ours.requests[0]!.headers['content-type']).toBe('application/x-protobuf');
  });

  it('sends gzip-compressed bodies when asked to', async () => {
    const r = await receiver();
    const { sink: s } = sink({ endpoint: r.tracesUrl, metrics: false, compression: 'gzip' });
    await s.writeSpans(manySpans(50));
    expect(r.requests[0]!.headers['content-encoding']).toBe('gzip');
    expect(r.spanIds.size).toBe(50);
  });
});

describe('metric export', () => {
  it('turns metric events into OTLP metrics: kind, value, unit and attributes', async () => {
    const r = await receiver();
    const { sink: s, errors } = sink({
      endpoint: r.tracesUrl,
      metricKinds: { ttft_ms: 'histogram', queue_depth: 'gauge', cost_usd: 'counter' },
    });
    const span = completedSpan();
    const ev = (
      metric: string,
      value: number,
      unit: string,
      attributes: Record<string, string> = {},
    ) => metricEvent(span, { metric, value, unit, attributes });
    await s.writeSpans([
      {
        ...span,
        events: [
          ev('prompt_tokens', 12, 'tokens', { model: 'llama-3' }),
          ev('prompt_tokens', 30, 'tokens', { model: 'llama-3' }),
          ev('prompt_tokens', 5, 'tokens', { model: 'qwen' }),
          ev('temperature', 0.5, 'celsius'),
          ev('temperature', -1.25, 'celsius'),
          ev('ttft_ms', 120, 'ms'),
          ev('ttft_ms', 80, 'ms'),
          ev('queue_depth', 7, '1'),
          ev('queue_depth', 3, '1'),
          ev('cost_usd', 0.125, 'USD'),
          ev('cost_usd', 0.25, 'USD'),
        ],
      },
    ]);
    expect(await s.forceFlush()).toBe(true);

    const tokens = r.latestMetric('prompt_tokens')!;
    expect(tokens).toMatchObject({
      kind: 'sum',
      monotonic: true,
      temporality: 'cumulative',
      unit: 'tokens',
    });
    expect(tokens.resource['service.name']).toBeDefined();
    expect(tokens.scope.name).toBe('@telemetry/core');
    const byModel = Object.fromEntries(tokens.points.map((p) => [p.attributes.model as string, p]));
    expect(byModel['llama-3']).toMatchObject({
      value: 42,
      valueType: 'int',
      attributes: { model: 'llama-3' },
    });
    expect(byModel.qwen).toMatchObject({ value: 5, valueType: 'int' });

    const temperature = r.latestMetric('temperature')!;
    expect(temperature).toMatchObject({ kind: 'sum', monotonic: false, unit: 'celsius' });
    expect(temperature.points).toHaveLength(1);
    expect(temperature.points[0]).toMatchObject({
      value: -0.75,
      valueType: 'double',
      attributes: {},
    });

    const ttft = r.latestMetric('ttft_ms')!;
    expect(ttft).toMatchObject({ kind: 'histogram', unit: 'ms' });
    expect(ttft.points[0]).toMatchObject({ count: 2, sum: 200, min: 80, max: 120 });

    const depth = r.latestMetric('queue_depth')!;
    expect(depth).toMatchObject({ kind: 'gauge', unit: '1' });
    expect(depth.points[0]).toMatchObject({ value: 3, valueType: 'double' });

    const cost = r.latestMetric('cost_usd')!;
    expect(cost).toMatchObject({ kind: 'sum', monotonic: true, unit: 'USD' });
    expect(cost.points[0]).toMatchObject({ value: 0.375, valueType: 'double' });

    expect(r.requests.find((q) => q.signal === 'metrics')!.path).toBe('/v1/metrics');
    expect(errors).toEqual([]);
  });

  it('skips, without an error, a value its counter cannot take, and still sends it as a span event', async () => {
    const r = await receiver();
    const { sink: s, errors, dropped } = sink({ endpoint: r.tracesUrl });
    const span = completedSpan();
    await s.writeSpans([
      {
        ...span,
        events: [
          metricEvent(span, { metric: 'requests', value: 4 }),
          metricEvent(span, { metric: 'requests', value: -2 }),
          metricEvent(span, { metric: 'requests', value: 1.5 }),
          metricEvent(span, { metric: 'requests', value: 1 }),
        ],
      },
    ]);
    expect(await s.forceFlush()).toBe(true);
    const requests = r.latestMetric('requests')!;
    expect(requests).toMatchObject({ kind: 'sum', monotonic: true });
    expect(requests.points[0]).toMatchObject({ value: 5, valueType: 'int' });
    expect(s.stats()).toMatchObject({
      recordedMetricValues: 2,
      skippedMetricValues: 2,
      unsentMetricValues: 0,
      metricExports: 1,
    });
    expect(r.traces[0]!.events.map((e) => e.attributes.value)).toEqual([4, -2, 1.5, 1]);
    expect(errors).toEqual([]);
    expect(dropped).toEqual({});
  });

  it('exports metrics on its interval, cumulatively', async () => {
    const r = await receiver();
    const { sink: s } = sink({
      endpoint: r.tracesUrl,
      traces: true,
      metricExportIntervalMillis: 50,
    });
    const span = completedSpan();
    void s.writeSpans([{ ...span, events: [metricEvent(span, { metric: 'hits', value: 2 })] }]);
    await r.waitFor(() => r.latestMetric('hits') !== undefined, 'a metrics export');
    void s.writeSpans([{ ...span, events: [metricEvent(span, { metric: 'hits', value: 3 })] }]);
    await r.waitFor(() => r.latestMetric('hits')?.points[0]?.value === 5, 'the cumulative sum 5');
  });

  it('exports only metrics when traces are off', async () => {
    const r = await receiver();
    const { sink: s } = sink({ metricsEndpoint: r.metricsUrl, traces: false });
    const span = completedSpan();
    await s.writeSpans([{ ...span, events: [metricEvent(span, { metric: 'only', value: 1 })] }]);
    expect(await s.forceFlush()).toBe(true);
    expect(r.latestMetric('only')!.points[0]!.value).toBe(1);
    expect(r.requests.every((q) => q.signal === 'metrics')).toBe(true);
    expect(s.endpoints).toEqual({ traces: undefined, metrics: r.metricsUrl });
  });
});
