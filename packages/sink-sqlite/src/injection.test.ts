/**
 * Every string a caller passes is tried with SQL-injection payloads. Nothing
 * may execute: the schema and every row count stay as they were, and the
 * caller gets either a clear validation error or an ordinary (empty) answer.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TelemetryValidationError } from '@telemetry/core';
import {
  createJsonlDatasetWriter,
  createSqliteSink,
  type SqliteSink,
} from '@telemetry/sink-sqlite';
import Sqlite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataset } from './test-support/dataset.ts';
import { sid, span, tempDir, tid } from './test-support/fixtures.ts';
import { M0, metricSpans } from './test-support/metrics-data.ts';

const PAYLOADS = [
  "'",
  '"',
  "x' OR '1'='1",
  'x" OR "1"="1',
  "'; DROP TABLE spans; --",
  '"); DROP TABLE traces; --',
  "$.a') OR 1=1 --",
  "a]' || (SELECT count(*) FROM spans) || '",
  "') UNION SELECT trace_id, root_span_id, start_time, end_time FROM traces --",
  '1; DELETE FROM span_events',
  "model' = 'llama' OR json_extract(attributes, '$.x",
  '%',
  '_',
  '\\',
  '\u0000',
  '*/ SELECT 1 /*',
];

const tmp = tempDir();
const path = join(tmp.dir, 'injection.db');
let sink: SqliteSink;
let inspector: Sqlite.Database;

function snapshot() {
  const tables = ['traces', 'spans', 'span_attributes', 'span_events', 'metric_series'];
  return {
    schema: inspector.prepare('select type, name, sql from sqlite_master order by name').all(),
    counts: Object.fromEntries(
      tables.map((t) => [
        t,
        (inspector.prepare(`select count(*) as n from ${t}`).get() as { n: number }).n,
      ]),
    ),
  };
}

let before: ReturnType<typeof snapshot>;

beforeAll(async () => {
  sink = createSqliteSink({ path, retentionIntervalMs: 0 });
  await sink.writeSpans([
    ...dataset(),
    ...metricSpans(),
    // Includes a key that is itself a payload: it must still be addressable, literally.
    ...stored().slice(dataset().length),
  ]);
  inspector = new Sqlite(path, { readonly: true });
  before = snapshot();
});

afterAll(async () => {
  inspector.close();
  await sink.shutdown();
  tmp.cleanup();
});

const stored = () => [
  ...dataset(),
  span({
    trace_id: tid(7),
    span_id: sid(71),
    attributes: { __root__: true, "'; DROP TABLE spans; --": 'literal' },
  }),
];

/**
 * What a string filter must match, worked out in plain JS over the stored
 * spans: traces with an ended local root and a span whose string value for
 * `key` compares as asked (SQLite's binary collation orders ASCII as JS does).
 */
function expectedTraces(key: string, op: 'eq' | 'ne' | 'gt' | 'lt', value: string): string[] {
  const spans = stored();
  const rooted = new Set(
    spans.filter((s) => s.attributes.__root__ === true || !s.parent_span_id).map((s) => s.trace_id),
  );
  const hit = new Set<string>();
  for (const s of spans) {
    const v = s.attributes[key];
    if (!rooted.has(s.trace_id) || v === undefined) continue;
    const ok =
      op === 'ne'
        ? v !== value
        : typeof v === 'string' &&
          (op === 'eq' ? v === value : op === 'gt' ? v > value : v < value);
    if (ok) hit.add(s.trace_id);
  }
  // Results come oldest first; these fixtures' trace ids rise with their start times.
  return [...hit].sort();
}

function unchanged() {
  expect(snapshot()).toEqual(before);
}

async function validationPaths(promise: Promise<unknown>): Promise<string[]> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TelemetryValidationError);
  return (error as TelemetryValidationError).issues.map((i) => i.path);
}

