import { describe, expect, it } from 'vitest';
import { scatterLayout, seriesColumns, seriesLabel, summarizeSeries } from './chart-data.ts';

const point = (timestamp: number, value: number) => ({ timestamp, value, unit: 'tokens' });

describe('metric series', () => {
  it('labels a series by its label set', () => {
    expect(
      seriesLabel({
        labels: [
          { name: 'model_id', value: 'llama' },
          { name: 'provider_id', value: 'vllm' },
        ],
      }),
    ).toBe('model_id=llama, provider_id=vllm');
    expect(seriesLabel({ labels: [] })).toBe('(no labels)');
  });

  it('gives uPlot columns in time order, without unusable points', () => {
    const values = [
      point(30, 3),
      point(10, 1),
      point(Number.NaN, 9),
      point(20, Number.POSITIVE_INFINITY),
      point(20, 2),
    ];
    expect(seriesColumns({ values })).toEqual([
      [10, 20, 30],
      [1, 2, 3],
    ]);
    expect(summarizeSeries({ values })).toEqual({
      points: 3,
      total: 6,
      min: 1,
      max: 3,
      unit: 'tokens',
    });
    expect(summarizeSeries({ values: [] })).toEqual({
      points: 0,
      total: 0,
      min: 0,
      max: 0,
      unit: '',
    });
  });
});

describe('scatterLayout', () => {
  const trace = (
    id: string,
    start: string,
    duration_ms: number,
    span_count = 1,
    error_count = 0,
  ) => ({
    trace_id: id,
    start_time: start,
    duration_ms,
    span_count,
    error_count,
  });

  it('places start time on x and duration on y (0 at the bottom), inside the padding', () => {
    const layout = scatterLayout(
      [
        trace('a', '2026-03-01T12:00:00Z', 100),
        trace('b', '2026-03-01T12:00:10Z', 50, 64, 2),
        trace('c', '2026-03-01T12:00:05Z', 0),
      ],
      216,
      116,
    );
    expect(layout.maxMs).toBe(100);
    expect(layout.points.map((p) => [p.traceId, p.x, p.y, p.error])).toEqual([
      ['a', 8, 8, false],
      ['b', 208, 58, true],
      ['c', 108, 108, false],
    ]);
    expect(layout.points[1]!.r).toBe(8); // bounded however many spans
    expect(layout.points[0]!.r).toBe(3);
  });

  it('a single trace sits in the middle; unreadable ones are left out', () => {
    const layout = scatterLayout(
      [
        trace('a', '2026-03-01T12:00:00Z', 10),
        trace('x', 'garbage', 10),
        trace('y', '2026-03-01T12:00:00Z', Number.NaN),
      ],
      116,
      50,
    );
    expect(layout.points.map((p) => [p.traceId, p.x])).toEqual([['a', 58]]);
    expect(scatterLayout([], 100, 50).points).toEqual([]);
  });
});
