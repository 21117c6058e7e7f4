import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { getTraceparent, parseTraceparent, withSpan, withTrace } from '@telemetry/core';
import { describe, expect, it } from 'vitest';
import { usePipeline } from './test-support/pipeline.ts';

const pipeline = usePipeline();
const { setup, spans } = pipeline;

const REMOTE_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const REMOTE_SPAN = '00f067aa0ba902b7';

describe('W3C trace context', () => {
  it('continues a trace from a traceparent and tracestate', async () => {
    setup();
    const outgoing = withTrace(
      'handle',
      () =>
        withSpan('call-downstream', () => ({
          traceparent: getTraceparent(),
          headers: pipeline.telemetry.injectTraceContext({}),
        })),
      { traceparent: `00-${REMOTE_TRACE}-${REMOTE_SPAN}-01`, tracestate: 'vendor=abc,other=1' },
    );
    const all = await spans();
    const root = all.find((s) => s.name === 'handle')!;
    const child = all.find((s) => s.name === 'call-downstream')!;
    expect(root.trace_id).toBe(REMOTE_TRACE);
    expect(root.parent_span_id).toBe(REMOTE_SPAN);
    expect(root.attributes.__root__).toBe(true);
    expect(outgoing.traceparent).toBe(`00-${REMOTE_TRACE}-${child.span_id}-01`);
    expect(outgoing.headers).toEqual({
      traceparent: outgoing.traceparent,
      tracestate: 'vendor=abc,other=1',
    });
  });

  it('round-trips: what one process injects, the next continues', async () => {
    setup();
    const headers = withTrace('client', () =>
      pipeline.telemetry.injectTraceContext({} as Record<string, string>),
    );
    const serverSpanId = withTrace('server', (s) => s.span_id, {
      traceparent: headers.traceparent,
    });
    const all = await spans();
    const client = all.find((s) => s.name === 'client')!;
    const server = all.find((s) => s.name === 'server')!;
    expect(server.span_id).toBe(serverSpanId);
    expect(server.trace_id).toBe(client.trace_id);
    expect(server.parent_span_id).toBe(client.span_id);
  });

  it('starts a new trace when the traceparent is malformed', async () => {
    setup();
    for (const bad of [
      'garbage',
      `00-${'0'.repeat(32)}-${REMOTE_SPAN}-01`,
      `ff-${REMOTE_TRACE}-${REMOTE_SPAN}-01`,
      `00-${REMOTE_TRACE}-${REMOTE_SPAN}-01-extra`,
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
      withTrace('t', () => {}, { traceparent: bad });
    }
    const all = await spans();
    expect(all.every((s) => s.parent_span_id === null && s.trace_id !== REMOTE_TRACE)).toBe(true);
    // A future version with extra fields is read as version 00.
    expect(parseTraceparent(`01-${REMOTE_TRACE}-${REMOTE_SPAN}-01-extra`)).toEqual({
      traceId: REMOTE_TRACE,
      spanId: REMOTE_SPAN,
      traceFlags: 1,
    });
  });

  it('registers a W3C propagator with @opentelemetry/api', async () => {
    setup();
    const carrier: Record<string, string> = {};
    withTrace('t', () => propagation.inject(context.active(), carrier));
    const [root] = await spans();
    expect(carrier.traceparent).toBe(`00-${root!.trace_id}-${root!.span_id}-01`);
    const extracted = propagation.extract(context.active(), {
      traceparent: `00-${REMOTE_TRACE}-${REMOTE_SPAN}-01`,
    });
    expect(trace.getSpanContext(extracted)).toMatchObject({
      traceId: REMOTE_TRACE,
      spanId: REMOTE_SPAN,
      isRemote: true,
    });
  });
});

describe('OpenTelemetry interop', () => {
  // Written the way instrumentation libraries use the API: a named tracer from the global provider.
  const instrumentation = () => trace.getTracer('@example/instrumentation-http', '1.0.0');

  it('a span started through @opentelemetry/api inside ours joins our trace', async () => {
    setup();
    await withTrace('request', async () => {
      await withSpan('inference', async () => {
        await instrumentation().startActiveSpan(
          'POST /v1/chat',
          { kind: SpanKind.CLIENT, attributes: { 'http.method': 'POST' } },
          async (span) => {
            span.setAttribute('http.status_code', 500);
            span.addEvent('retrying', { attempt: 1 });
            span.setStatus({ code: SpanStatusCode.ERROR, message: 'HTTP 500' });
            span.end();
          },
        );
      });
    });
    const all = await spans();
    const inference = all.find((s) => s.name === 'inference')!;
    const http = all.find((s) => s.name === 'POST /v1/chat')!;
    expect(http.trace_id).toBe(inference.trace_id);
    expect(http.parent_span_id).toBe(inference.span_id);
    expect(http.kind).toBe('client');
    expect(http.status).toBe('error');
    expect(http.status_message).toBe('HTTP 500');
    expect(http.attributes).toMatchObject({
      'http.method': 'POST',
      'http.status_code': 500,
      'otel.scope.name': '@example/instrumentation-http',
    });
    expect(http.events).toMatchObject([
      { type: 'unstructured_log', message: 'retrying', attributes: { attempt: 1 } },
    ]);
  });

  it('our spans nest inside a span started through @opentelemetry/api', async () => {
    setup();
    const tracer = instrumentation();
    await tracer.startActiveSpan('GET /chat', { kind: SpanKind.SERVER }, async (server) => {
      await withSpan('handler', async () => {
        const inner = tracer.startSpan('db.query');
        inner.end();
      });
      server.end();
    });
    const all = await spans();
    const server = all.find((s) => s.name === 'GET /chat')!;
    const handler = all.find((s) => s.name === 'handler')!;
    const db = all.find((s) => s.name === 'db.query')!;
    expect(server.parent_span_id).toBeNull();
    expect(server.attributes.__root__).toBe(true);
    expect(handler.trace_id).toBe(server.trace_id);
    expect(handler.parent_span_id).toBe(server.span_id);
    expect(db.parent_span_id).toBe(handler.span_id);
    expect(trace.getActiveSpan()).toBeUndefined();
  });

  it('ids are OpenTelemetry ids and the active span is visible through the API', async () => {
    setup();
    withTrace('t', (span) => {
      const active = trace.getActiveSpan()!;
      expect(active.spanContext()).toMatchObject({
        traceId: span.trace_id,
        spanId: span.span_id,
        traceFlags: 1,
      });
      expect(span.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(span.span_id).toMatch(/^[0-9a-f]{16}$/);
    });
    // context.with from the API is honoured by our helpers too.
    const remote = trace.setSpanContext(context.active(), {
      traceId: REMOTE_TRACE,
      spanId: REMOTE_SPAN,
      traceFlags: 1,
      isRemote: true,
    });
    context.with(remote, () => withSpan('continued', () => {}));
    const all = await spans();
    expect(all.find((s) => s.name === 'continued')).toMatchObject({
      trace_id: REMOTE_TRACE,
      parent_span_id: REMOTE_SPAN,
    });
  });

  it('records exceptions and renames through the API', async () => {
    setup();
    withTrace('t', () => {
      const span = instrumentation().startSpan('old name', {
        startTime: new Date('2025-01-01T00:00:00.000Z'),
      });
      span.updateName('new name');
      span.recordException(new Error('bad gateway'));
      span.end([1735689600, 40_000]); // 40 µs after the start
    });
    const all = await spans();
    const s = all.find((x) => x.name === 'new name')!;
    expect(s.end_time - s.start_time).toBe(40);
    expect(s.events[0]).toMatchObject({
      severity: 'error',
      message: 'bad gateway',
      attributes: { 'exception.type': 'Error' },
    });
  });

  it('re-registering swaps the pipeline without duplicating spans', async () => {
    setup();
    const first = pipeline.sink;
    const firstTelemetry = pipeline.telemetry;
    setup(); // a second pipeline registers, as a hot reload would
    trace.getTracer('x').startSpan('only-once').end();
    await firstTelemetry.flush();
    expect(first.spans).toHaveLength(0);
    expect(await spans()).toHaveLength(1);
    await firstTelemetry.shutdown();
  });
});
