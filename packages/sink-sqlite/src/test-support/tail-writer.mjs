// Writes `batches` batches of `size` spans to a shared database file, one
// batch every `pauseMs`, as another process would while someone tails the
// file. Prints one JSON line per committed batch with its span ids.
const { createSqliteSink } = await import(process.env.SINK_BUNDLE);
const [path, batchesArg, sizeArg, pauseArg] = process.argv.slice(2);
const batches = Number(batchesArg);
const size = Number(sizeArg);
const pauseMs = Number(pauseArg);
const T0 = Date.UTC(2025, 0, 15, 12) * 1000;
const hex = (n, width) => n.toString(16).padStart(width, '0');
const sink = createSqliteSink({ path, retentionIntervalMs: 0, serviceName: 'tail-writer' });
await sink.whenReady();
for (let b = 0; b < batches; b++) {
  const spans = [];
  for (let i = 0; i < size; i++) {
    const n = 0x7000 + b * size + i;
    spans.push({
      trace_id: hex(0x7000 + b, 32),
      span_id: hex(n, 16),
      parent_span_id: i === 0 ? null : hex(0x7000 + b * size, 16),
      name: `batch-${b}`,
      kind: 'internal',
      start_time: T0 + n,
      end_time: T0 + n + 10,
      status: 'ok',
      attributes: { batch: b, i },
      events: [],
      ttl_seconds: 100 * 365 * 86400,
    });
  }
  await sink.writeSpans(spans);
  process.stdout.write(`${JSON.stringify({ batch: b, spans: spans.map((s) => s.span_id) })}\n`);
  await new Promise((r) => setTimeout(r, pauseMs));
}
await sink.shutdown();
