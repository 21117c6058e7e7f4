// Benchmark of @telemetry/sink-sqlite against its raw limits, in one run.
//
//   node bench/sqlite-bench.mjs            (after building: pnpm exec turbo run build --filter=@telemetry/sink-sqlite...)
//
// 1. Sustained ingest of spans with 5 attributes and one log each, through the
//    sink, next to raw better-sqlite3 prepared-statement batches writing the same
//    rows into the same schema (same indexes); the ratio is sink / raw.
//    Also: how long the event loop is blocked while the sink ingests.
// 2. A generated store of 1M spans in 50k traces (one metric point per span):
//    medians of getSpanTree, queryTraces filtered on an arbitrary attribute key
//    (and the reference's json_extract full scan of the same filter),
//    querySpans with a filter every trace matches (a page of 50), and
//    queryMetrics with 1h buckets over the 1M points.
// 3. The search extensions on the same store: searchTraces under combinations
//    of filters (service, root name, status, duration, time range, attributes,
//    a deep page, a live poll), getTraceDetail of a 1,000-span trace with its
//    2,000 events, suggestions, tailSpans and storeStats.
//
// Sizes can be lowered for a quick look: BENCH_INGEST_SPANS, BENCH_SPANS, BENCH_TRACES.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import Sqlite from 'better-sqlite3';
import { createSqliteSink, SQLITE_SINK_DEFAULTS } from '../dist/index.js';

const INGEST_SPANS = Number(process.env.BENCH_INGEST_SPANS ?? 100_000);
const BIG_SPANS = Number(process.env.BENCH_SPANS ?? 1_000_000);
const BIG_TRACES = Number(process.env.BENCH_TRACES ?? 50_000);
const ROUNDS = 3;
const BATCH = 1000;

