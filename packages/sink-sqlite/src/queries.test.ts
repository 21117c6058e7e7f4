import { TelemetryNotFoundError, TelemetryValidationError } from '@telemetry/core';
import { createSqliteSink, type SqliteSink } from '@telemetry/sink-sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataset } from './test-support/dataset.ts';
import { sid, span, T0, tid } from './test-support/fixtures.ts';

let sink: SqliteSink;

beforeAll(async () => {
  sink = createSqliteSink();
  await sink.writeSpans(dataset());
});
afterAll(() => sink.shutdown());

const ids = (traces: { trace_id: string }[]) => traces.map((t) => t.trace_id);

describe('queryTraces', () => {
  it('lists traces whose local root has ended, oldest first, with ISO microsecond times', async () => {
    expect(await sink.queryTraces()).toEqual([
      {
        trace_id: tid(1),
        root_span_id: sid(1),
        start_time: '2025-01-15T12:00:00.000000Z',
        end_time: '2025-01-15T12:00:00.010000Z',
      },
      {
        trace_id: tid(2),
        root_span_id: sid(11),
        start_time: '2025-01-15T12:00:01.000000Z',
        end_time: '2025-01-15T12:00:01.005000Z',
      },
      {
        trace_id: tid(4),
        root_span_id: sid(31),
        start_time: '2025-01-15T12:00:02.000000Z',
        end_time: '2025-01-15T12:00:02.001000Z',
      },
      {
        trace_id: tid(5),
        root_span_id: sid(41),
        start_time: '2025-01-15T12:00:03.000000Z',
        end_time: '2025-01-15T12:00:03.001000Z',
      },
    ]);
  });

  it('eq matches a span attribute; a trace whose root has not ended is left out', async () => {
    // Trace 3 has a span with user=alice but its local root never ended.
    expect(
      ids(
        await sink.queryTraces({ attribute_filters: [{ key: 'user', op: 'eq', value: 'alice' }] }),
      ),
    ).toEqual([tid(1)]);
  });

  it('ne needs the key: a trace without it matches neither eq nor ne', async () => {
    const ne = await sink.queryTraces({
      attribute_filters: [{ key: 'user', op: 'ne', value: 'alice' }],
    });
    // Trace 1 matches through span 4 (bob); trace 5 has no `user` at all.
    expect(ids(ne)).toEqual([tid(1), tid(2), tid(4)]);
    const eq = await sink.queryTraces({
      attribute_filters: [{ key: 'user', op: 'eq', value: 'nobody' }],
    });
    expect(eq).toEqual([]);
  });

  it('all filters must hold on the same span', async () => {
    expect(
      await sink.queryTraces({
        attribute_filters: [
          { key: 'user', op: 'eq', value: 'alice' },
          { key: 'model', op: 'eq', value: 'llama' },
        ],
      }),
    ).toEqual([]);
    expect(
      ids(
        await sink.queryTraces({
          attribute_filters: [
            { key: 'model', op: 'eq', value: 'llama' },
            { key: 'tokens', op: 'eq', value: 42 },
          ],
        }),
      ),
    ).toEqual([tid(1)]);
  });

  it('gt and lt compare numbers as numbers and never across types', async () => {
    expect(
      ids(await sink.queryTraces({ attribute_filters: [{ key: 'tokens', op: 'gt', value: 10 }] })),
    ).toEqual([tid(1)]);
    expect(
      ids(await sink.queryTraces({ attribute_filters: [{ key: 'tokens', op: 'lt', value: 10 }] })),
    ).toEqual([tid(2)]);
    expect(
      await sink.queryTraces({ attribute_filters: [{ key: 'tokens', op: 'eq', value: '42' }] }),
    ).toEqual([]);
    expect(
      await sink.queryTraces({ attribute_filters: [{ key: 'user', op: 'gt', value: 5 }] }),
    ).toEqual([]);
    expect(
      ids(await sink.queryTraces({ attribute_filters: [{ key: 'user', op: 'gt', value: 'b' }] })),
    ).toEqual([tid(1), tid(2), tid(4)]);
  });

  it('booleans match booleans only', async () => {
    expect(
      ids(
        await sink.queryTraces({ attribute_filters: [{ key: '__root__', op: 'eq', value: true }] }),
      ),
    ).toEqual([tid(1), tid(2), tid(4), tid(5)]);
    expect(
      await sink.queryTraces({ attribute_filters: [{ key: 'other', op: 'eq', value: true }] }),
    ).toEqual([]);
    expect(
      ids(await sink.queryTraces({ attribute_filters: [{ key: 'other', op: 'eq', value: 1 }] })),
    ).toEqual([tid(5)]);
  });

  it('addresses keys with dots, quotes, spaces and brackets literally', async () => {
    // The reference read `http.status` as a nested JSON path and found nothing.
    expect(
      ids(
        await sink.queryTraces({
          attribute_filters: [{ key: 'http.status', op: 'eq', value: 200 }],
        }),
      ),
    ).toEqual([tid(1)]);
    expect(
      ids(
        await sink.queryTraces({
          attribute_filters: [{ key: 'weird.key "x" [0]', op: 'eq', value: 'yes' }],
        }),
      ),
    ).toEqual([tid(1)]);
  });

  it('orders by a fixed list of trace columns, - for descending, and pages', async () => {
    expect(ids(await sink.queryTraces({ order_by: ['-start_time'] }))).toEqual([
      tid(5),
      tid(4),
      tid(2),
      tid(1),
    ]);
    expect(ids(await sink.queryTraces({ order_by: ['-end_time'], limit: 2 }))).toEqual([
      tid(5),
      tid(4),
    ]);
    expect(ids(await sink.queryTraces({ order_by: ['-end_time'], limit: 2, offset: 2 }))).toEqual([
      tid(2),
      tid(1),
    ]);
    expect(ids(await sink.queryTraces({ order_by: ['root_span_id'], offset: 3 }))).toEqual([
      tid(5),
    ]);
  });

  it('treats limit null as the default (the reference sent LIMIT None to SQLite)', async () => {
    expect(ids(await sink.queryTraces({ limit: null, offset: null }))).toEqual([
      tid(1),
      tid(2),
      tid(4),
      tid(5),
    ]);
  });

  it('rejects unknown order_by fields, listing every problem', async () => {
    const error = await sink
      .queryTraces({ order_by: ['start_time', 'name', '-bogus'], limit: 0 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelemetryValidationError);
    expect((error as TelemetryValidationError).issues.map((i) => i.path)).toEqual(['limit']);
    const second = await sink
      .queryTraces({ order_by: ['start_time', 'name', '-bogus'] })
      .catch((e: unknown) => e);
    expect((second as TelemetryValidationError).message).toMatchInlineSnapshot(`
      "Invalid queryTraces parameters (2 problems):
        - order_by[1]: expected one of trace_id, root_span_id, service_name, start_time, end_time (prefix '-' for descending), got "name"
        - order_by[2]: expected one of trace_id, root_span_id, service_name, start_time, end_time (prefix '-' for descending), got "-bogus""
    `);
  });

  it('rejects gt/lt against null', async () => {
    await expect(
      sink.queryTraces({ attribute_filters: [{ key: 'tokens', op: 'gt', value: null }] }),
    ).rejects.toThrow(/attribute_filters\[0\]\.value: 'gt' needs a string, number or boolean/);
  });
});

describe('getTrace and getSpan', () => {
  it('returns a trace', async () => {
    expect(await sink.getTrace(tid(2))).toEqual({
      trace_id: tid(2),
      root_span_id: sid(11),
      start_time: '2025-01-15T12:00:01.000000Z',
      end_time: '2025-01-15T12:00:01.005000Z',
    });
  });

  it('gives a typed not-found error for an unknown trace or one whose root has not ended', async () => {
    const error = await sink.getTrace(tid(99)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelemetryNotFoundError);
    expect((error as Error).message).toBe(`Trace ${tid(99)} not found`);
    await expect(sink.getTrace(tid(3))).rejects.toThrow(`Trace ${tid(3)} not found`);
  });

  it('returns a span with its attributes as an object', async () => {
    expect(await sink.getSpan(tid(1), sid(2))).toEqual({
      span_id: sid(2),
      trace_id: tid(1),
      parent_span_id: sid(1),
      name: 'llm',
      start_time: '2025-01-15T12:00:00.001000Z',
      end_time: '2025-01-15T12:00:00.005000Z',
      attributes: { model: 'llama', 'weird.key "x" [0]': 'yes', tokens: 42 },
    });
  });

  it('finds a span only in its own trace', async () => {
    const error = await sink.getSpan(tid(2), sid(2)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelemetryNotFoundError);
    expect((error as Error).message).toBe(`Span ${sid(2)} not found`);
  });

  it('accepts upper-case ids and rejects malformed ones with a validation error', async () => {
    expect((await sink.getSpan(tid(1).toUpperCase(), sid(1).toUpperCase())).name).toBe('root-a');
    const error = await sink.getSpan('nope', 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelemetryValidationError);
    expect((error as TelemetryValidationError).issues.map((i) => i.path)).toEqual([
      'trace_id',
      'span_id',
    ]);
  });
});

describe('getSpanTree', () => {
  it('walks the tree: root at depth 1, ordered by depth then start time, status included', async () => {
    const tree = await sink.getSpanTree(sid(1));
    expect(Object.keys(tree)).toEqual([sid(1), sid(2), sid(4), sid(3)]);
    expect(tree[sid(4)]).toEqual({
      span_id: sid(4),
      trace_id: tid(1),
      parent_span_id: sid(1),
      name: 'db',
      start_time: '2025-01-15T12:00:00.006000Z',
      end_time: '2025-01-15T12:00:00.007000Z',
      attributes: { user: 'bob', 'error.type': 'Error' },
      status: 'error',
    });
    expect(tree[sid(1)]!.status).toBe('ok');
  });

  it('stays inside the trace: a span of another trace with a colliding parent id is not a child', async () => {
    const tree = await sink.getSpanTree(sid(2));
    expect(Object.keys(tree)).toEqual([sid(2), sid(3)]);
  });

  it('limits depth (max_depth 1 is the span alone)', async () => {
    expect(Object.keys(await sink.getSpanTree(sid(1), { max_depth: 2 }))).toEqual([
      sid(1),
      sid(2),
      sid(4),
    ]);
    expect(Object.keys(await sink.getSpanTree(sid(1), { max_depth: 1 }))).toEqual([sid(1)]);
  });

  it('projects attributes, null for missing keys, dotted keys read literally', async () => {
    const tree = await sink.getSpanTree(sid(1), {
      attributes_to_return: ['model', 'http.status', 'missing'],
    });
    expect(Object.values(tree).map((s) => s.attributes)).toEqual([
      { model: null, 'http.status': 200, missing: null },
      { model: 'llama', 'http.status': null, missing: null },
      { model: null, 'http.status': null, missing: null },
      { model: 'llama', 'http.status': null, missing: null },
    ]);
  });

  it('gives a typed not-found error for an unknown span', async () => {
    const error = await sink.getSpanTree(sid(999)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelemetryNotFoundError);
    expect((error as Error).message).toBe(`Span ${sid(999)} not found`);
  });
});

describe('querySpans', () => {
  it('returns spans of matching traces that carry every attribute asked for, each with its own trace id', async () => {
    const spans = await sink.querySpans({
      attribute_filters: [{ key: 'user', op: 'eq', value: 'bob' }],
      attributes_to_return: ['model'],
    });
    // The reference put the root span id in trace_id.
    expect(spans).toEqual([
      {
        span_id: sid(2),
        trace_id: tid(1),
        parent_span_id: sid(1),
        name: 'llm',
        start_time: '2025-01-15T12:00:00.001000Z',
        end_time: '2025-01-15T12:00:00.005000Z',
        attributes: { model: 'llama' },
      },
      {
        span_id: sid(3),
        trace_id: tid(1),
        parent_span_id: sid(2),
        name: 'tool',
        start_time: '2025-01-15T12:00:00.002000Z',
        end_time: '2025-01-15T12:00:00.003000Z',
        attributes: { model: 'llama' },
      },
      {
        span_id: sid(12),
        trace_id: tid(2),
        parent_span_id: sid(11),
        name: 'llm',
        start_time: '2025-01-15T12:00:01.001000Z',
        end_time: '2025-01-15T12:00:01.002000Z',
        attributes: { model: 'gpt' },
      },
    ]);
  });

  it('honours max_depth from each local root', async () => {
    const spans = await sink.querySpans({
      attribute_filters: [{ key: 'user', op: 'eq', value: 'bob' }],
      attributes_to_return: ['model'],
      max_depth: 2,
    });
    expect(spans.map((s) => s.span_id)).toEqual([sid(2), sid(12)]);
  });

  it('returns whole trees with all attributes when none are asked for, and pages', async () => {
    const all = await sink.querySpans({
      attribute_filters: [{ key: 'user', op: 'eq', value: 'bob' }],
    });
    expect(all.map((s) => [s.trace_id, s.span_id])).toEqual([
      [tid(1), sid(1)],
      [tid(1), sid(2)],
      [tid(1), sid(4)],
      [tid(1), sid(3)],
      [tid(2), sid(11)],
      [tid(2), sid(12)],
    ]);
    expect(all[0]!.attributes).toEqual({ __root__: true, user: 'alice', 'http.status': 200 });
    const page = await sink.querySpans({
      attribute_filters: [{ key: 'user', op: 'eq', value: 'bob' }],
      limit: 2,
      offset: 3,
    });
    expect(page.map((s) => s.span_id)).toEqual([sid(3), sid(11)]);
  });

  it('matches every trace when the filter list is empty', async () => {
    const all = await sink.querySpans({ attribute_filters: [], attributes_to_return: ['user'] });
    expect(all.map((s) => s.span_id)).toEqual([sid(1), sid(4), sid(11), sid(31)]);
  });
});

describe('filters matching many spans (planned as a walk over traces)', () => {
  // 400 traces x 10 spans: `common` is on all 4,000 spans and `bucket` on 2,000
  // each, past the point where a filter counts as dense.
  const traces = 400;
  let big: SqliteSink;
  beforeAll(async () => {
    big = createSqliteSink({ retentionIntervalMs: 0 });
    const spans = [];
    for (let t = 0; t < traces; t++) {
      for (let k = 0; k < 10; k++) {
        spans.push(
          span({
            trace_id: tid(1000 + t),
            span_id: sid(10_000 + t * 10 + k),
            parent_span_id: k === 0 ? null : sid(10_000 + t * 10),
            start_time: T0 + t * 1000 + k,
            end_time: T0 + t * 1000 + k + 1,
            attributes: { common: 'yes', bucket: t % 2, tag: `t${t % 7}`, k },
          }),
        );
      }
    }
    await big.writeSpans(spans);
  });
  afterAll(() => big.shutdown());

  const expected = (keep: (t: number) => boolean) =>
    Array.from({ length: traces }, (_, t) => t)
      .filter(keep)
      .map((t) => tid(1000 + t));

  it('returns 100 traces by default, and for limit null', async () => {
    expect(ids(await big.queryTraces())).toEqual(expected((t) => t < 100));
    expect(ids(await big.queryTraces({ limit: null, offset: 100 }))).toEqual(
      expected((t) => t >= 100 && t < 200),
    );
  });

  it('answers exactly as the selective plan would', async () => {
    expect(
      ids(
        await big.queryTraces({
          attribute_filters: [{ key: 'common', op: 'eq', value: 'yes' }],
          limit: 1000,
        }),
      ),
    ).toEqual(expected(() => true));
    expect(
      ids(
        await big.queryTraces({
          attribute_filters: [
            { key: 'common', op: 'eq', value: 'yes' },
            { key: 'bucket', op: 'eq', value: 1 },
          ],
          limit: 1000,
        }),
      ),
    ).toEqual(expected((t) => t % 2 === 1));
    expect(
      ids(
        await big.queryTraces({
          attribute_filters: [{ key: 'bucket', op: 'ne', value: 1 }],
          order_by: ['-start_time'],
          limit: 5,
          offset: 3,
        }),
      ),
    ).toEqual(
      expected((t) => t % 2 === 0)
        .reverse()
        .slice(3, 8),
    );
    // All three must hold on one span: k > 8 is true of one span per trace.
    expect(
      ids(
        await big.queryTraces({
          attribute_filters: [
            { key: 'common', op: 'eq', value: 'yes' },
            { key: 'k', op: 'gt', value: 8 },
            { key: 'bucket', op: 'lt', value: 1 },
          ],
          limit: 1000,
        }),
      ),
    ).toEqual(expected((t) => t % 2 === 0));
    const spans = await big.querySpans({
      attribute_filters: [
        { key: 'common', op: 'eq', value: 'yes' },
        { key: 'bucket', op: 'eq', value: 0 },
      ],
      attributes_to_return: ['tag'],
      max_depth: 1,
      limit: 3,
      offset: 1,
    });
    expect(spans.map((s) => [s.trace_id, s.attributes])).toEqual([
      [tid(1002), { tag: 't2' }],
      [tid(1004), { tag: 't4' }],
      [tid(1006), { tag: 't6' }],
    ]);
  });
});
