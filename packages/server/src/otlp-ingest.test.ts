/**
 * OTLP/HTTP ingest with hand-built requests: logs and metric mapping, partial
 * success, and hostile bodies (truncated protobuf, wrong types, bad ids, huge
 * attribute counts, gzip bombs, malformed JSON): each gets a clear 4xx, the
 * store is unchanged and the server keeps answering.
 */
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture, storedCounts } from './test-support/fixture.ts';
import {
  decodeResponse,
  decodeStatus,
  encodeProtobuf,
  hexId,
  nowNanos,
  postOtlp,
  span,
  tracesRequest,
} from './test-support/otlp.ts';

const LIMIT = 1024 * 1024;
// Built before any request: compressing 64 MiB blocks the event loop for
// seconds on a loaded machine, long enough for the server's keep-alive timer
// to close the pooled connection just as fetch reuses it (ECONNRESET).
const GZIP_BOMB = gzipSync(Buffer.alloc(64 * LIMIT));
let fx: Fixture;

beforeAll(async () => {
  fx = await startFixture({
    server: { maxBodyBytes: LIMIT, maxAttributes: 200, maxSpanEvents: 50 },
  });
});

afterAll(async () => {
  await fx.close();
});

function query<T>(sql: string, ...params: unknown[]): T[] {
  const db = new Database(fx.dbPath, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** Sends `send()`, then checks the answer's status, that nothing was stored, and that the server still works. */
async function expectRefused(
  send: () => Promise<Response>,
  status: number,
  messagePattern: RegExp,
  encoding: 'protobuf' | 'json' = 'protobuf',
): Promise<void> {
  await fx.telemetry.flush();
  const before = await storedCounts(fx);
  const response = await send();
  expect(response.status).toBe(status);
  const body = new Uint8Array(await response.arrayBuffer());
  const statusMessage =
    encoding === 'protobuf'
      ? decodeStatus(body)
      : (JSON.parse(Buffer.from(body).toString('utf8')) as { code: number; message: string });
  expect(statusMessage.message).toMatch(messagePattern);
  expect(statusMessage.code).toBeGreaterThan(0);
  await fx.telemetry.flush();
  expect(await storedCounts(fx)).toEqual(before);
  // Still up: a valid request right after is stored.
  const ok = span();
  const again = await postOtlp(fx.url, 'traces', tracesRequest([ok]));
  expect(again.status).toBe(200);
  await fx.telemetry.flush();
  expect(query('select 1 from spans where span_id = ?', ok.spanId)).toHaveLength(1);
}

describe('logs', () => {
  it('logs with a trace context land under their span; the others in a synthetic trace', async () => {
    const parent = span({ name: 'handler' });
    expect((await postOtlp(fx.url, 'traces', tracesRequest([parent]))).status).toBe(200);
    const logs = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
          scopeLogs: [
            {
              scope: { name: 'logger' },
              logRecords: [
                {
                  timeUnixNano: nowNanos(),
                  severityNumber: 17,
                  severityText: 'ERROR',
                  body: { stringValue: 'payment failed' },
                  traceId: parent.traceId,
                  spanId: parent.spanId,
                  attributes: [{ key: 'order', value: { intValue: '42' } }],
                },
                {
                  observedTimeUnixNano: nowNanos(),
                  severityText: 'warning',
                  body: { kvlistValue: { values: [{ key: 'a', value: { boolValue: true } }] } },
                  eventName: 'audit',
                },
                {
                  timeUnixNano: nowNanos(),
                  severityNumber: 3,
                  body: { stringValue: 'trace-level' },
                },
                { timeUnixNano: nowNanos(), severityNumber: 23, body: { stringValue: 'fatal' } },
              ],
            },
          ],
        },
      ],
    };
    const response = await postOtlp(fx.url, 'logs', logs);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    await fx.telemetry.flush();

    const tree = await fx.telemetry.getSpanTree(parent.spanId as string, {
      attributes_to_return: ['service.name', 'otel.synthetic'],
    });
    const carrier = Object.values(tree).find((s) => s.name === 'otlp.logs')!;
    expect(carrier).toMatchObject({
      trace_id: parent.traceId,
      parent_span_id: parent.spanId,
      attributes: { 'service.name': 'api', 'otel.synthetic': 'logs' },
    });
    const underSpan = query<{ attributes: string }>(
      'select attributes from span_events where span_id = ?',
      carrier.span_id,
    ).map((r) => JSON.parse(r.attributes));
    expect(underSpan).toEqual([
      { message: 'payment failed', severity: 'error', order: 42, 'otel.scope.name': 'logger' },
    ]);

    const others = await fx.telemetry.querySpans({
      attribute_filters: [
        { key: 'otel.synthetic', op: 'eq', value: 'logs' },
        { key: 'service.name', op: 'eq', value: 'api' },
      ],
    });
    // querySpans answers whole trees of the matching traces: pick the synthetic root.
    const root = others.find((s) => s.name === 'otlp.logs' && s.span_id !== carrier.span_id)!;
    expect(root.parent_span_id ?? null).toBeNull();
    const rootLogs = query<{ attributes: string }>(
      'select attributes from span_events where span_id = ? order by id',
      root.span_id,
    ).map((r) => JSON.parse(r.attributes));
    expect(rootLogs.map((l) => [l.message, l.severity])).toEqual([
      ['{"a":true}', 'warn'],
      ['trace-level', 'verbose'],
      ['fatal', 'critical'],
    ]);
    expect(rootLogs[0]['otel.event_name']).toBe('audit');
  });

  it('protobuf logs, gzip-compressed', async () => {
    const body = gzipSync(
      encodeProtobuf('logs', {
        resourceLogs: [
          {
            scopeLogs: [
              {
                logRecords: [
                  {
                    timeUnixNano: nowNanos(),
                    severityNumber: 9,
                    body: { stringValue: 'zipped log' },
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    const response = await postOtlp(fx.url, 'logs', body, { 'content-encoding': 'gzip' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-protobuf');
    expect(decodeResponse('logs', new Uint8Array(await response.arrayBuffer()))).toEqual({});
    await fx.telemetry.flush();
    expect(query("select 1 from span_events where attributes like '%zipped log%'")).toHaveLength(1);
  });
});

describe('partial success', () => {
  it('stores the valid spans and names every rejected one', async () => {
    const good = span({ name: 'good' });
    const request = tracesRequest([
      good,
      span({ traceId: 'zz'.repeat(16) }),
      span({ parentSpanId: 'abcd' }),
      span({ name: '' }),
      span({ startTimeUnixNano: nowNanos(), endTimeUnixNano: nowNanos(-1000) }),
    ]);
    const response = await postOtlp(fx.url, 'traces', request);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as any;
    expect(answer.partialSuccess.rejectedSpans).toBe('4');
    const message: string = answer.partialSuccess.errorMessage;
    expect(message).toContain('resourceSpans[0].scopeSpans[0].spans[1]: trace_id is not hex');
    expect(message).toContain(
      'spans[2]: parent_span_id must be 8 bytes (16 hex digits in JSON), got 2',
    );
    expect(message).toContain('spans[3]: name is empty');
    expect(message).toContain('spans[4]: end_time_unix_nano is before start_time_unix_nano');
    await fx.telemetry.flush();
    expect(query('select name from spans where span_id = ?', good.spanId)).toEqual([
      { name: 'good' },
    ]);
  });

  it('metric points: NaN and missing values are rejected, the rest stored', async () => {
    const point = (value: object) => ({ timeUnixNano: nowNanos(), ...value });
    const request = {
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'requests',
                  unit: '1',
                  sum: {
                    dataPoints: [point({ asInt: '5' }), point({ asDouble: 'NaN' }), point({})],
                    aggregationTemporality: 1,
                    isMonotonic: true,
                  },
                },
                { name: '', gauge: { dataPoints: [point({ asDouble: 1 })] } },
                {
                  name: 'rpc_latency',
                  unit: 's',
                  summary: {
                    dataPoints: [
                      point({
                        count: '4',
                        sum: 2,
                        quantileValues: [{ quantile: 0.5, value: 0.4 }],
                      }),
                    ],
                  },
                },
                { name: 'gap', gauge: { dataPoints: [point({ asDouble: 9, flags: 1 })] } },
              ],
            },
          ],
        },
      ],
    };
    const response = await postOtlp(fx.url, 'metrics', request);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as any;
    expect(answer.partialSuccess.rejectedDataPoints).toBe('3');
    expect(answer.partialSuccess.errorMessage).toContain('requests is NaN, not a finite number');
    expect(answer.partialSuccess.errorMessage).toContain('has no value (as_double or as_int)');
    expect(answer.partialSuccess.errorMessage).toContain('metrics[1]: name is empty');
    await fx.telemetry.flush();
    const from = Math.floor(Date.now() / 1000) - 60;
    const values = async (name: string) =>
      (await fx.telemetry.queryMetrics(name, { query_type: 'range', start_time: from })).map(
        (s) => [s.labels, s.values.map((v) => v.value)],
      );
    expect(await values('requests')).toEqual([[[], [5]]]);
    expect(await values('rpc_latency_count')).toEqual([[[], [4]]]);
    expect(await values('rpc_latency')).toEqual([[[{ name: 'quantile', value: '0.5' }], [0.4]]]);
    expect(await values('gap')).toEqual([]);
  });
});

describe('hostile requests: a clear 4xx, nothing stored, the server still up', () => {
  it('truncated protobuf', async () => {
    const whole = encodeProtobuf('traces', tracesRequest([span(), span()]));
    await expectRefused(
      () => postOtlp(fx.url, 'traces', whole.subarray(0, whole.length - 3)),
      400,
      /not a valid OTLP protobuf ExportTraceServiceRequest/,
    );
  });

  it('random bytes as protobuf', async () => {
    const noise = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));
    await expectRefused(() => postOtlp(fx.url, 'traces', noise), 400, /not a valid OTLP protobuf/);
  });

  it('a wrong or missing content type', async () => {
    const body = JSON.stringify(tracesRequest([span()]));
    await expectRefused(
      () =>
        fetch(`${fx.url}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body,
        }),
      415,
      /application\/x-protobuf or application\/json, got 'text\/plain'/,
    );
    await expectRefused(
      () => fetch(`${fx.url}/v1/metrics`, { method: 'POST', body: new Uint8Array([1, 2]) }),
      415,
      /got '\(none\)'/,
    );
  });

  it('invalid ids everywhere: all-zero, short, not hex', async () => {
    await expectRefused(
      () =>
        postOtlp(
          fx.url,
          'traces',
          tracesRequest([
            span({ traceId: '0'.repeat(32) }),
            span({ spanId: 'abc' }),
            span({ spanId: '00ff' }),
          ]),
        ),
      400,
      /Every span of this request was rejected \(3\): .*trace_id is all zeros.*span_id is not hex.*span_id must be 8 bytes/,
      'json',
    );
  });

  it('huge attribute counts, in protobuf', async () => {
    const attributes = Array.from({ length: 20_000 }, (_, i) => ({
      key: `k${i}`,
      value: { intValue: i },
    }));
    const body = encodeProtobuf('traces', tracesRequest([span({ attributes })]));
    await expectRefused(
      () => postOtlp(fx.url, 'traces', body),
      400,
      /the span has 20000 attributes, over the server's limit of 200 \(maxAttributes\)/,
    );
  });

  it('too many span events, and a resource with too many attributes', async () => {
    const events = Array.from({ length: 51 }, () => ({ timeUnixNano: nowNanos(), name: 'e' }));
    await expectRefused(
      () => postOtlp(fx.url, 'traces', tracesRequest([span({ events })])),
      400,
      /has 51 events, over the server's limit of 50 \(maxSpanEvents\)/,
      'json',
    );
    const resource = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`r${i}`, 'x']));
    await expectRefused(
      () => postOtlp(fx.url, 'traces', tracesRequest([span(), span()], resource)),
      400,
      /Every span of this request was rejected \(2\): resourceSpans\[0\]: the resource has 201 attributes/,
      'json',
    );
  });

  it('attribute values nested too deeply: for the server, and for the decoder', async () => {
    const nested = (levels: number) => {
      let value: object = { stringValue: 'bottom' };
      for (let i = 0; i < levels; i++) value = { arrayValue: { values: [value] } };
      return tracesRequest([span({ attributes: [{ key: 'deep', value }] })]);
    };
    await expectRefused(
      () => postOtlp(fx.url, 'traces', nested(40)),
      400,
      /an attribute value is nested deeper than 32 levels/,
      'json',
    );
    await expectRefused(
      () => postOtlp(fx.url, 'traces', nested(200)),
      400,
      /not a valid OTLP\/JSON ExportTraceServiceRequest \(max depth exceeded\)/,
      'json',
    );
    // Hand-made protobuf nesting 5000 levels deep (a few bytes per level): the decoder stops it.
    let bytes = Buffer.from([0x0a, 0x00]); // AnyValue { string_value: "" }
    for (let i = 0; i < 5000; i++) {
      const array = Buffer.concat([Buffer.from([0x0a]), varint(bytes.length), bytes]); // ArrayValue.values
      bytes = Buffer.concat([Buffer.from([0x2a]), varint(array.length), array]); // AnyValue.array_value
    }
    const keyValue = Buffer.concat([
      Buffer.from([0x0a, 0x01, 0x6b, 0x12]),
      varint(bytes.length),
      bytes,
    ]);
    const spanBytes = Buffer.concat([Buffer.from([0x4a]), varint(keyValue.length), keyValue]);
    const scopeSpans = Buffer.concat([Buffer.from([0x12]), varint(spanBytes.length), spanBytes]);
    const resourceSpans = Buffer.concat([
      Buffer.from([0x12]),
      varint(scopeSpans.length),
      scopeSpans,
    ]);
    const request = Buffer.concat([
      Buffer.from([0x0a]),
      varint(resourceSpans.length),
      resourceSpans,
    ]);
    await expectRefused(
      () => postOtlp(fx.url, 'traces', request),
      400,
      /not a valid OTLP protobuf ExportTraceServiceRequest \(max depth exceeded\)/,
    );
  });

  it('a gzip bomb: refused once the inflated body passes the limit', async () => {
    expect(GZIP_BOMB.length).toBeLessThan(LIMIT);
    await expectRefused(
      () => postOtlp(fx.url, 'traces', GZIP_BOMB, { 'content-encoding': 'gzip' }),
      413,
      /The decompressed request body exceeds the server's limit of 1048576 bytes/,
    );
  });

  it('broken gzip, and an encoding the server does not speak', async () => {
    const zipped = gzipSync(encodeProtobuf('traces', tracesRequest([span()])));
    await expectRefused(
      () =>
        postOtlp(fx.url, 'traces', zipped.subarray(0, zipped.length - 8), {
          'content-encoding': 'gzip',
        }),
      400,
      /not valid gzip/,
    );
    await expectRefused(
      () => postOtlp(fx.url, 'traces', zipped, { 'content-encoding': 'br' }),
      415,
      /Content-Encoding 'br' is not supported/,
    );
  });

  it('a body over the limit', async () => {
    await expectRefused(
      () => postOtlp(fx.url, 'traces', new Uint8Array(LIMIT + 1)),
      413,
      /Request body exceeds the server's limit of 1048576 bytes/,
    );
  });

  it('malformed JSON: not JSON, not an object, wrong field types', async () => {
    await expectRefused(
      () => postOtlp(fx.url, 'traces', '{"resourceSpans": ['),
      400,
      /not valid JSON/,
      'json',
    );
    await expectRefused(
      () => postOtlp(fx.url, 'traces', '[1,2]'),
      400,
      /must be a JSON object/,
      'json',
    );
    await expectRefused(
      () => postOtlp(fx.url, 'traces', { resourceSpans: 'spans' }),
      400,
      /resourceSpans: array expected/,
      'json',
    );
    await expectRefused(
      () =>
        postOtlp(fx.url, 'metrics', {
          resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'm', sum: 7 }] }] }],
        }),
      400,
      /not a valid OTLP\/JSON ExportMetricsServiceRequest/,
      'json',
    );
  });

  it('Llama Stack routes: malformed JSON and a non-JSON content type', async () => {
    const before = await storedCounts(fx);
    const broken = await fetch(`${fx.url}/v1/telemetry/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"event": ',
    });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({ code: 'TELEMETRY_INVALID_JSON' });
    // A text/plain post is what a web page may send cross-origin without a preflight.
    const plain = await fetch(`${fx.url}/v1/telemetry/events`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ event: {} }),
    });
    expect(plain.status).toBe(415);
    const unknown = await fetch(`${fx.url}/v1/nothing`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 'TELEMETRY_ROUTE_NOT_FOUND' });
    await fx.telemetry.flush();
    expect(await storedCounts(fx)).toEqual(before);
  });
});

