/**
 * The third process: queries the file while the writers write, the way a
 * viewer or a CLI polls it, and measures each answer. Stops when told.
 */
import { createSqliteSink } from '@telemetry/sink-sqlite';
import { emit, nextLine, scenario } from './common.ts';

const cfg = scenario<{ sqlitePath: string }>();
const store = createSqliteSink({ path: cfg.sqlitePath, retentionIntervalMs: 0 });
await store.whenReady();

const latencies: Record<string, number[]> = {};
const errors: string[] = [];
async function timed(name: string, query: () => Promise<unknown>): Promise<unknown> {
  const started = performance.now();
  try {
    return await query();
  } catch (error) {
    errors.push(
      `${name}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
    );
    return undefined;
  } finally {
    const list = latencies[name] ?? [];
    list.push(performance.now() - started);
    latencies[name] = list;
  }
}

let stop = false;
void nextLine().then(() => {
  stop = true;
});

let rounds = 0;
const now = () => Math.floor(Date.now() / 1000);
while (!stop) {
  rounds += 1;
  const traces = (await timed('queryTraces', () =>
    store.queryTraces({ limit: 20, order_by: ['-start_time'] }),
  )) as { trace_id: string; root_span_id: string }[] | undefined;
  const newest = traces?.[0];
  if (newest) {
    await timed('getTrace', () => store.getTrace(newest.trace_id));
    await timed('getSpanTree', () => store.getSpanTree(newest.root_span_id));
    await timed('getTraceDetail', () => store.getTraceDetail(newest.trace_id));
  }
  await timed('querySpans', () =>
    store.querySpans({
      attribute_filters: [{ key: 'writer', op: 'eq', value: 'a' }],
      limit: 50,
      max_depth: 2,
    }),
  );
  await timed('queryMetrics', () =>
    store.queryMetrics('tokens', {
      query_type: 'range',
      start_time: now() - 3600,
      end_time: now() + 60,
      granularity: '1m',
      label_matchers: [{ name: 'writer', operator: '=~', value: 'a|b' }],
    }),
  );
  await timed('searchTraces', () => store.searchTraces({ limit: 20 }));
  await timed('tailSpans', () => store.tailSpans({ limit: 100 }));
  await new Promise((resolve) => setTimeout(resolve, 5));
}

const summary: Record<string, { count: number; maxMs: number; p50Ms: number; p99Ms: number }> = {};
for (const [name, values] of Object.entries(latencies)) {
  values.sort((a, b) => a - b);
  summary[name] = {
    count: values.length,
    maxMs: values.at(-1)!,
    p50Ms: values[Math.floor(values.length / 2)]!,
    p99Ms: values[Math.min(values.length - 1, Math.floor(values.length * 0.99))]!,
  };
}
await store.shutdown();
emit({ event: 'done', rounds, errors: errors.slice(0, 20), errorCount: errors.length, summary });
