import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createSqliteSink, type SqliteSink } from '@telemetry/sink-sqlite';
import { type OtlpReceiver, startOtlpReceiver } from '@telemetry/test-support/otlp-receiver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const appDir = resolve(dirname(new URL(import.meta.url).pathname), '..');
const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

interface DemoResult {
  runId: string;
  callerTraceparent: string;
  turns: { id: string; traceId: string; rootSpanId: string }[];
}

let receiver: OtlpReceiver;
let dir: string;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  dir = mkdtempSync(join(tmpdir(), 'telemetry-demo-'));
});

afterAll(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

async function runDemo(args: string[], env: Record<string, string>) {
  return run(process.execPath, ['dist/index.js', ...args], {
    cwd: appDir,
    env: { ...process.env, NO_COLOR: '1', ...env },
    timeout: 60_000,
  });
}

describe('the demo, end to end, as a child process', () => {
  let result: DemoResult;
  let store: SqliteSink;
  let stdout: string;

  beforeAll(async () => {
    const db = join(dir, 'demo.db');
    const resultFile = join(dir, 'result.json');
    ({ stdout } = await runDemo(
      [
        '--db',
        db,
        '--requests',
        '3',
        '--traceparent',
        `00-${CALLER_TRACE}-${CALLER_SPAN}-01`,
        '--result-file',
        resultFile,
      ],
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'demo-e2e' },
    ));
    result = JSON.parse(readFileSync(resultFile, 'utf8'));
    store = createSqliteSink({ path: db, retentionIntervalMs: 0 });
  });

  afterAll(async () => {
    await store?.shutdown();
  });

  it('prints the console view and the read-back report', () => {
    expect(stdout).toMatch(/START {4}chat_turn/);
    // Every live line names its trace by the first 8 hex digits of its id.
    const live = stdout.split('\n').filter((l) => /^\d\d:\d\d:\d\d\.\d{3} /.test(l));
    expect(live.length).toBeGreaterThan(30);
    const shortIds = new Set(live.map((l) => l.slice(13, 21)));
    expect(shortIds).toEqual(new Set(result.turns.map((t) => t.traceId.slice(0, 8))));
    expect(stdout).toMatch(
      /END {8}retrieve_documents {2}ERROR .* vector store did not answer within 15 ms/,
    );
    expect(stdout).toContain(`== Traces of this run (queryTraces, 3) ==`);
    expect(stdout).toContain('== Span tree of trace');
    expect(stdout).toMatch(/model_id=llama-3\.2-3b-instruct provider_id=ollama: \d+ tokens/);
  });

  it('the same trace ids are in SQLite and in the OTLP export', async () => {
    const traces = await store.queryTraces({
      attribute_filters: [{ key: 'demo.run_id', op: 'eq', value: result.runId }],
    });
    const stored = new Set(traces.map((t) => t.trace_id));
    const exported = new Set(receiver.traces.map((s) => s.traceId));
    const made = new Set(result.turns.map((t) => t.traceId));
    expect(stored).toEqual(made);
    expect(exported).toEqual(made);
    expect(made.size).toBe(3);
    for (const span of receiver.traces) expect(span.resource['service.name']).toBe('demo-e2e');
  });

  it('the first turn continues the caller trace: remote parent in both', async () => {
    const first = result.turns[0]!;
    expect(first.traceId).toBe(CALLER_TRACE);
    const root = await store.getSpan(first.traceId, first.rootSpanId);
    expect(root.parent_span_id).toBe(CALLER_SPAN);
    const exportedRoot = receiver.traces.find((s) => s.spanId === first.rootSpanId)!;
    expect(exportedRoot).toMatchObject({
      traceId: CALLER_TRACE,
      parentSpanId: CALLER_SPAN,
      name: 'chat_turn',
      kind: 'server',
    });
  });

  it('the tree has the right shape, with the failed attempt and the OpenTelemetry API span', async () => {
    const first = result.turns[0]!;
    const tree = await store.getSpanTree(first.rootSpanId, { attributes_to_return: ['attempt'] });
    const spans = Object.values(tree);
    const byName = (name: string) => spans.filter((s) => s.name === name);
    const parentName = (spanId: string | null | undefined) =>
      spans.find((s) => s.span_id === spanId)?.name;
    expect(spans.map((s) => s.name).sort()).toEqual([
      'GET /v1/forecast',
      'InferenceClient.complete',
      'InferenceClient.stream',
      'chat_turn',
      'retrieve_documents',
      'retrieve_documents',
      'stream_response',
      'tool_call',
    ]);
    const [failed, retried] = byName('retrieve_documents').sort(
      (a, b) => Number(a.attributes?.attempt) - Number(b.attributes?.attempt),
    );
    expect(failed).toMatchObject({ status: 'error', attributes: { attempt: 1 } });
    expect(retried).toMatchObject({ status: 'ok', attributes: { attempt: 2 } });
    expect(parentName(byName('GET /v1/forecast')[0]!.parent_span_id)).toBe('tool_call');
    expect(parentName(byName('InferenceClient.stream')[0]!.parent_span_id)).toBe('stream_response');
    // The OTLP export agrees: same parents, the failure as an ERROR status with its message.
    const exported = receiver.traces.filter((s) => s.traceId === first.traceId);
    expect(exported).toHaveLength(8);
    for (const span of spans) {
      const twin = exported.find((e) => e.spanId === span.span_id)!;
      expect(twin.name).toBe(span.name);
      expect(twin.parentSpanId).toBe(span.parent_span_id ?? null);
    }
    const exportedFailure = exported.find((e) => e.spanId === failed!.span_id)!;
    expect(exportedFailure.status).toEqual({
      code: 'error',
      message: 'vector store did not answer within 15 ms',
    });
    const exportedHttp = exported.find((e) => e.name === 'GET /v1/forecast')!;
    expect(exportedHttp.kind).toBe('client');
  });

  it('token metrics: one series per model in SQLite, and OTLP metrics with the same labels', async () => {
    const now = Math.ceil(Date.now() / 1000);
    const series = await store.queryMetrics('total_tokens', {
      query_type: 'instant',
      start_time: now - 600,
      end_time: now + 60,
    });
    const models = series
      .map((s) => Object.fromEntries(s.labels.map((l) => [l.name, l.value])))
      .sort((a, b) => a.model_id!.localeCompare(b.model_id!));
    // The run id labels the points too: it is how the report reads back this run only.
    expect(models).toEqual([
      { model_id: 'llama-3.1-8b-instruct', provider_id: 'vllm', 'demo.run_id': result.runId },
      { model_id: 'llama-3.2-3b-instruct', provider_id: 'ollama', 'demo.run_id': result.runId },
    ]);
    const perModel = Object.fromEntries(
      series.map((s) => [s.labels.find((l) => l.name === 'model_id')!.value, s.values[0]!.value]),
    );
    const exported = receiver.latestMetric('total_tokens')!;
    expect(exported.unit).toBe('tokens');
    for (const point of exported.points) {
      expect(point.value).toBe(perModel[point.attributes.model_id as string]);
    }
    expect(exported.points).toHaveLength(2);
  });
});

