/**
 * A seeded fuzz of query parameters against a populated store, hostile rows
 * included: malformed and extreme values of every type in every field. No
 * call may crash, hang, or fail any other way than a TelemetryValidationError
 * naming its fields (or TelemetryNotFoundError for a well-formed unknown id),
 * and the store answers as before afterwards. The calls run in a child
 * process with a deadline, so a hang fails the test instead of the run.
 *
 * FUZZ_SEED and FUZZ_CALLS change the run (the seed is printed on failure).
 */
import { join } from 'node:path';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import Sqlite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataset } from './test-support/dataset.ts';
import { metric, sid, span, T0, tempDir, tid } from './test-support/fixtures.ts';
import { insertRawSpan, insertRawTrace } from './test-support/hostile.ts';
import { type QueryCall, runQueries, type Tagged } from './test-support/query-runner.ts';
import { seeded } from './test-support/random.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 11_13);
const CALLS = Number(process.env.FUZZ_CALLS ?? 2_500);

const tmp = tempDir();
const path = join(tmp.dir, 'fuzz.db');
afterAll(() => tmp.cleanup());

beforeAll(async () => {
  const sink = createSqliteSink({ path, retentionIntervalMs: 0 });
  const m = { trace_id: tid(0x90), span_id: sid(0x90) };
  await sink.writeSpans([
    ...dataset(),
    span({
      ...m,
      events: [
        metric(m, 'tokens', 1, T0, { model: 'a'.repeat(64) }),
        metric(m, 'tokens', 2, T0 + 1, { model: 'llama', route: '/chat' }),
      ],
    }),
  ]);
  await sink.shutdown();
  const db = new Sqlite(path);
  insertRawSpan(db, {
    trace_id: tid(0x91),
    span_id: sid(0x91),
    parent_span_id: sid(0x91),
    start_time: 'x',
  });
  insertRawTrace(db, { trace_id: tid(0x91), root_span_id: sid(0x91), start_time: 1e300 });
  insertRawSpan(db, {
    trace_id: tid(0x92),
    span_id: sid(0x92),
    parent_span_id: sid(0x93),
    attributes: '[',
  });
  insertRawSpan(db, { trace_id: tid(0x92), span_id: sid(0x93), parent_span_id: sid(0x92) });
  insertRawTrace(db, { trace_id: tid(0x92), root_span_id: sid(0x92) });
  db.close();
});