describe.each(PAYLOADS)('payload %j', (payload) => {
  it('as a filter key or value: compared as plain data, nothing executed', async () => {
    for (const op of ['eq', 'ne', 'gt', 'lt'] as const) {
      const byKey = await sink.queryTraces({
        attribute_filters: [{ key: payload, op, value: 'x' }],
      });
      expect(byKey.map((t) => t.trace_id)).toEqual(expectedTraces(payload, op, 'x'));
      const byValue = await sink.queryTraces({
        attribute_filters: [{ key: 'user', op, value: payload }],
      });
      expect(byValue.map((t) => t.trace_id)).toEqual(expectedTraces('user', op, payload));
      const spans = await sink.querySpans({
        attribute_filters: [{ key: payload, op: 'eq', value: payload }],
      });
      expect(spans).toEqual([]);
    }
    unchanged();
  });

  it('in order_by: a validation error', async () => {
    expect(await validationPaths(sink.queryTraces({ order_by: [payload] }))).toEqual([
      'order_by[0]',
    ]);
    expect(await validationPaths(sink.queryTraces({ order_by: [`-${payload}`] }))).toEqual([
      'order_by[0]',
    ]);
    unchanged();
  });

  it('in attributes_to_return: projected as a missing key', async () => {
    const tree = await sink.getSpanTree(sid(11), { attributes_to_return: [payload, 'user'] });
    expect(Object.values(tree).map((s) => s.attributes)).toEqual([
      { [payload]: null, user: 'bob' },
      { [payload]: null, user: null },
    ]);
    expect(
      await sink.querySpans({
        attribute_filters: [{ key: 'user', op: 'eq', value: 'bob' }],
        attributes_to_return: [payload],
      }),
    ).toEqual([]);
    unchanged();
  });

  it('as an id: a validation error', async () => {
    expect(await validationPaths(sink.getTrace(payload))).toEqual(['trace_id']);
    expect(await validationPaths(sink.getSpan(payload, payload))).toEqual(['trace_id', 'span_id']);
    expect(await validationPaths(sink.getSpanTree(payload))).toEqual(['span_id']);
    unchanged();
  });

  it('as a metric name or label matcher: empty, or every series when the label is absent', async () => {
    const window = { start_time: M0, end_time: M0 + 2 * 86_400 };
    expect(await sink.queryMetrics(payload, { query_type: 'range', ...window })).toEqual([]);
    expect(
      await sink.queryMetrics(`tokens${payload}`, { query_type: 'instant', ...window }),
    ).toEqual([]);
    const all = await sink.queryMetrics('tokens', { query_type: 'instant', ...window });
    expect(all).toHaveLength(4);
    expect(
      await sink.queryMetrics('tokens', {
        query_type: 'instant',
        ...window,
        label_matchers: [{ name: payload, operator: '=', value: 'llama' }],
      }),
    ).toEqual([]);
    expect(
      await sink.queryMetrics('tokens', {
        query_type: 'instant',
        ...window,
        label_matchers: [{ name: payload, operator: '!=', value: payload }],
      }),
    ).toEqual(all);
    expect(
      await sink.queryMetrics('tokens', {
        query_type: 'instant',
        ...window,
        label_matchers: [{ name: 'model', operator: '=', value: payload }],
      }),
    ).toEqual([]);
    // As a regular expression a payload either compiles (and matches no model) or is reported.
    const regex = await sink
      .queryMetrics('tokens', {
        query_type: 'instant',
        ...window,
        label_matchers: [{ name: 'model', operator: '=~', value: payload }],
      })
      .catch((e: unknown) => e);
    if (regex instanceof TelemetryValidationError) {
      expect(regex.issues.map((i) => i.path)).toEqual(['label_matchers[0].value']);
    } else {
      expect(regex).toEqual([]);
    }
    unchanged();
  });

  it('as a dataset id: passed verbatim to the caller’s writer; refused as a file name by the JSON-lines writer', async () => {
    const calls: [string, number][] = [];
    await sink.saveSpansToDataset(
      {
        attribute_filters: [{ key: 'user', op: 'eq', value: 'bob' }],
        attributes_to_save: ['model'],
        dataset_id: payload,
      },
      { appendRows: async (id, rows) => void calls.push([id, rows.length]) },
    );
    expect(calls).toEqual([[payload, 3]]);
    // As an attribute to save it is just a key no span has: no rows.
    await sink.saveSpansToDataset(
      {
        attribute_filters: [{ key: 'user', op: 'eq', value: 'bob' }],
        attributes_to_save: [payload],
        dataset_id: 'd',
      },
      { appendRows: async (id, rows) => void calls.push([id, rows.length]) },
    );
    expect(calls).toEqual([
      [payload, 3],
      ['d', 0],
    ]);
    const dir = join(tmp.dir, 'datasets');
    const jsonl = createJsonlDatasetWriter({ directory: dir });
    expect(
      await validationPaths(
        sink.saveSpansToDataset(
          {
            attribute_filters: [{ key: 'user', op: 'eq', value: 'bob' }],
            attributes_to_save: [],
            dataset_id: payload,
          },
          jsonl,
        ),
      ),
    ).toEqual(['dataset_id']);
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    unchanged();
  });
});

it('a key that looks like SQL is stored and found literally', async () => {
  expect(
    (
      await sink.queryTraces({
        attribute_filters: [{ key: "'; DROP TABLE spans; --", op: 'eq', value: 'literal' }],
      })
    ).map((t) => t.trace_id),
  ).toEqual([tid(7)]);
  unchanged();
});

it('path traversal in a dataset id never leaves the directory', async () => {
  const jsonl = createJsonlDatasetWriter({ directory: join(tmp.dir, 'ds') });
  for (const id of ['../escape', '..', '/etc/passwd', 'a/b', '.hidden', '']) {
    expect(await validationPaths(jsonl.appendRows(id, [{ a: 1 }]))).toEqual(['dataset_id']);
  }
  expect(existsSync(join(tmp.dir, 'escape.jsonl'))).toBe(false);
});
