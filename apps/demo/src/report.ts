/** Reads the run back through the query API, as a user would after the fact. */
import type { MetricSeries, SpanWithStatus, Telemetry } from '@telemetry/core';
import { RUN_ID_LABEL } from './assistant.ts';

const ms = (startIso: string, endIso: string | null | undefined) =>
  endIso
    ? (
        Date.parse(endIso) -
        Date.parse(startIso) +
        micros(endIso) / 1000 -
        micros(startIso) / 1000
      ).toFixed(2)
    : '?';

/** The microseconds below the millisecond of an ISO time (Date.parse keeps milliseconds only). */
function micros(iso: string): number {
  const m = /\.\d{3}(\d{3})/.exec(iso);
  return m ? Number(m[1]) : 0;
}

export interface Report {
  readonly traces: number;
  readonly treeSpans: number;
  readonly series: MetricSeries[];
}

export async function printReport(
  telemetry: Telemetry,
  runId: string,
  runStartSeconds: number,
  out: (line: string) => void,
): Promise<Report | undefined> {
  if (!telemetry.store) {
    out('\n(no queryable sink configured: add "sqlite" to the sinks to read the run back)');
    return undefined;
  }
  const traces = await telemetry.queryTraces({
    attribute_filters: [{ key: RUN_ID_LABEL, op: 'eq', value: runId }],
    order_by: ['start_time'],
  });
  out(`\n== Traces of this run (queryTraces, ${traces.length}) ==`);
  for (const t of traces) {
    out(
      `  ${t.trace_id}  root ${t.root_span_id}  ${t.start_time}  ${ms(t.start_time, t.end_time)} ms`,
    );
  }
  const first = traces[0];
  let treeSpans = 0;
  if (first) {
    const tree = await telemetry.getSpanTree(first.root_span_id, {
      attributes_to_return: ['model_id', 'tool.name', 'attempt'],
    });
    treeSpans = Object.keys(tree).length;
    out(`\n== Span tree of trace ${first.trace_id} (getSpanTree) ==`);
    printTree(tree, first.root_span_id, out);
  }
  // The store may hold earlier runs (same file): the run id label selects this one's points.
  const series = await telemetry.queryMetrics('total_tokens', {
    query_type: 'range',
    start_time: runStartSeconds - 60,
    end_time: Math.ceil(Date.now() / 1000) + 60,
    granularity: '1h',
    label_matchers: [{ name: RUN_ID_LABEL, operator: '=', value: runId }],
  });
  out(`\n== total_tokens per model in this run (queryMetrics, ${RUN_ID_LABEL}=${runId}) ==`);
  for (const s of series) {
    const labels = s.labels
      .filter((l) => l.name !== RUN_ID_LABEL)
      .map((l) => `${l.name}=${l.value}`)
      .join(' ');
    const total = s.values.reduce((sum, p) => sum + p.value, 0);
    out(`  ${labels}: ${total} ${s.values[0]?.unit ?? ''}`);
  }
  return { traces: traces.length, treeSpans, series };
}

function printTree(
  tree: Record<string, SpanWithStatus>,
  rootId: string,
  out: (line: string) => void,
): void {
  const children = new Map<string, SpanWithStatus[]>();
  for (const span of Object.values(tree)) {
    const parent = span.parent_span_id ?? '';
    const list = children.get(parent) ?? [];
    list.push(span);
    children.set(parent, list);
  }
  const walk = (span: SpanWithStatus, depth: number) => {
    const status = span.status === 'error' ? 'ERROR' : (span.status ?? '');
    const attrs = Object.entries(span.attributes ?? {})
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    out(
      `  ${'  '.repeat(depth)}${span.name}  ${status}  ${ms(span.start_time, span.end_time)} ms${attrs ? `  ${attrs}` : ''}`,
    );
    const kids = (children.get(span.span_id) ?? []).sort((a, b) =>
      a.start_time.localeCompare(b.start_time),
    );
    for (const kid of kids) walk(kid, depth + 1);
  };
  const root = tree[rootId];
  if (root) walk(root, 0);
}
