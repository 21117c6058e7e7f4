/**
 * A telemetry server over a SQLite file that holds what no writer of ours
 * makes but a file can hold anyway (an older version, another program, a
 * hand edit, data accepted before validation was tightened): spans that are
 * their own ancestors, times outside any calendar or not numbers at all, and
 * metric labels a backtracking regex engine takes minutes over. The test
 * queries it over HTTP; the child runs under a CPU watchdog, so a query that
 * loops kills it and fails the test instead of hanging the run.
 */
import { createTelemetry } from '@telemetry/core';
import { createTelemetryServer } from '@telemetry/server';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import Sqlite from 'better-sqlite3';
import { emit, nextLine, scenario, warnToStderr } from './common.ts';

const cfg = scenario<{ sqlitePath: string }>();
const tid = (n: number) => n.toString(16).padStart(32, '0');
const sid = (n: number) => n.toString(16).padStart(16, '0');
const T0 = Date.UTC(2025, 0, 15, 12) * 1000;
const iso = (micros: number) => new Date(micros / 1000).toISOString();

const store = createSqliteSink({ path: cfg.sqlitePath, retentionIntervalMs: 0 });
const telemetry = createTelemetry({ sinks: [store], warn: warnToStderr });

// Through the API: an ordinary trace with metrics whose labels are long, a span that is
// its own parent, and two spans that are each other's parent (one marked as the root).
function span(trace: number, id: number, parent: number | null, at: number, attributes = {}) {
  const ids = { trace_id: tid(trace), span_id: sid(id) };
  telemetry.logEvent({
    event: {
      ...ids,
      type: 'structured_log',
      timestamp: iso(at),
      attributes,
      payload: {
        type: 'span_start',
        name: `s${id.toString(16)}`,
        ...(parent === null ? {} : { parent_span_id: sid(parent) }),
      },
    },
    ttl_seconds: 1e9,
  });
  return ids;
}
function end(
  ids: { trace_id: string; span_id: string },
  at: number,
  status: 'ok' | 'error' = 'ok',
) {
  telemetry.logEvent({
    event: {
      ...ids,
      type: 'structured_log',
      timestamp: iso(at),
      payload: { type: 'span_end', status },
    },
    ttl_seconds: 1e9,
  });
}
const LABELS = [
  'a'.repeat(32),
  `${'a'.repeat(20_000)}!`,
  'x',
  `${'ab'.repeat(5_000)}x`,
  '\n'.repeat(64),
];
const normal = span(1, 0x11, null, T0, { user: 'alice' });
const child = span(1, 0x12, 0x11, T0 + 10);
for (const [i, model] of LABELS.entries()) {
  telemetry.logEvent({
    event: {
      ...child,
      type: 'metric',
      timestamp: iso(T0 + 20),
      metric: 'tokens',
      value: i,
      unit: 'tokens',
      attributes: { model },
    },
    ttl_seconds: 1e9,
  });
}
end(child, T0 + 500, 'error');
end(normal, T0 + 1_000);
const self = span(2, 0x21, 0x21, T0 + 2_000_000);
end(self, T0 + 2_000_500);
const a = span(3, 0x31, 0x32, T0 + 3_000_000, { __root__: true });
const b = span(3, 0x32, 0x31, T0 + 3_000_100);
end(b, T0 + 3_000_200);
end(a, T0 + 3_000_300);
await telemetry.flush({ timeoutMs: 120_000 });

// Straight into the file.
const db = new Sqlite(cfg.sqlitePath);
const insertSpan = db.prepare(
  `insert into spans (span_id, trace_id, parent_span_id, name, start_time, end_time, attributes, status, kind, status_message, expires_at)
   values (?, ?, ?, ?, ?, ?, ?, ?, 'internal', null, 9000000000000000000)`,
);
const insertTrace = db.prepare(
  `insert or replace into traces (trace_id, service_name, root_span_id, start_time, end_time, root_name, span_count, error_count)
   values (?, 'raw', ?, ?, ?, ?, ?, 0)`,
);
// A -> B -> C -> A, with D under B; the trace row names A as its root.
const at = T0 + 4_000_000;
insertSpan.run(sid(0x41), tid(4), sid(0x43), 'A', at, at + 10, '{}', 'ok');
insertSpan.run(sid(0x42), tid(4), sid(0x41), 'B', at + 1, at + 10, '{}', 'ok');
insertSpan.run(sid(0x43), tid(4), sid(0x42), 'C', at + 2, at + 10, '{}', 'error');
insertSpan.run(sid(0x44), tid(4), sid(0x42), 'D', at + 3, at + 10, '{}', 'ok');
insertTrace.run(tid(4), sid(0x41), at, at + 10, 'A', 4);
// Times before year 1 and past any calendar; past JavaScript's Date; text and a blob.
insertSpan.run(
  sid(0x51),
  tid(5),
  null,
  'before and after time',
  -9_000_000_000_000_000_000n,
  1e300,
  '{}',
  'ok',
);
insertTrace.run(tid(5), sid(0x51), -9_000_000_000_000_000_000n, 1e300, 'before and after time', 1);
insertSpan.run(
  sid(0x61),
  tid(6),
  null,
  'far future',
  8_640_000_000_001_000_000,
  8_640_000_000_002_000_000,
  '{}',
  'ok',
);
insertTrace.run(
  tid(6),
  sid(0x61),
  8_640_000_000_001_000_000,
  8_640_000_000_002_000_000,
  'far future',
  1,
);
insertSpan.run(
  sid(0x71),
  tid(7),
  null,
  Buffer.from('blob name'),
  'soon',
  Buffer.from([0, 255]),
  'not json {',
  Buffer.from('error'),
);
insertTrace.run(tid(7), sid(0x71), 'soon', Buffer.from([0, 255]), null, 1);
// A trace row whose root span does not exist.
insertTrace.run(tid(8), sid(0x81), T0, T0 + 1, 'ghost', 1);
db.close();

const errors: string[] = [];
const server = createTelemetryServer({
  telemetry,
  port: 0,
  token: null,
  datasetWriter: { appendRows: async () => {} },
  onError: (error) =>
    errors.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error)),
  warn: warnToStderr,
});
const { url } = await server.listen();
emit({
  event: 'listening',
  url,
  traces: [1, 2, 3, 4, 5, 6, 7, 8].map(tid),
  spans: [0x11, 0x12, 0x21, 0x31, 0x32, 0x41, 0x42, 0x43, 0x44, 0x51, 0x61, 0x71].map(sid),
  labels: LABELS.length,
  metricWindow: { start_time: Math.floor(T0 / 1e6) - 60, end_time: Math.floor(T0 / 1e6) + 60 },
});

await nextLine();
await server.close();
await telemetry.shutdown({ timeoutMs: 120_000 });
emit({ event: 'done', errors, stats: telemetry.stats() });
