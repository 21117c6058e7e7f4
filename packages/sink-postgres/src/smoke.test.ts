import { createPostgresSink } from '@telemetry/sink-postgres';
import { expect, inject, it } from 'vitest';

const T0 = Date.UTC(2025, 0, 15, 12) * 1000;
it('smoke', async () => {
  const sink = createPostgresSink({
    connectionString: inject('postgresUrl'),
    retentionIntervalMs: 0,
  });
  await sink.whenReady();
  const tid = '0'.repeat(31) + '1';
  await sink.writeSpans([
    {
      trace_id: tid,
      span_id: '0'.repeat(15) + '1',
      parent_span_id: null,
      name: 'root',
      kind: 'internal',
      start_time: T0,
      end_time: T0 + 1000,
      status: 'ok',
      attributes: { user: 'alice', n: 3, __root__: true },
      events: [
        {
          type: 'metric',
          trace_id: tid,
          span_id: '0'.repeat(15) + '1',
          timestamp: T0,
          metric: 'tokens',
          value: 5,
          unit: 'tok',
          attributes: { m: 'x' },
        },
        {
          type: 'unstructured_log',
          trace_id: tid,
          span_id: '0'.repeat(15) + '1',
          timestamp: T0,
          message: 'hi\0there',
          severity: 'info',
          attributes: {},
        },
      ],
      ttl_seconds: 1e9,
    } as never,
    {
      trace_id: tid,
      span_id: '0'.repeat(15) + '2',
      parent_span_id: '0'.repeat(15) + '1',
      name: 'child\0x',
      kind: 'internal',
      start_time: T0 + 10,
      end_time: T0 + 500,
      status: 'error',
      attributes: { user: 'bob', long: 'x'.repeat(10000) },
      events: [],
      ttl_seconds: 1e9,
    } as never,
  ]);
  console.log(
    await sink.queryTraces({ attribute_filters: [{ key: 'user', op: 'eq', value: 'bob' }] }),
  );
  console.log(await sink.queryTraces({ attribute_filters: [{ key: 'n', op: 'gt', value: 2 }] }));
  console.log(
    await sink.queryTraces({
      attribute_filters: [{ key: 'long', op: 'eq', value: 'x'.repeat(10000) }],
    }),
  );
  console.log(await sink.getSpanTree('0'.repeat(15) + '1'));
  console.log(
    JSON.stringify(
      await sink.queryMetrics('tokens', {
        query_type: 'range',
        start_time: T0 / 1e6 - 7200,
        end_time: T0 / 1e6 + 3600,
        granularity: '1h',
      }),
    ),
  );
  console.log(
    JSON.stringify(
      await sink.queryMetrics('tokens', {
        query_type: 'instant',
        start_time: T0 / 1e6 - 7200,
        end_time: T0 / 1e6 + 3600,
      }),
    ),
  );
  console.log(JSON.stringify(await sink.searchTraces({})));
  console.log(JSON.stringify((await sink.getTraceDetail(tid)).logs));
  console.log(JSON.stringify(await sink.suggest({ field: 'attribute_key' })));
  const t = await sink.tailSpans({});
  console.log(t.spans.length, t.cursor, JSON.stringify(await sink.tailSpans({ cursor: t.cursor })));
  console.log(
    await sink.querySpans({
      attribute_filters: [{ key: 'user', op: 'eq', value: 'alice' }],
      attributes_to_return: ['user'],
    }),
  );
  console.log(JSON.stringify(await sink.storeStats()));
  console.log(JSON.stringify(await sink.prune({ keep_spans: 1, vacuum: true })));
  console.log(JSON.stringify(await sink.purgeExpired()));
  await sink.shutdown();
  expect(1).toBe(1);
});
