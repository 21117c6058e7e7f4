/**
 * A real OTLP/HTTP protobuf receiver on 127.0.0.1 for tests: it decodes what
 * exporters send (traces and metrics) with protobufjs and a `.proto` subset
 * written from the OpenTelemetry protocol specification (./otlp.proto).
 *
 * Shared by every package's tests (add `@telemetry/test-support` as a dev dependency):
 *   import { startOtlpReceiver } from '@telemetry/test-support/otlp-receiver';
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

/** An attribute value as decoded from `AnyValue`: int64 becomes a number when it is safe, else a bigint. */
export type DecodedValue =
  | string
  | number
  | bigint
  | boolean
  | Uint8Array
  | null
  | DecodedValue[]
  | { [key: string]: DecodedValue };

export type DecodedAttributes = Record<string, DecodedValue>;

export interface DecodedScope {
  readonly name: string;
  readonly version: string;
}

export interface DecodedEvent {
  readonly name: string;
  readonly timeUnixNano: bigint;
  readonly attributes: DecodedAttributes;
}

export interface DecodedSpan {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** 16 lowercase hex digits. */
  readonly spanId: string;
  /** Null for a root span (an empty parent_span_id). */
  readonly parentSpanId: string | null;
  readonly traceState: string;
  /** W3C trace flags in the low 8 bits; 0x100 = "has is_remote", 0x200 = "parent is remote". */
  readonly flags: number;
  readonly name: string;
  readonly kind: 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly attributes: DecodedAttributes;
  readonly droppedAttributesCount: number;
  readonly events: DecodedEvent[];
  readonly status: { readonly code: 'unset' | 'ok' | 'error'; readonly message: string };
  readonly resource: DecodedAttributes;
  readonly scope: DecodedScope;
}

export interface DecodedMetricPoint {
  readonly attributes: DecodedAttributes;
  readonly startTimeUnixNano: bigint;
  readonly timeUnixNano: bigint;
  /** Sum and gauge points: the value, and whether it came as `as_int` or `as_double`. */
  readonly value?: number;
  readonly valueType?: 'int' | 'double';
  /** Histogram points. */
  readonly count?: number;
  readonly sum?: number;
  readonly min?: number;
  readonly max?: number;
  readonly bucketCounts?: number[];
  readonly explicitBounds?: number[];
}

export interface DecodedMetric {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  readonly kind: 'sum' | 'gauge' | 'histogram' | 'unknown';
  /** Sums only. */
  readonly monotonic?: boolean;
  readonly temporality?: 'unspecified' | 'delta' | 'cumulative';
  readonly points: DecodedMetricPoint[];
  readonly resource: DecodedAttributes;
  readonly scope: DecodedScope;
  /** Index of the metrics request that carried it (sums are cumulative: later requests repeat them). */
  readonly request: number;
}

export type OtlpSignal = 'traces' | 'metrics' | 'other';

/** What the responder sees of a request before it decides the answer. */
export interface OtlpRequestInfo {
  readonly signal: OtlpSignal;
  readonly path: string;
  /** 1 for the first request of this signal, then 2, 3, ... */
  readonly attempt: number;
  readonly headers: IncomingHttpHeaders;
  /** Size of the request body as sent (before any gunzip). */
  readonly bytes: number;
}

export interface OtlpResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /** Wait this long before answering (a slow collector). */
  readonly delayMs?: number;
  /** Never answer (a hung collector); the connection stays open until the receiver stops. */
  readonly hang?: boolean;
  /** Cut the connection without an answer (a collector that crashes or a proxy that resets). */
  readonly reset?: boolean;
}

/** Chooses the answer to a request: a status code, a full response, or undefined for 200. */
export type OtlpResponder = (request: OtlpRequestInfo) => number | OtlpResponse | undefined;

export interface OtlpRequestRecord {
  readonly signal: OtlpSignal;
  readonly path: string;
  readonly status: number;
  /** Spans (traces) or metrics (metrics) in the request. */
  readonly items: number;
  readonly bytes: number;
  readonly headers: IncomingHttpHeaders;
  /** When the request's body had arrived (Date.now()). */
  readonly at: number;
}

export interface OtlpReceiverOptions {
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default every request answered 200 */
  readonly responder?: OtlpResponder;
  /** Serve https with this key and certificate (PEM). */
  readonly tls?: { readonly key: Buffer; readonly cert: Buffer };
  /**
   * Keep every decoded span in `traces`; false keeps counts and ids only
   * (for bursts of hundreds of thousands of spans).
   * @default true
   */
  readonly storeSpans?: boolean;
}

