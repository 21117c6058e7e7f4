/**
 * What the query methods accept: every input llama-stack-client's types allow
 * type-checks (issue 13), and what cannot be answered is a
 * TelemetryValidationError naming the field, never a TypeError or an SQLite
 * error; regular expressions are RE2, anchored as in Prometheus, and limited.
 */
import { TelemetryValidationError } from '@telemetry/core';
import {
  createSqliteSink,
  MAX_REGEX_EXPANDED_SIZE,
  MAX_REGEX_LENGTH,
  MAX_REGEX_PROGRAM_SIZE,
  QUERY_LIMITS,
  type SqliteSink,
} from '@telemetry/sink-sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, sid, span, T0, tid } from './test-support/fixtures.ts';

let sink: SqliteSink;
const S = 1_000_000;
const window = { start_time: Math.floor(T0 / S) - 1, end_time: Math.floor(T0 / S) + 1 };

beforeAll(async () => {
  sink = createSqliteSink({ retentionIntervalMs: 0 });
  const a = { trace_id: tid(1), span_id: sid(1) };
  await sink.writeSpans([
    span({
      ...a,
      // Array attributes, as OpenTelemetry instrumentation records them.
      attributes: { tags: ['x', 'y'], ports: [80, 443], name: 'a' } as never,
      events: [
        metric(a, 'tokens', 1, T0, { model: 'llama-3' }),
        metric(a, 'tokens', 2, T0, { model: 'line\nbreak' }),
        metric(a, 'tokens', 3, T0, { model: 'ab' }),
        metric(a, 'tokens', 4, T0),
      ],
    }),
    span({
      trace_id: tid(2),
      span_id: sid(2),
      start_time: T0 + 1,
      attributes: { tags: ['x'], name: 'b' } as never,
    }),
  ]);
});
afterAll(() => sink.shutdown());

async function issuesOf(call: Promise<unknown>): Promise<{ path: string; message: string }[]> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TelemetryValidationError);
  return [...(error as TelemetryValidationError).issues];
}

describe('attribute filter values', () => {
  it('an array compares for equality with array attributes', async () => {
    const traces = async (value: unknown, op: 'eq' | 'ne' = 'eq') =>
      (await sink.queryTraces({ attribute_filters: [{ key: 'tags', op, value }] })).map(
        (t) => t.trace_id,
      );
    expect(await traces(['x', 'y'])).toEqual([tid(1)]);
    expect(await traces(['x'])).toEqual([tid(2)]);
    expect(await traces(['y', 'x'])).toEqual([]);
    expect(await traces(['x'], 'ne')).toEqual([tid(1)]);
    expect(
      (
        await sink.queryTraces({
          attribute_filters: [{ key: 'ports', op: 'eq', value: [80, 443] }],
        })
      ).length,
    ).toBe(1);
  });

  it('a value that cannot be compared is refused at attribute_filters[i].value', async () => {
    const message = 'expected a string, finite number, boolean, null, or an array of those';
    for (const value of [
      { a: 1 },
      [[1]],
      [{}],
      Number.NaN,
      Number.POSITIVE_INFINITY,
      undefined,
      10n,
      () => 1,
      new Date(0),
    ]) {
      expect(
        await issuesOf(sink.queryTraces({ attribute_filters: [{ key: 'tags', op: 'eq', value }] })),
        String(value),
      ).toEqual([{ path: 'attribute_filters[0].value', message }]);
    }
    expect(
      await issuesOf(
        sink.querySpans({
          attribute_filters: [
            { key: 'n', op: 'gt', value: ['x'] },
            { key: 'n', op: 'lt', value: null },
          ],
        }),
      ),
    ).toEqual([
      {
        path: 'attribute_filters[0].value',
        message: "'gt' needs a string, number or boolean to compare with, got an array",
      },
      {
        path: 'attribute_filters[1].value',
        message: "'lt' needs a string, number or boolean to compare with, got null",
      },
    ]);
  });
});

