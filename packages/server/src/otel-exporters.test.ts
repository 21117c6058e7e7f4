/**
 * The real OpenTelemetry JS exporters send to the server on 127.0.0.1: every
 * span arrives in SQLite with its ids, parent, kind, status, attributes and
 * service name, and the Llama Stack queries answer about them.
 */
import { type Attributes, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from './test-support/fixture.ts';

let fx: Fixture;

beforeEach(async () => {
  // OTLP on its own port too, as `otlpPort: 4318` would do (0: any free port).
  fx = await startFixture({ server: { otlpPort: 0 } });
});

afterEach(async () => {
  await fx.close();
});

interface SpanRow {
  span_id: string;
  trace_id: string;
  parent_span_id: string | null;
  name: string;
  kind: string;
  status: string;
  status_message: string | null;
  start_time: number;
  end_time: number;
  attributes: string;
}

function rows(): Map<string, SpanRow> {
  const db = new Database(fx.dbPath, { readonly: true });
  try {
    const all = db.prepare('select * from spans').all() as SpanRow[];
    return new Map(all.map((r) => [r.span_id, r]));
  } finally {
    db.close();
  }
}

function micros([seconds, nanos]: [number, number]): number {
  return seconds * 1_000_000 + Math.floor(nanos / 1000);
}

/** Records a small trace through an SDK provider that exports with `exporter`; returns the spans as the SDK saw them. */
async function recordTrace(exporter: SpanExporter, service: string): Promise<ReadableSpan[]> {
  const seen = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment': 'test' }),
    spanProcessors: [new SimpleSpanProcessor(seen), new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('checkout-lib', '1.2.3');
  const root = tracer.startSpan('POST /checkout', {
    kind: SpanKind.SERVER,
    attributes: { 'http.method': 'POST', 'http.status_code': 500, retry: true, ratio: 0.25 },
  });
  const ctx = trace.setSpan(ROOT_CONTEXT, root);
  const child = tracer.startSpan(
    'SELECT orders',
    {
      kind: SpanKind.CLIENT,
      attributes: { 'db.system': 'sqlite', tags: ['a', 'b'] } as Attributes,
    },
    ctx,
  );
  child.addEvent('cache miss', { key: 'order:42' });
  child.setStatus({ code: SpanStatusCode.OK });
  child.end();
  const producer = tracer.startSpan('publish', { kind: SpanKind.PRODUCER }, ctx);
  producer.end();
  const consumer = tracer.startSpan('consume', { kind: SpanKind.CONSUMER }, ctx);
  consumer.end();
  const internal = tracer.startSpan('render', {}, ctx);
  internal.end();
  root.recordException(new Error('card declined'));
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  root.end();
  await provider.forceFlush();
  const spans = [...seen.getFinishedSpans()];
  await provider.shutdown();
  expect(await fx.telemetry.flush()).toBe(true);
  return spans;
}

const KIND_NAMES: Record<number, string> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

function expectStored(spans: ReadableSpan[], service: string): void {
  const stored = rows();
  expect(stored.size).toBe(spans.length);
  for (const span of spans) {
    const { traceId, spanId } = span.spanContext();
    const row = stored.get(spanId);
    expect(row, span.name).toBeDefined();
    expect(row!.trace_id).toBe(traceId);
    expect(row!.parent_span_id).toBe(span.parentSpanContext?.spanId ?? null);
    expect(row!.name).toBe(span.name);
    expect(row!.kind).toBe(KIND_NAMES[span.kind]);
    expect(row!.status).toBe(span.status.code === SpanStatusCode.ERROR ? 'error' : 'ok');
    expect(row!.status_message).toBe(span.status.message || null);
    expect(row!.start_time).toBe(micros(span.startTime));
    expect(row!.end_time).toBe(micros(span.endTime));
    const attributes = JSON.parse(row!.attributes);
    for (const [key, value] of Object.entries(span.attributes)) {
      expect(attributes[key], key).toEqual(Array.isArray(value) ? JSON.stringify(value) : value);
    }
    expect(attributes['service.name']).toBe(service);
    expect(attributes['deployment.environment']).toBe('test');
    expect(attributes['otel.scope.name']).toBe('checkout-lib');
    expect(attributes['otel.scope.version']).toBe('1.2.3');
  }
}

async function expectQueries(spans: ReadableSpan[], service: string): Promise<void> {
  const root = spans.find((s) => s.name === 'POST /checkout')!;
  const { traceId, spanId } = root.spanContext();
  const traces = await fx.telemetry.queryTraces({
    attribute_filters: [{ key: 'service.name', op: 'eq', value: service }],
  });
  expect(traces.map((t) => t.trace_id)).toEqual([traceId]);
  expect(traces[0]!.root_span_id).toBe(spanId);
  const tree = await fx.telemetry.getSpanTree(spanId);
  expect(Object.keys(tree).sort()).toEqual(spans.map((s) => s.spanContext().spanId).sort());
  expect(tree[spanId]!.status).toBe('error');
  const db = await fx.telemetry.querySpans({
    attribute_filters: [{ key: 'db.system', op: 'eq', value: 'sqlite' }],
    attributes_to_return: ['db.system'],
  });
  expect(db.map((s) => s.name)).toEqual(['SELECT orders']);
  // Span events are the span's logs: the exception and the cache miss.
  const sqlite = new Database(fx.dbPath, { readonly: true });
  try {
    const logs = sqlite
      .prepare('select span_id, name, attributes from span_events order by id')
      .all() as { span_id: string; name: string; attributes: string }[];
    const byMessage = new Map(logs.map((l) => [JSON.parse(l.attributes).message, l]));
    expect(JSON.parse(byMessage.get('exception')!.attributes)).toMatchObject({
      severity: 'error',
      'exception.message': 'card declined',
    });
    expect(byMessage.get('exception')!.span_id).toBe(spanId);
    expect(JSON.parse(byMessage.get('cache miss')!.attributes)).toMatchObject({
      severity: 'info',
      key: 'order:42',
    });
  } finally {
    sqlite.close();
  }
}

describe('OpenTelemetry exporters into SQLite through the server', () => {
  it('exporter-trace-otlp-proto (protobuf) on the OTLP port', async () => {
    const exporter = new OTLPTraceExporterProto({ url: `${fx.address.otlpUrl}/v1/traces` });
    const spans = await recordTrace(exporter, 'checkout');
    expect(spans).toHaveLength(5);
    expectStored(spans, 'checkout');
    await expectQueries(spans, 'checkout');
  });

  it('exporter-trace-otlp-proto, gzip-compressed, on the main port', async () => {
    const exporter = new OTLPTraceExporterProto({
      url: `${fx.url}/v1/traces`,
      compression: 'gzip' as never,
    });
    const spans = await recordTrace(exporter, 'checkout-gz');
    expectStored(spans, 'checkout-gz');
  });

  it('exporter-trace-otlp-http (JSON)', async () => {
    const exporter = new OTLPTraceExporterJson({ url: `${fx.address.otlpUrl}/v1/traces` });
    const spans = await recordTrace(exporter, 'checkout-json');
    expectStored(spans, 'checkout-json');
    await expectQueries(spans, 'checkout-json');
  });

  it('exporter-metrics-otlp-proto: counters, gauges and histograms answer queryMetrics', async () => {
    const reader = new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter({
        url: `${fx.address.otlpUrl}/v1/metrics`,
        temporalityPreference: AggregationTemporality.DELTA,
      }),
      exportIntervalMillis: 3_600_000,
    });
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'inference' }),
      readers: [reader],
    });
    const meter = provider.getMeter('llm');
    const tokens = meter.createCounter('total_tokens', { unit: 'tokens' });
    tokens.add(100, { model_id: 'llama-3.2-3b' });
    tokens.add(28, { model_id: 'llama-3.2-3b' });
    tokens.add(7, { model_id: 'llama-3.1-8b' });
    const latency = meter.createHistogram('latency', {
      unit: 'ms',
      advice: { explicitBucketBoundaries: [10, 100] },
    });
    latency.record(5);
    latency.record(50);
    latency.record(500);
    const queue = meter.createGauge('queue_depth');
    queue.record(3, { queue: 'main' });
    const from = Math.floor(Date.now() / 1000) - 5;
    await provider.forceFlush();
    await provider.shutdown();
    expect(await fx.telemetry.flush()).toBe(true);
    const to = Math.floor(Date.now() / 1000) + 5;

    const range = { query_type: 'range' as const, start_time: from, end_time: to };
    const series = await fx.telemetry.queryMetrics('total_tokens', range);
    const byModel = Object.fromEntries(
      series.map((s) => [
        s.labels.find((l) => l.name === 'model_id')?.value,
        s.values.map((v) => [v.value, v.unit]),
      ]),
    );
    expect(byModel).toEqual({
      'llama-3.2-3b': [[128, 'tokens']],
      'llama-3.1-8b': [[7, 'tokens']],
    });
    const count = await fx.telemetry.queryMetrics('latency_count', range);
    expect(count[0]?.values.map((v) => v.value)).toEqual([3]);
    const sum = await fx.telemetry.queryMetrics('latency_sum', range);
    expect(sum[0]?.values.map((v) => [v.value, v.unit])).toEqual([[555, 'ms']]);
    const buckets = await fx.telemetry.queryMetrics('latency_bucket', range);
    const cumulative = Object.fromEntries(
      buckets.map((s) => [s.labels.find((l) => l.name === 'le')?.value, s.values[0]?.value]),
    );
    expect(cumulative).toEqual({ '10': 1, '100': 2, '+Inf': 3 });
    const gauge = await fx.telemetry.queryMetrics('queue_depth', {
      ...range,
      label_matchers: [{ name: 'queue', value: 'main' }],
    });
    expect(gauge[0]?.values.map((v) => v.value)).toEqual([3]);

    // The points live in one synthetic span per resource, with the service name.
    const carriers = await fx.telemetry.querySpans({
      attribute_filters: [{ key: 'otel.synthetic', op: 'eq', value: 'metrics' }],
      attributes_to_return: ['service.name'],
    });
    expect(carriers.map((s) => [s.name, s.attributes?.['service.name']])).toEqual([
      ['otlp.metrics', 'inference'],
    ]);
  });
});
