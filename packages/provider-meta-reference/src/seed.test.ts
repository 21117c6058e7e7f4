/**
 * The seed's config block, in a YAML file, gives three working sinks: the
 * console (a captured stream), the SQLite store (queried through the
 * pipeline, then reopened from the file) and a real OTLP/HTTP receiver on
 * 127.0.0.1 that decodes the protobuf it gets.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureStream } from '@telemetry/core/testing';
import { createTelemetryFromConfig } from '@telemetry/provider-meta-reference';
import { type OtlpReceiver, startOtlpReceiver } from '@telemetry/test-support/otlp-receiver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLines } from './test-support/console-lines.ts';

let dir: string;
let receiver: OtlpReceiver;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'provider-seed-'));
  receiver = await startOtlpReceiver();
});

afterAll(async () => {
  await receiver?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("the seed's YAML", () => {
  it('sends one trace to the console, the SQLite store and the OTLP receiver', async () => {
    const dbPath = join(dir, 'telemetry.db');
    const configPath = join(dir, 'run.yaml');
    // The seed's block word for word, with the receiver's URL and a temporary database.
    await writeFile(
      configPath,
      `telemetry:
  - provider_id: meta-reference
    provider_type: inline::meta-reference
    config:
      sinks: ['console', 'sqlite', 'otel']
      otel_endpoint: "${receiver.tracesUrl}"
      sqlite_db_path: "${dbPath}"
`,
    );
    const console = new CaptureStream();
    const telemetry = await createTelemetryFromConfig(configPath, {
      sinkOptions: { console: { stream: console, color: false } },
      env: { HOME: dir },
    });
    expect(telemetry.sinks.map((sink) => sink.name)).toEqual(['console', 'sqlite', 'otel']);

    const logger = telemetry.createLogger('app');
    const traceId = await telemetry.withTrace(
      'chat_completion',
      async (root) => {
        await telemetry.withSpan('retrieve', async (span) => {
          logger.info('fetched 3 documents', { source: 'kb' });
          span.metric('documents_retrieved', 3, 'docs');
        });
        return root.trace_id;
      },
      { attributes: { model: 'llama-3' } },
    );
    expect(await telemetry.flush()).toBe(true);

    // Console: the live view, in order.
    expect(consoleLines(console)).toMatchInlineSnapshot(`
      [
        "START    chat_completion",
        "START      retrieve",
        "INFO         fetched 3 documents",
        "                                     source: kb",
        "                                     logger.name: app",
        "METRIC       documents_retrieved 3 docs",
        "END        retrieve  ok  <ms>",
        "END      chat_completion  ok  <ms>",
        "                                 model: llama-3",
      ]
    `);

    // SQLite: the query API of Llama Stack's client.
    const trace = await telemetry.getTrace(traceId);
    expect(trace.trace_id).toBe(traceId);
    const spans = await telemetry.querySpans({
      attribute_filters: [{ key: 'model', op: 'eq', value: 'llama-3' }],
      attributes_to_return: ['model'],
    });
    expect(spans.map((s) => [s.name, s.trace_id])).toEqual([['chat_completion', traceId]]);
    const tree = await telemetry.getSpanTree(trace.root_span_id);
    expect(
      Object.values(tree)
        .map((s) => s.name)
        .sort(),
    ).toEqual(['chat_completion', 'retrieve']);
    const series = await telemetry.queryMetrics('documents_retrieved', {
      query_type: 'range',
      start_time: Math.floor(Date.now() / 1000) - 3600,
    });
    expect(series.flatMap((s) => s.values.map((v) => v.value))).toEqual([3]);

    // OTLP: decoded protobuf, field by field.
    await receiver.waitForSpans(2);
    const exported = [...receiver.traces].sort((a, b) => a.name.localeCompare(b.name));
    expect(exported.map((s) => [s.name, s.traceId, s.kind, s.status.code])).toEqual([
      ['chat_completion', traceId, 'internal', 'ok'],
      ['retrieve', traceId, 'internal', 'ok'],
    ]);
    expect(exported[1]!.parentSpanId).toBe(exported[0]!.spanId);
    expect(exported[0]!.parentSpanId).toBeNull();
    expect(exported[0]!.attributes.model).toBe('llama-3');
    await receiver.waitFor(() => receiver.latestMetric('documents_retrieved') !== undefined);
    const metric = receiver.latestMetric('documents_retrieved')!;
    expect(metric.points.map((p) => p.value)).toEqual([3]);
    expect(receiver.requests.map((r) => r.path).sort()).toContain('/v1/metrics');

    await telemetry.shutdown();
    const stats = telemetry.stats();
    for (const name of ['console', 'sqlite', 'otel']) {
      expect(stats.sinks[name], name).toMatchObject({ failed: 0, pending: 0, dropped: {} });
    }

    // The file outlives the pipeline: a new one over the same path finds the trace.
    const reader = await createTelemetryFromConfig(
      { sinks: 'sqlite', sqlite_db_path: dbPath },
      { env: { HOME: dir } },
    );
    expect((await reader.getTrace(traceId)).root_span_id).toBe(trace.root_span_id);
    await reader.shutdown();
  });
});
