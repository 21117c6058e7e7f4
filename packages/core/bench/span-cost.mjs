// Caller-side cost of one span (start, 5 attributes, end): this toolkit with a
// memory sink, next to the OpenTelemetry SDK (BasicTracerProvider +
// BatchSpanProcessor + a no-op exporter), in one run. Run: pnpm bench
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createMemorySink, createTelemetry } from '@telemetry/core';

const SPANS_PER_ROUND = 10_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const WARMUP = 5;

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Times only the synchronous loop (the caller's path); settles between rounds. */
async function measure(label, tracer, parentCtx, settle) {
  const perSpan = [];
  const endToEnd = [];
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < SPANS_PER_ROUND; i++) {
      const span = tracer.startSpan('inference', undefined, parentCtx);
      span.setAttribute('model', 'llama-3');
      span.setAttribute('provider', 'ollama');
      span.setAttribute('prompt_tokens', i);
      span.setAttribute('stream', false);
      span.setAttribute('temperature', 0.7);
      span.end();
    }
    const ns = Number(process.hrtime.bigint() - t0) / SPANS_PER_ROUND;
    await settle();
    if (r >= WARMUP) {
      perSpan.push(ns);
      endToEnd.push(Number(process.hrtime.bigint() - t0) / SPANS_PER_ROUND);
    }
  }
  const m = median(perSpan);
  console.log(
    `${label.padEnd(58)} ${(m / 1000).toFixed(3)} µs/span caller-side, ${(median(endToEnd) / 1000).toFixed(3)} µs/span until delivered`,
  );
  return m;
}

const noopExporter = {
  export(_spans, done) {
    done({ code: 0 });
  },
  async shutdown() {},
};

// --- this toolkit
const sink = createMemorySink();
const telemetry = createTelemetry({ sinks: [sink], warn: () => {} });
const ours = telemetry.tracerProvider.getTracer('bench');
const ourParent = telemetry.startSpan('request');
const ourCtx = trace.setSpan(ROOT_CONTEXT, ourParent);
const oursNs = await measure('@telemetry/core + memory sink', ours, ourCtx, async () => {
  await telemetry.flush();
  sink.clear();
});
const ourStats = telemetry.stats();

// --- OpenTelemetry SDK, queue sized like ours so that it does not drop.
let exportedBig = 0;
const sdkBig = new BasicTracerProvider({
  spanProcessors: [
    new BatchSpanProcessor(
      {
        ...noopExporter,
        export: (spans, done) => {
          exportedBig += spans.length;
          done({ code: 0 });
        },
      },
      { maxQueueSize: 100_000, maxExportBatchSize: 1_000 },
    ),
  ],
});
const sdkTracer = sdkBig.getTracer('bench');
const sdkParent = sdkTracer.startSpan('request');
const sdkCtx = trace.setSpan(ROOT_CONTEXT, sdkParent);
const sdkNs = await measure(
  'OpenTelemetry SDK, BatchSpanProcessor (queue 100k)',
  sdkTracer,
  sdkCtx,
  () => sdkBig.forceFlush(),
);

// --- OpenTelemetry SDK with its defaults (queue 2048: drops most of each burst).
let exportedDefault = 0;
const sdkDefault = new BasicTracerProvider({
  spanProcessors: [
    new BatchSpanProcessor({
      ...noopExporter,
      export: (spans, done) => {
        exportedDefault += spans.length;
        done({ code: 0 });
      },
    }),
  ],
});
const sdkDefaultTracer = sdkDefault.getTracer('bench');
const sdkDefaultNs = await measure(
  'OpenTelemetry SDK, BatchSpanProcessor (defaults)',
  sdkDefaultTracer,
  trace.setSpan(ROOT_CONTEXT, sdkDefaultTracer.startSpan('request')),
  () => sdkDefault.forceFlush(),
);

// --- the helper most code uses: a child span made current around a callback.
await telemetry.withTrace('bench', async () => {
  await measure(
    '@telemetry/core withSpan(fn) (context switch included)',
    {
      startSpan: () => {
        let handle;
        telemetry.withSpan('inference', (s) => {
          handle = s;
        });
        return { setAttribute: (k, v) => handle.setAttribute(k, v), end() {} };
      },
    },
    undefined,
    async () => {
      await telemetry.flush();
      sink.clear();
    },
  );
});

const total = (WARMUP + ROUNDS) * SPANS_PER_ROUND;
console.log(
  `(medians of ${ROUNDS} rounds of ${SPANS_PER_ROUND} spans, after ${WARMUP} warm-up rounds)`,
);
console.log('');
console.log(
  `ratio (toolkit / SDK, queue 100k): ${(oursNs / sdkNs).toFixed(2)}x   (target <= 0.50x)`,
);
console.log(`ratio (toolkit / SDK, defaults):   ${(oursNs / sdkDefaultNs).toFixed(2)}x`);
console.log(
  `delivered: toolkit ${ourStats.sinks.memory.delivered / 2} spans of ${total} (dropped ${JSON.stringify(ourStats.dropped)}); ` +
    `SDK queue 100k exported ${exportedBig} of ${total}; SDK defaults exported ${exportedDefault} of ${total}`,
);
await telemetry.shutdown();
await sdkBig.shutdown();
await sdkDefault.shutdown();
