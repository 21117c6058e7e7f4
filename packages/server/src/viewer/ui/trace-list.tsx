import type { TraceSearchResult, TraceSummary } from '@telemetry/core';
import { useEffect, useRef, useState } from 'preact/hooks';
import { scatterLayout } from '../chart-data.ts';
import { formatRoute, type TraceListState, traceSearchApiQuery } from '../route-state.ts';
import { formatDateTime, formatDuration, localOffsetMinutes, parseDuration } from '../time.ts';
import { type ApiError, api } from './api.ts';
import { Empty, ErrorBox, FormProblems, localTime } from './common.tsx';
import { asApiError, navigate, useSuggestions } from './hooks.ts';
import { readTimeWindow, TimeWindowFields, timeWindowInput } from './time-window.tsx';

/** How often the list asks for traces that became visible since its last answer. */
const LIVE_POLL_MS = 2_000;

const byNewest = (a: TraceSummary, b: TraceSummary) =>
  b.start_time.localeCompare(a.start_time) || b.trace_id.localeCompare(a.trace_id);

interface ListState {
  readonly traces: readonly TraceSummary[];
  readonly nextCursor: string | null;
  readonly liveCursor: string;
  /** Traces that arrived by live polling, highlighted for a moment. */
  readonly fresh: ReadonlySet<string>;
}

export function TraceList(props: { search: TraceListState }) {
  const { search } = props;
  const key = formatRoute({ view: 'traces', search });
  const [list, setList] = useState<ListState | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [live, setLive] = useState(true);
  const listRef = useRef<ListState | null>(null);
  listRef.current = list;

  useEffect(() => {
    const controller = new AbortController();
    setList(null);
    setError(null);
    api.searchTraces(traceSearchApiQuery(search, Date.now()), controller.signal).then(
      (page) =>
        setList({
          traces: page.traces,
          nextCursor: page.next_cursor,
          liveCursor: page.live_cursor,
          fresh: new Set(),
        }),
      (e: unknown) => {
        if (!controller.signal.aborted) setError(asApiError(e));
      },
    );
    return () => controller.abort();
  }, [key]);

  // Live list: the same search with newer_than, while the list is shown and the tab visible.
  useEffect(() => {
    if (!live || list === null) return;
    let stopped = false;
    let controller: AbortController | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      const current = listRef.current;
      if (stopped || current === null) return;
      if (document.visibilityState === 'visible') {
        const query = traceSearchApiQuery(search, Date.now());
        query.set('newer_than', current.liveCursor);
        controller = new AbortController();
        try {
          const page: TraceSearchResult = await api.searchTraces(query, controller.signal);
          if (stopped) return;
          setList((prev) => (prev === null ? prev : merge(prev, page)));
        } catch (e) {
          if (stopped) return;
          setError(asApiError(e));
          setLive(false);
          return;
        }
      }
      if (!stopped) timer = setTimeout(poll, LIVE_POLL_MS);
    };
    timer = setTimeout(poll, LIVE_POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
      controller?.abort();
    };
  }, [live, key, list === null]);

  const loadMore = async () => {
    if (!list?.nextCursor) return;
    setLoadingMore(true);
    try {
      const query = traceSearchApiQuery(search, Date.now());
      query.set('cursor', list.nextCursor);
      const page = await api.searchTraces(query);
      setList((prev) => {
        if (prev === null) return prev;
        const seen = new Set(prev.traces.map((t) => t.trace_id));
        return {
          ...prev,
          traces: [...prev.traces, ...page.traces.filter((t) => !seen.has(t.trace_id))],
          nextCursor: page.next_cursor,
        };
      });
    } catch (e) {
      setError(asApiError(e));
    } finally {
      setLoadingMore(false);
    }
  };

  return (
    <section class="trace-list">
      <SearchForm key={key} search={search} />
      {error && <ErrorBox error={error} what="The search" />}
      {list === null && !error && <p class="muted">Searching…</p>}
      {list !== null && (
        <>
          <div class="list-bar">
            <span data-testid="result-count">
              {list.traces.length} trace{list.traces.length === 1 ? '' : 's'}
              {list.nextCursor ? ' (more below)' : ''}
            </span>
            <label class="live">
              <input
                type="checkbox"
                checked={live}
                onChange={(e) => setLive((e.target as HTMLInputElement).checked)}
              />{' '}
              Live
            </label>
          </div>
          {list.traces.length === 0 ? (
            <Empty>No trace matches this search.</Empty>
          ) : (
            <>
              <Scatter traces={list.traces} />
              <ResultsTable traces={list.traces} fresh={list.fresh} />
              {list.nextCursor && (
                <button type="button" onClick={loadMore} disabled={loadingMore}>
                  {loadingMore ? 'Loading…' : 'Load more'}
                </button>
              )}
            </>
          )}
        </>
      )}
    </section>
  );
}

