// Benchmark of @telemetry/sink-postgres against raw pg, in one run.
//
//   node bench/postgres-bench.mjs     (after: pnpm exec turbo run build --filter=@telemetry/sink-postgres...)
//
// The server: TELEMETRY_BENCH_POSTGRES_URL, else a throwaway cluster started
// here from Debian's binaries (as the postgres user when run as root), with
// the server's default durability settings.
//
// 1. Ingest of spans with 5 attributes and one log each, batches of 1,000,
//    through the sink, next to raw pg multi-row INSERT ... VALUES of the same
//    rows into the same schema, one transaction per batch (ratio sink / raw).
// 2. A store of 1M spans in 50k traces (one metric point per span): medians
//    of getSpanTree, queryTraces with an attribute filter, queryMetrics with
//    1h buckets over 30 days, and the search extensions.
//
// Sizes can be lowered for a quick look: BENCH_INGEST_SPANS, BENCH_SPANS, BENCH_TRACES.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createPostgresSink } from '../dist/index.js';

const INGEST_SPANS = Number(process.env.BENCH_INGEST_SPANS ?? 100_000);
const BIG_SPANS = Number(process.env.BENCH_SPANS ?? 1_000_000);
const BIG_TRACES = Number(process.env.BENCH_TRACES ?? 50_000);
const ROUNDS = 3;
const BATCH = 1000;
const T0 = Date.UTC(2026, 0, 1) * 1000;
const FOREVER = 100 * 365 * 86_400;
const MODELS = ['llama', 'gpt', 'claude', 'mistral'];
const hex = (n, width) => n.toString(16).padStart(width, '0');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

// ---------------------------------------------------------------------------
// The server

async function startServer() {
  const root = '/usr/lib/postgresql';
  const version = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))[0]
    : undefined;
  if (!version)
    throw new Error(
      'No PostgreSQL binaries: apt-get install -y postgresql, or set TELEMETRY_BENCH_POSTGRES_URL',
    );
  const bin = (name) => join(root, version, 'bin', name);
  const asRoot = process.getuid?.() === 0;
  const run = (name, args) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', bin(name), ...args], { stdio: 'pipe' })
      : execFileSync(bin(name), args, { stdio: 'pipe' });
  const dir = mkdtempSync(join(tmpdir(), 'telemetry-pg-bench-'));
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), -1);
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  run('initdb', [
    '-D',
    join(dir, 'data'),
    '-A',
    'trust',
    '-U',
    'postgres',
    '--no-sync',
    '-E',
    'UTF8',
  ]);
  const settings = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_wal_size=4GB`;
  run('pg_ctl', ['-D', join(dir, 'data'), '-o', settings, '-l', join(dir, 'log'), '-w', 'start']);
  const stop = () => {
    try {
      run('pg_ctl', ['-D', join(dir, 'data'), '-m', 'fast', '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop };
}

const given = process.env.TELEMETRY_BENCH_POSTGRES_URL;
const server = given ? { url: given, stop: () => {} } : await startServer();
process.on('exit', () => server.stop());
const admin = new pg.Client({ connectionString: server.url });
await admin.connect();
let schemas = 0;
/** A URL whose tables live in a new schema. */
async function freshSchema() {
  const name = `bench_${process.pid}_${schemas++}`;
  await admin.query(`create schema ${name}`);
  const u = new URL(server.url);
  u.searchParams.set('options', `-c search_path=${name}`);
  return { url: u.toString(), name };
}
async function dropSchema(name) {
  await admin.query(`drop schema ${name} cascade`);
}

// ---------------------------------------------------------------------------
// 1. Ingest

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

/** Multi-row VALUES with numbered parameters. */
function values(rows, width, offset = 0) {
  return rows
    .map(
      (_, r) =>
        `(${Array.from({ length: width }, (_, c) => `$${offset + r * width + c + 1}`).join(', ')})`,
    )
    .join(', ');
}

/**
 * The rows the sink writes, by hand with pg: one transaction per batch, a
 * multi-row INSERT ... VALUES per table (spans returning their ids, then
 * attributes, events, trace upserts).
 */
async function rawIngest(url, batches) {
  const sink = createPostgresSink({ connectionString: url, retentionIntervalMs: 0 });
  await sink.whenReady();
  await sink.shutdown();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const typeOf = (v) => (typeof v === 'string' ? 1 : typeof v === 'number' ? 2 : 3);
  const start = performance.now();
  for (const spans of batches) {
    await client.query('begin');
    const spanParams = [];
    for (const s of spans) {
      spanParams.push(
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
    }
    const inserted = await client.query(
      `insert into spans (span_id, trace_id, parent_span_id, name, start_time, end_time, attributes, status, kind, status_message, expires_at) values ${values(spans, 11)} on conflict (span_id) do nothing returning id, span_id`,
      spanParams,
    );
    const ids = new Map(inserted.rows.map((r) => [r.span_id, r.id]));
    const attrRows = [];
    const attrParams = [];
    const eventRows = [];
    const eventParams = [];
    const traces = new Map();
    for (const s of spans) {
      const rowid = ids.get(s.span_id);
      for (const key in s.attributes) {
        const v = s.attributes[key];
        const type = typeOf(v);
        attrRows.push(0);
        attrParams.push(rowid, key, type, type === 1 ? v : null, type === 1 ? null : Number(v));
      }
      for (const e of s.events) {
        eventRows.push(0);
        eventParams.push(
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
      if (!t) traces.set(s.trace_id, [s.start_time, s.end_time, root, 1, 0]);
      else {
        t[0] = Math.min(t[0], s.start_time);
        t[1] = Math.max(t[1], s.end_time);
        if (root) t[2] = root;
        t[3]++;
      }
    }
    await client.query(
      `insert into span_attributes (span_rowid, key, value_type, value_text, value_num) values ${values(attrRows, 5)}`,
      attrParams,
    );
    await client.query(
      `insert into span_events (span_id, span_rowid, name, timestamp, attributes, series_id, value) values ${values(eventRows, 7)}`,
      eventParams,
    );
    const traceRows = [...traces].sort(([a], [b]) => (a < b ? -1 : 1));
    const traceParams = traceRows.flatMap(([id, t]) => [
      id,
      'bench',
      t[2]?.span_id ?? null,
      t[2]?.name ?? null,
      t[0],
      t[1],
      t[3],
      t[4],
    ]);
    await client.query(
      `insert into traces (trace_id, service_name, root_span_id, root_name, start_time, end_time, span_count, error_count) values ${values(traceRows, 8)} on conflict (trace_id) do update set start_time = least(traces.start_time, excluded.start_time), end_time = greatest(traces.end_time, excluded.end_time), root_span_id = coalesce(traces.root_span_id, excluded.root_span_id), root_name = coalesce(traces.root_name, excluded.root_name), span_count = traces.span_count + excluded.span_count, error_count = traces.error_count + excluded.error_count`,
      traceParams,
    );
    await client.query('commit');
  }
  const ms = performance.now() - start;
  await client.end();
  return ms;
}

async function sinkIngest(url, batches) {
  const sink = createPostgresSink({
    connectionString: url,
    retentionIntervalMs: 0,
    serviceName: 'bench',
  });
  await sink.whenReady();
  const start = performance.now();
  for (const b of batches) await sink.writeSpans(b);
  const ms = performance.now() - start;
  await sink.shutdown();
  return ms;
}

const version = (await admin.query('show server_version')).rows[0].server_version;
console.log(
  `# @telemetry/sink-postgres benchmark (node ${process.version}, PostgreSQL ${version}, ${INGEST_SPANS.toLocaleString()} ingest spans, ${BIG_SPANS.toLocaleString()}-span store)\n`,
);
console.log('## Ingest: spans with 5 attributes and 1 log each, batches of 1,000');
const batches = [];
for (let i = 0; i < INGEST_SPANS; i += BATCH)
  batches.push(ingestSpans(Math.min(BATCH, INGEST_SPANS - i), i));
