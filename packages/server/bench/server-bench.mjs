// Benchmark of @telemetry/server, in one run (after building: pnpm exec turbo run build --filter=@telemetry/server...):
//
//   node bench/server-bench.mjs
//
// 1. Ingest into SQLite: OTLP/HTTP protobuf through the server, sent by the
//    OpenTelemetry SDK's serializer from a child process (512 spans a request,
//    4 in flight), against the in-process path (the toolkit's withSpan into the
//    same kind of SQLite sink). Spans/s, and the ratio server / in-process
//    (target >= 0.5). Both store the same rows: the in-process spans carry the
//    two attributes that the server adds to OTLP spans (service.name from the
//    resource, and otel.scope.name).
// 2. A 1M-span store (the generator of sink-sqlite's bench): p50/p99 latency of
//    getSpanTree and queryTraces over HTTP (node:http, keep-alive) against the same
//    calls in-process.
//
// Sizes can be lowered for a quick look: BENCH_INGEST_SPANS, BENCH_SPANS, BENCH_TRACES.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createTelemetry } from '@telemetry/core';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import { createTelemetryServer } from '../dist/index.js';

const INGEST_SPANS = Number(process.env.BENCH_INGEST_SPANS ?? 50_000);
const ROUNDS = 3;
const BIG_SPANS = Number(process.env.BENCH_SPANS ?? 1_000_000);
const BIG_TRACES = Number(process.env.BENCH_TRACES ?? 50_000);

const dir = mkdtempSync(join(tmpdir(), 'server-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const MODELS = ['llama', 'gpt', 'claude', 'mistral'];

/** Resolves once the sink has every event of `spans` two-event spans (start + end). */
async function stored(telemetry, spans) {
  for (;;) {
    const s = telemetry.stats().sinks.sqlite;
    if (s.delivered >= spans * 2) return;
    const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
    if (dropped > 0)
      throw new Error(`the sink dropped ${dropped} events: ${JSON.stringify(s.dropped)}`);
    await sleep(2);
  }
}

// ---------------------------------------------------------------------------
// 1. Ingest

console.log(
  `## Ingest of ${fmt(INGEST_SPANS)} spans (10-span traces, 5 attributes each) into SQLite`,
);

/** What the server adds to each OTLP span of the sender (its resource and scope). */
const SAME = { 'service.name': 'bench', 'otel.scope.name': 'bench' };

async function inProcess(round) {
  const sink = createSqliteSink({
    path: join(dir, `in-process-${round}.db`),
    retentionIntervalMs: 0,
  });
  const telemetry = createTelemetry({ sinks: [sink] });
  await sink.whenReady();
  const t = performance.now();
  for (let n = 0; n < INGEST_SPANS; n += 10) {
    telemetry.withTrace(
      'request',
      () => {
        for (let k = 1; k < 10; k++) {
          telemetry.withSpan('step', () => {}, {
            attributes: {
              model: MODELS[k % 4],
              tokens: k,
              'http.method': 'GET',
              cached: true,
              step: k,
              ...SAME,
            },
          });
        }
      },
      {
        kind: 'server',
        attributes: {
          'http.method': 'GET',
          'customer.id': `c-${n % 5000}`,
          route: '/r',
          user: 'u',
          step: 0,
          ...SAME,
        },
      },
    );
    // Keep the producer within the pipeline's capacity, as the server's back-pressure does.
    if (n % 5000 === 0) {
      while (telemetry.stats().sinks.sqlite.pending > 40_000) await sleep(1);
    }
  }
  await stored(telemetry, INGEST_SPANS);
  const secs = (performance.now() - t) / 1000;
  await telemetry.shutdown();
  return INGEST_SPANS / secs;
}

async function throughServer(round) {
  const sink = createSqliteSink({ path: join(dir, `server-${round}.db`), retentionIntervalMs: 0 });
  const telemetry = createTelemetry({ sinks: [sink] });
  await sink.whenReady();
  const server = createTelemetryServer({ telemetry, port: 0, token: null });
  const { otlpUrl } = await server.listen();
  const child = fork(fileURLToPath(new URL('./otlp-sender.mjs', import.meta.url)), [
    otlpUrl,
    String(INGEST_SPANS),
    '4',
  ]);
  await new Promise((resolve) => child.once('message', resolve)); // ready
  const t = performance.now();
  const done = new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) =>
      code ? reject(new Error(`sender exited with ${code}`)) : resolve(),
    );
  });
  child.send('go');
  const sent = await done;
  if (sent?.retried) console.log(`  (${sent.retried} requests answered 503 and sent again)`);
  await stored(telemetry, INGEST_SPANS);
  const secs = (performance.now() - t) / 1000;
  await server.close();
  await telemetry.shutdown();
  return INGEST_SPANS / secs;
}

