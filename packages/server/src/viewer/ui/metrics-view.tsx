import type { MetricSeries } from '@telemetry/core';
import { useMemo, useState } from 'preact/hooks';
import { seriesColumns, seriesLabel, summarizeSeries } from '../chart-data.ts';
import {
  DEFAULT_METRICS_SINCE,
  formatRoute,
  type MetricQueryType,
  type MetricsState,
  metricsQuery,
} from '../route-state.ts';
import { formatDateTime, localOffsetMinutes } from '../time.ts';
import { api } from './api.ts';
import { TimeSeriesChart } from './chart.tsx';
import { Empty, ErrorBox, FormProblems } from './common.tsx';
import { navigate, useLoad, useSuggestions } from './hooks.ts';
import { readTimeWindow, TimeWindowFields, timeWindowInput } from './time-window.tsx';

const GRANULARITIES = ['', '10s', '1m', '5m', '15m', '1h', '1d'];

export function MetricsView(props: { metrics: MetricsState }) {
  const { metrics } = props;
  const key = formatRoute({ view: 'metrics', metrics });
  const [runs, setRuns] = useState(0);
  return (
    <section class="metrics-view">
      <MetricsForm key={key} metrics={metrics} onRefresh={() => setRuns((n) => n + 1)} />
      {metrics.metric === null ? (
        <Empty>Pick a metric (for example total_tokens) and a time window.</Empty>
      ) : (
        <MetricsResult key={`${key}#${runs}`} metrics={metrics} />
      )}
    </section>
  );
}

function MetricsResult(props: { metrics: MetricsState }) {
  const [now] = useState(() => Date.now());
  const built = metricsQuery(props.metrics, now);
  const result = useLoad('once', (signal) =>
    built.query ? api.queryMetrics(built.query, signal) : Promise.resolve({ data: [] }),
  );
  if (built.errors) return <FormProblems problems={built.errors} />;
  if (result.state === 'loading') return <p class="muted">Querying…</p>;
  if (result.state === 'failed') return <ErrorBox error={result.error} what="The metric query" />;
  const series = result.value.data;
  const { start_time, end_time } = built.query.body;
  return (
    <>
      <p class="muted" data-testid="series-count">
        {series.length} series of <code>{built.query.metric}</code> from {stamp(start_time)} to{' '}
        {stamp(end_time)}
        {built.query.body.granularity ? `, per ${built.query.body.granularity}` : ', raw points'}
      </p>
      {series.length === 0 ? (
        <Empty>No data points in this window.</Empty>
      ) : (
        <>
          <LabelChips series={series} metrics={props.metrics} />
          <div class="charts">
            {series.map((s) => (
              <SeriesCard
                key={seriesLabel(s) + s.values[0]?.unit}
                series={s}
                joined={built.query.body.granularity !== undefined}
              />
            ))}
          </div>
        </>
      )}
    </>
  );
}

const stamp = (seconds: number) =>
  formatDateTime(seconds * 1e6, localOffsetMinutes(seconds * 1e6)).slice(0, 19);

function SeriesCard(props: { series: MetricSeries; joined: boolean }) {
  const { series } = props;
  const [xs, ys] = useMemo(() => seriesColumns(series), [series]);
  const summary = summarizeSeries(series);
  const label = seriesLabel(series);
  return (
    <figure class="series" data-series={label}>
      <figcaption>
        <strong>{label}</strong>
        <span class="muted">
          {' '}
          {summary.points} point{summary.points === 1 ? '' : 's'} · total {round(summary.total)}
          {summary.unit ? ` ${summary.unit}` : ''} · min {round(summary.min)} · max{' '}
          {round(summary.max)}
        </span>
      </figcaption>
      <TimeSeriesChart
        xs={xs}
        ys={ys}
        label={series.metric}
        unit={summary.unit}
        joined={props.joined}
      />
    </figure>
  );
}

const round = (n: number) => String(Number(n.toPrecision(6)));

