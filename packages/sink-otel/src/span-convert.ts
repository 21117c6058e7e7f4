import {
  type HrTime,
  type Attributes as OtelAttributes,
  type SpanContext,
  SpanKind,
  type SpanStatus,
  SpanStatusCode,
  TraceFlags,
} from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import {
  type Attributes,
  type CompletedSpan,
  eventCountOf,
  type SpanKind as ToolkitSpanKind,
} from '@telemetry/core/sink';

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

/** Whether attributes hold a toolkit `__` marker or a null, which OpenTelemetry attributes cannot carry. */
function needsFiltering(attributes: Readonly<Attributes>): boolean {
  for (const key in attributes) {
    if (key.charCodeAt(0) === 95 && key.charCodeAt(1) === 95) return true; // "__"
    if (attributes[key] === null) return true;
  }
  return false;
}

/**
 * Attributes as OpenTelemetry takes them: the toolkit's `__` markers stay
 * home, and null (which OTel attributes cannot hold) is left out. Clean
 * attributes are passed as they are (exporters only read them), saving a copy per span.
 */
export function exportedAttributes(
  attributes: Readonly<Attributes> | null | undefined,
): OtelAttributes {
  if (!attributes) return {};
  if (!needsFiltering(attributes)) return attributes as OtelAttributes;
  const out: OtelAttributes = {};
  for (const key in attributes) {
    if (key.charCodeAt(0) === 95 && key.charCodeAt(1) === 95) continue;
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
    // A copy: the event's own attributes get value/unit or message/severity added.
    const attributes = { ...exportedAttributes(e.attributes) };
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
export class ExportedSpan implements ReadableSpan, SpanContext {
  // `declare`: plain assignments in the constructor, one object shape, no
  // define-semantics field initializers (this runs for every exported span).
  declare readonly name: string;
  declare readonly kind: SpanKind;
  declare readonly parentSpanContext: SpanContext | undefined;
  declare readonly startTime: HrTime;
  declare readonly endTime: HrTime;
  declare readonly status: SpanStatus;
  declare readonly attributes: OtelAttributes;
  declare readonly events: TimedEvent[];
  declare readonly resource: Resource;
  declare readonly instrumentationScope: InstrumentationScope;
  // The span is its own SpanContext: one object less per exported span.
  declare readonly traceId: string;
  declare readonly spanId: string;
  declare readonly traceFlags: number;
  declare private readonly durationMicros: number;
  /** Events this span stands for in core's counts, for drop accounting. */
  declare readonly eventCount: number;

  constructor(
    span: CompletedSpan,
    resource: Resource,
    instrumentationScope: InstrumentationScope,
    lastParent: { context: SpanContext | undefined },
  ) {
    this.name = span.name;
    this.kind = KINDS[span.kind] ?? SpanKind.INTERNAL;
    this.traceId = span.trace_id;
    this.spanId = span.span_id;
    this.traceFlags = TraceFlags.SAMPLED;
    if (span.parent_span_id) {
      // A local root with a parent continues a trace from another process (a traceparent header).
      const isRemote = span.attributes.__root__ === true;
      let parent = lastParent.context;
      // Siblings share one parent context object (exporters only read it).
      if (
        parent === undefined ||
        parent.spanId !== span.parent_span_id ||
        parent.traceId !== span.trace_id ||
        parent.isRemote !== isRemote
      ) {
        parent = {
          traceId: span.trace_id,
          spanId: span.parent_span_id,
          traceFlags: TraceFlags.SAMPLED,
          isRemote,
        };
        lastParent.context = parent;
      }
      this.parentSpanContext = parent;
    } else {
      this.parentSpanContext = undefined;
    }
    this.startTime = microsToHrTime(span.start_time);
    this.endTime = microsToHrTime(Math.max(span.end_time, span.start_time));
    this.durationMicros = Math.max(0, span.end_time - span.start_time);
    this.status =
      span.status === 'error'
        ? {
            code: SpanStatusCode.ERROR,
            ...(span.status_message ? { message: span.status_message } : {}),
          }
        : STATUS_OK;
    this.attributes = exportedAttributes(span.attributes);
    this.events = eventsOf(span);
    this.resource = resource;
    this.instrumentationScope = instrumentationScope;
    this.eventCount = eventCountOf(span);
  }

  spanContext(): SpanContext {
    return this;
  }

  // What every exported span shares lives on the prototype.
  get duration(): HrTime {
    return microsToHrTime(this.durationMicros);
  }
  get ended(): boolean {
    return true;
  }
  get links(): ReadableSpan['links'] {
    return NO_LINKS;
  }
  get droppedAttributesCount(): number {
    return 0;
  }
  get droppedEventsCount(): number {
    return 0;
  }
  get droppedLinksCount(): number {
    return 0;
  }
}

/** Converts completed spans for an OpenTelemetry span exporter, sharing one resource and scope. */
export function toReadableSpans(
  spans: readonly CompletedSpan[],
  resource: Resource,
  scope: InstrumentationScope,
): ExportedSpan[] {
  const out: ExportedSpan[] = new Array(spans.length);
  const lastParent: { context: SpanContext | undefined } = { context: undefined };
  for (let i = 0; i < spans.length; i++)
    out[i] = new ExportedSpan(spans[i]!, resource, scope, lastParent);
  return out;
}
