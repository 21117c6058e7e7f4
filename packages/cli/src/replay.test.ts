import type { SpanDetail, TraceDetail } from '@telemetry/core';
import { createEventFormatter } from '@telemetry/sink-console';
import { describe, expect, it } from 'vitest';
import { traceToResourceSpans } from './otlp-json.ts';
import { traceEvents } from './replay.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString().replace('Z', '000Z');

function span(
  id: string,
  parent: string | null,
  start: number,
  end: number,
  extra: Partial<SpanDetail> = {},
): SpanDetail {
  return {
    trace_id: TRACE,
    span_id: id.padStart(16, '0'),
    parent_span_id: parent === null ? null : parent.padStart(16, '0'),
    name: `s${id}`,
    service_name: 'svc',
    kind: 'internal',
    status: 'ok',
    status_message: null,
    start_time: at(start),
    end_time: at(end),
    duration_ms: end - start,
    attributes: {},
    ...extra,
  };
}

function detail(spans: SpanDetail[], logs: TraceDetail['logs'] = []): TraceDetail {
  return {
    trace: {
      trace_id: TRACE,
      root_span_id: spans[0]?.span_id ?? null,
      root_name: spans[0]?.name ?? null,
      service_name: 'svc',
      start_time: at(0),
      end_time: at(100),
      duration_ms: 100,
      span_count: spans.length,
      error_count: 0,
    },
    spans,
    logs,
    metrics: [],
    spans_truncated: false,
    events_truncated: false,
  };
}

const render = (d: TraceDetail) =>
  traceEvents(d)
    .map(createEventFormatter({ attributes: false }))
    .join('')
    .replace(/^\S+ \S+ /gm, '');

describe('a stored trace replayed for the console format', () => {
  it('tree order: children and logs by time inside their span; orphans as roots', () => {
    const d = detail(
      [
        span('1', null, 0, 100),
        span('3', '1', 50, 60),
        span('2', '1', 10, 40),
        span('4', '2', 20, 30),
        span('9', 'ff', 70, 80),
      ],
      [
        {
          span_id: '1'.padStart(16, '0'),
          timestamp: at(45),
          severity: 'warn',
          message: 'between',
          attributes: {},
        },
      ],
    );
    expect(render(d)).toBe(
      [
        'START    s1',
        'START      s2',
        'START        s4',
        'END          s4  ok  10.00ms',
        'END        s2  ok  30.00ms',
        'WARN       between',
        'START      s3',
        'END        s3  ok  10.00ms',
        'END      s1  ok  100.00ms',
        'START    s9',
        'END      s9  ok  10.00ms',
        '',
      ].join('\n'),
    );
  });

  it('a cycle of parents, or a span that is its own parent, prints each span once', () => {
    const d = detail([span('1', '2', 0, 10), span('2', '1', 5, 15), span('3', '3', 20, 30)]);
    const text = render(d);
    for (const name of ['s1', 's2', 's3'])
      expect(text.match(new RegExp(`END +${name} `, 'g'))).toHaveLength(1);
  });

  it('a very deep trace does not overflow the stack', () => {
    const spans = [span('1', null, 0, 100_000)];
    for (let i = 2; i <= 20_000; i++) spans.push(span(String(i), String(i - 1), i, 100_000 - i));
    expect(traceEvents(detail(spans))).toHaveLength(40_000);
  });
});

describe('OTLP JSON of a stored trace', () => {
  it('maps values, kinds, status, scope, remote parents and logs as the server reads them back', () => {
    const d = detail(
      [
        span('1', 'abcdef', 0, 100, {
          kind: 'server',
          status: 'error',
          status_message: 'boom',
          attributes: {
            __root__: true,
            n: 3,
            f: 1.5,
            b: false,
            s: 'x',
            nil: null,
            arr: ['a', 1],
            'otel.scope.name': 'lib',
            'otel.scope.version': '1.0',
          },
        }),
      ],
      [
        {
          span_id: '1'.padStart(16, '0'),
          timestamp: at(5),
          severity: 'error',
          message: 'oops',
          attributes: { k: 'v' },
        },
      ],
    );
    const [resource] = traceToResourceSpans(d) as any[];
    expect(resource.resource.attributes).toEqual([
      { key: 'service.name', value: { stringValue: 'svc' } },
    ]);
    expect(resource.scopeSpans[0].scope).toEqual({ name: 'lib', version: '1.0' });
    const s = resource.scopeSpans[0].spans[0];
    expect(s).toMatchObject({
      traceId: TRACE,
      spanId: '0000000000000001',
      parentSpanId: '0000000000abcdef',
      flags: 0x300,
      kind: 2,
      startTimeUnixNano: `${Date.UTC(2026, 0, 1)}000000`,
      endTimeUnixNano: `${Date.UTC(2026, 0, 1) + 100}000000`,
      status: { code: 2, message: 'boom' },
      events: [
        {
          timeUnixNano: `${Date.UTC(2026, 0, 1) + 5}000000`,
          name: 'oops',
          attributes: [{ key: 'k', value: { stringValue: 'v' } }],
        },
      ],
    });
    expect(Object.fromEntries(s.attributes.map((a: any) => [a.key, a.value]))).toEqual({
      n: { intValue: '3' },
      f: { doubleValue: 1.5 },
      b: { boolValue: false },
      s: { stringValue: 'x' },
      nil: {},
      arr: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '1' }] } },
      'otel.scope.name': { stringValue: 'lib' },
      'otel.scope.version': { stringValue: '1.0' },
    });
  });
});
