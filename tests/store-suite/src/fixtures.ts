import type { CompletedSpan, MetricEvent, UnstructuredLogEvent } from '@telemetry/core';

/** 2025-01-15T12:00:00Z in epoch microseconds. */
export const T0 = Date.UTC(2025, 0, 15, 12, 0, 0) * 1000;
export const MS = 1_000;
export const SECOND = 1_000_000;
export const HOUR = 3_600 * SECOND;
/** Long enough that fixtures never expire while a test runs. */
export const FOREVER = 100 * 365 * 86_400;

export const tid = (n: number) => n.toString(16).padStart(32, '0');
export const sid = (n: number) => n.toString(16).padStart(16, '0');

type Input = Partial<Omit<CompletedSpan, 'events'>> & {
  trace_id: string;
  span_id: string;
  events?: (UnstructuredLogEvent | MetricEvent)[];
};

export function span(input: Input): CompletedSpan {
  return {
    parent_span_id: null,
    name: 'op',
    kind: 'internal',
    start_time: T0,
    end_time: T0 + MS,
    status: 'ok',
    attributes: {},
    events: [],
    ttl_seconds: FOREVER,
    ...input,
  };
}

export function log(
  s: { trace_id: string; span_id: string },
  message: string,
  timestamp: number,
  attributes: Record<string, string | number | boolean | null> = {},
): UnstructuredLogEvent {
  return {
    type: 'unstructured_log',
    trace_id: s.trace_id,
    span_id: s.span_id,
    timestamp,
    message,
    severity: 'warn',
    attributes,
  };
}

export function metric(
  s: { trace_id: string; span_id: string },
  name: string,
  value: number,
  timestamp: number,
  attributes: Record<string, string> = {},
  unit = 'tokens',
): MetricEvent {
  return {
    type: 'metric',
    trace_id: s.trace_id,
    span_id: s.span_id,
    timestamp,
    metric: name,
    value,
    unit,
    attributes,
  };
}

const ids = (t: number, s: number) => ({ trace_id: tid(t), span_id: sid(s) });

/**
 * Five traces:
 * 1. `POST /chat` of service `gateway`, three spans deep, a failed span, logs and metrics;
 * 2. `GET /health`, of the writer's service, with a number and a string `tokens`;
 * 3. a trace whose local root never ended (never listed);
 * 4. a trace continued from a caller (a marked local root under a remote parent);
 * 5. `nightly` of service `batch`.
 * And `latency` metric points over four hours, in two regions.
 */
export function dataset(): CompletedSpan[] {
  const s2 = ids(1, 2);
  return [
    span({
      ...ids(1, 1),
      name: 'POST /chat',
      kind: 'server',
      start_time: T0,
      end_time: T0 + 10 * MS,
      attributes: {
        __root__: true,
        'service.name': 'gateway',
        user: 'alice',
        tokens: 42,
        model: 'llama',
        ratio: 0.5,
        cached: true,
        // An array (OpenTelemetry's), which the event model's type does not name.
        tags: ['a', 'b'] as never,
        'http.status': 200,
        'a "b" [0]': 'odd key',
      },
      events: [
        metric(ids(1, 1), 'latency', 5, T0, { region: 'eu' }, 'ms'),
        metric(ids(1, 1), 'latency', 7, T0 + HOUR / 2, { region: 'eu' }, 'ms'),
        metric(ids(1, 1), 'latency', 11, T0 + HOUR + 5 * 60 * SECOND, { region: 'eu' }, 'ms'),
        metric(ids(1, 1), 'latency', 13, T0 + 3 * HOUR, { region: 'us' }, 'ms'),
      ],
    }),
    span({
      ...s2,
      parent_span_id: sid(1),
      name: 'llm',
      kind: 'client',
      start_time: T0 + MS,
      end_time: T0 + 8 * MS,
      status: 'error',
      status_message: 'rate limited',
      attributes: { user: 'bob', tokens: 7, model: 'llama' },
      events: [
        log(s2, 'calling the model', T0 + 2 * MS, { attempt: 1 }),
        metric(s2, 'tokens', 7, T0 + 3 * MS, { model: 'llama' }),
        metric(s2, 'tokens', 3, T0 + 4 * MS, { model: 'gpt' }),
      ],
    }),
    span({
      ...ids(1, 3),
      parent_span_id: sid(2),
      name: 'http',
      start_time: T0 + 2 * MS,
      end_time: T0 + 3 * MS,
      attributes: { db: null, user: 'alice' },
    }),
    span({
      ...ids(2, 11),
      name: 'GET /health',
      start_time: T0 + SECOND,
      end_time: T0 + SECOND + 5 * MS,
      attributes: { user: 'carol', tokens: 5, model: 'gpt' },
    }),
    span({
      ...ids(2, 12),
      parent_span_id: sid(11),
      name: 'check',
      start_time: T0 + SECOND + MS,
      end_time: T0 + SECOND + 2 * MS,
      attributes: { tokens: '42' },
    }),
    span({
      ...ids(3, 21),
      parent_span_id: sid(20),
      name: 'orphan',
      start_time: T0 + 1500 * MS,
      end_time: T0 + 1501 * MS,
      attributes: { user: 'alice' },
    }),
    span({
      ...ids(4, 31),
      parent_span_id: 'ffffffffffffffff',
      name: 'continued',
      start_time: T0 + 2 * SECOND,
      end_time: T0 + 2 * SECOND + MS,
      attributes: { __local_root_span__: true, user: 'dave' },
    }),
    span({
      ...ids(4, 32),
      parent_span_id: sid(31),
      name: 'inner',
      start_time: T0 + 2 * SECOND + 100,
      end_time: T0 + 2 * SECOND + 900,
    }),
    span({
      ...ids(5, 41),
      name: 'nightly',
      start_time: T0 + 3 * SECOND,
      end_time: T0 + 3 * SECOND + 2_500 * MS,
      attributes: { 'service.name': 'batch', other: 1 },
    }),
  ];
}
