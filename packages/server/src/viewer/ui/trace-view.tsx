import type { SpanDetail, SpanEvents, TraceDetail } from '@telemetry/core';
import { Component } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { EMPTY_METRICS, formatRoute } from '../route-state.ts';
import { formatDuration, isoToMicros } from '../time.ts';
import {
  ancestorsOf,
  axisTicks,
  buildTree,
  layoutRows,
  type WaterfallRow,
  type WaterfallTree,
} from '../waterfall.ts';
import { api } from './api.ts';
import { CopyButton, Empty, ErrorBox, localTime } from './common.tsx';
import { navigate, useLoad } from './hooks.ts';

export function TraceView(props: { traceId: string; spanId: string | null }) {
  const { traceId } = props;
  const detail = useLoad(traceId, (signal) => api.traceDetail(traceId, signal));
  if (detail.state === 'loading') return <p class="muted">Loading trace {traceId}…</p>;
  if (detail.state === 'failed') {
    return (
      <section>
        <ErrorBox error={detail.error} what={`Loading trace ${traceId}`} />
        <p>
          <a href="#/traces">Back to the traces</a>
        </p>
      </section>
    );
  }
  return <TraceLoaded detail={detail.value} spanId={props.spanId} />;
}

function download(detail: TraceDetail): void {
  const blob = new Blob([`${JSON.stringify(detail, null, 2)}\n`], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = `trace-${detail.trace.trace_id}.json`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function TraceLoaded(props: { detail: TraceDetail; spanId: string | null }) {
  const { detail } = props;
  const { trace } = detail;
  const tree = useMemo(() => buildTree(detail.spans), [detail]);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const selected = props.spanId !== null && tree.nodes.has(props.spanId) ? props.spanId : null;

  // A span opened by a link is shown even when it sits under a collapsed span.
  useEffect(() => {
    if (selected === null) return;
    const hidden = ancestorsOf(tree, selected).filter((id) => collapsed.has(id));
    if (hidden.length > 0) {
      setCollapsed((prev) => new Set([...prev].filter((id) => !hidden.includes(id))));
    }
  }, [selected, tree]);

  const rows = useMemo(() => layoutRows(tree, collapsed), [tree, collapsed]);
  const select = (spanId: string | null) =>
    navigate(formatRoute({ view: 'trace', traceId: trace.trace_id, spanId }), true);
  const toggle = (spanId: string) =>
    setCollapsed((prev) => {
      const next = new Set(prev);
      if (next.has(spanId)) next.delete(spanId);
      else next.add(spanId);
      return next;
    });

  return (
    <section class="trace-view">
      <header class="trace-header">
        <h1>
          {trace.root_name ?? '(root span not ended)'}
          {trace.service_name && <span class="service"> · {trace.service_name}</span>}
        </h1>
        <div class="trace-facts">
          <span>
            Trace <code data-testid="trace-id">{trace.trace_id}</code>
          </span>
          <CopyButton text={trace.trace_id} label="Copy id" title="Copy the trace id" />
          <button type="button" class="small" onClick={() => download(detail)}>
            Download JSON
          </button>
          <span>started {localTime(trace.start_time)}</span>
          <span>{formatDuration(trace.duration_ms)}</span>
          <span>
            {trace.span_count} span{trace.span_count === 1 ? '' : 's'}
          </span>
          {trace.error_count > 0 && (
            <span class="badge error">
              ⚠ {trace.error_count} error{trace.error_count === 1 ? '' : 's'}
            </span>
          )}
        </div>
        {detail.spans_truncated && (
          <p class="notice">
            This trace has more spans than one page holds: the earliest {detail.spans.length} are
            shown.
          </p>
        )}
        {detail.events_truncated && (
          <p class="notice">
            Some logs and metric events are left out here; a span's panel loads all of its own.
          </p>
        )}
      </header>
      <div class={selected ? 'trace-body with-detail' : 'trace-body'}>
        <Waterfall
          tree={tree}
          rows={rows}
          selected={selected}
          onSelect={select}
          onToggle={toggle}
          collapseAll={() =>
            setCollapsed(new Set(tree.order.filter((id) => tree.nodes.get(id)!.children.length)))
          }
          expandAll={() => setCollapsed(new Set())}
        />
        {selected && (
          <SpanPanel
            key={selected}
            detail={detail}
            tree={tree}
            spanId={selected}
            onClose={() => select(null)}
          />
        )}
      </div>
    </section>
  );
}

function Waterfall(props: {
  tree: WaterfallTree;
  rows: readonly WaterfallRow[];
  selected: string | null;
  onSelect: (id: string) => void;
  onToggle: (id: string) => void;
  collapseAll: () => void;
  expandAll: () => void;
}) {
  const { tree, rows, selected } = props;
  const ticks = axisTicks(tree.endMicros - tree.startMicros);
  const box = useRef<HTMLDivElement>(null);
  // Handlers that never change, so a row re-renders only when its own props do.
  const latest = useRef(props);
  latest.current = props;
  const pending = useRef<string | null>(null);
  const onSelect = useCallback((id: string) => {
    pending.current = null;
    latest.current.onSelect(id);
  }, []);
  const onToggle = useCallback((id: string) => latest.current.onToggle(id), []);
  const onKey = useCallback((event: KeyboardEvent, row: WaterfallRow, index: number) => {
    const { rows: current, selected, onSelect: select, onToggle: toggle } = latest.current;
    // Arrows move from the latest selection, even one not rendered yet, not from the
    // row with the focus: keys pressed faster than the page renders are not lost.
    const at = current.findIndex((r) => r.spanId === (pending.current ?? selected));
    const from = at === -1 ? index : at;
    const go = (i: number) => {
      const target = current[i];
      if (!target) return;
      pending.current = target.spanId;
      select(target.spanId);
    };
    if (event.key === 'ArrowDown') go(from + 1);
    else if (event.key === 'ArrowUp') go(from - 1);
    else if (event.key === 'ArrowRight' && row.collapsed) toggle(row.spanId);
    else if (event.key === 'ArrowLeft' && row.hasChildren && !row.collapsed) toggle(row.spanId);
    else if (event.key === 'Enter' || event.key === ' ') select(row.spanId);
    else return;
    event.preventDefault();
  }, []);

  // A layout effect, so the focus has moved before the browser handles the next key.
  useLayoutEffect(() => {
    if (pending.current === selected) pending.current = null;
    if (selected === null) return;
    const el = box.current?.querySelector<HTMLElement>(`[data-span-id="${selected}"]`);
    el?.scrollIntoView({ block: 'nearest' });
    // Keyboard users keep the focus on the selected span.
    if (el && box.current?.contains(document.activeElement)) el.focus({ preventScroll: true });
  }, [selected]);

  return (
    <div class="waterfall" role="tree" aria-label="Spans on a time axis" ref={box}>
      <div class="wf-head">
        <div class="wf-name">
          <button type="button" class="small" onClick={props.expandAll}>
            Expand all
          </button>
          <button type="button" class="small" onClick={props.collapseAll}>
            Collapse all
          </button>
        </div>
        <div class="wf-axis">
          {ticks.map((t) => (
            <span key={t.ms} class="tick" style={{ left: `${t.offset * 100}%` }}>
              {t.ms === 0 ? '0' : formatDuration(t.ms)}
            </span>
          ))}
        </div>
      </div>
      {rows.map((row, index) => (
        <RowView
          key={row.spanId}
          tree={tree}
          row={row}
          index={index}
          selected={row.spanId === selected}
          focusable={row.spanId === selected || (selected === null && index === 0)}
          onSelect={onSelect}
          onToggle={onToggle}
          onKey={onKey}
        />
      ))}
    </div>
  );
}

interface RowProps {
  tree: WaterfallTree;
  row: WaterfallRow;
  index: number;
  selected: boolean;
  focusable: boolean;
  onSelect: (id: string) => void;
  onToggle: (id: string) => void;
  onKey: (event: KeyboardEvent, row: WaterfallRow, index: number) => void;
}

/** One span's row; skipped on re-render unless one of its props changed (selecting a span touches two rows). */
class RowView extends Component<RowProps> {
  override shouldComponentUpdate(next: RowProps): boolean {
    const now = this.props as unknown as Record<string, unknown>;
    const then = next as unknown as Record<string, unknown>;
    return Object.keys(then).some((key) => now[key] !== then[key]);
  }

  override render() {
    const { tree, row, index, selected } = this.props;
    const node = tree.nodes.get(row.spanId)!;
    const span = node.span;
    const parentService = node.parent ? tree.nodes.get(node.parent)!.span.service_name : null;
    return (
      <div
        class={`wf-row${selected ? ' selected' : ''}${row.error ? ' error' : ''}`}
        role="treeitem"
        aria-level={row.depth + 1}
        aria-selected={selected}
        aria-expanded={row.hasChildren ? !row.collapsed : undefined}
        tabIndex={this.props.focusable ? 0 : -1}
        data-span-id={row.spanId}
        onClick={() => this.props.onSelect(row.spanId)}
        onKeyDown={(e) => this.props.onKey(e, row, index)}
      >
        <div class="wf-name" style={{ paddingLeft: `${Math.min(row.depth, 30) * 14 + 4}px` }}>
          {row.hasChildren ? (
            <button
              type="button"
              class="toggle"
              aria-label={row.collapsed ? 'Expand' : 'Collapse'}
              onClick={(e) => {
                e.stopPropagation();
                this.props.onToggle(row.spanId);
              }}
            >
              {row.collapsed ? '▸' : '▾'}
            </button>
          ) : (
            <span class="toggle" />
          )}
          {row.error && (
            <span class="err-mark" title="status error">
              ⚠
            </span>
          )}
          <span class="span-name">{span.name}</span>
          {node.remoteParent && (
            <span class="remote-mark" title={`remote parent ${span.parent_span_id}`}>
              ↖ remote parent
            </span>
          )}
          {span.service_name && span.service_name !== parentService && (
            <span class="service-chip">{span.service_name}</span>
          )}
          {row.hiddenErrors > 0 && (
            <span class="badge error" title="errors in the collapsed spans">
              ⚠ {row.hiddenErrors}
            </span>
          )}
        </div>
        <div class="wf-track">
          <div class="bar" style={{ left: `${row.offset * 100}%`, width: `${row.width * 100}%` }} />
          <span class={`bar-label ${labelPlace(row)}`} style={labelStyle(row)}>
            {formatDuration(span.duration_ms)}
          </span>
        </div>
      </div>
    );
  }
}

/** The duration goes inside a long bar, else after it, else (near the end of the axis) before it. */
function labelPlace(row: WaterfallRow): 'inside' | 'after' | 'before' {
  if (row.width >= 0.2) return 'inside';
  return row.offset + row.width <= 0.85 ? 'after' : 'before';
}

function labelStyle(row: WaterfallRow): Record<string, string> {
  switch (labelPlace(row)) {
    case 'inside':
      return { right: `${(1 - row.offset - row.width) * 100}%` };
    case 'after':
      return { left: `${(row.offset + row.width) * 100}%` };
    default:
      return { right: `${(1 - row.offset) * 100}%` };
  }
}

const SEVERITY_CLASS: Readonly<Record<string, string>> = {
  verbose: 'sev-debug',
  debug: 'sev-debug',
  info: 'sev-info',
  warn: 'sev-warn',
  error: 'sev-error',
  critical: 'sev-error',
};

/** `Error: card declined` from an exception event's attributes (OpenTelemetry's names). */
function exceptionText(attributes: Readonly<Record<string, unknown>>): string | null {
  const message = attributes['exception.message'];
  const type = attributes['exception.type'];
  if (typeof message !== 'string' && typeof type !== 'string') return null;
  return [type, message].filter((v) => typeof v === 'string' && v !== '').join(': ');
}

function valueText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function SpanPanel(props: {
  detail: TraceDetail;
  tree: WaterfallTree;
  spanId: string;
  onClose: () => void;
}) {
  const { detail, tree, spanId } = props;
  const node = tree.nodes.get(spanId)!;
  const span: SpanDetail = node.span;
  const parentId = span.parent_span_id;
  const parent = parentId !== null && parentId !== spanId ? tree.nodes.get(parentId) : undefined;
  // The trace's page may leave events out; then this span's own are asked for.
  const events = useLoad<SpanEvents>(
    `${span.trace_id}/${spanId}/${detail.events_truncated}`,
    async (signal) =>
      detail.events_truncated
        ? api.spanEvents(span.trace_id, spanId, signal)
        : {
            logs: detail.logs.filter((l) => l.span_id === spanId),
            metrics: detail.metrics.filter((m) => m.span_id === spanId),
            truncated: false,
          },
  );
  const offset = (iso: string) => {
    const micros = isoToMicros(iso);
    return Number.isNaN(micros) ? iso : `+${formatDuration((micros - tree.startMicros) / 1000)}`;
  };
  const attributes = Object.entries(span.attributes).sort(([a], [b]) => (a < b ? -1 : 1));

  return (
    <aside class="span-panel" aria-label={`Span ${span.name}`} data-testid="span-panel">
      <header>
        <h2>{span.name}</h2>
        <button
          type="button"
          class="small"
          aria-label="Close the span panel"
          onClick={props.onClose}
        >
          ×
        </button>
      </header>
      <table class="facts">
        <tbody>
          <tr>
            <th>Status</th>
            <td>
              <span class={span.status === 'error' ? 'badge error' : 'badge ok'}>
                {span.status}
              </span>
              {span.status_message && <span class="status-message"> {span.status_message}</span>}
            </td>
          </tr>
          <tr>
            <th>Span id</th>
            <td>
              <code>{span.span_id}</code> <CopyButton text={span.span_id} label="Copy" />
            </td>
          </tr>
          <tr>
            <th>Parent</th>
            <td data-testid="parent">
              {parentId === null ? (
                'none (a root span)'
              ) : parent ? (
                <a
                  href={formatRoute({ view: 'trace', traceId: span.trace_id, spanId: parentId })}
                  data-testid="parent-link"
                >
                  {parent.span.name} <code>{parentId}</code>
                </a>
              ) : (
                <span data-testid="remote-parent">
                  remote parent <code>{parentId}</code> <CopyButton text={parentId} label="Copy" />
                  <span class="muted"> (in another process, or not in this page of spans)</span>
                </span>
              )}
            </td>
          </tr>
          <tr>
            <th>Service</th>
            <td>{span.service_name ?? '–'}</td>
          </tr>
          <tr>
            <th>Kind</th>
            <td>{span.kind}</td>
          </tr>
          <tr>
            <th>Start</th>
            <td>
              {localTime(span.start_time)} <span class="muted">({offset(span.start_time)})</span>
            </td>
          </tr>
          <tr>
            <th>Duration</th>
            <td>{formatDuration(span.duration_ms)}</td>
          </tr>
        </tbody>
      </table>

      <h3>Attributes ({attributes.length})</h3>
      {attributes.length === 0 ? (
        <Empty>none</Empty>
      ) : (
        <table class="kv" data-testid="attributes">
          <tbody>
            {attributes.map(([key, value]) => (
              <tr key={key}>
                <th>{key}</th>
                <td>{valueText(value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {events.state === 'loading' && <p class="muted">Loading events…</p>}
      {events.state === 'failed' && (
        <ErrorBox error={events.error} what="Loading the span's events" />
      )}
      {events.state === 'done' && (
        <>
          <h3>Logs ({events.value.logs.length})</h3>
          {events.value.logs.length === 0 ? (
            <Empty>none</Empty>
          ) : (
            <ol class="logs" data-testid="logs">
              {events.value.logs.map((log, i) => (
                <li key={i} class="log">
                  <span class="muted mono">{offset(log.timestamp)}</span>{' '}
                  <span class={`sev ${SEVERITY_CLASS[log.severity] ?? 'sev-info'}`}>
                    {log.severity}
                  </span>{' '}
                  <span class="message">{log.message}</span>
                  {exceptionText(log.attributes) && (
                    <span class="exception"> {exceptionText(log.attributes)}</span>
                  )}
                  {Object.keys(log.attributes).length > 0 && (
                    <details>
                      <summary>attributes</summary>
                      <table class="kv">
                        <tbody>
                          {Object.entries(log.attributes).map(([k, v]) => (
                            <tr key={k}>
                              <th>{k}</th>
                              <td>{valueText(v)}</td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    </details>
                  )}
                </li>
              ))}
            </ol>
          )}
          <h3>Metric events ({events.value.metrics.length})</h3>
          {events.value.metrics.length === 0 ? (
            <Empty>none</Empty>
          ) : (
            <table class="metrics-table" data-testid="metric-events">
              <thead>
                <tr>
                  <th>Metric</th>
                  <th class="num">Value</th>
                  <th>Unit</th>
                  <th>Labels</th>
                </tr>
              </thead>
              <tbody>
                {events.value.metrics.map((m, i) => (
                  <tr key={i}>
                    <td>
                      <a
                        href={formatRoute({
                          view: 'metrics',
                          metrics: { ...EMPTY_METRICS, metric: m.metric },
                        })}
                      >
                        {m.metric}
                      </a>
                    </td>
                    <td class="num">{m.value}</td>
                    <td>{m.unit}</td>
                    <td class="mono">
                      {Object.entries(m.labels)
                        .map(([k, v]) => `${k}=${v}`)
                        .join(', ')}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {events.value.truncated && (
            <p class="notice">
              This span has more events than one answer holds: the earliest are shown.
            </p>
          )}
        </>
      )}
    </aside>
  );
}