describe('spans', () => {
  it('keeps links, trace state and a remote parent as a local root', async () => {
    const remoteParent = hexId(8);
    const linked = { traceId: hexId(16), spanId: hexId(8) };
    const s = span({
      parentSpanId: remoteParent,
      flags: 0x301,
      traceState: 'vendor=1',
      links: [{ ...linked, attributes: [{ key: 'why', value: { stringValue: 'batch' } }] }],
    });
    const response = await postOtlp(fx.url, 'traces', encodeProtobuf('traces', tracesRequest([s])));
    expect(response.status).toBe(200);
    await fx.telemetry.flush();
    const trace = await fx.telemetry.getTrace(s.traceId as string);
    expect(trace.root_span_id).toBe(s.spanId);
    const stored = await fx.telemetry.getSpan(s.traceId as string, s.spanId as string);
    expect(stored.parent_span_id).toBe(remoteParent);
    expect(stored.attributes).toMatchObject({
      __root__: true,
      'otel.trace_state': 'vendor=1',
      'otel.links': JSON.stringify([
        { trace_id: linked.traceId, span_id: linked.spanId, attributes: { why: 'batch' } },
      ]),
    });
  });

  it('sending the same spans twice stores them once (exporters retry)', async () => {
    const request = encodeProtobuf('traces', tracesRequest([span(), span()]));
    await fx.telemetry.flush();
    const before = (await storedCounts(fx)).spans;
    for (let i = 0; i < 2; i++)
      expect((await postOtlp(fx.url, 'traces', request)).status).toBe(200);
    await fx.telemetry.flush();
    expect((await storedCounts(fx)).spans).toBe(before + 2);
  });
});

/** A protobuf varint, for the hand-made nesting test (building bytes, not decoding them). */
function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}
