import { Worker } from 'node:worker_threads';
import { createTelemetry } from '@telemetry/core';
import { createOtelSink } from '../dist/index.js';
const shared = new SharedArrayBuffer(12);
const counters = new Int32Array(shared);
const worker = new Worker(new URL('./receiver-worker.mjs', import.meta.url), { workerData: { shared } });
const { port } = await new Promise((resolve) => worker.once('message', resolve));
const N = 100_000;
for (let round = 0; round < 3; round++) {
  Atomics.store(counters, 0, 0);
  const sink = createOtelSink({ endpoint: `http://127.0.0.1:${port}/v1/traces`, metrics: false, maxQueueSize: N, ...(process.env.BATCH ? {maxExportBatchSize: Number(process.env.BATCH)} : {}) });
  const telemetry = createTelemetry({ sinks: [sink], warn: () => {}, capacity: 2 * N + 16 });
  const t0 = performance.now();
  await telemetry.withTrace('root', async () => {
    for (let i = 1; i < N; i++) telemetry.withSpan('op', () => {}, { attributes: { model: 'llama-3', provider: 'ollama', prompt_tokens: i, stream: false, temperature: 0.7 } });
  });
  const t1 = performance.now();
  await telemetry.flush();
  const t2 = performance.now();
  await telemetry.shutdown();
  const t3 = performance.now();
  console.log(`loop ${(t1-t0).toFixed(0)} flush ${(t2-t1).toFixed(0)} shutdown ${(t3-t2).toFixed(0)} arrived ${counters[0]} requests ${sink.stats().exportRequests} -> ${(counters[0]/(t3-t0)*1000).toFixed(0)}/s`);
}
worker.postMessage('close');
