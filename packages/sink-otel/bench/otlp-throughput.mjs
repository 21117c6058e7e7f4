// End-to-end spans per second, application -> OTLP/HTTP protobuf -> a local
// receiver, for this toolkit (createTelemetry + withSpan + sink-otel, core's
// dispatcher doing the batching) next to the plain OpenTelemetry SDK
// (BasicTracerProvider + BatchSpanProcessor + OTLPTraceExporter), in one run,
// against the same receiver (a worker thread that counts the spans it gets).
// Each span: start, 5 attributes, end, under one root span.
//
// Run after a build:  pnpm bench   (BENCH_SPANS, BENCH_ROUNDS to change the size)
import { Worker } from 'node:worker_threads';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createTelemetry } from '@telemetry/core';
import { createOtelSink } from '../dist/index.js';

const N = Number(process.env.BENCH_SPANS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CHUNK = 1_000; // spans per event-loop turn in the steady scenario

const shared = new SharedArrayBuffer(12);
const counters = new Int32Array(shared);
const worker = new Worker(new URL('./receiver-worker.mjs', import.meta.url), {
  workerData: { shared },
});
const { port } = await new Promise((resolve) => worker.once('message', resolve));
const tracesUrl = `http://127.0.0.1:${port}/v1/traces`;

const attributes = (i) => ({
  model: 'llama-3',
  provider: 'ollama',
  prompt_tokens: i,
  stream: false,
  temperature: 0.7,
});
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const yieldTurn = () => new Promise((resolve) => setImmediate(resolve));
const resetReceiver = () => Atomics.store(counters, 0, 0);

/**
 * Creates `n` spans under one root: one synchronous burst, or CHUNK per
 * event-loop turn. Returns the milliseconds spent in the caller's loops.
 */
async function produce(n, steady, inRoot, child) {
  let loopMs = 0;
  await inRoot(async () => {
    let i = 1; // the root is span 0
    while (i < n) {
      const end = steady ? Math.min(n, i + CHUNK) : n;
      const t = nowMs();
      for (; i < end; i++) child(i);
      loopMs += nowMs() - t;
      if (steady) await yieldTurn();
    }
  });
  return loopMs;
}

async function runToolkit(n, { sized, steady }) {
  resetReceiver();
  const sink = createOtelSink({
    endpoint: tracesUrl,
    metrics: false,
    serviceName: 'bench',
    env: {},
  });
  // Notes when core hands over the first batch, to split core's work (the drain that
  // builds the completed spans) from the export (encoding and sending, batched by core).
  let firstWrite = 0;
  const write = sink.writeSpans.bind(sink);
  sink.writeSpans = (spans) => {
    if (firstWrite === 0) firstWrite = nowMs();
    return write(spans);
  };
  const telemetry = createTelemetry({
    sinks: [sink],
    warn: () => {},
    ...(sized ? { capacity: 2 * n + 16 } : {}),
  });
  const t0 = nowMs();
  const loopMs = await produce(
    n,
    steady,
    (body) => telemetry.withTrace('root', body),
    (i) => telemetry.withSpan('op', () => {}, { attributes: attributes(i) }),
  );
  const loopEnd = nowMs();
  await telemetry.shutdown();
  const end = nowMs();
  const elapsed = end - t0;
  // After the caller's loop: core building completed spans (until the first write), then the export.
  const phases = steady ? undefined : { core: firstWrite - loopEnd, export: end - firstWrite };
  const stats = telemetry.stats();
  const arrived = Atomics.load(counters, 0);
  const reasons = { ...stats.dropped };
  for (const [k, v] of Object.entries(stats.sinks.otel.dropped)) reasons[k] = (reasons[k] ?? 0) + v;
  return { arrived, elapsed, loopMs, reasons, phases };
}

async function runSdk(n, { sized, steady }) {
  resetReceiver();
  const batch = 2_000;
  const exporter = new OTLPTraceExporter({
    url: tracesUrl,
    // Sized: enough concurrency that forceFlush does not fail with "Concurrent export limit reached".
    ...(sized ? { concurrencyLimit: Math.ceil(n / batch) + 2 } : {}),
  });
  const processor = new BatchSpanProcessor(
    exporter,
    sized ? { maxQueueSize: n, maxExportBatchSize: batch, scheduledDelayMillis: 200 } : {},
  );
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': 'bench' })),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('bench');
  const t0 = nowMs();
  let rootCtx;
  const loopMs = await produce(
    n,
    steady,
    async (body) => {
      const root = tracer.startSpan('root');
      rootCtx = trace.setSpan(ROOT_CONTEXT, root);
      await body();
      root.end();
    },
    (i) => tracer.startSpan('op', { attributes: attributes(i) }, rootCtx).end(),
  );
  const loopEnd = nowMs();
  let flushError;
  try {
    await provider.forceFlush();
  } catch (error) {
    flushError = error instanceof Error ? error.message : String(error);
  }
  await provider.shutdown().catch(() => {});
  const end = nowMs();
  const elapsed = end - t0;
  const arrived = Atomics.load(counters, 0);
  const phases = steady ? undefined : { export: end - loopEnd };
  return {
    arrived,
    elapsed,
    loopMs,
    reasons: flushError ? { [`forceFlush: ${flushError}`]: 1 } : {},
    phases,
  };
}

function median(runs, pick) {
  const values = runs.map(pick).sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)];
}

