import {
  type Attributes as OtelAttributes,
  type HrTime,
  type SpanContext,
  SpanKind,
  type SpanStatus,
  SpanStatusCode,
  TraceFlags,
} from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import type { Attributes, CompletedSpan, SpanKind as ToolkitSpanKind } from '@telemetry/core';

/** Epoch microseconds -> [seconds, nanoseconds], exactly (both parts stay below 2^53). */
export function microsToHrTime(micros: number): HrTime {
  const seconds = Math.floor(micros / 1_000_000);
  return [seconds, Math.round((micros - seconds * 1_000_000) * 1000)];
}

const KINDS: Readonly<Record<ToolkitSpanKind, SpanKind>> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

const STATUS_OK: SpanStatus = Object.freeze({ code: SpanStatusCode.OK });
const NO_EVENTS: TimedEvent[] = [];
const NO_LINKS: ReadableSpan['links'] = [];

/**
 * Attributes as OpenTelemetry takes them: the toolkit's `__` markers stay
 * home, and null (which OTel attributes cannot hold) is left out.
 */
export function exportedAttributes(attributes: Readonly<Attributes> | null | undefined): OtelAttributes {
  const out: OtelAttributes = {};
  if (!attributes) return out;
  for (const key in attributes) {
    if (key.charCodeAt(0) === 95 && key.charCodeAt(1) === 95) continue; // "__"
    const value = attributes[key];
    if (value === null || value === undefined) continue;
    out[key] = value;
  }
  return out;
}

function eventsOf(span: CompletedSpan): TimedEvent[] {
  if (span.events.length === 0) return NO_EVENTS;
  const out: TimedEvent[] = new Array(span.events.length);
  for (let i = 0; i < span.events.length; i++) {
    const e = span.events[i]!;
    const attributes = exportedAttributes(e.attributes);
    if (e.type === 'metric') {
      attributes.value = e.value;
      attributes.unit = e.unit;
      out[i] = { name: `metric.${e.metric}`, time: microsToHrTime(e.timestamp), attributes };
    } else {
      attributes.message = e.message;
      attributes.severity = e.severity;
      out[i] = { name: e.message || 'log', time: microsToHrTime(e.timestamp), attributes };
    }
  }
  return out;
}

/**
 * A completed toolkit span as the OpenTelemetry SDK's exporters read it, with
 * the same trace and span ids, so an id copied from a log finds the trace in
 * Jaeger. Built lazily, at export time, from the read-only CompletedSpan.
 */
class ExportedSpan implements ReadableSpan {
  readonly name: string;
  readonly kind: SpanKind;
  readonly parentSpanContext: SpanContext | undefined;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly duration: HrTime;
  readonly status: SpanStatus;
  readonly attributes: OtelAttributes;
  readonly links = NO_LINKS;
  readonly events: TimedEvent[];
  readonly ended = true;
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;
  private readonly context: SpanContext;

  constructor(
    span: CompletedSpan,
    readonly resource: Resource,
    readonly instrumentationScope: InstrumentationScope,
  ) {
    this.name = span.name;
    this.kind = KINDS[span.kind] ?? SpanKind.INTERNAL;
    this.context = { traceId: span.trace_id, spanId: span.span_id, traceFlags: TraceFlags.SAMPLED };
    if (span.parent_span_id) {
      this.parentSpanContext = {
        traceId: span.trace_id,
        spanId: span.parent_span_id,
        traceFlags: TraceFlags.SAMPLED,
        // A local root with a parent continues a trace from another process (a traceparent header).
        isRemote: span.attributes.__root__ === true,
      };
    }
    this.startTime = microsToHrTime(span.start_time);
    this.endTime = microsToHrTime(Math.max(span.end_time, span.start_time));
    this.duration = microsToHrTime(Math.max(0, span.end_time - span.start_time));
    this.status =
      span.status === 'error'
        ? { code: SpanStatusCode.ERROR, ...(span.status_message ? { message: span.status_message } : {}) }
        : STATUS_OK;
    this.attributes = exportedAttributes(span.attributes);
    this.events = eventsOf(span);
  }

  spanContext(): SpanContext {
    return this.context;
  }
}

/** Converts completed spans for an OpenTelemetry span exporter, sharing one resource and scope. */
export function toReadableSpans(
  spans: readonly CompletedSpan[],
  resource: Resource,
  scope: InstrumentationScope,
): ReadableSpan[] {
  const out: ReadableSpan[] = new Array(spans.length);
  for (let i = 0; i < spans.length; i++) out[i] = new ExportedSpan(spans[i]!, resource, scope);
  return out;
}
