// Writes batches of spans until it is killed, printing "committed <total>"
// after each batch has been written (one transaction per batch).
const { createSqliteSink } = await import(process.env.SINK_BUNDLE);
const [path, batchArg] = process.argv.slice(2);
const batch = Number(batchArg);
const T0 = Date.UTC(2025, 0, 15, 12) * 1000;
const hex = (n, width) => n.toString(16).padStart(width, '0');
const sink = createSqliteSink({ path, retentionIntervalMs: 0, transactionSize: batch });
sink.attach({
  name: 'sqlite',
  signal: new AbortController().signal,
  recordDropped: (n, reason) => process.stderr.write(`dropped ${n}: ${reason}\n`),
  reportError: (error) => process.stderr.write(`error: ${error?.message ?? error}\n`),
});
let total = 0;
for (;;) {
  const spans = [];
  for (let i = 0; i < batch; i++) {
    const n = total + i;
    const ids = { trace_id: hex(Math.floor(n / 10) + 1, 32), span_id: hex(n + 1, 16) };
    spans.push({
      ...ids,
      parent_span_id: n % 10 === 0 ? null : hex(n - (n % 10) + 1, 16),
      name: 'load',
      kind: 'internal',
      start_time: T0 + n,
      end_time: T0 + n + 5,
      status: 'ok',
      attributes: { n, a: 'x'.repeat(50), b: n % 7, c: true, d: 'y' },
      events: [
        {
          type: 'unstructured_log',
          ...ids,
          timestamp: T0 + n,
          message: 'log',
          severity: 'info',
          attributes: {},
        },
      ],
      ttl_seconds: 100 * 365 * 86400,
    });
  }
  await sink.writeSpans(spans);
  total += batch;
  process.stdout.write(`committed ${total}\n`);
}