describe('size limits', () => {
  const filters = (n: number) =>
    Array.from({ length: n }, () => ({ key: 'name', op: 'eq' as const, value: 'a' }));

  it('accept the limit itself', async () => {
    expect(
      await sink.queryTraces({ attribute_filters: filters(QUERY_LIMITS.attributeFilters) }),
    ).toHaveLength(1);
    const keys = Array.from({ length: QUERY_LIMITS.attributeKeys }, (_, i) => `k${i}`);
    expect(await sink.querySpans({ attribute_filters: [], attributes_to_return: keys })).toEqual(
      [],
    );
    const tree = await sink.getSpanTree(sid(1), { attributes_to_return: keys });
    expect(Object.keys(tree[sid(1)]!.attributes!)).toHaveLength(QUERY_LIMITS.attributeKeys);
  });

  it('refuse one more, before looking at the entries', async () => {
    const keys = Array.from({ length: QUERY_LIMITS.attributeKeys + 1 }, () => 1);
    expect(
      await issuesOf(
        sink.queryTraces({ attribute_filters: filters(QUERY_LIMITS.attributeFilters + 1) }),
      ),
    ).toEqual([
      {
        path: 'attribute_filters',
        message: `expected at most ${QUERY_LIMITS.attributeFilters} entries, got 65`,
      },
    ]);
    expect(
      await issuesOf(sink.queryTraces({ order_by: Array.from({ length: 17 }, () => 'x') })),
    ).toEqual([{ path: 'order_by', message: 'expected at most 16 entries, got 17' }]);
    expect(
      await issuesOf(
        sink.querySpans({ attribute_filters: [], attributes_to_return: keys as never }),
      ),
    ).toEqual([
      { path: 'attributes_to_return', message: 'expected at most 1000 entries, got 1001' },
    ]);
    expect(
      await issuesOf(
        sink.saveSpansToDataset({
          attribute_filters: [],
          attributes_to_save: keys as never,
          dataset_id: 'd',
        }),
      ),
    ).toEqual([{ path: 'attributes_to_save', message: 'expected at most 1000 entries, got 1001' }]);
    expect(
      await issuesOf(
        sink.queryMetrics('tokens', {
          query_type: 'instant',
          ...window,
          label_matchers: Array.from({ length: 65 }, () => ({
            name: 'a',
            value: 'b',
            operator: '=' as const,
          })),
        }),
      ),
    ).toEqual([{ path: 'label_matchers', message: 'expected at most 64 entries, got 65' }]);
  });

  it('metric times stay within years 1970 to 9999, and so do buckets', async () => {
    expect(
      await issuesOf(
        sink.queryMetrics('tokens', {
          query_type: 'range',
          start_time: 0,
          end_time: Number.MAX_SAFE_INTEGER,
          granularity: '99999999999999999999d',
        }),
      ),
    ).toEqual([
      {
        path: 'end_time',
        message: `expected unix seconds up to 253402300799 (9999-12-31T23:59:59Z), got ${Number.MAX_SAFE_INTEGER}`,
      },
      {
        path: 'granularity',
        message: 'expected at most 253402300799 seconds, got "99999999999999999999d"',
      },
    ]);
    // The widest window, in one-second buckets: counted, so it ends.
    const wide = await sink.queryMetrics('tokens', {
      query_type: 'range',
      start_time: 0,
      end_time: 253_402_300_799,
      granularity: '1s',
    });
    // Series in label order: ab, line\nbreak, llama-3, then the one without labels.
    expect(wide.map((s) => s.values)).toEqual(
      [3, 2, 1, 4].map((value) => [{ timestamp: Math.floor(T0 / S), value, unit: 'tokens' }]),
    );
  });
});

describe('label matcher regular expressions (RE2)', () => {
  const models = async (operator: '=~' | '!~', value: string) =>
    (
      await sink.queryMetrics('tokens', {
        query_type: 'instant',
        ...window,
        label_matchers: [{ name: 'model', operator, value }],
      })
    ).map((s) => s.labels.find((l) => l.name === 'model')?.value ?? '');

  it('are anchored at both ends, and . matches a newline, as in Prometheus', async () => {
    expect(await models('=~', 'a|b')).toEqual([]);
    expect(await models('=~', 'ab|x')).toEqual(['ab']);
    expect(await models('=~', 'llama')).toEqual([]);
    expect(await models('=~', 'llama.*')).toEqual(['llama-3']);
    expect(await models('=~', 'line.break')).toEqual(['line\nbreak']);
    // A series without the label reads as "".
    expect(await models('=~', '')).toEqual(['']);
    expect(await models('!~', '.+')).toEqual(['']);
    expect(await models('=~', '(?i)LLAMA-\\d')).toEqual(['llama-3']);
  });

  it('refuse what RE2 does not have, naming label_matchers[i].value', async () => {
    const issues = await issuesOf(
      sink.queryMetrics('tokens', {
        query_type: 'instant',
        ...window,
        label_matchers: [
          { name: 'model', operator: '=~', value: '(a)\\1' },
          { name: 'model', operator: '=', value: '(' },
          { name: 'model', operator: '!~', value: '(?=a)' },
          { name: 'model', operator: '=~', value: '(?<!a)b' },
          { name: 'model', operator: '=~', value: 'a)|(b' },
        ],
      }),
    );
    expect(issues).toEqual([
      {
        path: 'label_matchers[0].value',
        message:
          'not a valid RE2 regular expression (no backreferences or lookaround): invalid escape sequence: `\\1`',
      },
      {
        path: 'label_matchers[2].value',
        message:
          'not a valid RE2 regular expression (no backreferences or lookaround): invalid or unsupported Perl syntax: `(?=`',
      },
      {
        path: 'label_matchers[3].value',
        message: expect.stringContaining('not a valid RE2 regular expression'),
      },
      {
        path: 'label_matchers[4].value',
        message:
          'not a valid RE2 regular expression (no backreferences or lookaround): unexpected ): `a)|(b`',
      },
    ]);
  });

  it('are limited in length, in size once repetitions are expanded, and in program size', async () => {
    const issues = await issuesOf(
      sink.queryMetrics('tokens', {
        query_type: 'instant',
        ...window,
        label_matchers: [
          { name: 'model', operator: '=~', value: 'a'.repeat(MAX_REGEX_LENGTH + 1) },
          { name: 'model', operator: '=~', value: 'a{1000}'.repeat(11) },
          { name: 'model', operator: '=~', value: '((a{100}){10}){11}' },
          { name: 'model', operator: '=~', value: '(?:[a-z]{1,1000})'.repeat(5) },
          { name: 'model', operator: '=~', value: 'a'.repeat(MAX_REGEX_LENGTH) },
        ],
      }),
    );
    expect(issues.map((i) => [i.path, i.message.split(':')[0]])).toEqual([
      ['label_matchers[0].value', 'regular expression too long'],
      ['label_matchers[1].value', 'regular expression too large'],
      ['label_matchers[2].value', 'regular expression too large'],
      ['label_matchers[3].value', 'regular expression too complex'],
    ]);
    expect([MAX_REGEX_LENGTH, MAX_REGEX_EXPANDED_SIZE, MAX_REGEX_PROGRAM_SIZE]).toEqual([
      4_096, 10_000, 5_000,
    ]);
    // Just under the limits compiles and answers.
    expect(await models('=~', `${'a{1000}'.repeat(4)}|ab`)).toEqual(['ab']);
  });
});
