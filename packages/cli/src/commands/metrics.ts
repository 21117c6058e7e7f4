import type { MetricLabelMatcher, MetricSeries } from '@telemetry/core';
import type { Command } from 'commander';
import { labelArg, timeArg } from '../args.ts';
import {
  addOutputOptions,
  addStoreOptions,
  examples,
  type OutputFlags,
  paintFor,
  type StoreFlags,
  withStore,
} from '../context.ts';
import { UsageError } from '../errors.ts';
import { cell, type Io, json, table } from '../output.ts';
import { sparkline } from '../sparkline.ts';

interface MetricsFlags extends StoreFlags, OutputFlags {
  since?: number;
  until?: number;
  granularity?: string;
  label?: MetricLabelMatcher[];
  instant?: boolean;
}

const GRANULARITY = /^[1-9]\d*[smhd]$/;

export function metricsCommand(program: Command, io: Io): void {
  const command = program
    .command('metrics')
    .summary('a metric per series (label set) over a time window, with a sparkline')
    .description(
      'One row per series of the metric (one per distinct label set and unit) in the window: points, sum, min, max, last value and a sparkline of the window (each cell the sum of its points; a blank cell has none). --granularity sums the points in buckets of that size first; --instant gives one sum per series.',
    )
    .argument('<name>', 'the metric, such as total_tokens')
    .option(
      '--since <time>',
      'start of the window: a duration ago or an ISO-8601 time (default: 1h)',
      timeArg(io.now),
    )
    .option('--until <time>', 'end of the window (default: now)', timeArg(io.now))
    .option('--granularity <size>', 'bucket size: 30s, 5m, 1h, 1d')
    .option(
      '--label <matcher>',
      'a label matcher, repeatable: name=value, name!=value, name=~regex, name!~regex (RE2, whole value)',
      labelArg,
    )
    .option('--instant', 'one value per series: the sum over the window');
  addOutputOptions(
    addStoreOptions(command, io.env),
    'the series (Llama Stack MetricSeries objects)',
  )
    .addHelpText(
      'after',
      examples([
        'telemetry metrics total_tokens',
        "telemetry metrics total_tokens --since 24h --granularity 1h --label 'model_id=~llama-3.*'",
        'telemetry metrics prompt_tokens --instant --label provider_id!=ollama --json',
      ]),
    )
    .action(async (name: string, flags: MetricsFlags) => {
      if (flags.granularity !== undefined && !GRANULARITY.test(flags.granularity)) {
        throw new UsageError(
          `--granularity ${JSON.stringify(flags.granularity)}: expected a whole number and a unit (s, m, h, d), such as 30s, 5m, 1h or 1d.`,
        );
      }
      if (name.trim() === '') throw new UsageError('the metric name is empty.');
      const start = Math.floor((flags.since ?? io.now() - 3_600_000) / 1000);
      const end = Math.floor((flags.until ?? io.now()) / 1000);
      if (start < 0 || end < 0) throw new UsageError('--since and --until must be after 1970.');
      await withStore(flags, 'read', io, async (store) => {
        const series = await store.queryMetrics(name, {
          query_type: flags.instant ? 'instant' : 'range',
          start_time: start,
          end_time: end,
          ...(flags.granularity ? { granularity: flags.granularity } : {}),
          ...(flags.label?.length ? { label_matchers: flags.label } : {}),
        });
        if (flags.json) {
          io.stdout.write(json(series));
          return;
        }
        if (series.length === 0) {
          io.stderr.write(
            `No series of ${JSON.stringify(name)} in that window in ${store.location}.\n`,
          );
          return;
        }
        io.stdout.write(metricTable(series, start, end, !!flags.instant, paintFor(io, flags)));
      });
    });
}

const number = (n: number) =>
  Number.isInteger(n)
    ? String(n)
    : Math.abs(n) >= 100
      ? n.toFixed(1)
      : String(Number(n.toPrecision(4)));

export function metricTable(
  series: readonly MetricSeries[],
  start: number,
  end: number,
  instant: boolean,
  paint: Parameters<typeof table>[2],
): string {
  const head = ['SERIES', 'UNIT', 'POINTS', 'SUM', 'MIN', 'MAX', 'LAST'];
  if (!instant) head.push(`TREND (${sparkWindow(end - start)})`);
  const rows = series.map((s) => {
    const values = s.values.map((p) => p.value);
    const labels = s.labels.map((l) => `${l.name}=${l.value}`).join(' ') || '(no labels)';
    const row = [
      cell(labels, 80),
      cell(s.values[0]?.unit ?? '', 16),
      String(values.length),
      number(values.reduce((a, b) => a + b, 0)),
      values.length ? number(Math.min(...values)) : '-',
      values.length ? number(Math.max(...values)) : '-',
      values.length ? number(values[values.length - 1]!) : '-',
    ];
    if (!instant) row.push(sparkline(s.values, start, end));
    return row;
  });
  return table(head, rows, paint, {
    align: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'left'],
  });
}

function sparkWindow(seconds: number): string {
  if (seconds >= 86_400 * 2) return `${Math.round(seconds / 86_400)}d`;
  if (seconds >= 7_200) return `${Math.round(seconds / 3_600)}h`;
  if (seconds >= 120) return `${Math.round(seconds / 60)}m`;
  return `${seconds}s`;
}