export interface OtlpReceiver {
  /** Base URL, `http://127.0.0.1:<port>` (https with `tls`), as for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  readonly tracesUrl: string;
  readonly metricsUrl: string;
  readonly port: number;
  /** Spans accepted (answered 2xx), in arrival order; empty when `storeSpans` is false. */
  readonly traces: DecodedSpan[];
  /** Metrics accepted, one entry per metric per request. */
  readonly metrics: DecodedMetric[];
  /** Every request, with the status it got. */
  readonly requests: OtlpRequestRecord[];
  /** Ids of accepted spans (`traceId:spanId`), to check arrivals without keeping spans. */
  readonly spanIds: Set<string>;
  /** Spans accepted (duplicates included). */
  spanCount(): number;
  /** The last accepted data of one metric. */
  latestMetric(name: string): DecodedMetric | undefined;
  /** Changes how later requests are answered; undefined answers 200. */
  respondWith(responder: OtlpResponder | undefined): void;
  /** Resolves when `predicate` holds; rejects after `timeoutMs` so a test always stops. */
  waitFor(predicate: () => boolean, what?: string, timeoutMs?: number): Promise<void>;
  waitForSpans(count: number, timeoutMs?: number): Promise<void>;
  /** Goes down: stops listening and cuts open connections (clients get ECONNREFUSED). */
  stop(): Promise<void>;
  /** Comes back on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

const PROTO_PATH = fileURLToPath(new URL('./otlp.proto', import.meta.url));
let root: protobuf.Root | undefined;

function types() {
  root ??= protobuf.loadSync(PROTO_PATH);
  return {
    traceRequest: root.lookupType('otlp.ExportTraceServiceRequest'),
    metricsRequest: root.lookupType('otlp.ExportMetricsServiceRequest'),
    traceResponse: root.lookupType('otlp.ExportTraceServiceResponse'),
    metricsResponse: root.lookupType('otlp.ExportMetricsServiceResponse'),
  };
}

const TO_OBJECT: protobuf.IConversionOptions = {
  longs: BigInt as unknown as NumberConstructor,
  enums: Number,
  bytes: Array,
  defaults: true,
  arrays: true,
  oneofs: true,
};

/** protobufjs' toObject output is untyped. */
type Obj = any;

function hex(bytes: Obj): string {
  return Buffer.from(bytes as number[]).toString('hex');
}

function smallInt(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;
}

function decodeValue(v: Obj): DecodedValue {
  if (!v) return null;
  switch (v.value) {
    case 'stringValue':
      return v.stringValue;
    case 'boolValue':
      return v.boolValue;
    case 'intValue':
      return smallInt(BigInt(v.intValue));
    case 'doubleValue':
      return v.doubleValue;
    case 'bytesValue':
      return Uint8Array.from(v.bytesValue);
    case 'arrayValue':
      return (v.arrayValue.values ?? []).map(decodeValue);
    case 'kvlistValue':
      return decodeAttributes(v.kvlistValue.values);
    default:
      return null;
  }
}

function decodeAttributes(list: Obj[] | undefined): DecodedAttributes {
  const out: DecodedAttributes = {};
  for (const kv of list ?? []) out[kv.key] = decodeValue(kv.value);
  return out;
}

function decodeScope(s: Obj): DecodedScope {
  return { name: s?.name ?? '', version: s?.version ?? '' };
}

const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;
const STATUS = ['unset', 'ok', 'error'] as const;
const TEMPORALITY = ['unspecified', 'delta', 'cumulative'] as const;

/** Decodes an ExportTraceServiceRequest body into flat spans. */
export function decodeTraceRequest(body: Uint8Array): DecodedSpan[] {
  const t = types().traceRequest;
  const req: Obj = t.toObject(t.decode(body), TO_OBJECT);
  const out: DecodedSpan[] = [];
  for (const rs of req.resourceSpans) {
    const resource = decodeAttributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans) {
      const scope = decodeScope(ss.scope);
      for (const s of ss.spans) {
        out.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: s.parentSpanId.length > 0 ? hex(s.parentSpanId) : null,
          traceState: s.traceState,
          flags: s.flags,
          name: s.name,
          kind: KINDS[s.kind] ?? 'unspecified',
          startTimeUnixNano: BigInt(s.startTimeUnixNano),
          endTimeUnixNano: BigInt(s.endTimeUnixNano),
          attributes: decodeAttributes(s.attributes),
          droppedAttributesCount: s.droppedAttributesCount,
          events: s.events.map((e: Obj) => ({
            name: e.name,
            timeUnixNano: BigInt(e.timeUnixNano),
            attributes: decodeAttributes(e.attributes),
          })),
          status: {
            code: STATUS[s.status?.code ?? 0] ?? 'unset',
            message: s.status?.message ?? '',
          },
          resource,
          scope,
        });
      }
    }
  }
  return out;
}