function summarize(runs, n) {
  return {
    spansPerSec: median(runs, (r) => (r.arrived / r.elapsed) * 1000),
    arrived: median(runs, (r) => r.arrived),
    dropped: median(runs, (r) => n - r.arrived),
    loopMs: median(runs, (r) => r.loopMs),
    reasons: runs.at(-1).reasons,
    phases: runs[0].phases && {
      core: runs[0].phases.core === undefined ? undefined : median(runs, (r) => r.phases.core),
      export: median(runs, (r) => r.phases.export),
    },
  };
}

const fmt = (x) => Math.round(x).toLocaleString('en-US');
const pad = (s, w) => String(s).padStart(w);

const scenarios = [
  { title: 'burst (one synchronous loop), both sized to hold it', sized: true, steady: false },
  { title: 'burst (one synchronous loop), default settings', sized: false, steady: false },
  {
    title: `steady (${CHUNK.toLocaleString('en-US')} spans per event-loop turn), default settings`,
    sized: false,
    steady: true,
  },
];

// Warm up both paths (JIT, sockets) before measuring.
await runToolkit(Math.min(N, 20_000), { sized: true, steady: false });
await runSdk(Math.min(N, 20_000), { sized: true, steady: false });

console.log(
  `OTLP/HTTP protobuf to a local receiver (worker thread); ${fmt(N)} spans per run (start + 5 attributes + end), median of ${ROUNDS} runs\n`,
);
const ratios = [];
for (const sc of scenarios) {
  const toolkitRuns = [];
  const sdkRuns = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate who goes first, so that neither always runs on a warmer or colder machine.
    if (r % 2 === 0) {
      toolkitRuns.push(await runToolkit(N, sc));
      sdkRuns.push(await runSdk(N, sc));
    } else {
      sdkRuns.push(await runSdk(N, sc));
      toolkitRuns.push(await runToolkit(N, sc));
    }
  }
  const t = summarize(toolkitRuns, N);
  const s = summarize(sdkRuns, N);
  const ratio = t.spansPerSec / s.spansPerSec;
  ratios.push([sc.title, ratio]);
  console.log(sc.title);
  console.log(
    `  ${'path'.padEnd(52)}${pad('spans/s', 10)}${pad('arrived', 10)}${pad('dropped', 10)}${pad('caller ms', 11)}`,
  );
  for (const [name, x] of [
    ['toolkit: createTelemetry + withSpan + sink-otel', t],
    ['OTel SDK: BatchSpanProcessor + OTLPTraceExporter', s],
  ]) {
    console.log(
      `  ${name.padEnd(52)}${pad(fmt(x.spansPerSec), 10)}${pad(fmt(x.arrived), 10)}${pad(fmt(x.dropped), 10)}${pad(x.loopMs.toFixed(0), 11)}`,
    );
    if (x.phases) {
      const core =
        x.phases.core === undefined
          ? ''
          : `core building spans until the first write ${x.phases.core.toFixed(0)} ms, `;
      console.log(
        `      after the caller's loop: ${core}exporting ${x.phases.export.toFixed(0)} ms`,
      );
    }
    const reasons = Object.entries(x.reasons);
    if (reasons.length > 0) {
      console.log(
        `      drops by reason (events for the toolkit): ${reasons.map(([k, v]) => `${k}=${fmt(v)}`).join(', ')}`,
      );
    }
  }
  console.log(
    `  ratio toolkit / SDK (spans/s that arrived): ${ratio.toFixed(2)}  (target >= 1.0)\n`,
  );
}

worker.postMessage('close');