const dir = mkdtempSync(join(tmpdir(), 'sink-sqlite-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const hex = (n, width) => n.toString(16).padStart(width, '0');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const T0 = Date.UTC(2026, 0, 1) * 1000;
/** The indexes the trace search migration added (dropped for the "before search" raw baseline). */
const SEARCH_INDEXES = [
  'traces_service_name_start_time',
  'traces_root_name_start_time',
  'traces_service_name_root_name',
  'traces_errors_start_time',
];
const FOREVER = 100 * 365 * 86_400;
const MODELS = ['llama', 'gpt', 'claude', 'mistral'];

// ---------------------------------------------------------------------------
// 1. Ingest

/** Spans of 10-span traces: 5 attributes and one log each. */
function ingestSpans(count, offset) {
  const spans = [];
  for (let i = 0; i < count; i++) {
    const n = offset + i;
    const t = Math.floor(n / 10);
    const root = n % 10 === 0;
    const ids = { trace_id: hex(t + 1, 32), span_id: hex(n + 1, 16) };
    spans.push({
      ...ids,
      parent_span_id: root ? null : hex(t * 10 + 1, 16),
      name: root ? 'request' : 'step',
      kind: 'internal',
      start_time: T0 + n * 100,
      end_time: T0 + n * 100 + 50,
      status: 'ok',
      attributes: {
        'http.method': n % 3 ? 'GET' : 'POST',
        'customer.id': `c-${t % 5000}`,
        model: MODELS[n % 4],
        tokens: n % 1000,
        cached: n % 2 === 0,
      },
      events: [
        {
          type: 'unstructured_log',
          ...ids,
          timestamp: T0 + n * 100 + 10,
          message: `step ${n} done`,
          severity: 'info',
          attributes: {},
        },
      ],
      ttl_seconds: FOREVER,
    });
  }
  return spans;
}

async function createSchema(path) {
  const sink = createSqliteSink({ path, retentionIntervalMs: 0 });
  await sink.whenReady();
  await sink.shutdown();
}

/**
 * The same rows as the sink writes, by hand: prepared statements, one
 * transaction per batch. `checkpoints: false` leaves the WAL unchecked (no
 * checkpoint work at all during the run): the pure cost of the inserts.
 */
async function rawIngest(path, batches, { checkpoints, searchIndexes = true }) {
  await createSchema(path);
  const db = new Sqlite(path);
  // Without the trace search indexes: the schema as it was before search, for
  // what those indexes cost on ingest.
  if (!searchIndexes) for (const index of SEARCH_INDEXES) db.exec(`drop index ${index}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  if (!checkpoints) db.pragma('wal_autocheckpoint = 0');
  const insSpan = db.prepare(
    'insert into spans (span_id, trace_id, parent_span_id, name, start_time, end_time, attributes, status, kind, status_message, expires_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (span_id) do nothing',
  );
  const insAttr = db.prepare(
    'insert into span_attributes (span_rowid, key, value_type, value) values (?, ?, ?, ?)',
  );
  const insEvent = db.prepare(
    'insert into span_events (span_id, span_rowid, name, timestamp, attributes, series_id, value) values (?, ?, ?, ?, ?, ?, ?)',
  );
  const upsertTrace = db.prepare(
    'insert into traces (trace_id, service_name, root_span_id, root_name, start_time, end_time, span_count, error_count) values (?, ?, ?, ?, ?, ?, ?, ?) on conflict (trace_id) do update set start_time = min(traces.start_time, excluded.start_time), end_time = max(traces.end_time, excluded.end_time), root_span_id = coalesce(traces.root_span_id, excluded.root_span_id), root_name = coalesce(traces.root_name, excluded.root_name), span_count = traces.span_count + excluded.span_count, error_count = traces.error_count + excluded.error_count',
  );
  const typeOf = (v) => (typeof v === 'string' ? 1 : typeof v === 'number' ? 2 : 3);
  const write = db.transaction((spans) => {
    const traces = new Map();
    for (const s of spans) {
      const info = insSpan.run(
        s.span_id,
        s.trace_id,
        s.parent_span_id,
        s.name,
        s.start_time,
        s.end_time,
        JSON.stringify(s.attributes),
        s.status,
        s.kind,
        null,
        s.end_time + s.ttl_seconds * 1e6,
      );
      const rowid = info.lastInsertRowid;
      for (const key in s.attributes) {
        const v = s.attributes[key];
        insAttr.run(rowid, key, typeOf(v), typeof v === 'boolean' ? (v ? 1 : 0) : v);
      }
      for (const e of s.events) {
        insEvent.run(
          s.span_id,
          rowid,
          e.type,
          e.timestamp,
          JSON.stringify({ ...e.attributes, message: e.message, severity: e.severity }),
          null,
          null,
        );
      }
      const t = traces.get(s.trace_id);
      const root = s.parent_span_id ? null : s;
      const failed = s.status === 'error' ? 1 : 0;
      if (!t) traces.set(s.trace_id, [s.start_time, s.end_time, root, 1, failed]);
      else {
        t[0] = Math.min(t[0], s.start_time);
        t[1] = Math.max(t[1], s.end_time);
        if (root) t[2] = root;
        t[3]++;
        t[4] += failed;
      }
    }
    for (const [id, t] of traces)
      upsertTrace.run(
        id,
        'bench',
        t[2]?.span_id ?? null,
        t[2]?.name ?? null,
        t[0],
        t[1],
        t[3],
        t[4],
      );
  });
  const start = performance.now();
  for (const b of batches) write.immediate(b);
  const ms = performance.now() - start;
  db.close();
  return ms;
}

async function sinkIngest(path, batches) {
  const sink = createSqliteSink({ path, retentionIntervalMs: 0, serviceName: 'bench' });
  await sink.whenReady();
  const start = performance.now();
  for (const b of batches) await sink.writeSpans(b);
  const ms = performance.now() - start;
  await sink.shutdown();
  return ms;
}

/**
 * Event-loop delay while the sink ingests as an application would feed it:
 * each batch of 1,000 spans made just before it is written (so the heap holds
 * what an app holds, not the whole run), with a 1 ms timer ticking alongside.
 */
async function loopDelayWhileIngesting(path, total, { write }) {
  const sink = createSqliteSink({ path, retentionIntervalMs: 0 });
  await sink.whenReady();
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  for (let i = 0; i < total; i += BATCH) {
    const batch = ingestSpans(BATCH, 50_000_000 + i);
    await new Promise((resolve) => setImmediate(resolve));
    if (write) await sink.writeSpans(batch);
  }
  loop.disable();
  await sink.shutdown();
  const ms = (ns) => ns / 1e6;
  return { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) };
}

/** Time of one transaction of `size` spans, the longest stretch the sink blocks the event loop. */
async function transactionCost(size) {
  const path = join(dir, `tx-${size}.db`);
  const sink = createSqliteSink({ path, retentionIntervalMs: 0, transactionSize: size });
  await sink.whenReady();
  const times = [];
  for (let i = 0; i < 40; i++) {
    const spans = ingestSpans(size, 10_000_000 + i * size);
    const t = performance.now();
    await sink.writeSpans(spans);
    times.push(performance.now() - t);
  }
  await sink.shutdown();
  return median(times.slice(5));
}

console.log(
  `# @telemetry/sink-sqlite benchmark (node ${process.version}, ${INGEST_SPANS.toLocaleString()} ingest spans, ${BIG_SPANS.toLocaleString()}-span store)\n`,
);
console.log('## Ingest: spans with 5 attributes and 1 log each, batches of 1,000');
const batches = [];
for (let i = 0; i < INGEST_SPANS; i += BATCH)
  batches.push(ingestSpans(Math.min(BATCH, INGEST_SPANS - i), i));
const rates = { raw: [], rawNoCheckpoint: [], rawBeforeSearch: [], sink: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const [key, run] of [
    ['raw', (p) => rawIngest(p, batches, { checkpoints: true })],
    ['rawBeforeSearch', (p) => rawIngest(p, batches, { checkpoints: true, searchIndexes: false })],
    ['rawNoCheckpoint', (p) => rawIngest(p, batches, { checkpoints: false })],
    ['sink', (p) => sinkIngest(p, batches)],
  ]) {
    const path = join(dir, `${key}-${round}.db`);
    const ms = await run(path);
    rates[key].push(INGEST_SPANS / (ms / 1000));
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  }
}
const raw = median(rates.raw);
const rawNoCheckpoint = median(rates.rawNoCheckpoint);
const rawBeforeSearch = median(rates.rawBeforeSearch);
const sinkRate = median(rates.sink);
const best = Math.max(raw, rawNoCheckpoint);
console.log(
  `raw better-sqlite3, prepared, 1,000 spans/transaction:            ${fmt(raw)} spans/s`,
);
console.log(
  `raw better-sqlite3, same, WAL never checkpointed during the run:  ${fmt(rawNoCheckpoint)} spans/s`,
);
console.log(
  `raw better-sqlite3, same, without the 4 trace search indexes:     ${fmt(rawBeforeSearch)} spans/s (search indexes cost ${fmt((1 - raw / rawBeforeSearch) * 100, 1)}% of raw ingest)`,
);
console.log(
  `sink.writeSpans(1,000 spans), ${SQLITE_SINK_DEFAULTS.transactionSize} spans/transaction:              ${fmt(sinkRate)} spans/s`,
);
console.log(
  `ratio sink / best raw: ${fmt(sinkRate / best, 2)} (target >= 0.80); sink / raw with checkpoints: ${fmt(sinkRate / raw, 2)}  [medians of ${ROUNDS} alternating rounds]`,
);
const loopSpans = Math.min(INGEST_SPANS, 50_000);
const control = await loopDelayWhileIngesting(join(dir, 'control.db'), loopSpans, { write: false });
const loop = await loopDelayWhileIngesting(join(dir, 'loop.db'), loopSpans, { write: true });
console.log(
  `event-loop delay while the sink ingests:       p50 ${fmt(loop.p50, 1)} ms, p99 ${fmt(loop.p99, 1)} ms, max ${fmt(loop.max, 1)} ms`,
);
console.log(
  `  control, same spans made but not written:    p50 ${fmt(control.p50, 1)} ms, p99 ${fmt(control.p99, 1)} ms, max ${fmt(control.max, 1)} ms (GC and host noise)`,
);
for (const size of [50, 100, 200, 1000]) {
  console.log(
    `  one transaction of ${size} spans (the longest the sink holds the event loop): ${fmt(await transactionCost(size), 2)} ms (median)`,
  );
}

// ---------------------------------------------------------------------------
// 2. A 1M-span store

if (BIG_SPANS === 0) process.exit(0);
console.log(
  `\n## Store of ${BIG_SPANS.toLocaleString()} spans in ${BIG_TRACES.toLocaleString()} traces, one metric point per span`,
);
const perTrace = Math.max(1, Math.floor(BIG_SPANS / BIG_TRACES));
const span30d = 30 * 86_400 * 1_000_000;
const traceGap = Math.floor(span30d / BIG_TRACES);
const CUSTOMERS = Math.max(1, Math.floor(BIG_TRACES / 5));
const SERVICES = ['gateway', 'chat', 'search', 'billing', 'auth'];
/** Roots last from perTrace ms to perTrace ms + 5 s, evenly; one trace in 97 has a failed span. */
const rootDuration = (t) => perTrace * 1000 + (t % 1000) * 5000;
const failed = (t) => t % 97 === 0;

function bigSpans(fromTrace, toTrace) {
  const spans = [];
  for (let t = fromTrace; t < toTrace; t++) {
    const trace_id = hex(t + 1, 32);
    const base = T0 + t * traceGap;
    for (let k = 0; k < perTrace; k++) {
      const n = t * perTrace + k;
      const span_id = hex(n + 1, 16);
      // A tree: root, 4 children, the rest grandchildren spread over them.
      const parent =
        k === 0
          ? null
          : k <= 4
            ? hex(t * perTrace + 1, 16)
            : hex(t * perTrace + 1 + ((k - 5) % 4) + 1, 16);
      const model = MODELS[n % 4];
      const attributes =
        k === 0
          ? {
              __root__: true,
              'service.name': SERVICES[t % SERVICES.length],
              'customer.id': `c-${t % CUSTOMERS}`,
              'http.method': t % 3 ? 'GET' : 'POST',
              route: `/r/${t % 50}`,
              user: `u-${t % 977}`,
            }
          : {
              model,
              tokens: n % 1000,
              'http.method': n % 3 ? 'GET' : 'POST',
              cached: n % 2 === 0,
              step: k,
            };
      spans.push({
        trace_id,
        span_id,
        parent_span_id: parent,
        name: k === 0 ? `GET /r/${t % 50}` : 'step',
        kind: 'internal',
        start_time: base + k * 1000,
        end_time: k === 0 ? base + rootDuration(t) : base + k * 1000 + 500,
        status: k === 1 && failed(t) ? 'error' : 'ok',
        attributes,
        events: [
          {
            type: 'metric',
            trace_id,
            span_id,
            timestamp: base + k * 1000 + 100,
            metric: 'tokens',
            value: n % 100,
            unit: 'tokens',
            attributes: { model },
          },
        ],
        ttl_seconds: FOREVER,
      });
    }
  }
  return spans;
}

/** Traces of 1,000 spans (a root and 999 children), each span with one log and one metric point. */
const WIDE_TRACES = 10;
const WIDE_SPANS = 1000;
const wideTraceId = (j) => hex(BIG_TRACES + 1 + j, 32);
function wideTrace(j) {
  const trace_id = wideTraceId(j);
  const base = T0 + (j + 1) * 3 * 86_400_000_000;
  const spans = [];
  for (let k = 0; k < WIDE_SPANS; k++) {
    const span_id = hex(0x100000000 + j * WIDE_SPANS + k, 16);
    const ids = { trace_id, span_id };
    spans.push({
      ...ids,
      parent_span_id: k === 0 ? null : hex(0x100000000 + j * WIDE_SPANS, 16),
      name: k === 0 ? 'batch job' : `item ${k}`,
      kind: 'internal',
      start_time: base + k * 100,
      end_time: base + k * 100 + (k === 0 ? WIDE_SPANS * 100 : 50),
      status: 'ok',
      attributes: k === 0 ? { 'service.name': 'batch' } : { item: k, model: MODELS[k % 4] },
      events: [
        {
          type: 'unstructured_log',
          ...ids,
          timestamp: base + k * 100 + 10,
          message: `item ${k} done`,
          severity: 'info',
          attributes: { item: k },
        },
        {
          type: 'metric',
          ...ids,
          timestamp: base + k * 100 + 20,
          metric: 'tokens',
          value: k % 100,
          unit: 'tokens',
          attributes: { model: MODELS[k % 4] },
        },
      ],
      ttl_seconds: FOREVER,
    });
  }
  return spans;
}

const bigPath = join(dir, 'big.db');
{
  const sink = createSqliteSink({ path: bigPath, retentionIntervalMs: 0, transactionSize: 5000 });
  const t = performance.now();
  const step = Math.max(1, Math.floor(5000 / perTrace));
  for (let from = 0; from < BIG_TRACES; from += step)
    await sink.writeSpans(bigSpans(from, Math.min(BIG_TRACES, from + step)));
  for (let j = 0; j < WIDE_TRACES; j++) await sink.writeSpans(wideTrace(j));
  await sink.shutdown();
  const secs = (performance.now() - t) / 1000;
  console.log(
    `built in ${fmt(secs, 1)} s (${fmt((perTrace * BIG_TRACES) / secs)} spans/s), file ${fmt(statSync(bigPath).size / 1e6)} MB`,
  );
}

const sink = createSqliteSink({ path: bigPath, retentionIntervalMs: 0 });
await sink.whenReady();

async function timeMany(label, n, fn, target) {
  for (let i = 0; i < Math.min(20, n); i++) await fn(i); // warm up
  const times = [];
  let last;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    last = await fn(i + 20);
    times.push(performance.now() - t);
  }
  console.log(
    `${label}: median ${fmt(median(times), 3)} ms over ${n} calls${target ? ` (target ${target})` : ''}`,
  );
  return last;
}

const rand = (i, m) => (Math.imul(i + 1, 2654435761) >>> 0) % m;
const tree = await timeMany(
  `getSpanTree(root of a random trace; ${perTrace} spans, depth 3)`,
  2000,
  (i) => sink.getSpanTree(hex(rand(i, BIG_TRACES) * perTrace + 1, 16)),
  '< 0.5 ms',
);
if (Object.keys(tree).length !== perTrace)
  throw new Error(`span tree has ${Object.keys(tree).length} spans, expected ${perTrace}`);
const traces = await timeMany(
  "queryTraces({ attribute_filters: [{ key: 'customer.id', op: 'eq', value: <random> }] })",
  300,
  (i) =>
    sink.queryTraces({
      attribute_filters: [{ key: 'customer.id', op: 'eq', value: `c-${rand(i, CUSTOMERS)}` }],
    }),
  '< 10 ms',
);
console.log(`  (each answer: ${traces.length} traces)`);
await timeMany(
  "queryTraces({ attribute_filters: [{ key: 'user', op: 'eq', value: <random> }], order_by: ['-start_time'] })",
  300,
  (i) =>
    sink.queryTraces({
      attribute_filters: [{ key: 'user', op: 'eq', value: `u-${rand(i, 977)}` }],
      order_by: ['-start_time'],
    }),
);
const broad = await timeMany(
  "queryTraces({ attribute_filters: [{ key: 'model', op: 'eq', value: 'llama' }] }) (a quarter of all spans match; first 100)",
  20,
  () => sink.queryTraces({ attribute_filters: [{ key: 'model', op: 'eq', value: 'llama' }] }),
);
if (broad.length !== 100) throw new Error('expected a full page');
// A filter every trace matches: querySpans must read about the traces a page
// needs (it was quadratic in the matching traces: 16k traces took 12 s).
const everyTrace = [{ key: 'http.method', op: 'ne', value: 'DELETE' }];
const page = await timeMany(
  'querySpans({ attribute_filters: [<matches every trace>], limit: 50 })',
  50,
  () => sink.querySpans({ attribute_filters: everyTrace, limit: 50 }),
  '< 10 ms',
);
if (page.length !== 50) throw new Error(`expected 50 spans, got ${page.length}`);
await timeMany(
  'querySpans({ attribute_filters: [<matches every trace>], limit: 50, offset: 5000 })',
  20,
  () => sink.querySpans({ attribute_filters: everyTrace, limit: 50, offset: 5000 }),
);
{
  // The reference's query shape: json_extract over every span, no index.
  const db = new Sqlite(bigPath, { readonly: true });
  const stmt = db.prepare(
    `select distinct t.trace_id from traces t join spans s on t.trace_id = s.trace_id where json_extract(s.attributes, '$."customer.id"') = ? limit 100`,
  );
  const times = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    stmt.all(`c-${rand(i, CUSTOMERS)}`);
    times.push(performance.now() - t);
  }
  db.close();
  console.log(
    `reference-style json_extract full scan of the same filter: median ${fmt(median(times), 1)} ms over 5 calls`,
  );
}
const start = Math.floor(T0 / 1e6);
const series = await timeMany(
  "queryMetrics('tokens', { query_type: 'range', granularity: '1h' }) over 30 days",
  10,
  () =>
    sink.queryMetrics('tokens', {
      query_type: 'range',
      start_time: start,
      end_time: start + 31 * 86_400,
      granularity: '1h',
    }),
  '< 200 ms',
);
const points = series.reduce((n, s) => n + s.values.length, 0);
console.log(
  `  (${series.length} series, ${points} hourly points, summing ${fmt(BIG_SPANS)} raw points)`,
);
await timeMany("queryMetrics('tokens', { query_type: 'instant' }) over 30 days", 10, () =>
  sink.queryMetrics('tokens', {
    query_type: 'instant',
    start_time: start,
    end_time: start + 31 * 86_400,
  }),
);

