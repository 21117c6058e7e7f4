import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TelemetryConfigError } from '@telemetry/core';
import { createJsonlDatasetWriter, createSqliteSink } from '@telemetry/sink-sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { dataset } from './test-support/dataset.ts';
import { sid, tempDir, tid } from './test-support/fixtures.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const readLines = (file: string) =>
  readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('saveSpansToDataset', () => {
  it('appends one row per matching span through the JSON-lines writer given at creation', async () => {
    const directory = join(tmp.dir, 'datasets');
    const sink = createSqliteSink({
      retentionIntervalMs: 0,
      datasetWriter: createJsonlDatasetWriter({ directory }),
    });
    await sink.writeSpans(dataset());
    const params = {
      attribute_filters: [{ key: 'user', op: 'eq' as const, value: 'bob' }],
      attributes_to_save: ['model', 'tokens'],
      dataset_id: 'eval-set_1.v2',
    };
    await sink.saveSpansToDataset(params);
    // Spans without every attribute to save are left out, as in the reference.
    expect(readLines(join(directory, 'eval-set_1.v2.jsonl'))).toEqual([
      {
        trace_id: tid(1),
        span_id: sid(2),
        parent_span_id: sid(1),
        name: 'llm',
        start_time: '2025-01-15T12:00:00.001000Z',
        end_time: '2025-01-15T12:00:00.005000Z',
        model: 'llama',
        tokens: 42,
      },
      {
        trace_id: tid(2),
        span_id: sid(12),
        parent_span_id: sid(11),
        name: 'llm',
        start_time: '2025-01-15T12:00:01.001000Z',
        end_time: '2025-01-15T12:00:01.002000Z',
        model: 'gpt',
        tokens: 7,
      },
    ]);
    // A second save appends.
    await sink.saveSpansToDataset({ ...params, max_depth: 2 });
    expect(readLines(join(directory, 'eval-set_1.v2.jsonl')).map((r) => r.span_id)).toEqual([
      sid(2),
      sid(12),
      sid(2),
      sid(12),
    ]);
    await sink.shutdown();
  });

  it('prefers a writer passed to the call', async () => {
    const sink = createSqliteSink({
      retentionIntervalMs: 0,
      datasetWriter: {
        appendRows: async () => {
          throw new Error('not me');
        },
      },
    });
    await sink.writeSpans(dataset());
    const got: unknown[] = [];
    await sink.saveSpansToDataset(
      {
        attribute_filters: [{ key: 'user', op: 'eq', value: 'carol' }],
        attributes_to_save: [],
        dataset_id: 'd',
      },
      { appendRows: async (id, rows) => void got.push(id, rows) },
    );
    expect(got).toEqual([
      'd',
      [
        {
          trace_id: tid(4),
          span_id: sid(31),
          parent_span_id: sid(30),
          name: 'root-d',
          start_time: '2025-01-15T12:00:02.000000Z',
          end_time: '2025-01-15T12:00:02.001000Z',
        },
      ],
    ]);
    await sink.shutdown();
  });

  it('says how to get a writer when there is none', async () => {
    const sink = createSqliteSink({ retentionIntervalMs: 0 });
    const error = await sink
      .saveSpansToDataset({ attribute_filters: [], attributes_to_save: [], dataset_id: 'd' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelemetryConfigError);
    expect((error as Error).message).toMatch(/createJsonlDatasetWriter/);
    await sink.shutdown();
  });
});

describe('createJsonlDatasetWriter', () => {
  it('serializes concurrent appends to one file, line by line', async () => {
    const directory = join(tmp.dir, 'concurrent');
    const writer = createJsonlDatasetWriter({ directory });
    const big = 'x'.repeat(100_000);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        writer.appendRows('d', [
          { i, big },
          { i, part: 2 },
        ]),
      ),
    );
    const rows = readLines(join(directory, 'd.jsonl'));
    expect(rows.map((r) => r.i)).toEqual(Array.from({ length: 20 }, (_, i) => [i, i]).flat());
  });

  it('writes nothing for no rows', async () => {
    const directory = join(tmp.dir, 'empty');
    await createJsonlDatasetWriter({ directory }).appendRows('d', []);
    expect(() => readFileSync(join(directory, 'd.jsonl'))).toThrow();
  });
});
