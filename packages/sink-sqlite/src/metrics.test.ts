import { join } from 'node:path';
import { TelemetryValidationError } from '@telemetry/core';
import { createSqliteSink, type SqliteSink } from '@telemetry/sink-sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childScript, runNode } from './test-support/child.ts';
import { tempDir } from './test-support/fixtures.ts';
import { M0, metricSpans } from './test-support/metrics-data.ts';

let sink: SqliteSink;
const tmp = tempDir();
const dbPath = join(tmp.dir, 'metrics.db');
const window = { start_time: M0, end_time: M0 + 2 * 86_400 };
const llama = [
  { name: 'model', value: 'llama' },
  { name: 'route', value: '/chat' },
];
const gpt = [
  { name: 'model', value: 'gpt' },
  { name: 'route', value: '/chat' },
];

beforeAll(async () => {
  sink = createSqliteSink({ path: dbPath, retentionIntervalMs: 0 });
  await sink.writeSpans(metricSpans());
});
afterAll(async () => {
  await sink.shutdown();
  tmp.cleanup();
});

describe('queryMetrics', () => {
  it('range without granularity returns raw points, one series per label set', async () => {
    const series = await sink.queryMetrics('tokens', { query_type: 'range', ...window });
    expect(series).toEqual([
      {
        metric: 'tokens',
        labels: gpt,
        values: [
          { timestamp: M0 + 50, value: 10, unit: 'tokens' },
          { timestamp: M0 + 400, value: 20, unit: 'tokens' },
        ],
      },
      {
        metric: 'tokens',
        labels: llama,
        values: [
          { timestamp: M0 + 10, value: 1, unit: 'tokens' },
          { timestamp: M0 + 100, value: 2, unit: 'tokens' },
          { timestamp: M0 + 299, value: 3, unit: 'tokens' },
          { timestamp: M0 + 300, value: 4, unit: 'tokens' },
          { timestamp: M0 + 3605, value: 5, unit: 'tokens' },
          { timestamp: M0 + 86_401, value: 6, unit: 'tokens' },
        ],
      },
      {
        metric: 'tokens',
        labels: [
          { name: 'model', value: 'llama-3.1' },
          { name: 'route', value: '/embed' },
        ],
        values: [{ timestamp: M0 + 20, value: 100, unit: 'tokens' }],
      },
      {
        metric: 'tokens',
        labels: [],
        values: [{ timestamp: M0 + 30, value: 1000, unit: 'tokens' }],
      },
    ]);
  });

  it('buckets are exactly the granularity asked for (5m is five minutes, not one)', async () => {
    const [series] = await sink.queryMetrics('tokens', {
      query_type: 'range',
      ...window,
      granularity: '5m',
      label_matchers: [{ name: 'model', operator: '=', value: 'llama' }],
    });
    expect(series!.values).toEqual([
      { timestamp: M0, value: 6, unit: 'tokens' },
      { timestamp: M0 + 300, value: 4, unit: 'tokens' },
      { timestamp: M0 + 3600, value: 5, unit: 'tokens' },
      { timestamp: M0 + 86_400, value: 6, unit: 'tokens' },
    ]);
    const [hourly] = await sink.queryMetrics('tokens', {
      query_type: 'range',
      ...window,
      granularity: '1h',
      label_matchers: [{ name: 'model', operator: '=', value: 'llama' }],
    });
    expect(hourly!.values.map((v) => [v.timestamp - M0, v.value])).toEqual([
      [0, 10],
      [3600, 5],
      [86_400, 6],
    ]);
    const [seconds] = await sink.queryMetrics('tokens', {
      query_type: 'range',
      ...window,
      granularity: '90s',
      label_matchers: [{ name: 'model', operator: '=', value: 'gpt' }],
    });
    expect(seconds!.values.map((v) => [v.timestamp - M0, v.value])).toEqual([
      [0, 10],
      [360, 20],
    ]);
  });

  it('gives the same buckets whether it sums per bucket (few buckets) or groups all points (many)', async () => {
    const gpt = [{ name: 'model', operator: '=' as const, value: 'gpt' }];
    // 2 days of 1s buckets x 4 series: past the per-bucket limit, so one GROUP BY.
    const [many] = await sink.queryMetrics('tokens', {
      query_type: 'range',
      ...window,
      granularity: '1s',
      label_matchers: [{ name: 'model', operator: '=', value: 'llama' }],
    });
    expect(many!.values.map((v) => [v.timestamp - M0, v.value])).toEqual([
      [10, 1],
      [100, 2],
      [299, 3],
      [300, 4],
      [3605, 5],
      [86_401, 6],
    ]);
    // Few buckets: one range sum each. 7m buckets are aligned to the epoch, not
    // to the window: M0 - 120 s and M0 + 300 s; the window cuts both.
    const [few] = await sink.queryMetrics('tokens', {
      query_type: 'range',
      start_time: M0 + 50,
      end_time: M0 + 400,
      granularity: '7m',
      label_matchers: gpt,
    });
    expect(few!.values.map((v) => [v.timestamp - M0, v.value])).toEqual([
      [-120, 10],
      [300, 20],
    ]);
    const [sameFew] = await sink.queryMetrics('tokens', {
      query_type: 'range',
      start_time: M0 + 51,
      end_time: M0 + 399,
      granularity: '7m',
      label_matchers: gpt,
    });
    expect(sameFew).toBeUndefined();
  });

  it('windows include both ends to the second and exclude points outside', async () => {
    const [series] = await sink.queryMetrics('tokens', {
      query_type: 'range',
      start_time: M0 + 100,
      end_time: M0 + 299,
      label_matchers: [{ name: 'model', operator: '=', value: 'llama' }],
    });
    expect(series!.values.map((v) => v.value)).toEqual([2, 3]);
  });

  it('instant gives one sum per series over the window, stamped with its end', async () => {
    const series = await sink.queryMetrics('tokens', {
      query_type: 'instant',
      start_time: M0,
      end_time: M0 + 3600,
    });
    expect(series.map((s) => [s.labels.map((l) => l.value).join(','), s.values])).toEqual([
      ['gpt,/chat', [{ timestamp: M0 + 3600, value: 30, unit: 'tokens' }]],
      ['llama,/chat', [{ timestamp: M0 + 3600, value: 10, unit: 'tokens' }]],
      ['llama-3.1,/embed', [{ timestamp: M0 + 3600, value: 100, unit: 'tokens' }]],
      ['', [{ timestamp: M0 + 3600, value: 1000, unit: 'tokens' }]],
    ]);
  });

  it('label matchers: =, != and anchored regular expressions =~ and !~ (missing label reads as "")', async () => {
    const labelsOf = async (
      label_matchers: { name: string; operator: '=' | '!=' | '=~' | '!~'; value: string }[],
    ) =>
      (await sink.queryMetrics('tokens', { query_type: 'instant', ...window, label_matchers })).map(
        (s) => s.labels.map((l) => `${l.name}=${l.value}`).join(','),
      );
    // The reference turned =~ into LIKE '%llama.*%', which matches neither.
    expect(await labelsOf([{ name: 'model', operator: '=~', value: 'llama.*' }])).toEqual([
      'model=llama,route=/chat',
      'model=llama-3.1,route=/embed',
    ]);
    expect(await labelsOf([{ name: 'model', operator: '=~', value: 'lla' }])).toEqual([]);
    expect(await labelsOf([{ name: 'model', operator: '!~', value: 'llama.*' }])).toEqual([
      'model=gpt,route=/chat',
      '',
    ]);
    expect(await labelsOf([{ name: 'route', operator: '!=', value: '/chat' }])).toEqual([
      'model=llama-3.1,route=/embed',
      '',
    ]);
    expect(
      await labelsOf([
        { name: 'route', operator: '=', value: '/chat' },
        { name: 'model', operator: '=~', value: 'gpt|llama' },
      ]),
    ).toEqual(['model=gpt,route=/chat', 'model=llama,route=/chat']);
  });

  it('keeps metrics apart by name and reports units', async () => {
    expect(await sink.queryMetrics('latency', { query_type: 'range', ...window })).toEqual([
      {
        metric: 'latency',
        labels: llama,
        values: [{ timestamp: M0 + 10, value: 0.25, unit: 'ms' }],
      },
    ]);
    expect(await sink.queryMetrics('nothing', { query_type: 'range', ...window })).toEqual([]);
  });

  it('rejects bad parameters, listing every problem', async () => {
    const error = await sink
      .queryMetrics('', {
        query_type: 'range',
        start_time: M0 + 10,
        end_time: M0,
        label_matchers: [{ name: 'model', operator: '=~', value: '(' }],
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelemetryValidationError);
    expect((error as TelemetryValidationError).issues.map((i) => i.path)).toEqual([
      'metric_name',
      'start_time',
      'label_matchers[0].value',
    ]);
    const granularity = await sink
      .queryMetrics('tokens', { query_type: 'range', start_time: M0, granularity: '5 minutes' })
      .catch((e: unknown) => e);
    expect((granularity as TelemetryValidationError).issues.map((i) => i.path)).toEqual([
      'granularity',
    ]);
  });

  it('buckets in UTC when the host is in America/New_York', async () => {
    await sink.forceFlush();
    const result = await runNode(
      childScript('metrics-tz-child.mjs'),
      [dbPath, String(window.start_time), String(window.end_time)],
      {
        TZ: 'America/New_York',
      },
    );
    expect(result.stderr).toBe('');
    const out = JSON.parse(result.stdout) as {
      offsetMinutes: number;
      results: Record<string, { values: { timestamp: number; value: number }[] }[]>;
    };
    // The child really ran in New York time (UTC-5 in January)...
    expect(out.offsetMinutes).toBe(300);
    // ...and its buckets still start at UTC hours, days and five-minute marks.
    const points = (g: string) =>
      out.results[g]![0]!.values.map((v) => [v.timestamp - M0, v.value]);
    expect(points('1d')).toEqual([
      [0, 15],
      [86_400, 6],
    ]);
    expect(points('1h')).toEqual([
      [0, 10],
      [3600, 5],
      [86_400, 6],
    ]);
    expect(points('5m')).toEqual([
      [0, 6],
      [300, 4],
      [3600, 5],
      [86_400, 6],
    ]);
  });
});