// ---------------------------------------------------------------------------
// 3. Search extensions

console.log('\n## Search extensions on the same store');
const day = 86_400_000_000;
const searches = [
  ['no filter (newest 50)', () => ({})],
  ['service', (i) => ({ service: SERVICES[i % SERVICES.length] })],
  ['root name', (i) => ({ name: `GET /r/${i % 50}` })],
  ["status: 'error' (1 trace in 97)", () => ({ status: 'error' })],
  ['min_duration_ms: 4900 (2% of traces)', () => ({ min_duration_ms: 4900 })],
  [
    'service + root name',
    (i) => ({ service: SERVICES[i % 5], name: `GET /r/${(i % 10) * 5 + (i % 5)}` }),
  ],
  [
    "service + status: 'error' + min_duration_ms: 2000",
    (i) => ({ service: SERVICES[i % 5], status: 'error', min_duration_ms: 2000 }),
  ],
  [
    'one-day window + service + min_duration_ms: 1000',
    (i) => ({
      start: T0 + (i % 28) * day,
      end: T0 + ((i % 28) + 1) * day,
      service: SERVICES[i % 5],
      min_duration_ms: 1000,
    }),
  ],
  [
    'attribute customer.id = <random> (5 traces)',
    (i) => ({
      attribute_filters: [{ key: 'customer.id', op: 'eq', value: `c-${rand(i, CUSTOMERS)}` }],
    }),
  ],
  [
    "attribute model = 'llama' (every trace) + status: 'error'",
    () => ({ attribute_filters: [{ key: 'model', op: 'eq', value: 'llama' }], status: 'error' }),
  ],
  [
    'every filter at once',
    (i) => ({
      start: T0,
      end: T0 + 31 * day,
      service: SERVICES[i % 5],
      name: `GET /r/${(i % 10) * 5 + (i % 5)}`,
      status: 'ok',
      min_duration_ms: 100,
      max_duration_ms: 4000,
      attribute_filters: [{ key: 'http.method', op: 'eq', value: 'GET' }],
    }),
  ],
  ['no match (unknown root name)', () => ({ name: 'GET /nowhere' })],
  [
    'service + min_duration_ms: 4995 (rare: walks the service)',
    (i) => ({ service: SERVICES[i % 5], min_duration_ms: 4995 }),
  ],
];
for (const [label, params] of searches) {
  const r = await timeMany(
    `searchTraces(${label})`,
    100,
    (i) => sink.searchTraces(params(i)),
    '< 100 ms',
  );
  console.log(`  (last answer: ${r.traces.length} traces${r.next_cursor ? ', more' : ''})`);
}
{
  // The 20th page of 50: each page starts from the previous page's cursor.
  let cursor = null;
  for (let p = 0; p < 19; p++)
    cursor = (await sink.searchTraces({ service: 'chat', cursor })).next_cursor;
  await timeMany(
    "searchTraces({ service: 'chat', cursor: <page 20> })",
    100,
    () => sink.searchTraces({ service: 'chat', cursor }),
    '< 100 ms',
  );
  const live = (await sink.searchTraces({ status: 'error' })).live_cursor;
  await timeMany(
    "searchTraces({ status: 'error', newer_than: <live cursor> }) (a poll, nothing new)",
    200,
    () => sink.searchTraces({ status: 'error', newer_than: live }),
  );
}
const detail = await timeMany(
  `getTraceDetail(<a ${WIDE_SPANS}-span trace>) with its ${WIDE_SPANS * 2} logs and metric events`,
  50,
  (i) => sink.getTraceDetail(wideTraceId(i % WIDE_TRACES)),
  '< 100 ms',
);
if (
  detail.spans.length !== WIDE_SPANS ||
  detail.logs.length !== WIDE_SPANS ||
  detail.metrics.length !== WIDE_SPANS
)
  throw new Error(
    `trace detail: ${detail.spans.length} spans, ${detail.logs.length} logs, ${detail.metrics.length} metrics`,
  );
