/**
 * Stored spans, logs and metric events as the events the live view printed,
 * so `show` and `tail` print them through the console sink's own formatter
 * (`createEventFormatter`): one copy of the format.
 */
import {
  type Attributes,
  type LogSeverity,
  parseIsoMicros,
  type SpanDetail,
  type SpanLog,
  type SpanMetricEvent,
  type TelemetryEvent,
  type TraceDetail,
} from '@telemetry/core';

const SEVERITIES = new Set<string>(['verbose', 'debug', 'info', 'warn', 'error', 'critical']);
const KINDS = new Set<string>(['internal', 'server', 'client', 'producer', 'consumer']);

/** Epoch microseconds of a stored ISO time (stores answer valid ones; anything else reads as 0). */
export function micros(iso: string): number {
  return parseIsoMicros(iso) ?? 0;
}

function attrs(value: Record<string, unknown>): Attributes {
  return value as Attributes;
}

export function spanStartEvent(span: SpanDetail): TelemetryEvent {
  return {
    type: 'structured_log',
    trace_id: span.trace_id,
    span_id: span.span_id,
    timestamp: micros(span.start_time),
    // The formatter reads toolkit markers (`__autotraced__`) from a span's start.
    attributes: attrs(span.attributes),
    payload: {
      type: 'span_start',
      name: span.name,
      parent_span_id: span.parent_span_id,
      ...(KINDS.has(span.kind) ? { kind: span.kind as 'internal' } : {}),
    },
  };
}

export function spanEndEvent(span: SpanDetail): TelemetryEvent {
  return {
    type: 'structured_log',
    trace_id: span.trace_id,
    span_id: span.span_id,
    timestamp: micros(span.end_time),
    attributes: attrs(span.attributes),
    payload: {
      type: 'span_end',
      status: span.status,
      ...(span.status_message ? { status_message: span.status_message } : {}),
    },
  };
}

function logEvent(traceId: string, log: SpanLog): TelemetryEvent {
  return {
    type: 'unstructured_log',
    trace_id: traceId,
    span_id: log.span_id,
    timestamp: micros(log.timestamp),
    message: log.message,
    severity: (SEVERITIES.has(log.severity) ? log.severity : 'info') as LogSeverity,
    attributes: attrs(log.attributes),
  };
}

function metricEvent(traceId: string, metric: SpanMetricEvent): TelemetryEvent {
  return {
    type: 'metric',
    trace_id: traceId,
    span_id: metric.span_id,
    timestamp: micros(metric.timestamp),
    metric: metric.metric,
    value: metric.value,
    unit: metric.unit,
    attributes: metric.labels,
  };
}

/**
 * The events of a trace in tree order: each span's start, then its own logs
 * and metric events and its child spans (each child with its whole subtree)
 * in time order, then its end. Spans whose parent is not listed (a remote
 * parent, or one past the detail's limit) are roots. A span is visited once
 * even if the stored parents form a cycle.
 */
export function traceEvents(detail: TraceDetail): TelemetryEvent[] {
  const { spans } = detail;
  const traceId = detail.trace.trace_id;
  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map<string, SpanDetail[]>();
  const roots: SpanDetail[] = [];
  for (const span of spans) {
    const parent = span.parent_span_id;
    if (parent !== null && parent !== span.span_id && ids.has(parent)) {
      const list = children.get(parent);
      if (list) list.push(span);
      else children.set(parent, [span]);
    } else {
      roots.push(span);
    }
  }
  const own = new Map<string, { at: number; event: TelemetryEvent }[]>();
  const addOwn = (spanId: string, event: TelemetryEvent) => {
    const entry = { at: event.timestamp, event };
    const list = own.get(spanId);
    if (list) list.push(entry);
    else own.set(spanId, [entry]);
  };
  for (const log of detail.logs) addOwn(log.span_id, logEvent(traceId, log));
  for (const metric of detail.metrics) addOwn(metric.span_id, metricEvent(traceId, metric));

  const out: TelemetryEvent[] = [];
  const visited = new Set<string>();
  const byStart = (a: SpanDetail, b: SpanDetail) =>
    micros(a.start_time) - micros(b.start_time) || (a.span_id < b.span_id ? -1 : 1);
  // An explicit stack: a trace 10,000 spans deep must not overflow the call stack.
  type Step = { span: SpanDetail; end: boolean } | { event: TelemetryEvent };
  const stack: Step[] = [];
  const walk = () => {
    while (stack.length > 0) {
      const step = stack.pop()!;
      if ('event' in step) {
        out.push(step.event);
        continue;
      }
      const { span } = step;
      if (step.end) {
        out.push(spanEndEvent(span));
        continue;
      }
      if (visited.has(span.span_id)) continue;
      visited.add(span.span_id);
      out.push(spanStartEvent(span));
      // Own events and children merged by time (own events first on a tie), pushed in reverse.
      const items: { at: number; order: number; step: Step }[] = [];
      for (const e of own.get(span.span_id) ?? []) {
        items.push({ at: e.at, order: 0, step: { event: e.event } });
      }
      for (const child of (children.get(span.span_id) ?? []).sort(byStart)) {
        items.push({ at: micros(child.start_time), order: 1, step: { span: child, end: false } });
      }
      items.sort((a, b) => a.at - b.at || a.order - b.order);
      stack.push({ span, end: true });
      for (let i = items.length - 1; i >= 0; i--) stack.push(items[i]!.step);
    }
  };
  for (const root of [...roots].sort(byStart).reverse()) stack.push({ span: root, end: false });
  walk();
  // Spans whose parents form a cycle are reachable from no root: each such group from its earliest span.
  for (const span of [...spans].sort(byStart)) {
    if (visited.has(span.span_id)) continue;
    stack.push({ span, end: false });
    walk();
  }
  return out;
}