/** Counts the spans of an ExportTraceServiceRequest and lists their ids, without keeping them. */
function countTraceRequest(body: Uint8Array, ids: Set<string>): number {
  const t = types().traceRequest;
  const req: Obj = t.decode(body);
  let n = 0;
  for (const rs of req.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        ids.add(
          `${Buffer.from(s.traceId).toString('hex')}:${Buffer.from(s.spanId).toString('hex')}`,
        );
        n += 1;
      }
    }
  }
  return n;
}

function decodeNumberPoint(p: Obj): DecodedMetricPoint {
  const isInt = p.value === 'asInt';
  return {
    attributes: decodeAttributes(p.attributes),
    startTimeUnixNano: BigInt(p.startTimeUnixNano),
    timeUnixNano: BigInt(p.timeUnixNano),
    value: isInt ? Number(BigInt(p.asInt)) : p.asDouble,
    valueType: isInt ? 'int' : 'double',
  };
}

/** Decodes an ExportMetricsServiceRequest body into flat metrics. */
export function decodeMetricsRequest(body: Uint8Array, request = 0): DecodedMetric[] {
  const t = types().metricsRequest;
  const req: Obj = t.toObject(t.decode(body), TO_OBJECT);
  const out: DecodedMetric[] = [];
  for (const rm of req.resourceMetrics) {
    const resource = decodeAttributes(rm.resource?.attributes);
    for (const sm of rm.scopeMetrics) {
      const scope = decodeScope(sm.scope);
      for (const m of sm.metrics) {
        const common = {
          name: m.name,
          description: m.description,
          unit: m.unit,
          resource,
          scope,
          request,
        };
        if (m.data === 'sum') {
          out.push({
            ...common,
            kind: 'sum',
            monotonic: m.sum.isMonotonic,
            temporality: TEMPORALITY[m.sum.aggregationTemporality] ?? 'unspecified',
            points: m.sum.dataPoints.map(decodeNumberPoint),
          });
        } else if (m.data === 'gauge') {
          out.push({ ...common, kind: 'gauge', points: m.gauge.dataPoints.map(decodeNumberPoint) });
        } else if (m.data === 'histogram') {
          out.push({
            ...common,
            kind: 'histogram',
            temporality: TEMPORALITY[m.histogram.aggregationTemporality] ?? 'unspecified',
            points: m.histogram.dataPoints.map(
              (p: Obj): DecodedMetricPoint => ({
                attributes: decodeAttributes(p.attributes),
                startTimeUnixNano: BigInt(p.startTimeUnixNano),
                timeUnixNano: BigInt(p.timeUnixNano),
                count: Number(BigInt(p.count)),
                sum: p.sum,
                min: p.min,
                max: p.max,
                bucketCounts: p.bucketCounts.map((c: bigint) => Number(BigInt(c))),
                explicitBounds: p.explicitBounds,
              }),
            ),
          });
        } else {
          out.push({ ...common, kind: 'unknown', points: [] });
        }
      }
    }
  }
  return out;
}

/** An ExportTraceServiceResponse body saying the collector rejected some spans (OTLP partial success). */
export function tracePartialSuccess(rejectedSpans: number, errorMessage: string): Uint8Array {
  const t = types().traceResponse;
  return t.encode(t.create({ partialSuccess: { rejectedSpans, errorMessage } })).finish();
}

function signalOf(path: string): OtlpSignal {
  if (path.endsWith('/v1/traces')) return 'traces';
  if (path.endsWith('/v1/metrics')) return 'metrics';
  return 'other';
}

