// Another process writing into the same SQLite file: one span every `interval`
// ms, named `argv[3]-<n>`; prints each name with the time its write committed.
import { createSqliteSink } from '@telemetry/sink-sqlite';

const [path, prefix, count, interval] = process.argv.slice(2);
const sink = createSqliteSink({ path, retentionIntervalMs: 0 });
const hex = (n, width) => n.toString(16).padStart(width, '0');
const base = Math.floor(Math.random() * 0xffffff);
for (let i = 0; i < Number(count); i++) {
  await new Promise((resolve) => setTimeout(resolve, Number(interval)));
  const now = Date.now() * 1000;
  const name = `${prefix}-${i}`;
  await sink.writeSpans([
    {
      trace_id: hex(base, 24) + hex(i + 1, 8),
      span_id: hex(base, 8) + hex(i + 1, 8),
      parent_span_id: null,
      name,
      kind: 'internal',
      start_time: now - 2_000,
      end_time: now,
      status: i % 2 === 0 ? 'ok' : 'error',
      attributes: { writer: 'span-writer' },
      events: [],
      ttl_seconds: 86_400,
    },
  ]);
  process.stdout.write(`${JSON.stringify({ name, committed: Date.now() })}\n`);
}
await sink.shutdown();
