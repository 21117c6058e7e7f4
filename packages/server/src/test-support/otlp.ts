/**
 * Builds OTLP requests for tests, in both encodings, from plain objects in
 * OTLP/JSON form (hex ids). The protobuf form goes through protobufjs with the
 * server's schema; the real exporters' tests check that schema against what
 * OpenTelemetry itself sends.
 */
import protobuf from 'protobufjs';
import { OTLP_SCHEMAS } from '../otlp/otlp-proto.ts';

let root: protobuf.Root | undefined;

export function otlpType(name: string): protobuf.Type {
  if (!root) {
    root = new protobuf.Root();
    for (const schema of OTLP_SCHEMAS) protobuf.parse(schema, root);
    root.resolveAll();
  }
  return root.lookupType(name);
}

const REQUESTS = {
  traces: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
  metrics: 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest',
  logs: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
} as const;
const RESPONSES = {
  traces: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse',
  metrics: 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse',
  logs: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse',
} as const;

export type Signal = keyof typeof REQUESTS;

const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);

/** Hex id strings to bytes, recursively (protobuf wants bytes where OTLP/JSON has hex). */
function hexToBytes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hexToBytes);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = ID_KEYS.has(k) && typeof v === 'string' ? Buffer.from(v, 'hex') : hexToBytes(v);
  }
  return out;
}

export function encodeProtobuf(signal: Signal, request: object): Uint8Array {
  const type = otlpType(REQUESTS[signal]);
  return type.encode(type.fromObject(hexToBytes(request) as Record<string, unknown>)).finish();
}

export function decodeResponse(signal: Signal, body: Uint8Array): Record<string, any> {
  const type = otlpType(RESPONSES[signal]);
  return type.toObject(type.decode(body), { longs: Number });
}

export function decodeStatus(body: Uint8Array): { code: number; message: string } {
  const type = otlpType('google.rpc.Status');
  return type.toObject(type.decode(body), { defaults: true }) as { code: number; message: string };
}

/** Posts an OTLP request; `body` as bytes or an object sent as JSON. */
export async function postOtlp(
  baseUrl: string,
  signal: Signal,
  body: Uint8Array | string | object,
  headers: Record<string, string> = {},
): Promise<Response> {
  const isBytes = body instanceof Uint8Array;
  const payload = isBytes ? body : typeof body === 'string' ? body : JSON.stringify(body);
  return fetch(`${baseUrl}/v1/${signal}`, {
    method: 'POST',
    headers: {
      'content-type': isBytes ? 'application/x-protobuf' : 'application/json',
      ...headers,
    },
    body: payload,
  });
}

export const nowNanos = (offsetMs = 0) => String(BigInt(Date.now() + offsetMs) * 1_000_000n);

let counter = 0;
/** A fresh id of `bytes` bytes as hex, never all zeros. */
export function hexId(bytes: 16 | 8): string {
  counter += 1;
  return (counter.toString(16).padStart(8, '0') + Math.random().toString(16).slice(2))
    .padEnd(bytes * 2, 'a')
    .slice(0, bytes * 2);
}

/** A traces request in OTLP/JSON form. */
export function tracesRequest(
  spans: object[],
  resource: Record<string, string> = { 'service.name': 'test-service' },
): object {
  return {
    resourceSpans: [
      {
        resource: {
          attributes: Object.entries(resource).map(([key, value]) => ({
            key,
            value: { stringValue: value },
          })),
        },
        scopeSpans: [{ scope: { name: 'test-scope' }, spans }],
      },
    ],
  };
}

/** One valid span in OTLP/JSON form. */
export function span(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    traceId: hexId(16),
    spanId: hexId(8),
    name: 'work',
    kind: 1,
    startTimeUnixNano: nowNanos(-10),
    endTimeUnixNano: nowNanos(),
    attributes: [{ key: 'k', value: { stringValue: 'v' } }],
    status: { code: 0 },
    ...overrides,
  };
}
