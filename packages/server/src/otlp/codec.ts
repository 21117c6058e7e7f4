/**
 * OTLP/HTTP bodies in and out, in both encodings: binary protobuf decoded by
 * protobufjs, and OTLP/JSON (hex ids, 64-bit integers as strings or numbers,
 * enums as integers) converted by protobufjs' `fromObject` into the same
 * messages, so one mapping serves both.
 */
import protobuf from 'protobufjs';
import { HttpError } from '../errors.ts';
import { OTLP_SCHEMAS } from './otlp-proto.ts';

export type OtlpSignal = 'traces' | 'metrics' | 'logs';
export type OtlpEncoding = 'protobuf' | 'json';

interface SignalTypes {
  readonly request: protobuf.Type;
  readonly response: protobuf.Type;
  /** The request's repeated field, and the partial-success count field. */
  readonly rejectedField: string;
}

let types: { signals: Record<OtlpSignal, SignalTypes>; status: protobuf.Type } | undefined;

function load() {
  if (types) return types;
  const root = new protobuf.Root();
  for (const schema of OTLP_SCHEMAS) protobuf.parse(schema, root);
  root.resolveAll();
  const c = 'opentelemetry.proto.collector';
  types = {
    signals: {
      traces: {
        request: root.lookupType(`${c}.trace.v1.ExportTraceServiceRequest`),
        response: root.lookupType(`${c}.trace.v1.ExportTraceServiceResponse`),
        rejectedField: 'rejectedSpans',
      },
      metrics: {
        request: root.lookupType(`${c}.metrics.v1.ExportMetricsServiceRequest`),
        response: root.lookupType(`${c}.metrics.v1.ExportMetricsServiceResponse`),
        rejectedField: 'rejectedDataPoints',
      },
      logs: {
        request: root.lookupType(`${c}.logs.v1.ExportLogsServiceRequest`),
        response: root.lookupType(`${c}.logs.v1.ExportLogsServiceResponse`),
        rejectedField: 'rejectedLogRecords',
      },
    },
    status: root.lookupType('google.rpc.Status'),
  };
  return types;
}

/** The encoding of a request by its Content-Type, or a 415 naming the two that OTLP/HTTP allows. */
export function encodingOf(type: string): OtlpEncoding {
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  throw new HttpError(
    415,
    'TELEMETRY_UNSUPPORTED_MEDIA_TYPE',
    `OTLP/HTTP takes Content-Type application/x-protobuf or application/json, got '${type || '(none)'}'.`,
  );
}

const invalid = (message: string) => new HttpError(400, 'TELEMETRY_INVALID_OTLP', message);

/** Decodes an export request of `signal`; a body that is not one is a 400. */
export function decodeRequest(signal: OtlpSignal, encoding: OtlpEncoding, body: Uint8Array): any {
  const { request } = load().signals[signal];
  if (encoding === 'protobuf') {
    try {
      return request.decode(body);
    } catch (error) {
      throw invalid(`The body is not a valid OTLP protobuf ${request.name} (${describe(error)}).`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (error) {
    throw invalid(`The body is not valid JSON (${describe(error)}).`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw invalid(`The body must be a JSON object (an OTLP ${request.name}).`);
  }
  try {
    hexIdsToBytes(signal, json as Record<string, unknown>);
    return request.fromObject(json as Record<string, unknown>);
  } catch (error) {
    throw invalid(`The body is not a valid OTLP/JSON ${request.name} (${describe(error)}).`);
  }
}

function describe(error: unknown): string {
  if (error instanceof RangeError && /call stack/i.test(error.message)) return 'nested too deeply';
  return error instanceof Error ? error.message : String(error);
}

/** Stands for an id that is not hex; the id checks reject it by name. */
export const NOT_HEX: Uint8Array = Buffer.alloc(1);

function hexToBytes(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return value.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(value)
    ? Buffer.from(value, 'hex')
    : NOT_HEX;
}

const asArray = (value: unknown): Record<string, unknown>[] =>
  Array.isArray(value) ? value.filter((v) => typeof v === 'object' && v !== null) : [];

/**
 * OTLP/JSON writes trace and span ids as hex, where protobuf JSON would use
 * base64: turn them into bytes before `fromObject`. Exemplars are not stored,
 * so they are left out rather than converted.
 */
function hexIdsToBytes(signal: OtlpSignal, body: Record<string, unknown>): void {
  const ids = (o: Record<string, unknown>, keys: readonly string[]) => {
    for (const k of keys) if (k in o) o[k] = hexToBytes(o[k]);
  };
  if (signal === 'traces') {
    for (const rs of asArray(body.resourceSpans)) {
      for (const ss of asArray(rs.scopeSpans)) {
        for (const span of asArray(ss.spans)) {
          ids(span, ['traceId', 'spanId', 'parentSpanId']);
          for (const link of asArray(span.links)) ids(link, ['traceId', 'spanId']);
        }
      }
    }
  } else if (signal === 'logs') {
    for (const rl of asArray(body.resourceLogs)) {
      for (const sl of asArray(rl.scopeLogs)) {
        for (const log of asArray(sl.logRecords)) ids(log, ['traceId', 'spanId']);
      }
    }
  } else {
    for (const rm of asArray(body.resourceMetrics)) {
      for (const sm of asArray(rm.scopeMetrics)) {
        for (const metric of asArray(sm.metrics)) {
          for (const kind of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']) {
            const data = metric[kind] as Record<string, unknown> | undefined;
            for (const point of asArray(data?.dataPoints)) delete point.exemplars;
          }
        }
      }
    }
  }
}

export interface EncodedBody {
  readonly contentType: string;
  readonly body: Uint8Array | string;
}

/** An export response: empty on full success, else `partial_success` with the count and why. */
export function encodeResponse(
  signal: OtlpSignal,
  encoding: OtlpEncoding,
  rejected: number,
  errorMessage: string,
): EncodedBody {
  const { response, rejectedField } = load().signals[signal];
  const fields =
    rejected > 0 || errorMessage
      ? { partialSuccess: { [rejectedField]: rejected, errorMessage } }
      : {};
  const message = response.fromObject(fields);
  if (encoding === 'protobuf') {
    return { contentType: 'application/x-protobuf', body: response.encode(message).finish() };
  }
  return {
    contentType: 'application/json',
    body: JSON.stringify(response.toObject(message, { longs: String })),
  };
}

/** gRPC status codes for the HTTP statuses this server answers with (google.rpc.Code). */
function rpcCode(status: number): number {
  switch (status) {
    case 400:
    case 413:
    case 415:
      return 3; // INVALID_ARGUMENT
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 5; // NOT_FOUND
    case 503:
      return 14; // UNAVAILABLE
    default:
      return 13; // INTERNAL
  }
}

/** The body of an OTLP/HTTP error answer: a google.rpc.Status, in the request's encoding. */
export function encodeStatus(encoding: OtlpEncoding, status: number, message: string): EncodedBody {
  const type = load().status;
  const value = { code: rpcCode(status), message };
  if (encoding === 'protobuf') {
    return {
      contentType: 'application/x-protobuf',
      body: type.encode(type.fromObject(value)).finish(),
    };
  }
  return { contentType: 'application/json', body: JSON.stringify(value) };
}