const rates = { raw: [], sink: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const [key, run] of [
    ['raw', rawIngest],
    ['sink', sinkIngest],
  ]) {
    const schema = await freshSchema();
    const ms = await run(schema.url, batches);
    rates[key].push(INGEST_SPANS / (ms / 1000));
    await dropSchema(schema.name);
    await admin.query('checkpoint');
  }
}
const raw = median(rates.raw);
const sinkRate = median(rates.sink);
console.log(`raw pg, multi-row INSERT ... VALUES, 1,000 spans/transaction:  ${fmt(raw)} spans/s`);
console.log(
  `sink.writeSpans(1,000 spans), unnest arrays, 1 transaction:    ${fmt(sinkRate)} spans/s`,
);
console.log(
  `ratio sink / raw: ${fmt(sinkRate / raw, 2)} (target >= 0.70)  [medians of ${ROUNDS} alternating rounds]`,
);

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
              route: `/r/${t % 50}`,
            }
          : { model, tokens: n % 1000, step: k };
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

const big = await freshSchema();
const sink = createPostgresSink({
  connectionString: big.url,
  retentionIntervalMs: 0,
  transactionSize: 2000,
});
{
  await sink.whenReady();
  const began = performance.now();
  const step = Math.max(1, Math.floor(5000 / perTrace));
  for (let t = 0; t < BIG_TRACES; t += step)
    await sink.writeSpans(bigSpans(t, Math.min(BIG_TRACES, t + step)));
  const seconds = (performance.now() - began) / 1000;
  await admin.query(
    `vacuum analyze ${big.name}.spans, ${big.name}.span_attributes, ${big.name}.span_events, ${big.name}.traces, ${big.name}.metric_series`,
  );
  const size = (await sink.storeStats()).size_bytes;
  console.log(
    `built in ${fmt(seconds, 1)} s (${fmt(BIG_SPANS / seconds)} spans/s), ${fmt(size / 1e6)} MB; then VACUUM ANALYZE`,
  );
}

async function time(label, calls, fn, target) {
  for (let i = 0; i < Math.min(5, calls); i++) await fn(i);
  const times = [];
  let last;
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    last = await fn(i);
    times.push(performance.now() - t);
  }
  console.log(
    `${label}: median ${fmt(median(times), 3)} ms over ${calls} calls${target ? ` (target < ${target} ms)` : ''}`,
  );
  return last;
}

