import type { Context, Hono } from 'hono';
import { mediaType, nodeIncoming, readBody } from '../body.ts';
import type { TelemetryEventInput } from '../core-api.ts';
import { HttpError } from '../errors.ts';
import type { PipelineGuard } from '../guard.ts';
import type { ResolvedOptions } from '../options.ts';
import {
  decodeRequest,
  type EncodedBody,
  encodeResponse,
  encodeStatus,
  encodingOf,
  type OtlpEncoding,
  type OtlpSignal,
} from './codec.ts';
import {
  type IngestLimits,
  type IngestResult,
  ingestLogs,
  ingestMetrics,
  ingestTraces,
} from './ingest.ts';

/** OTLP/HTTP paths, as exporters append them to OTEL_EXPORTER_OTLP_ENDPOINT. */
export const OTLP_PATHS: Readonly<Record<OtlpSignal, string>> = {
  traces: '/v1/traces',
  metrics: '/v1/metrics',
  logs: '/v1/logs',
};

const INGEST = { traces: ingestTraces, metrics: ingestMetrics, logs: ingestLogs };

/** The encoding an error answer to this request should use. */
export function otlpEncodingOf(request: Request): OtlpEncoding {
  return mediaType(request) === 'application/json' ? 'json' : 'protobuf';
}

export function send(c: Context, status: number, encoded: EncodedBody, headers = {}): Response {
  return c.body(encoded.body as never, status as never, {
    'Content-Type': encoded.contentType,
    ...headers,
  });
}

/** An HttpError as an OTLP answer: a google.rpc.Status body in the request's encoding. */
export function otlpError(c: Context, error: HttpError, encoding: OtlpEncoding): Response {
  return send(c, error.status, encodeStatus(encoding, error.status, error.message), error.headers);
}

/** POST /v1/traces, /v1/metrics and /v1/logs. */
export function mountOtlpRoutes(app: Hono, options: ResolvedOptions, guard: PipelineGuard): void {
  const limits: IngestLimits = {
    maxAttributes: options.maxAttributes,
    maxSpanEvents: options.maxSpanEvents,
  };
  const telemetry = options.telemetry;
  const write = (events: TelemetryEventInput[]) => {
    for (const event of events) telemetry.logEvent({ event });
  };
  for (const signal of Object.keys(OTLP_PATHS) as OtlpSignal[]) {
    app.post(OTLP_PATHS[signal], async (c) => {
      let encoding: OtlpEncoding = otlpEncodingOf(c.req.raw);
      try {
        encoding = encodingOf(mediaType(c.req.raw));
        // Before reading the body: an overloaded server should not spend time decoding.
        guard.check();
        const body = await readBody(c.req.raw, options.maxBodyBytes, nodeIncoming(c.env));
        const request = decodeRequest(signal, encoding, body);
        const { result, refused } = guard.measure(() => INGEST[signal](request, write, limits));
        const refusal = guard.refusalError(refused, result.events);
        if (refusal) throw refusal;
        return answer(c, signal, encoding, result, refused.invalid);
      } catch (error) {
        if (error instanceof HttpError) return otlpError(c, error, encoding);
        throw error;
      }
    });
  }
}

function answer(
  c: Context,
  signal: OtlpSignal,
  encoding: OtlpEncoding,
  result: IngestResult,
  refusedInvalid: number,
): Response {
  let message = result.message;
  if (refusedInvalid > 0) {
    message += `${message ? '; ' : ''}the pipeline refused ${refusedInvalid} events as invalid`;
  }
  if (result.accepted === 0 && result.rejected > 0) {
    // Nothing could be stored: the data is at fault, and sending it again will not help.
    throw new HttpError(
      400,
      'TELEMETRY_INVALID_OTLP',
      `Every ${itemName(signal)} of this request was rejected (${result.rejected}): ${message}`,
    );
  }
  return send(c, 200, encodeResponse(signal, encoding, result.rejected, message));
}

function itemName(signal: OtlpSignal): string {
  return signal === 'traces' ? 'span' : signal === 'logs' ? 'log record' : 'data point';
}
