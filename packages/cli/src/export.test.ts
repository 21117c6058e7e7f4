/**
 * `export`: OTLP JSON that, imported through the server's OTLP endpoint,
 * gives back the same spans; dataset rows as the store's saveSpansToDataset
 * writes them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SpanDetail, TraceDetail } from '@telemetry/core';
import {
  createJsonlDatasetWriter,
  createSqliteSink,
  type SqliteSink,
} from '@telemetry/sink-sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, cli, type DemoRun, runDemo, serve, tempDir } from './test-support/cli.ts';

const tmp = tempDir();
const db = join(tmp.dir, 'demo.db');
const env = cleanEnv(tmp.dir, { NO_COLOR: '1', TELEMETRY_DB: db });
let demo: DemoRun;
let store: SqliteSink;

beforeAll(async () => {
  demo = await runDemo(db, env);
  store = createSqliteSink({ path: db, readOnly: true });
});
afterAll(async () => {
  await store?.shutdown();
  tmp.cleanup();
});

/** Posts OTLP JSON bodies to a fresh `telemetry serve`, stops it, and opens what it stored. */
async function importThroughServer(bodies: readonly string[], name: string): Promise<SqliteSink> {
  const target = join(tmp.dir, `${name}.db`);
  const { server, address } = await serve(['--db', target], env);
  try {
    for (const body of bodies) {
      const response = await fetch(`${address.otlp_url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(await response.json()).toEqual({});
      expect(response.status).toBe(200);
    }
  } finally {
    expect((await server.stop('SIGTERM')).code).toBe(0);
  }
  return createSqliteSink({ path: target, readOnly: true });
}

/** What a span looks like after the trip: the same, plus its service as an attribute (OTLP carries it on the resource). */
function afterImport(span: SpanDetail): SpanDetail {
  return { ...span, attributes: { ...span.attributes, 'service.name': span.service_name } };
}

function expectSameTrace(original: TraceDetail, imported: TraceDetail): void {
  expect(imported.trace).toEqual(original.trace);
  expect(imported.spans).toEqual(original.spans.map(afterImport));
  // Logs keep their span, time, message and attributes (OTLP span events carry no severity).
  const log = ({ span_id, timestamp, message, attributes }: TraceDetail['logs'][number]) => ({
    span_id,
    timestamp,
    message,
    attributes,
  });
  expect(imported.logs.map(log)).toEqual(original.logs.map(log));
}

describe('export --format otlp', () => {
  it('round-trips: the file imported through the OTLP endpoint stores the same spans', async () => {
    const out = join(tmp.dir, 'traces.json');
    const result = await cli(['export', '--since', '1d', '-o', out], { env });
    expect(result.code).toBe(0);
    const ids = demo.turns.map((t) => t.traceId);
    const originals = await Promise.all(ids.map((id) => store.getTraceDetail(id)));
    const spans = originals.reduce((n, d) => n + d.spans.length, 0);
    const logs = originals.reduce((n, d) => n + d.logs.length, 0);
    expect(result.stdout).toBe(
      `Exported 3 trace(s), ${spans} span(s) and ${logs} log(s) as otlp to ${out}.\n`,
    );
    const body = readFileSync(out, 'utf8');
    const request = JSON.parse(body);
    expect(request.resourceSpans[0].resource.attributes).toEqual([
      { key: 'service.name', value: { stringValue: 'assistant-demo' } },
    ]);

    const imported = await importThroughServer([body], 'imported');
    try {
      for (const original of originals) {
        expectSameTrace(original, await imported.getTraceDetail(original.trace.trace_id));
      }
      expect((await imported.storeStats()).spans).toBe(spans);
      // The first turn continues a caller's trace: it is still a local root under a remote parent.
      const first = await imported.getTrace(demo.turns[0]!.traceId);
      expect(first.root_span_id).toBe(demo.turns[0]!.rootSpanId);
    } finally {
      await imported.shutdown();
    }
  });

  it('otlp-lines: one request per trace per line; --trace picks traces; stdout when no -o', async () => {
    const [a, b] = demo.turns;
    const result = await cli(
      ['export', '--format', 'otlp-lines', '--trace', a!.traceId, '--trace', b!.traceId],
      { env },
    );
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(result.stderr).toMatch(
      /^Exported 2 trace\(s\), \d+ span\(s\) and \d+ log\(s\) as otlp-lines to stdout\.\n$/,
    );
    const imported = await importThroughServer(lines, 'lines');
    try {
      for (const id of [a!.traceId, b!.traceId]) {
        expectSameTrace(await store.getTraceDetail(id), await imported.getTraceDetail(id));
      }
      expect((await imported.storeStats()).traces).toBe(2);
    } finally {
      await imported.shutdown();
    }
  });
});

describe('export --format dataset', () => {
  it('writes the rows saveSpansToDataset writes, as JSON lines', async () => {
    const dir = join(tmp.dir, 'datasets');
    const params = {
      attribute_filters: [{ key: 'demo.run_id', op: 'eq' as const, value: demo.runId }],
      attributes_to_save: ['model_id', 'demo.run_id'],
      dataset_id: 'expected',
    };
    await store.saveSpansToDataset(params, createJsonlDatasetWriter({ directory: dir }));
    const expected = readFileSync(join(dir, 'expected.jsonl'), 'utf8');
    expect(expected.split('\n').length).toBeGreaterThan(3);
    const result = await cli(
      [
        'export',
        '--format',
        'dataset',
        '--attr',
        `demo.run_id=${demo.runId}`,
        '--save',
        'model_id',
        '--save',
        'demo.run_id',
        '--json',
      ],
      { env },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(expected);
    expect(JSON.parse(result.stderr)).toEqual({
      format: 'dataset',
      output: 'stdout',
      rows: expected.trim().split('\n').length,
    });
  });

  it('refuses trace filters, which a dataset does not take', async () => {
    const result = await cli(['export', '--format', 'dataset', '--since', '1h'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'telemetry: --since does not apply to --format dataset: a dataset takes --attr, --save and --max-depth.\n',
    );
  });
});