function merge(prev: ListState, page: TraceSearchResult): ListState {
  if (page.traces.length === 0) return { ...prev, liveCursor: page.live_cursor };
  const incoming = new Map(page.traces.map((t) => [t.trace_id, t]));
  const traces = [...page.traces, ...prev.traces.filter((t) => !incoming.has(t.trace_id))].sort(
    byNewest,
  );
  return {
    traces,
    nextCursor: prev.nextCursor,
    liveCursor: page.live_cursor,
    fresh: new Set(page.traces.map((t) => t.trace_id)),
  };
}

const LIMITS = ['20', '50', '100', '200', '500', '1000'];

function SearchForm(props: { search: TraceListState }) {
  const { search } = props;
  const [service, setService] = useState(search.service ?? '');
  const [name, setName] = useState(search.name ?? '');
  const [status, setStatus] = useState(search.status ?? '');
  const [timeInput, setTimeInput] = useState(() => timeWindowInput(search, ''));
  const [minDuration, setMinDuration] = useState(
    search.min_duration_ms === null ? '' : `${search.min_duration_ms}ms`,
  );
  const [maxDuration, setMaxDuration] = useState(
    search.max_duration_ms === null ? '' : `${search.max_duration_ms}ms`,
  );
  const [attrs, setAttrs] = useState<string[]>(search.attr.length ? [...search.attr] : ['']);
  const [limit, setLimit] = useState(search.limit ?? '50');
  const [problems, setProblems] = useState<string[]>([]);
  const [attrFocus, setAttrFocus] = useState(0);

  const services = useSuggestions('services', service);
  const names = useSuggestions('span-names', name, { service: service || null });
  const attrText = attrs[attrFocus] ?? '';
  const keyPrefix = /[=<>!]/.test(attrText) ? null : attrText;
  const keys = useSuggestions('attribute-keys', keyPrefix ?? '');

  const submit = (event: Event) => {
    event.preventDefault();
    const errors: string[] = [];
    const duration = (text: string, field: string) => {
      if (text.trim() === '') return null;
      const ms = parseDuration(text);
      if (ms === undefined) {
        errors.push(`${field}: expected a duration such as 250ms, 2s or 1.5m`);
        return null;
      }
      return String(ms);
    };
    const min = duration(minDuration, 'Min duration');
    const max = duration(maxDuration, 'Max duration');
    const time = readTimeWindow(timeInput, '', errors);
    setProblems(errors);
    if (errors.length > 0) return;
    const next: TraceListState = {
      ...time,
      service: service.trim() || null,
      name: name.trim() || null,
      status: status === 'ok' || status === 'error' ? status : null,
      min_duration_ms: min,
      max_duration_ms: max,
      attr: attrs.map((a) => a.trim()).filter((a) => a !== ''),
      limit: limit === '50' ? null : limit,
    };
    navigate(formatRoute({ view: 'traces', search: next }));
  };

  return (
    <form class="search-form" onSubmit={submit} aria-label="Trace search">
      <label>
        Service
        <input
          name="service"
          list="service-suggestions"
          value={service}
          maxLength={1024}
          autoComplete="off"
          onInput={(e) => setService((e.target as HTMLInputElement).value)}
        />
      </label>
      <datalist id="service-suggestions">
        {services.map((v) => (
          <option key={v} value={v} />
        ))}
      </datalist>
      <label>
        Root span
        <input
          name="name"
          list="name-suggestions"
          value={name}
          maxLength={1024}
          autoComplete="off"
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />
      </label>
      <datalist id="name-suggestions">
        {names.map((v) => (
          <option key={v} value={v} />
        ))}
      </datalist>
      <label>
        Status
        <select
          name="status"
          value={status}
          onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}
        >
          <option value="">any</option>
          <option value="error">error</option>
          <option value="ok">ok</option>
        </select>
      </label>
      <TimeWindowFields value={timeInput} onChange={setTimeInput} since={search.since} anyTime />
      <label>
        Min duration
        <input
          name="min_duration"
          placeholder="e.g. 2s"
          value={minDuration}
          size={8}
          onInput={(e) => setMinDuration((e.target as HTMLInputElement).value)}
        />
      </label>
      <label>
        Max duration
        <input
          name="max_duration"
          placeholder="e.g. 500ms"
          value={maxDuration}
          size={8}
          onInput={(e) => setMaxDuration((e.target as HTMLInputElement).value)}
        />
      </label>
      <label>
        Limit
        <select
          name="limit"
          value={limit}
          onChange={(e) => setLimit((e.target as HTMLSelectElement).value)}
        >
          {LIMITS.map((l) => (
            <option key={l} value={l}>
              {l}
            </option>
          ))}
        </select>
      </label>
      <fieldset class="attrs">
        <legend>Attributes (all on one span): key=value, key!=value, key&gt;n, key&lt;n</legend>
        {attrs.map((a, i) => (
          <span class="attr" key={i}>
            <input
              name="attr"
              list="attr-suggestions"
              value={a}
              placeholder="model_id=llama"
              aria-label={`Attribute condition ${i + 1}`}
              autoComplete="off"
              onFocus={() => setAttrFocus(i)}
              onInput={(e) => {
                const next = [...attrs];
                next[i] = (e.target as HTMLInputElement).value;
                setAttrs(next);
              }}
            />
            <button
              type="button"
              class="small"
              aria-label="Remove this condition"
              onClick={() => setAttrs(attrs.length > 1 ? attrs.filter((_, j) => j !== i) : [''])}
            >
              ×
            </button>
          </span>
        ))}
        <button type="button" class="small" onClick={() => setAttrs([...attrs, ''])}>
          + condition
        </button>
        <datalist id="attr-suggestions">
          {keyPrefix !== null && keys.map((k) => <option key={k} value={`${k}=`} />)}
        </datalist>
      </fieldset>
      <div class="form-actions">
        <button type="submit" class="primary">
          Search
        </button>
        <a class="button" href="#/traces">
          Reset
        </a>
      </div>
      <FormProblems problems={problems} />
    </form>
  );
}

