// Writes `count` spans to a shared database file in batches, as one of several
// processes at once. Traces and metric series are shared between the writers
// (same ids and labels), span ids are not. Prints a JSON summary.
// With `writers`, it starts writing only once that many writers are ready, so
// they really write at the same time however long each took to start.
import { existsSync, writeFileSync } from 'node:fs';

const { createSqliteSink } = await import(process.env.SINK_BUNDLE);
const [path, writerId, countArg, batchArg, writersArg = '1'] = process.argv.slice(2);
const count = Number(countArg);
const batch = Number(batchArg);
const T0 = Date.UTC(2025, 0, 15, 12) * 1000;
const hex = (n, width) => n.toString(16).padStart(width, '0');
const problems = [];
const sink = createSqliteSink({
  path,
  retentionIntervalMs: 0,
  transactionSize: 25,
  serviceName: `writer-${writerId}`,
});
sink.attach({
  name: 'sqlite',
  signal: new AbortController().signal,
  recordDropped: (n, reason) => problems.push(`dropped ${n}: ${reason}`),
  reportError: (error) => problems.push(`error: ${error?.code ?? ''} ${error?.message ?? error}`),
});
await sink.whenReady();
writeFileSync(`${path}.ready-${writerId}`, '');
const waitUntil = Date.now() + 60_000;
for (let w = 1; w <= Number(writersArg); w++) {
  while (!existsSync(`${path}.ready-${w}`)) {
    if (Date.now() > waitUntil) throw new Error(`writer ${w} never became ready`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
const began = Date.now();
let written = 0;
for (let start = 0; start < count; start += batch) {
  const spans = [];
  for (let i = start; i < Math.min(count, start + batch); i++) {
    const trace_id = hex((i % 97) + 1, 32);
    const span_id = hex(Number(writerId) * 1_000_000 + i + 1, 16);
    const ids = { trace_id, span_id };
    spans.push({
      ...ids,
      parent_span_id: null,
      name: `w${writerId}`,
      kind: 'internal',
      start_time: T0 + i,
      end_time: T0 + i + 10,
      status: 'ok',
      attributes: { writer: Number(writerId), i },
      events: [
        {
          type: 'unstructured_log',
          ...ids,
          timestamp: T0 + i,
          message: 'm',
          severity: 'info',
          attributes: {},
        },
        {
          type: 'metric',
          ...ids,
          timestamp: T0 + i,
          metric: 'work',
          value: 1,
          unit: 'item',
          attributes: { shard: String(i % 3) },
        },
      ],
      ttl_seconds: 100 * 365 * 86400,
    });
  }
  await sink.writeSpans(spans);
  written += spans.length;
}
const ended = Date.now();
await sink.shutdown();
process.stdout.write(JSON.stringify({ written, problems, began, ended }));
