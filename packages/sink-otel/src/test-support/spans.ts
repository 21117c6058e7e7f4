import {
  type CompletedSpan,
  generateSpanId,
  generateTraceId,
  type MetricEvent,
  type UnstructuredLogEvent,
} from '@telemetry/core';

/** A completed span as the dispatcher would hand it to a sink. */
export function completedSpan(overrides: Partial<CompletedSpan> = {}): CompletedSpan {
  const start = overrides.start_time ?? 1_700_000_000_000_000;
  return {
    trace_id: generateTraceId(),
    span_id: generateSpanId(),
    parent_span_id: null,
    name: 'work',
    kind: 'internal',
    start_time: start,
    end_time: start + 100,
    status: 'ok',
    attributes: {},
    events: [],
    ttl_seconds: 604_800,
    ...overrides,
  };
}

export function logEvent(
  span: Pick<CompletedSpan, 'trace_id' | 'span_id'>,
  fields: Partial<UnstructuredLogEvent> = {},
) {
  return {
    type: 'unstructured_log',
    trace_id: span.trace_id,
    span_id: span.span_id,
    timestamp: 1_700_000_000_000_050,
    attributes: {},
    message: 'hello',
    severity: 'info',
    ...fields,
  } satisfies UnstructuredLogEvent as UnstructuredLogEvent;
}

export function metricEvent(
  span: Pick<CompletedSpan, 'trace_id' | 'span_id'>,
  fields: Partial<MetricEvent> = {},
) {
  return {
    type: 'metric',
    trace_id: span.trace_id,
    span_id: span.span_id,
    timestamp: 1_700_000_000_000_060,
    attributes: {},
    metric: 'tokens',
    value: 1,
    unit: 'tokens',
    ...fields,
  } satisfies MetricEvent as MetricEvent;
}

/** Many small spans, as a burst of short operations makes. */
export function manySpans(count: number): CompletedSpan[] {
  const out: CompletedSpan[] = new Array(count);
  const traceId = generateTraceId();
  for (let i = 0; i < count; i++) {
    out[i] = completedSpan({
      trace_id: traceId,
      name: 'op',
      start_time: 1_700_000_000_000_000 + i,
      end_time: 1_700_000_000_000_000 + i + 7,
      attributes: { i },
    });
  }
  return out;
}