await timeMany(`getTraceDetail(<a ${perTrace}-span trace>)`, 500, (i) =>
  sink.getTraceDetail(hex(rand(i, BIG_TRACES) + 1, 32)),
);
await timeMany('getSpanEvents(<a span of a wide trace>)', 500, (i) =>
  sink.getSpanEvents(
    wideTraceId(i % WIDE_TRACES),
    hex(0x100000000 + (i % WIDE_TRACES) * WIDE_SPANS + (i % WIDE_SPANS), 16),
  ),
);
for (const [label, params] of [
  ['service', { field: 'service' }],
  ["span_name, service: 'chat'", { field: 'span_name', service: 'chat' }],
  ['span_name (all 50 + 1)', { field: 'span_name' }],
  ["attribute_key, prefix: 'c'", { field: 'attribute_key', prefix: 'c' }],
  ['attribute_key (all)', { field: 'attribute_key' }],
  ['metric_name', { field: 'metric_name' }],
]) {
  await timeMany(`suggest(${label})`, 200, () => sink.suggest(params));
}
{
  const end = (await sink.tailSpans({ limit: 0 })).cursor;
  await timeMany('tailSpans({ cursor: <end> }) (a poll, nothing new)', 500, () =>
    sink.tailSpans({ cursor: end }),
  );
  await timeMany('tailSpans({ limit: 100 }) (the newest 100)', 200, () =>
    sink.tailSpans({ limit: 100 }),
  );
}
const stats = await timeMany('storeStats()', 5, () => sink.storeStats());
console.log(
  `  (${fmt(stats.spans)} spans, ${fmt(stats.traces)} traces, ${stats.services.length} services)`,
);
await sink.shutdown();

{
  // Retention: a tenth of the store expires at once (marked by hand here).
  const db = new Sqlite(bigPath);
  const doomed = Math.floor(BIG_SPANS / 10);
  db.prepare('update spans set expires_at = 0 where id <= ?').run(doomed);
  db.close();
  const purging = createSqliteSink({ path: bigPath, retentionIntervalMs: 0 });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const t = performance.now();
  await purging.whenReady(); // the purge on open
  const secs = (performance.now() - t) / 1000;
  loop.disable();
  const left = (await purging.queryTraces({ order_by: ['start_time'], limit: 1 }))[0];
  await purging.shutdown();
  console.log(
    `retention on open: deleted ${fmt(doomed)} expired spans (with attributes, events, traces) in ${fmt(secs, 1)} s; event loop max delay ${fmt(loop.max / 1e6, 1)} ms; oldest trace left ${left?.trace_id}`,
  );
}