/** Starts a receiver on 127.0.0.1; it answers POST <any>/v1/traces and <any>/v1/metrics. */
export async function startOtlpReceiver(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const storeSpans = options.storeSpans ?? true;
  let responder = options.responder;
  const traces: DecodedSpan[] = [];
  const metrics: DecodedMetric[] = [];
  const requests: OtlpRequestRecord[] = [];
  const spanIds = new Set<string>();
  const attempts: Record<OtlpSignal, number> = { traces: 0, metrics: 0, other: 0 };
  let spans = 0;
  let metricRequests = 0;
  const sockets = new Set<Socket>();
  const t = types();

  const answer = (
    res: ServerResponse,
    status: number,
    headers: Record<string, string>,
    body: Uint8Array | string,
  ) => {
    res.writeHead(status, { 'content-type': 'application/x-protobuf', ...headers });
    res.end(body);
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      const signal = signalOf(path);
      attempts[signal] += 1;
      let raw: Buffer = Buffer.concat(chunks);
      const info: OtlpRequestInfo = {
        signal,
        path,
        attempt: attempts[signal],
        headers: req.headers,
        bytes: raw.length,
      };
      const chosen = responder?.(info);
      const response: OtlpResponse =
        chosen === undefined
          ? { status: 200 }
          : typeof chosen === 'number'
            ? { status: chosen }
            : chosen;
      let items = 0;
      // A connection cut without an answer is recorded as status 0.
      let status = response.reset ? 0 : response.status;
      try {
        if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
        const accepted = status >= 200 && status < 300 && !response.hang;
        if (req.method !== 'POST' || signal === 'other') {
          status = 404;
        } else if (signal === 'traces') {
          if (accepted && storeSpans) {
            const decoded = decodeTraceRequest(raw);
            items = decoded.length;
            for (const s of decoded) {
              traces.push(s);
              spanIds.add(`${s.traceId}:${s.spanId}`);
            }
          } else {
            items = countTraceRequest(raw, accepted ? spanIds : new Set());
          }
          if (accepted) spans += items;
        } else {
          const decoded = decodeMetricsRequest(raw, metricRequests);
          items = decoded.length;
          if (accepted) {
            metricRequests += 1;
            metrics.push(...decoded);
          }
        }
      } catch (error) {
        status = 400;
        requests.push({
          signal,
          path,
          status,
          items: 0,
          bytes: raw.length,
          headers: req.headers,
          at: Date.now(),
        });
        answer(res, 400, { 'content-type': 'text/plain' }, `cannot decode: ${String(error)}`);
        return;
      }
      requests.push({
        signal,
        path,
        status,
        items,
        bytes: raw.length,
        headers: req.headers,
        at: Date.now(),
      });
      const send = () => {
        if (status >= 200 && status < 300 && response.body === undefined) {
          const type = signal === 'metrics' ? t.metricsResponse : t.traceResponse;
          answer(res, status, response.headers ?? {}, type.encode(type.create({})).finish());
        } else {
          answer(
            res,
            status,
            { 'content-type': 'text/plain', ...response.headers },
            response.body ?? `status ${status}`,
          );
        }
      };
      if (response.hang) return;
      if (response.reset) {
        req.socket.resetAndDestroy();
        return;
      }
      if (response.delayMs) setTimeout(send, response.delayMs);
      else send();
    });
  };
  const server: Server = options.tls
    ? createHttpsServer(options.tls, handler)
    : createServer(handler);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // Keep-alive connections would otherwise hold close() open.
  server.keepAliveTimeout = 1000;

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const port = await listen(options.port ?? 0);
  let listening = true;

  const stop = () =>
    new Promise<void>((resolve) => {
      if (!listening) return resolve();
      listening = false;
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });

  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const waitFor = async (predicate: () => boolean, what = 'condition', timeoutMs = 30_000) => {
    const start = Date.now();
    while (!predicate()) {
      if (Date.now() - start > timeoutMs) {
        throw new Error(
          `OTLP receiver: gave up waiting for ${what} after ${timeoutMs} ms (${spans} spans received)`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  return {
    url,
    tracesUrl: `${url}/v1/traces`,
    metricsUrl: `${url}/v1/metrics`,
    port,
    traces,
    metrics,
    requests,
    spanIds,
    spanCount: () => spans,
    latestMetric: (name) => {
      for (let i = metrics.length - 1; i >= 0; i--)
        if (metrics[i]!.name === name) return metrics[i];
      return undefined;
    },
    respondWith: (r) => {
      responder = r;
    },
    waitFor,
    waitForSpans: (count, timeoutMs) => waitFor(() => spans >= count, `${count} spans`, timeoutMs),
    stop,
    start: async () => {
      if (listening) return;
      // While it was down, another socket on this machine may have been given
      // the port for a moment (an outgoing connection's local port): wait for it.
      for (let attempt = 1; ; attempt++) {
        try {
          await listen(port);
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 100)
            throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      listening = true;
    },
    close: stop,
  };
}
