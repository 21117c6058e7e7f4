import { useEffect, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { formatDateTime, localOffsetMinutes } from '../time.ts';

type UPlotClass = typeof uPlot;

// The chart library is loaded the first time a chart is drawn: the trace pages never fetch it.
let library: Promise<UPlotClass> | undefined;
const loadLibrary = () => {
  library ??= import('uplot').then((m) => m.default);
  return library;
};

const DARK = '(prefers-color-scheme: dark)';

/** True while the system prefers dark: charts redraw in the new colours when it changes. */
export function useDarkScheme(): boolean {
  const [dark, setDark] = useState(() => matchMedia(DARK).matches);
  useEffect(() => {
    const query = matchMedia(DARK);
    const update = () => setDark(query.matches);
    query.addEventListener('change', update);
    return () => query.removeEventListener('change', update);
  }, []);
  return dark;
}

const HEIGHT = 200;

/**
 * One time series (unix seconds, values) as a uPlot line chart with its
 * points marked. `data-points` carries the number of points uPlot was given.
 */
export function TimeSeriesChart(props: {
  xs: readonly number[];
  ys: readonly number[];
  label: string;
  unit: string;
  /** Raw points are separate events: drawn as points, not joined by a line. */
  joined: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [drawn, setDrawn] = useState<number | null>(null);
  const dark = useDarkScheme();
  useEffect(() => {
    let plot: uPlot | undefined;
    let observer: ResizeObserver | undefined;
    let cancelled = false;
    loadLibrary().then((UPlot) => {
      const el = box.current;
      if (cancelled || !el) return;
      const css = getComputedStyle(el);
      const color = (name: string) => css.getPropertyValue(name).trim();
      const axis = {
        stroke: color('--muted'),
        grid: { stroke: color('--grid'), width: 1 },
        ticks: { stroke: color('--grid'), width: 1 },
      };
      const unit = props.unit ? ` ${props.unit}` : '';
      plot = new UPlot(
        {
          width: Math.max(200, el.clientWidth),
          height: HEIGHT,
          scales: {
            x: {
              time: true,
              // Points within one minute get a minute around them (uPlot would span years
              // around points that share one time).
              range: (u, min, max) => {
                const xs = u.data[0];
                const first = xs[0];
                const last = xs[xs.length - 1];
                if (first !== undefined && last !== undefined && first === last) {
                  return [first - 30, first + 30];
                }
                if (max - min >= 60) return [min, max];
                const middle = (min + max) / 2;
                return [middle - 30, middle + 30];
              },
            },
          },
          series: [
            {
              value: (_u, v) =>
                v == null ? '–' : formatDateTime(v * 1e6, localOffsetMinutes(v * 1e6)).slice(0, 19),
            },
            {
              label: props.label,
              stroke: color('--accent'),
              fill: color('--accent-fill'),
              width: 2,
              points: { show: true, size: props.joined ? 6 : 8, fill: color('--accent') },
              ...(props.joined ? {} : { paths: () => null }),
              value: (_u, v) => (v == null ? '–' : `${v}${unit}`),
            },
          ],
          axes: [axis, { ...axis, size: 64 }],
        },
        [props.xs as number[], props.ys as number[]],
        el,
      );
      setDrawn(plot.data[0]?.length ?? 0);
      let width = el.clientWidth;
      observer = new ResizeObserver(() => {
        if (plot && el.clientWidth !== width) {
          width = el.clientWidth;
          plot.setSize({ width: Math.max(200, width), height: HEIGHT });
        }
      });
      observer.observe(el);
    });
    return () => {
      cancelled = true;
      observer?.disconnect();
      plot?.destroy();
    };
  }, [props.xs, props.ys, props.label, props.unit, props.joined, dark]);
  return <div class="chart" ref={box} data-points={drawn ?? undefined} />;
}