const SCATTER_HEIGHT = 150;

function Scatter(props: { traces: readonly TraceSummary[] }) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setWidth(el.clientWidth));
    observer.observe(el);
    setWidth(el.clientWidth);
    return () => observer.disconnect();
  }, []);
  const axis = 56; // room for the duration labels on the left
  const layout = scatterLayout(props.traces, Math.max(0, width - axis), SCATTER_HEIGHT);
  return (
    <div class="scatter" ref={box}>
      {width > 0 && (
        <svg
          width={width}
          height={SCATTER_HEIGHT + 20}
          role="img"
          aria-label="Trace duration over start time"
        >
          <text x={axis - 6} y={12} class="axis-label" text-anchor="end">
            {formatDuration(layout.maxMs)}
          </text>
          <text x={axis - 6} y={SCATTER_HEIGHT - 4} class="axis-label" text-anchor="end">
            0
          </text>
          <line x1={axis} y1={0} x2={axis} y2={SCATTER_HEIGHT} class="axis" />
          <line x1={axis} y1={SCATTER_HEIGHT} x2={width} y2={SCATTER_HEIGHT} class="axis" />
          <text x={axis} y={SCATTER_HEIGHT + 15} class="axis-label">
            {formatDateTime(layout.startMicros, localOffsetMinutes(layout.startMicros))}
          </text>
          <text x={width} y={SCATTER_HEIGHT + 15} class="axis-label" text-anchor="end">
            {formatDateTime(layout.endMicros, localOffsetMinutes(layout.endMicros))}
          </text>
          <g transform={`translate(${axis},0)`}>
            {layout.points.map((p) => (
              <a
                key={p.traceId}
                href={formatRoute({ view: 'trace', traceId: p.traceId, spanId: null })}
              >
                <circle
                  cx={p.x}
                  cy={p.y}
                  r={p.r}
                  class={p.error ? 'dot error' : 'dot'}
                  data-trace-id={p.traceId}
                >
                  <title>{p.traceId}</title>
                </circle>
              </a>
            ))}
          </g>
        </svg>
      )}
    </div>
  );
}

function ResultsTable(props: { traces: readonly TraceSummary[]; fresh: ReadonlySet<string> }) {
  return (
    <table class="results">
      <thead>
        <tr>
          <th>Start</th>
          <th>Root span</th>
          <th>Service</th>
          <th class="num">Duration</th>
          <th class="num">Spans</th>
          <th>Errors</th>
        </tr>
      </thead>
      <tbody>
        {props.traces.map((t) => {
          const href = formatRoute({ view: 'trace', traceId: t.trace_id, spanId: null });
          const classes = [
            t.error_count > 0 ? 'error' : '',
            props.fresh.has(t.trace_id) ? 'fresh' : '',
          ]
            .filter(Boolean)
            .join(' ');
          return (
            <tr key={t.trace_id} class={classes} data-trace-id={t.trace_id}>
              <td class="mono">{localTime(t.start_time)}</td>
              <td>
                <a href={href}>{t.root_name ?? '(root not ended)'}</a>
              </td>
              <td>{t.service_name ?? '–'}</td>
              <td class="num">{formatDuration(t.duration_ms)}</td>
              <td class="num">{t.span_count}</td>
              <td>
                {t.error_count > 0 ? (
                  <span class="badge error" title={`${t.error_count} span(s) in error`}>
                    ⚠ {t.error_count}
                  </span>
                ) : (
                  ''
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
