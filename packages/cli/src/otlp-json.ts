/**
 * Stored traces as OTLP/JSON (`ExportTraceServiceRequest`, the encoding of
 * the OTLP/HTTP JSON protocol), which Jaeger's upload, any OpenTelemetry
 * Collector and `@telemetry/server`'s `/v1/traces` import. Mapped so that
 * importing it through `@telemetry/server` stores the same spans: the
 * inverse of the server's OTLP mapping (see its README).
 *
 * - ids as hex, times as nanosecond strings (exact: microseconds times 1000);
 * - the span's service as the resource's `service.name`, spans grouped by it;
 * - `otel.scope.name` / `otel.scope.version` attributes as the scope;
 * - every attribute as stored (toolkit markers too), null as an empty value;
 * - `__root__` (a local root under a remote parent) as the remote-parent flags;
 * - logs as span events named by their message, with their attributes;
 * - status `error` as STATUS_CODE_ERROR with its message, `ok` as STATUS_CODE_OK.
 *
 * Metric events are not part of an OTLP trace; export them with
 * `telemetry metrics --json`.
 */
import type { SpanDetail, SpanLog, TraceDetail } from '@telemetry/core';
import { micros } from './replay.ts';

type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: AnyValue[] } }
  | { kvlistValue: { values: KeyValue[] } }
  | Record<string, never>;
interface KeyValue {
  key: string;
  value: AnyValue;
}

const KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;
/** Span flags: the parent's remoteness is known (0x100), and the parent is remote (0x200). */
const REMOTE_PARENT = 0x300;
const STATUS_OK = 1;
const STATUS_ERROR = 2;

function anyValue(value: unknown, depth = 0): AnyValue {
  if (value === null || value === undefined || depth > 32) return {};
  switch (typeof value) {
    case 'string':
      return { stringValue: value };
    case 'boolean':
      return { boolValue: value };
    case 'number':
      return Number.isSafeInteger(value) ? { intValue: String(value) } : { doubleValue: value };
    case 'object':
      if (Array.isArray(value)) {
        return { arrayValue: { values: value.map((v) => anyValue(v, depth + 1)) } };
      }
      return {
        kvlistValue: {
          values: Object.entries(value).map(([key, v]) => ({ key, value: anyValue(v, depth + 1) })),
        },
      };
    default:
      return { stringValue: String(value) };
  }
}

function keyValues(attributes: Record<string, unknown>, skip?: ReadonlySet<string>): KeyValue[] {
  const out: KeyValue[] = [];
  for (const [key, value] of Object.entries(attributes)) {
    if (skip?.has(key)) continue;
    out.push({ key, value: anyValue(value) });
  }
  return out;
}

const nanos = (iso: string) => (BigInt(micros(iso)) * 1000n).toString();

function otlpSpan(span: SpanDetail, logs: readonly SpanLog[]) {
  const remoteParent = span.parent_span_id !== null && span.attributes.__root__ === true;
  return {
    traceId: span.trace_id,
    spanId: span.span_id,
    ...(span.parent_span_id ? { parentSpanId: span.parent_span_id } : {}),
    ...(remoteParent ? { flags: REMOTE_PARENT } : {}),
    name: span.name,
    kind: KIND[span.kind as keyof typeof KIND] ?? KIND.internal,
    startTimeUnixNano: nanos(span.start_time),
    endTimeUnixNano: nanos(span.end_time),
    attributes: keyValues(span.attributes, remoteParent ? ROOT_MARKER : undefined),
    events: logs.map((log) => ({
      timeUnixNano: nanos(log.timestamp),
      name: log.message,
      attributes: keyValues(log.attributes),
    })),
    status: {
      code: span.status === 'error' ? STATUS_ERROR : STATUS_OK,
      ...(span.status_message ? { message: span.status_message } : {}),
    },
  };
}

// Carried by the flags instead; the server's import sets it again from them.
const ROOT_MARKER: ReadonlySet<string> = new Set(['__root__']);

/** The `resourceSpans` of one trace: one per service, one scope per instrumentation scope. */
export function traceToResourceSpans(detail: TraceDetail): unknown[] {
  const logsBySpan = new Map<string, SpanLog[]>();
  for (const log of detail.logs) {
    const list = logsBySpan.get(log.span_id);
    if (list) list.push(log);
    else logsBySpan.set(log.span_id, [log]);
  }
  const resources = new Map<string, Map<string, { scope: object; spans: unknown[] }>>();
  for (const span of detail.spans) {
    const service = span.service_name ?? '';
    let scopes = resources.get(service);
    if (!scopes) {
      scopes = new Map();
      resources.set(service, scopes);
    }
    const name = span.attributes['otel.scope.name'];
    const version = span.attributes['otel.scope.version'];
    const scopeKey = JSON.stringify([name ?? null, version ?? null]);
    let scope = scopes.get(scopeKey);
    if (!scope) {
      scope = {
        scope: {
          ...(typeof name === 'string' ? { name } : {}),
          ...(typeof version === 'string' ? { version } : {}),
        },
        spans: [],
      };
      scopes.set(scopeKey, scope);
    }
    scope.spans.push(otlpSpan(span, logsBySpan.get(span.span_id) ?? []));
  }
  return [...resources].map(([service, scopes]) => ({
    resource: {
      attributes: service ? [{ key: 'service.name', value: { stringValue: service } }] : [],
    },
    scopeSpans: [...scopes.values()].map(({ scope, spans }) => ({ scope, spans })),
  }));
}
