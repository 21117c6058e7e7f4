import type { CompletedSpan } from '@telemetry/core';
import { log, sid, span, T0, tid } from './fixtures.ts';

const ms = 1000;
const s = 1_000_000;

/**
 * A small store with every shape the queries care about:
 * - A (tid 1): root 1 -> 2 -> 3, and 1 -> 4 (error); dotted and odd attribute keys.
 * - B (tid 2): root 11 -> 12.
 * - C (tid 3): only span 21, whose parent 20 has not ended: no local root yet.
 * - D (tid 4): local root 31 under a remote parent 30 (marked `__root__`).
 * - E (tid 5): root 41 with no `user` attribute.
 * - F (tid 6): span 51 whose parent id is span 2 of another trace (must not join A's tree).
 */
export function dataset(): CompletedSpan[] {
  const a = tid(1);
  const b = tid(2);
  return [
    span({
      trace_id: a,
      span_id: sid(2),
      parent_span_id: sid(1),
      name: 'llm',
      start_time: T0 + 1 * ms,
      end_time: T0 + 5 * ms,
      attributes: { model: 'llama', 'weird.key "x" [0]': 'yes', tokens: 42 },
      events: [log({ trace_id: a, span_id: sid(2) }, 'calling model', T0 + 2 * ms)],
    }),
    span({
      trace_id: a,
      span_id: sid(3),
      parent_span_id: sid(2),
      name: 'tool',
      start_time: T0 + 2 * ms,
      end_time: T0 + 3 * ms,
      attributes: { model: 'llama', score: 0.5 },
    }),
    span({
      trace_id: a,
      span_id: sid(4),
      parent_span_id: sid(1),
      name: 'db',
      start_time: T0 + 6 * ms,
      end_time: T0 + 7 * ms,
      status: 'error',
      status_message: 'boom',
      attributes: { user: 'bob', 'error.type': 'Error' },
    }),
    span({
      trace_id: a,
      span_id: sid(1),
      name: 'root-a',
      start_time: T0,
      end_time: T0 + 10 * ms,
      kind: 'server',
      attributes: { __root__: true, user: 'alice', 'http.status': 200 },
    }),
    span({
      trace_id: b,
      span_id: sid(12),
      parent_span_id: sid(11),
      name: 'llm',
      start_time: T0 + 1 * s + 1 * ms,
      end_time: T0 + 1 * s + 2 * ms,
      attributes: { model: 'gpt', tokens: 7 },
    }),
    span({
      trace_id: b,
      span_id: sid(11),
      name: 'root-b',
      start_time: T0 + 1 * s,
      end_time: T0 + 1 * s + 5 * ms,
      attributes: { __root__: true, user: 'bob' },
    }),
    span({
      trace_id: tid(3),
      span_id: sid(21),
      parent_span_id: sid(20),
      name: 'orphan',
      start_time: T0 + 1500 * ms,
      end_time: T0 + 1501 * ms,
      attributes: { user: 'alice' },
    }),
    span({
      trace_id: tid(4),
      span_id: sid(31),
      parent_span_id: sid(30),
      name: 'root-d',
      start_time: T0 + 2 * s,
      end_time: T0 + 2 * s + 1 * ms,
      attributes: { __root__: true, user: 'carol' },
    }),
    span({
      trace_id: tid(5),
      span_id: sid(41),
      name: 'root-e',
      start_time: T0 + 3 * s,
      end_time: T0 + 3 * s + 1 * ms,
      attributes: { __root__: true, other: 1 },
    }),
    span({
      trace_id: tid(6),
      span_id: sid(51),
      parent_span_id: sid(2),
      name: 'stray',
      start_time: T0 + 4 * s,
      end_time: T0 + 4 * s + 1 * ms,
      attributes: { model: 'llama' },
    }),
  ];
}