const randomTrace = (i) => ((i * 7919) % BIG_TRACES) + 1;
await time(
  `getSpanTree(root of a random trace; ${perTrace} spans, depth 3)`,
  1000,
  async (i) => {
    const t = randomTrace(i) - 1;
    const tree = await sink.getSpanTree(hex(t * perTrace + 1, 16));
    if (Object.keys(tree).length !== perTrace) throw new Error('incomplete tree');
  },
  2,
);
const found = await time(
  "queryTraces({ attribute_filters: [{ key: 'customer.id', op: 'eq', value: <random> }] })",
  300,
  (i) =>
    sink.queryTraces({
      attribute_filters: [{ key: 'customer.id', op: 'eq', value: `c-${(i * 131) % CUSTOMERS}` }],
    }),
  10,
);
console.log(`  (each answer: ${found.length} traces)`);
await time(
  "queryTraces({ attribute_filters: [{ key: 'model', op: 'eq', value: 'llama' }] }) (a quarter of all spans match; first 100)",
  20,
  () => sink.queryTraces({ attribute_filters: [{ key: 'model', op: 'eq', value: 'llama' }] }),
);
await time(
  'querySpans({ attribute_filters: [<matches every trace>], limit: 50 })',
  50,
  () => sink.querySpans({ attribute_filters: [{ key: 'step', op: 'eq', value: 1 }], limit: 50 }),
  10,
);
const startSec = Math.floor(T0 / 1e6);
const hourly = await time(
  "queryMetrics('tokens', { query_type: 'range', granularity: '1h' }) over 30 days",
  10,
  () =>
    sink.queryMetrics('tokens', {
      query_type: 'range',
      start_time: startSec,
      end_time: startSec + 30 * 86_400,
      granularity: '1h',
    }),
  300,
);
console.log(
  `  (${hourly.length} series, ${hourly.reduce((n, s) => n + s.values.length, 0)} hourly points, summing ${BIG_SPANS.toLocaleString()} raw points)`,
);
await time("queryMetrics('tokens', { query_type: 'instant' }) over 30 days", 10, () =>
  sink.queryMetrics('tokens', {
    query_type: 'instant',
    start_time: startSec,
    end_time: startSec + 30 * 86_400,
  }),
);

console.log('\n## Search extensions on the same store');
const searches = [
  ['no filter (newest 50)', {}],
  ['service', { service: 'chat' }],
  ['root name', { name: 'GET /r/7' }],
  ["status: 'error' (1 trace in 97)", { status: 'error' }],
  ['min_duration_ms: 4900 (2% of traces)', { min_duration_ms: 4900 }],
  [
    'service + status + min_duration_ms: 2000',
    { service: 'chat', status: 'error', min_duration_ms: 2000 },
  ],
  ['attribute customer.id = <random> (5 traces)', null],
  [
    'every filter at once',
    {
      service: 'chat',
      name: 'GET /r/1',
      status: 'ok',
      min_duration_ms: 100,
      attribute_filters: [{ key: 'model', op: 'eq', value: 'gpt' }],
    },
  ],
];
for (const [label, params] of searches) {
  const last = await time(
    `searchTraces(${label})`,
    100,
    (i) =>
      sink.searchTraces(
        params ?? {
          attribute_filters: [
            { key: 'customer.id', op: 'eq', value: `c-${(i * 131) % CUSTOMERS}` },
          ],
        },
      ),
    100,
  );
  console.log(`  (last answer: ${last.traces.length} traces${last.next_cursor ? ', more' : ''})`);
}
const firstPage = await sink.searchTraces({ service: 'chat' });
let cursor = firstPage.next_cursor;
for (let i = 0; i < 19 && cursor; i++)
  cursor = (await sink.searchTraces({ service: 'chat', cursor })).next_cursor;
await time("searchTraces({ service: 'chat', cursor: <page 20> })", 100, () =>
  sink.searchTraces({ service: 'chat', cursor }),
);
await time('searchTraces({ newer_than: <live cursor> }) (a poll, nothing new)', 200, () =>
  sink.searchTraces({ status: 'error', newer_than: firstPage.live_cursor }),
);
await time(`getTraceDetail(<a ${perTrace}-span trace>)`, 300, (i) =>
  sink.getTraceDetail(hex(randomTrace(i), 32)),
);
await time('suggest(span_name, service)', 200, () =>
  sink.suggest({ field: 'span_name', service: 'chat' }),
);
await time('suggest(attribute_key)', 200, () => sink.suggest({ field: 'attribute_key' }));
const end = await sink.tailSpans({ limit: 0 });
await time('tailSpans({ cursor: <end> }) (a poll, nothing new)', 300, () =>
  sink.tailSpans({ cursor: end.cursor }),
);
await time('tailSpans({ limit: 100 }) (the newest 100)', 200, () => sink.tailSpans({ limit: 100 }));
await time('storeStats()', 3, () => sink.storeStats());
await sink.shutdown();
await dropSchema(big.name);
await admin.end();