// Rounds alternate, so a change of load on a shared machine hits both paths alike.
const locals = [];
const serveds = [];
for (let round = 0; round < ROUNDS; round++) {
  locals.push(await inProcess(round));
  serveds.push(await throughServer(round));
  console.log(
    `round ${round + 1}: in-process ${fmt(locals[round])} spans/s, server ${fmt(serveds[round])} spans/s`,
  );
}
const local = median(locals);
const served = median(serveds);
console.log(`in-process (withSpan -> SQLite sink), median:              ${fmt(local)} spans/s`);
console.log(`server (OTLP/HTTP protobuf, 512 spans a request), median: ${fmt(served)} spans/s`);
console.log(`ratio server / in-process: ${fmt(served / local, 2)} (target >= 0.5)`);

// ---------------------------------------------------------------------------
// 2. Queries on a 1M-span store

if (BIG_SPANS === 0) process.exit(0);
const perTrace = Math.max(1, Math.floor(BIG_SPANS / BIG_TRACES));
console.log(
  `\n## Queries on a store of ${fmt(perTrace * BIG_TRACES)} spans in ${fmt(BIG_TRACES)} traces: HTTP vs in-process`,
);
const hex = (n, width) => n.toString(16).padStart(width, '0');
const T0 = Date.UTC(2026, 0, 1) * 1000;
const FOREVER = 100 * 365 * 86_400;
const traceGap = Math.floor((30 * 86_400 * 1_000_000) / BIG_TRACES);
const CUSTOMERS = Math.max(1, Math.floor(BIG_TRACES / 5));

/** sink-sqlite's bench store: a root, 4 children, grandchildren; one metric point per span. */
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
      const attributes =
        k === 0
          ? { __root__: true, 'customer.id': `c-${t % CUSTOMERS}`, route: `/r/${t % 50}` }
          : { model: MODELS[n % 4], tokens: n % 1000, cached: n % 2 === 0, step: k };
      spans.push({
        trace_id,
        span_id,
        parent_span_id: parent,
        name: k === 0 ? 'request' : 'step',
        kind: 'internal',
        start_time: base + k * 1000,
        end_time: base + k * 1000 + 500,
        status: 'ok',
        attributes,
        events: [],
        ttl_seconds: FOREVER,
      });
    }
  }
  return spans;
}

const bigPath = join(dir, 'big.db');
{
  const sink = createSqliteSink({ path: bigPath, retentionIntervalMs: 0, transactionSize: 5000 });
  const t = performance.now();
  const step = Math.max(1, Math.floor(5000 / perTrace));
  for (let from = 0; from < BIG_TRACES; from += step) {
    await sink.writeSpans(bigSpans(from, Math.min(BIG_TRACES, from + step)));
  }
  await sink.shutdown();
  console.log(
    `built in ${fmt((performance.now() - t) / 1000, 1)} s, file ${fmt(statSync(bigPath).size / 1e6)} MB`,
  );
}

const sink = createSqliteSink({ path: bigPath, retentionIntervalMs: 0 });
const telemetry = createTelemetry({ sinks: [sink] });
await sink.whenReady();
const server = createTelemetryServer({ telemetry, port: 0, token: null });
const { url } = await server.listen();
const rand = (i, m) => (Math.imul(i + 1, 2654435761) >>> 0) % m;

async function latencies(n, fn) {
  for (let i = 0; i < 20; i++) await fn(i); // warm up
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i + 20);
    times.push(performance.now() - t);
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

// node:http with keep-alive: the lightest client, so the figure is mostly the server's.
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
function post(path, body) {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) reject(new Error(`${path}: ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text).data);
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function report(label, local, http) {
  console.log(
    `${label}\n  in-process p50 ${fmt(local.p50, 3)} ms, p99 ${fmt(local.p99, 3)} ms | HTTP p50 ${fmt(http.p50, 3)} ms, p99 ${fmt(http.p99, 3)} ms | p50 HTTP/in-process ${fmt(http.p50 / local.p50, 1)}x`,
  );
}

const rootOf = (i) => hex(rand(i, BIG_TRACES) * perTrace + 1, 16);
const treeLocal = await latencies(2000, (i) => telemetry.getSpanTree(rootOf(i)));
const treeHttp = await latencies(2000, async (i) => {
  const tree = await post(`/v1/telemetry/spans/${rootOf(i)}/tree`, {});
  if (Object.keys(tree).length !== perTrace) throw new Error('wrong tree size');
});
report(`getSpanTree(root of a random trace; ${perTrace} spans), 2000 calls`, treeLocal, treeHttp);

const filter = (i) => ({
  attribute_filters: [{ key: 'customer.id', op: 'eq', value: `c-${rand(i, CUSTOMERS)}` }],
});
const tracesLocal = await latencies(300, (i) => telemetry.queryTraces(filter(i)));
const tracesHttp = await latencies(300, (i) => post('/v1/telemetry/traces', filter(i)));
report(
  "queryTraces({ attribute_filters: [{ key: 'customer.id', op: 'eq', value: <random> }] }), 300 calls",
  tracesLocal,
  tracesHttp,
);

agent.destroy();
await server.close();
await telemetry.shutdown();
