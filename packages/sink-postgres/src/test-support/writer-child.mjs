// One of several processes writing to one PostgreSQL store through a real
// pipeline: `count` spans in traces of 10 (a root and 9 children). Prints the
// pipeline's counts as JSON; anything thrown at the application is counted.
// With `barrierDir` and `writers`, it starts producing only once that many
// writers are connected, so they really write at the same time.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const { createTelemetry, createPostgresSink } = await import(process.env.SINK_BUNDLE);
const [url, writerId, countArg, barrierDir, writersArg = '1'] = process.argv.slice(2);
const count = Number(countArg);
const warnings = [];
const sink = createPostgresSink({
  connectionString: url,
  retentionIntervalMs: 0,
  serviceName: `writer-${writerId}`,
});
const telemetry = createTelemetry({ sinks: [sink], warn: (m) => warnings.push(m) });
if (barrierDir) {
  await sink.whenReady();
  writeFileSync(join(barrierDir, `ready-${writerId}`), '');
  const waitUntil = Date.now() + 120_000;
  for (let w = 1; w <= Number(writersArg); w++) {
    while (!existsSync(join(barrierDir, `ready-${w}`))) {
      if (Date.now() > waitUntil) throw new Error(`writer ${w} never became ready`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}
const began = Date.now();
let thrown = 0;
for (let t = 0; t < count / 10; t++) {
  try {
    await telemetry.withTrace(`request ${writerId}`, async (root) => {
      root.setAttribute('writer', Number(writerId));
      root.setAttribute('n', t);
      for (let c = 0; c < 9; c++) {
        await telemetry.withSpan(`step ${c}`, async (span) => {
          span.setAttribute('c', c);
        });
      }
    });
  } catch {
    thrown++;
  }
  // Let the pipeline deliver while this process keeps producing.
  if (t % 50 === 0) await new Promise((r) => setImmediate(r));
}
const flushed = await telemetry.flush({ timeoutMs: 120_000 });
const stats = telemetry.stats();
const ended = Date.now();
await telemetry.shutdown();
console.log(
  JSON.stringify({
    began,
    ended,
    thrown,
    flushed,
    warnings,
    accepted: stats.accepted,
    sink: stats.sinks.postgres,
  }),
);
