// Runs bucketed metric queries in a process whose TZ is set by the parent test.
const { createSqliteSink } = await import(process.env.SINK_BUNDLE);
const [path, start, end] = process.argv.slice(2);
const sink = createSqliteSink({ path, retentionIntervalMs: 0 });
const out = { offsetMinutes: new Date(Number(start) * 1000).getTimezoneOffset(), results: {} };
for (const granularity of ['1h', '1d', '5m']) {
  out.results[granularity] = await sink.queryMetrics('tokens', {
    query_type: 'range',
    start_time: Number(start),
    end_time: Number(end),
    granularity,
    label_matchers: [{ name: 'model', operator: '=', value: 'llama' }],
  });
}
await sink.shutdown();
process.stdout.write(JSON.stringify(out));
