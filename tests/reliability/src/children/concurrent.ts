/**
 * 1,000 requests at once, each a trace of 15 nested spans made every way an
 * application makes them: the toolkit's helpers (withSpan, traced, autoTrace,
 * startTrace), plain @opentelemetry/api (startActiveSpan, startSpan with
 * context.with), across timers, setImmediate, microtasks and awaits; some
 * continue a caller's trace from a W3C traceparent. Then it lists what the
 * store answers.
 */
import { context, trace as otel } from '@opentelemetry/api';
import {
  autoTrace,
  createTelemetry,
  endTrace,
  generateSpanId,
  generateTraceId,
  startTrace,
  traced,
  withSpan,
  withTrace,
} from '@telemetry/core';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import { emit, scenario, warnToStderr } from './common.ts';

const cfg = scenario<{ sqlitePath: string; traces: number; depth: number }>();
const store = createSqliteSink({ path: cfg.sqlitePath, retentionIntervalMs: 0 });
const telemetry = createTelemetry({ sinks: [store], warn: warnToStderr }).register();
const tracer = otel.getTracer('reliability');

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const jitter = () => Math.floor(Math.random() * 3);

class Retriever {
  async lookup(next: () => Promise<void>): Promise<void> {
    await sleep(jitter());
    await next();
  }
}
const retriever = autoTrace(new Retriever(), { name: 'Retriever' });
const tracedStep = traced(
  async (next: () => Promise<void>) => {
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    await next();
  },
  { name: 'traced step' },
);

/** One level of the chain, made the way `depth % 6` says; calls the next level inside. */
function level(depth: number): Promise<void> {
  if (depth >= cfg.depth) return Promise.resolve();
  const next = () => level(depth + 1);
  switch (depth % 6) {
    case 0:
      return withSpan(`helper ${depth}`, async () => {
        await sleep(jitter());
        await next();
      });
    case 1:
      return tracer.startActiveSpan(`otel active ${depth}`, async (span) => {
        try {
          await new Promise((resolve) => setImmediate(resolve));
          await next();
        } finally {
          span.end();
        }
      });
    case 2:
      return tracedStep(next);
    case 3: {
      const span = tracer.startSpan(`otel manual ${depth}`);
      return context.with(otel.setSpan(context.active(), span), async () => {
        try {
          await sleep(jitter());
          await next();
        } finally {
          span.end();
        }
      });
    }
    case 4:
      return retriever.lookup(next);
    default:
      // A callback API: the span is current inside the timer's callback too.
      return withSpan(
        `callback ${depth}`,
        () =>
          new Promise<void>((resolve, reject) => {
            setTimeout(() => next().then(resolve, reject), jitter());
          }),
      );
  }
}

async function request(i: number): Promise<string> {
  if (i % 10 === 0) {
    // Continued from a caller: its root's parent is a span of another process.
    const traceparent = `00-${generateTraceId()}-${generateSpanId()}-01`;
    return withTrace(
      `continued ${i}`,
      async (root) => {
        await level(1);
        return root.trace_id;
      },
      { traceparent },
    );
  }
  if (i % 10 === 1) {
    // Llama Stack's imperative form: the root stays current for the rest of this async context.
    return new Promise<string>((resolve, reject) => {
      setImmediate(async () => {
        const root = startTrace(`imperative ${i}`);
        try {
          await level(1);
          endTrace('ok');
          resolve(root.trace_id);
        } catch (error) {
          endTrace('error', error);
          reject(error);
        }
      });
    });
  }
  return withTrace(`request ${i}`, async (root) => {
    await level(1);
    return root.trace_id;
  });
}

const started = performance.now();
const traceIds = await Promise.all(Array.from({ length: cfg.traces }, (_, i) => request(i)));
const ranMs = performance.now() - started;
const flushed = await telemetry.flush({ timeoutMs: 300_000 });

const listed = await store.queryTraces({ limit: cfg.traces * 2 });
const treeSizes: Record<string, number> = {};
for (const t of listed) {
  treeSizes[t.trace_id] = Object.keys(
    await store.getSpanTree(t.root_span_id, { max_depth: 100 }),
  ).length;
}
const stats = telemetry.stats();
await telemetry.shutdown();
emit({
  event: 'done',
  ranMs,
  flushed,
  traceIds,
  listed: listed.map((t) => t.trace_id),
  treeSizes,
  stats,
});
