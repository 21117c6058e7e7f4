/**
 * Data for the page's charts: metric series as uPlot columns, and the
 * duration-over-time scatter of a trace list. Pure functions: no DOM.
 */
import type { MetricSeries, TraceSummary } from '@telemetry/core';
import { isoToMicros } from './time.ts';

/** `model_id=llama, provider_id=local`, in the order the store gave them; `(no labels)` for none. */
export function seriesLabel(series: Pick<MetricSeries, 'labels'>): string {
  if (series.labels.length === 0) return '(no labels)';
  return series.labels.map((l) => `${l.name}=${l.value}`).join(', ');
}

/**
 * A series as uPlot's columns: unix seconds and values, by time (uPlot needs
 * x ascending); points with a non-finite time or value are left out.
 */
export function seriesColumns(series: Pick<MetricSeries, 'values'>): [number[], number[]] {
  const points = series.values
    .filter((p) => Number.isFinite(p.timestamp) && Number.isFinite(p.value))
    .slice()
    .sort((a, b) => a.timestamp - b.timestamp);
  return [points.map((p) => p.timestamp), points.map((p) => p.value)];
}

export interface SeriesSummary {
  readonly points: number;
  readonly total: number;
  readonly min: number;
  readonly max: number;
  readonly unit: string;
}

export function summarizeSeries(series: Pick<MetricSeries, 'values'>): SeriesSummary {
  const [, ys] = seriesColumns(series);
  let total = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const y of ys) {
    total += y;
    if (y < min) min = y;
    if (y > max) max = y;
  }
  return {
    points: ys.length,
    total,
    min: ys.length ? min : 0,
    max: ys.length ? max : 0,
    unit: series.values[0]?.unit ?? '',
  };
}

export interface ScatterPoint {
  readonly traceId: string;
  /** Pixel position inside the plot area. */
  readonly x: number;
  readonly y: number;
  /** Radius: grows with the span count, bounded. */
  readonly r: number;
  readonly error: boolean;
}

export interface ScatterLayout {
  readonly points: readonly ScatterPoint[];
  /** Axis extents: epoch microseconds and milliseconds. */
  readonly startMicros: number;
  readonly endMicros: number;
  readonly maxMs: number;
}

/**
 * Duration over start time, as Jaeger draws it: x is the trace's start, y its
 * duration (0 at the bottom), the radius grows with its span count. Points
 * keep a `pad` pixel margin so that no circle is cut at the plot's edge.
 */
export function scatterLayout(
  traces: readonly Pick<
    TraceSummary,
    'trace_id' | 'start_time' | 'duration_ms' | 'span_count' | 'error_count'
  >[],
  width: number,
  height: number,
  pad = 8,
): ScatterLayout {
  const starts = traces.map((t) => isoToMicros(t.start_time));
  let startMicros = Number.POSITIVE_INFINITY;
  let endMicros = Number.NEGATIVE_INFINITY;
  let maxMs = 0;
  traces.forEach((t, i) => {
    const s = starts[i]!;
    if (Number.isFinite(s)) {
      startMicros = Math.min(startMicros, s);
      endMicros = Math.max(endMicros, s);
    }
    if (Number.isFinite(t.duration_ms)) maxMs = Math.max(maxMs, t.duration_ms);
  });
  if (!Number.isFinite(startMicros)) startMicros = endMicros = 0;
  const span = endMicros - startMicros;
  const innerW = Math.max(0, width - 2 * pad);
  const innerH = Math.max(0, height - 2 * pad);
  const points: ScatterPoint[] = [];
  traces.forEach((t, i) => {
    const s = starts[i]!;
    if (!Number.isFinite(s) || !Number.isFinite(t.duration_ms)) return;
    const fx = span > 0 ? (s - startMicros) / span : 0.5;
    const fy = maxMs > 0 ? Math.max(0, t.duration_ms) / maxMs : 0;
    points.push({
      traceId: t.trace_id,
      x: pad + fx * innerW,
      y: pad + (1 - fy) * innerH,
      r: Math.min(8, 3 + Math.log2(Math.max(1, t.span_count))),
      error: t.error_count > 0,
    });
  });
  return { points, startMicros, endMicros, maxMs };
}