const random = seeded(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const chance = (p: number) => random() < p;

const tag = (t: Tagged) => t;
const SCALARS: unknown[] = [
  '',
  ' ',
  'a',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '🙂',
  "'; DROP TABLE spans; --",
  '%_',
  '$."user"',
  '__proto__',
  'constructor',
  'toString',
  tag({ $: 'repeat', v: 'x', n: 200_000 }),
  0,
  1,
  -1,
  0.5,
  2 ** 31,
  2 ** 53,
  2 ** 53 + 2,
  1e308,
  -1e308,
  253_402_300_799,
  253_402_300_800,
  tag({ $: '-0' }),
  tag({ $: 'NaN' }),
  tag({ $: 'Infinity' }),
  tag({ $: '-Infinity' }),
  true,
  false,
  null,
  tag({ $: 'undefined' }),
  tag({ $: 'bigint', v: '12345678901234567890' }),
  tag({ $: 'date', v: 0 }),
  tag({ $: 'date', v: 'not a date' }),
  tag({ $: 'symbol' }),
  tag({ $: 'function' }),
  tag({ $: 'map' }),
];
const IDS = [tid(1), tid(2), tid(0x91), tid(0x92), tid(0xdead), 'F'.repeat(32), '0'.repeat(32)];
const SPAN_IDS = [
  sid(1),
  sid(2),
  sid(31),
  sid(0x91),
  sid(0x92),
  sid(0xbeef),
  'A'.repeat(16),
  '0'.repeat(16),
];
const KEYS = ['user', 'model', 'tokens', 'http.status', 'weird.key "x" [0]', '__root__', 'missing'];
const REGEXES = [
  'llama',
  'llama.*',
  '(a+)+$',
  '(.*)*x',
  '(a|aa)+b',
  '(a)\\1',
  '(?=a)',
  '[',
  'a)|(b',
  '\\p{Greek}+',
  'a{1000}'.repeat(12),
  tag({ $: 'repeat', v: '(a|b)', n: 2_000 }),
];

function anything(depth = 0): unknown {
  const roll = random();
  if (roll < 0.7 || depth > 2) return pick(SCALARS);
  if (roll < 0.8) return [];
  if (roll < 0.9)
    return Array.from({ length: 1 + Math.floor(random() * 3) }, () => anything(depth + 1));
  const out: Record<string, unknown> = {};
  for (let i = 0; i < 1 + Math.floor(random() * 3); i++)
    out[pick([...KEYS, 'key', 'op', 'value'])] = anything(depth + 1);
  return out;
}

/** A valid value most of the time, else anything at all (or the field left out). */
function maybe(valid: () => unknown, p = 0.6): unknown {
  if (chance(p)) return valid();
  return chance(0.2) ? tag({ $: 'undefined' }) : anything();
}

function list(item: () => unknown, max = 4): unknown {
  if (chance(0.05)) return tag({ $: 'repeat', v: [item()], n: pick([65, 1_001, 100_000]) });
  if (chance(0.1)) return anything();
  return Array.from({ length: Math.floor(random() * (max + 1)) }, item);
}

const condition = () =>
  maybe(
    () => ({
      key: maybe(() => pick(KEYS), 0.8),
      op: maybe(() => pick(['eq', 'ne', 'gt', 'lt']), 0.8),
      value: maybe(() => pick(['alice', 'bob', 'llama', 42, 7, true, null, ['x', 'y'], 0.5]), 0.6),
    }),
    0.85,
  );
const depth = () => maybe(() => pick([0, 1, 2, 3, 10, null]));
const keys = () => list(() => maybe(() => pick(KEYS), 0.9), 3);

function params(build: () => Record<string, unknown>): unknown {
  if (chance(0.05)) return anything();
  const out = build();
  if (chance(0.1)) out[pick(['extra', '__proto__', 'constructor'])] = anything();
  return out;
}

function call(): QueryCall {
  switch (
    pick([
      'queryTraces',
      'getTrace',
      'getSpan',
      'getSpanTree',
      'querySpans',
      'saveSpansToDataset',
      'queryMetrics',
    ] as const)
  ) {
    case 'queryTraces':
      return {
        method: 'queryTraces',
        args: [
          params(() => ({
            attribute_filters: maybe(() => list(condition)),
            limit: maybe(() => pick([1, 2, 100, 2 ** 53 - 1, null])),
            offset: maybe(() => pick([0, 1, 3, 2 ** 53 - 1, null])),
            order_by: maybe(() =>
              list(() =>
                maybe(
                  () => pick(['start_time', '-end_time', 'trace_id', '-service_name', 'nope']),
                  0.8,
                ),
              ),
            ),
          })),
        ],
      };
    case 'getTrace':
      return { method: 'getTrace', args: [maybe(() => pick(IDS), 0.7)] };
    case 'getSpan':
      return {
        method: 'getSpan',
        args: [maybe(() => pick(IDS), 0.7), maybe(() => pick(SPAN_IDS), 0.7)],
      };
    case 'getSpanTree':
      return {
        method: 'getSpanTree',
        args: [
          maybe(() => pick(SPAN_IDS), 0.8),
          params(() => ({ attributes_to_return: maybe(keys), max_depth: depth() })),
        ],
      };
    case 'querySpans':
      return {
        method: 'querySpans',
        args: [
          params(() => ({
            attribute_filters: maybe(() => list(condition), 0.9),
            attributes_to_return: maybe(keys),
            max_depth: depth(),
            limit: maybe(() => pick([1, 5, 50, null])),
            offset: maybe(() => pick([0, 2, 1_000])),
          })),
        ],
      };
    case 'saveSpansToDataset':
      return {
        method: 'saveSpansToDataset',
        args: [
          params(() => ({
            attribute_filters: maybe(() => list(condition), 0.9),
            attributes_to_save: maybe(keys, 0.9),
            dataset_id: maybe(() => pick(['d', 'eval-1']), 0.9),
            max_depth: depth(),
          })),
        ],
      };
    default:
      return {
        method: 'queryMetrics',
        args: [
          maybe(() => pick(['tokens', 'latency', 'nothing']), 0.85),
          params(() => ({
            query_type: maybe(() => pick(['range', 'instant']), 0.85),
            start_time: maybe(() => pick([0, Math.floor(T0 / 1e6) - 10, 253_402_300_799])),
            end_time: maybe(() => pick([Math.floor(T0 / 1e6) + 10, 253_402_300_799, null])),
            granularity: maybe(() => pick(['1s', '5m', '1h', '1d', '99999999999999999999d', null])),
            label_matchers: maybe(() =>
              list(() =>
                maybe(
                  () => ({
                    name: maybe(() => pick(['model', 'route', 'none']), 0.9),
                    value: maybe(() => pick(REGEXES), 0.9),
                    operator: maybe(() => pick(['=', '!=', '=~', '!~']), 0.9),
                  }),
                  0.9,
                ),
              ),
            ),
          })),
        ],
      };
  }
}

describe(`fuzzed query parameters (seed ${SEED}, ${CALLS} calls)`, () => {
  it('never crash or hang; every error is a validation error naming its fields; the store still answers', async () => {
    const probe: QueryCall[] = [
      { method: 'queryTraces', args: [{ limit: 1000 }] },
      { method: 'getSpanTree', args: [sid(1)] },
      {
        method: 'queryMetrics',
        args: ['tokens', { query_type: 'instant', start_time: 0, end_time: 253_402_300_799 }],
      },
    ];
    const calls = Array.from({ length: CALLS }, call);
    const { outcomes } = await runQueries(tmp.dir, path, [...probe, ...calls, ...probe], 240_000);
    expect(outcomes).toHaveLength(calls.length + 2 * probe.length);
    const failures: string[] = [];
    let answered = 0;
    let invalid = 0;
    let notFound = 0;
    calls.forEach((c, i) => {
      const o = outcomes[probe.length + i]!;
      if (!o.error) {
        answered++;
        return;
      }
      const e = o.error;
      if (e.code === 'TELEMETRY_NOT_FOUND' && /^(getTrace|getSpan|getSpanTree)$/.test(c.method)) {
        notFound++;
        return;
      }
      const named =
        e.name === 'TelemetryValidationError' &&
        e.code === 'TELEMETRY_INVALID_INPUT' &&
        (e.issues?.length ?? 0) > 0 &&
        e.issues!.every(
          (issue) =>
            /^[a-z_]+(\[\d+\])?(\.[a-z_]+(\[\d+\])?)*$/.test(issue.path) && issue.message !== '',
        );
      if (named) invalid++;
      else
        failures.push(`${JSON.stringify(c).slice(0, 400)} -> ${JSON.stringify(e).slice(0, 600)}`);
    });
    expect(failures, `seed ${SEED}`).toEqual([]);
    // The fuzz reached every kind of outcome, not only validation errors.
    expect(answered).toBeGreaterThan(CALLS / 10);
    expect(invalid).toBeGreaterThan(CALLS / 10);
    expect(notFound).toBeGreaterThan(0);
    // The same questions before and after: the same answers.
    const before = outcomes.slice(0, probe.length);
    const after = outcomes.slice(-probe.length);
    expect(after).toEqual(before);
    expect(before.every((o) => !o.error)).toBe(true);
    console.log(
      `fuzz seed ${SEED}: ${CALLS} calls, ${answered} answered, ${invalid} invalid, ${notFound} not found`,
    );
  }, 300_000);
});
