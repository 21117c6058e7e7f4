import type { CompletedSpan } from '@telemetry/core';
import { metric, sid, span, tid } from './fixtures.ts';

/** 2025-01-15T00:00:00Z in unix seconds. */
export const M0 = Date.UTC(2025, 0, 15) / 1000;
const at = (seconds: number) => Math.round((M0 + seconds) * 1_000_000);

/** Metric events across four label sets of `tokens`, plus one other metric. */
export function metricSpans(): CompletedSpan[] {
  const s1 = { trace_id: tid(100), span_id: sid(100) };
  const s2 = { trace_id: tid(100), span_id: sid(101) };
  const llama = { model: 'llama', route: '/chat' };
  return [
    span({
      ...s1,
      name: 'root',
      attributes: { __root__: true },
      events: [
        metric(s1, 'tokens', 1, at(10), llama),
        metric(s1, 'tokens', 2, at(100), llama),
        metric(s1, 'tokens', 3, at(299.5), llama),
        metric(s1, 'tokens', 4, at(300), llama),
        metric(s1, 'tokens', 5, at(3605), llama),
        metric(s1, 'tokens', 6, at(86_401), llama),
        metric(s1, 'tokens', 10, at(50), { route: '/chat', model: 'gpt' }),
        metric(s1, 'tokens', 20, at(400), { model: 'gpt', route: '/chat' }),
      ],
    }),
    span({
      ...s2,
      parent_span_id: s1.span_id,
      name: 'child',
      events: [
        metric(s2, 'tokens', 100, at(20), { model: 'llama-3.1', route: '/embed' }),
        metric(s2, 'tokens', 1000, at(30)),
        metric(s2, 'latency', 0.25, at(10), { model: 'llama', route: '/chat' }, 'ms'),
      ],
    }),
  ];
}
