import { type Attributes, EventSchema, type TelemetryEvent } from '@telemetry/core';

/** 2025-01-31T12:00:00Z in epoch microseconds: a fixed clock keeps snapshots stable. */
export const T0 = Date.UTC(2025, 0, 31, 12, 0, 0) * 1000;

export const TRACE = '0af7651916cd43dd8448eb211c80319c';

/** Span ids that read as their role in a snapshot. */
export const ID = {
  root: 'a000000000000001',
  retrieve: 'a000000000000002',
  generate: 'a000000000000003',
  tool: 'a000000000000004',
} as const;

// Events go through core's own schema, so the sink sees exactly what the dispatcher hands it.
function parse(input: unknown): TelemetryEvent {
  return EventSchema.parse(input);
}

/** `at` is microseconds after T0. */
export function spanStart(
  spanId: string,
  name: string,
  at: number,
  options: { parent?: string; attributes?: Attributes } = {},
): TelemetryEvent {
  return parse({
    type: 'structured_log',
    trace_id: TRACE,
    span_id: spanId,
    timestamp: T0 + at,
    attributes: options.attributes ?? {},
    payload: { type: 'span_start', name, parent_span_id: options.parent ?? null },
  });
}

export function spanEnd(
  spanId: string,
  at: number,
  options: { status?: 'ok' | 'error'; message?: string; attributes?: Attributes } = {},
): TelemetryEvent {
  return parse({
    type: 'structured_log',
    trace_id: TRACE,
    span_id: spanId,
    timestamp: T0 + at,
    attributes: options.attributes ?? {},
    payload: {
      type: 'span_end',
      status: options.status ?? 'ok',
      ...(options.message === undefined ? {} : { status_message: options.message }),
    },
  });
}

export function log(
  spanId: string,
  at: number,
  severity: 'verbose' | 'debug' | 'info' | 'warn' | 'error' | 'critical',
  message: string,
  attributes: Attributes = {},
): TelemetryEvent {
  return parse({
    type: 'unstructured_log',
    trace_id: TRACE,
    span_id: spanId,
    timestamp: T0 + at,
    attributes,
    message,
    severity,
  });
}

export function metric(
  spanId: string,
  at: number,
  name: string,
  value: number,
  unit: string,
  attributes: Attributes = {},
): TelemetryEvent {
  return parse({
    type: 'metric',
    trace_id: TRACE,
    span_id: spanId,
    timestamp: T0 + at,
    attributes,
    metric: name,
    value,
    unit,
  });
}

/** A small chat request: a root span, a retrieval with a log and a metric, an auto-traced call that fails. */
export function chatTrace(): TelemetryEvent[] {
  return [
    spanStart(ID.root, 'chat_completion', 0, { attributes: { __root__: true, model: 'llama-3' } }),
    spanStart(ID.retrieve, 'retrieve', 1_000, { parent: ID.root }),
    log(ID.retrieve, 2_500, 'info', 'fetched 3 documents', { source: 'kb' }),
    metric(ID.retrieve, 3_000, 'documents_retrieved', 3, 'docs', { index: 'main' }),
    spanEnd(ID.retrieve, 5_250, { attributes: { query: 'weather in Paris', 'docs.count': 3 } }),
    spanStart(ID.generate, 'Inference.generate', 6_000, {
      parent: ID.root,
      attributes: { __autotraced__: true, __class__: 'Inference', __method__: 'generate' },
    }),
    log(ID.generate, 7_000, 'warn', 'retrying after 429'),
    spanEnd(ID.generate, 41_120, {
      status: 'error',
      message: 'model timed out',
      attributes: {
        __autotraced__: true,
        __args__: '{"prompt":"..."}',
        'error.type': 'TimeoutError',
        'error.message': 'model timed out',
      },
    }),
    log(ID.root, 41_500, 'error', 'request failed'),
    spanEnd(ID.root, 42_000, {
      status: 'error',
      message: 'model timed out',
      attributes: { __root__: true, model: 'llama-3' },
    }),
  ];
}