/** Label values of the answer, one click from a matcher that keeps only that series. */
function LabelChips(props: { series: readonly MetricSeries[]; metrics: MetricsState }) {
  const pairs = new Set<string>();
  for (const s of props.series) for (const l of s.labels) pairs.add(`${l.name}=${l.value}`);
  const chips = [...pairs]
    .filter((p) => !props.metrics.match.includes(p))
    .sort()
    .slice(0, 40);
  if (chips.length === 0) return null;
  return (
    <p class="chips">
      <span class="muted">Keep only: </span>
      {chips.map((pair) => (
        <a
          key={pair}
          class="chip"
          href={formatRoute({
            view: 'metrics',
            metrics: { ...props.metrics, match: [...props.metrics.match, pair] },
          })}
        >
          {pair}
        </a>
      ))}
    </p>
  );
}

function MetricsForm(props: { metrics: MetricsState; onRefresh: () => void }) {
  const { metrics } = props;
  const [metric, setMetric] = useState(metrics.metric ?? '');
  const [type, setType] = useState<MetricQueryType>(metrics.type);
  const [granularity, setGranularity] = useState(metrics.granularity ?? '');
  const [timeInput, setTimeInput] = useState(() => timeWindowInput(metrics, DEFAULT_METRICS_SINCE));
  const [problems, setProblems] = useState<string[]>([]);
  const [match, setMatch] = useState<string[]>(metrics.match.length ? [...metrics.match] : ['']);
  const names = useSuggestions('metric-names', metric);

  const submit = (event: Event) => {
    event.preventDefault();
    const errors: string[] = [];
    const time = readTimeWindow(timeInput, DEFAULT_METRICS_SINCE, errors);
    setProblems(errors);
    if (errors.length > 0) return;
    const next: MetricsState = {
      metric: metric.trim() || null,
      type,
      granularity: granularity.trim() || null,
      ...time,
      match: match.map((m) => m.trim()).filter((m) => m !== ''),
    };
    const hash = formatRoute({ view: 'metrics', metrics: next });
    if (hash === location.hash) props.onRefresh();
    else navigate(hash);
  };

  return (
    <form class="search-form" onSubmit={submit} aria-label="Metric query">
      <label>
        Metric
        <input
          name="metric"
          list="metric-suggestions"
          value={metric}
          required
          autoComplete="off"
          onInput={(e) => setMetric((e.target as HTMLInputElement).value)}
        />
      </label>
      <datalist id="metric-suggestions">
        {names.map((v) => (
          <option key={v} value={v} />
        ))}
      </datalist>
      <label>
        Query
        <select
          name="type"
          value={type}
          onChange={(e) => setType((e.target as HTMLSelectElement).value as MetricQueryType)}
        >
          <option value="range">range (a series over time)</option>
          <option value="instant">instant (one total per series)</option>
        </select>
      </label>
      <label>
        Granularity
        <input
          name="granularity"
          list="granularity-options"
          value={granularity}
          placeholder="raw points"
          size={8}
          onInput={(e) => setGranularity((e.target as HTMLInputElement).value)}
        />
      </label>
      <datalist id="granularity-options">
        {GRANULARITIES.filter(Boolean).map((g) => (
          <option key={g} value={g} />
        ))}
      </datalist>
      <TimeWindowFields value={timeInput} onChange={setTimeInput} since={metrics.since} />
      <fieldset class="attrs">
        <legend>Labels: name=value, name!=value, name=~regex, name!~regex</legend>
        {match.map((m, i) => (
          <span class="attr" key={i}>
            <input
              name="match"
              value={m}
              placeholder="model_id=~llama.*"
              aria-label={`Label matcher ${i + 1}`}
              autoComplete="off"
              onInput={(e) => {
                const next = [...match];
                next[i] = (e.target as HTMLInputElement).value;
                setMatch(next);
              }}
            />
            <button
              type="button"
              class="small"
              aria-label="Remove this matcher"
              onClick={() => setMatch(match.length > 1 ? match.filter((_, j) => j !== i) : [''])}
            >
              ×
            </button>
          </span>
        ))}
        <button type="button" class="small" onClick={() => setMatch([...match, ''])}>
          + matcher
        </button>
      </fieldset>
      <div class="form-actions">
        <button type="submit" class="primary">
          Query
        </button>
      </div>
      <FormProblems problems={problems} />
    </form>
  );
}