describe('the demo with the seed YAML', () => {
  it('runs from telemetry.yaml with its env substitutions; with JSON lines, stdout has nothing else', async () => {
    const db = join(dir, 'seed.db');
    const before = receiver.traces.length;
    const { stdout, stderr } = await runDemo(
      ['--config', 'telemetry.yaml', '--requests', '1', '--console-format', 'json'],
      {
        OTEL_TRACES_ENDPOINT: receiver.tracesUrl,
        SQLITE_DB_PATH: db,
        OTEL_SERVICE_NAME: 'seed-yaml',
      },
    );
    // As `| jq` reads it: every line of stdout is one JSON object.
    const lines = stdout.split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(10);
    const events = lines.map((l) => JSON.parse(l) as { type: string; trace_id: string });
    expect(events[0]).toMatchObject({ type: 'structured_log' });
    expect(new Set(events.map((e) => e.type))).toEqual(
      new Set(['structured_log', 'unstructured_log', 'metric']),
    );
    // The demo's own report goes to stderr instead.
    expect(stderr).toContain('== Traces of this run (queryTraces, 1) ==');
    expect(stderr).toContain(events[0]!.trace_id);
    const added = receiver.traces.slice(before);
    expect(added).toHaveLength(8);
    expect(added.every((s) => s.resource['service.name'] === 'seed-yaml')).toBe(true);
  });

  it('fails with a clear message for a bad flag value', async () => {
    await expect(runDemo(['--requests', 'many'], {})).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining(
        '--requests must be a whole number of at least 1, got "many"',
      ),
    });
  });
});
