/**
 * The real llama-stack-client@0.2.20 against a server on 127.0.0.1: every
 * telemetry method answers what the in-process API answers for the same data,
 * and its errors are the client's own classes with our message.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJsonlDatasetWriter } from '@telemetry/sink-sqlite';
import LlamaStackClient, { BadRequestError, NotFoundError } from 'llama-stack-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LLAMA_STACK_ROUTES, OTLP_PATHS } from './index.ts';
import { type Fixture, startFixture } from './test-support/fixture.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const ROOT = '00f067aa0ba902b7';
const CHILD = '1111111111111111';
const OTHER_TRACE = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const OTHER_ROOT = '2222222222222222';

let fx: Fixture;
let client: LlamaStackClient;
let nowSeconds: number;
let datasetDir: string;

function iso(offsetMs: number): string {
  return new Date(nowSeconds * 1000 + offsetMs).toISOString();
}

beforeAll(async () => {
  // A dataset writer for the server, another for the in-process call, to compare files.
  const datasets = mkdtempSync(join(tmpdir(), 'telemetry-datasets-'));
  fx = await startFixture({
    server: { datasetWriter: createJsonlDatasetWriter({ directory: join(datasets, 'served') }) },
  });
  datasetDir = datasets;
  client = new LlamaStackClient({ baseURL: fx.url, maxRetries: 0, timeout: 10_000 });
  nowSeconds = Math.floor(Date.now() / 1000) - 60;
  const events: LlamaStackClient.Telemetry.Event[] = [
    {
      type: 'structured_log',
      trace_id: TRACE,
      span_id: ROOT,
      timestamp: iso(0),
      attributes: { session: 's-1' },
      payload: { type: 'span_start', name: 'chat_turn' },
    },
    {
      type: 'structured_log',
      trace_id: TRACE,
      span_id: CHILD,
      timestamp: iso(1),
      attributes: { model_id: 'llama-3.2-3b' },
      payload: { type: 'span_start', name: 'inference', parent_span_id: ROOT },
    },
    {
      type: 'unstructured_log',
      trace_id: TRACE,
      span_id: CHILD,
      timestamp: iso(2),
      message: 'calling the model',
      severity: 'info',
    },
    {
      type: 'metric',
      trace_id: TRACE,
      span_id: CHILD,
      timestamp: iso(3),
      metric: 'total_tokens',
      value: 128,
      unit: 'tokens',
      attributes: { model_id: 'llama-3.2-3b' },
    },
    {
      type: 'structured_log',
      trace_id: TRACE,
      span_id: CHILD,
      timestamp: iso(4),
      attributes: { model_id: 'llama-3.2-3b' },
      payload: { type: 'span_end', status: 'ok' },
    },
    {
      type: 'structured_log',
      trace_id: TRACE,
      span_id: ROOT,
      timestamp: iso(5),
      attributes: { session: 's-1' },
      payload: { type: 'span_end', status: 'error' },
    },
    {
      type: 'structured_log',
      trace_id: OTHER_TRACE,
      span_id: OTHER_ROOT,
      timestamp: iso(10),
      payload: { type: 'span_start', name: 'second_turn' },
    },
    {
      type: 'structured_log',
      trace_id: OTHER_TRACE,
      span_id: OTHER_ROOT,
      timestamp: iso(20),
      payload: { type: 'span_end', status: 'ok' },
    },
  ];
  for (const event of events) {
    const answer = await client.telemetry.logEvent({ event, ttl_seconds: 3600 });
    expect(answer).toBeNull();
  }
  expect(await fx.telemetry.flush()).toBe(true);
});

afterAll(async () => {
  await fx?.close();
  if (datasetDir) rmSync(datasetDir, { recursive: true, force: true });
});

describe('llama-stack-client against the server', () => {
  it('logEvent stores what it sends: the same traces as the in-process API', async () => {
    const served = await client.telemetry.queryTraces({ limit: 10, order_by: ['start_time'] });
    const local = await fx.telemetry.queryTraces({ limit: 10, order_by: ['start_time'] });
    expect(served).toEqual(local);
    expect(served.map((t) => t.trace_id)).toEqual([TRACE, OTHER_TRACE]);
  });

  it('queryTraces with filters, offset and descending order', async () => {
    const params = {
      attribute_filters: [{ key: 'session', op: 'eq' as const, value: 's-1' }],
      limit: 5,
      offset: 0,
      order_by: ['-start_time'],
    };
    const served = await client.telemetry.queryTraces(params);
    expect(served).toEqual(await fx.telemetry.queryTraces(params));
    expect(served.map((t) => t.trace_id)).toEqual([TRACE]);
    expect(await client.telemetry.queryTraces({})).toEqual(await fx.telemetry.queryTraces({}));
  });

  it('getTrace and getSpan', async () => {
    const trace = await client.telemetry.getTrace(TRACE);
    expect(trace).toEqual(await fx.telemetry.getTrace(TRACE));
    expect(trace.root_span_id).toBe(ROOT);
    const span = await client.telemetry.getSpan(TRACE, CHILD);
    expect(span).toEqual(await fx.telemetry.getSpan(TRACE, CHILD));
    expect(span).toMatchObject({ name: 'inference', parent_span_id: ROOT });
  });

  it('getSpanTree, with and without parameters', async () => {
    const tree = await client.telemetry.getSpanTree(ROOT, {});
    expect(tree).toEqual(await fx.telemetry.getSpanTree(ROOT, {}));
    expect(Object.keys(tree).sort()).toEqual([ROOT, CHILD].sort());
    expect(tree[ROOT]?.status).toBe('error');
    const params = { attributes_to_return: ['model_id'], max_depth: 1 };
    expect(await client.telemetry.getSpanTree(ROOT, params)).toEqual(
      await fx.telemetry.getSpanTree(ROOT, params),
    );
  });

  it('querySpans', async () => {
    const params = {
      attribute_filters: [{ key: 'model_id', op: 'eq' as const, value: 'llama-3.2-3b' }],
      attributes_to_return: ['model_id'],
    };
    const served = await client.telemetry.querySpans(params);
    expect(served).toEqual(await fx.telemetry.querySpans(params));
    expect(served.map((s) => s.span_id)).toEqual([CHILD]);
  });

  it('saveSpansToDataset writes the rows the in-process call writes', async () => {
    const params = {
      attribute_filters: [{ key: 'model_id', op: 'eq' as const, value: 'llama-3.2-3b' }],
      attributes_to_save: ['model_id'],
      dataset_id: 'inference-spans',
    };
    expect(await client.telemetry.saveSpansToDataset(params)).toBeNull();
    await fx.telemetry.saveSpansToDataset(
      params,
      createJsonlDatasetWriter({ directory: join(datasetDir, 'local') }),
    );
    const read = (dir: string) =>
      readFileSync(join(datasetDir, dir, 'inference-spans.jsonl'), 'utf8');
    expect(read('served')).toBe(read('local'));
    expect(read('served')).toContain(CHILD);
  });

  it('queryMetrics: range and instant', async () => {
    const range = {
      query_type: 'range' as const,
      start_time: nowSeconds - 60,
      end_time: nowSeconds + 60,
      granularity: '1m',
      label_matchers: [{ name: 'model_id', operator: '=~' as const, value: 'llama-.*' }],
    };
    const served = await client.telemetry.queryMetrics('total_tokens', range);
    expect(served).toEqual(await fx.telemetry.queryMetrics('total_tokens', range));
    expect(served[0]?.values.reduce((sum, v) => sum + v.value, 0)).toBe(128);
    const instant = {
      query_type: 'instant' as const,
      start_time: nowSeconds - 60,
      end_time: nowSeconds + 60,
    };
    expect(await client.telemetry.queryMetrics('total_tokens', instant)).toEqual(
      await fx.telemetry.queryMetrics('total_tokens', instant),
    );
  });

  it("queryMetrics: an instant without end_time is stamped with the server's now", async () => {
    // Compared with bounds, not with a second call: the two reads of the clock
    // can fall on either side of a second.
    const before = Math.floor(Date.now() / 1000);
    const open = await client.telemetry.queryMetrics('total_tokens', {
      query_type: 'instant',
      start_time: nowSeconds - 60,
    });
    const after = Math.floor(Date.now() / 1000);
    expect(open.map((s) => s.values.map((v) => v.value))).toEqual([[128]]);
    const stamp = open[0]!.values[0]!.timestamp;
    expect(stamp).toBeGreaterThanOrEqual(before);
    expect(stamp).toBeLessThanOrEqual(after);
  });

  it('answers byte for byte what JSON.stringify makes of the in-process result', async () => {
    const response = await fetch(`${fx.url}/v1/telemetry/traces/${TRACE}/spans/${CHILD}`);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.text()).toBe(JSON.stringify(await fx.telemetry.getSpan(TRACE, CHILD)));
  });
});

describe('the route table', () => {
  it('every listed route is served (placeholders filled with ids of the stored trace)', async () => {
    const ids: Record<string, string> = {
      trace_id: TRACE,
      span_id: CHILD,
      metric_name: 'total_tokens',
    };
    const routes = [
      ...Object.values(LLAMA_STACK_ROUTES),
      ...Object.values(OTLP_PATHS).map((path) => `POST ${path}`),
    ];
    for (const route of routes) {
      const [method, template] = route.split(' ') as [string, string];
      const path = template.replace(/\{(\w+)\}/g, (_, name: string) => ids[name]!);
      const response = await fetch(`${fx.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: '{}' } : {}),
      });
      const body = (await response.json()) as { code?: string };
      expect(body?.code, route).not.toBe('TELEMETRY_ROUTE_NOT_FOUND');
      expect([200, 400], route).toContain(response.status);
    }
  });
});

describe('errors through the client', () => {
  it('a bad body is a BadRequestError naming every invalid field', async () => {
    const error = await client.telemetry
      .queryTraces({ limit: -1, offset: 'x', order_by: 'start_time' } as never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    const e = error as InstanceType<typeof BadRequestError>;
    expect(e.status).toBe(400);
    expect(e.message).toMatch(/^400 Invalid queryTraces body \(3 problems\):/);
    expect(e.message).toContain('  - limit: ');
    expect(e.message).toContain('  - offset: ');
    expect(e.message).toContain('  - order_by: ');
    expect(e.error).toMatchObject({
      code: 'TELEMETRY_INVALID_INPUT',
      issues: expect.arrayContaining([expect.objectContaining({ path: 'limit' })]),
    });
  });

  it('an invalid event is a BadRequestError, and nothing is logged', async () => {
    const before = fx.telemetry.stats().accepted;
    const error = await client.telemetry
      .logEvent({
        event: { type: 'metric', trace_id: 'xyz', span_id: ROOT, timestamp: 'soon' } as never,
        ttl_seconds: 0,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    const message = (error as Error).message;
    for (const field of [
      'event.trace_id',
      'event.timestamp',
      'event.metric',
      'event.value',
      'event.unit',
      'ttl_seconds',
    ]) {
      expect(message).toContain(`  - ${field}: `);
    }
    expect(fx.telemetry.stats().accepted).toBe(before);
  });

  it('a value type the store cannot compare is a 400, not a crash', async () => {
    const error = await client.telemetry
      .querySpans({
        attribute_filters: [{ key: 'model_id', op: 'eq', value: { nested: ['a', 'b'] } }],
        attributes_to_return: [],
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toContain('attribute_filters[0].value');
  });

  it('an unknown trace or span is a NotFoundError with our message', async () => {
    const missing = 'cccccccccccccccccccccccccccccccc';
    const error = await client.telemetry.getTrace(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toBe(`404 Trace ${missing} not found`);
    const spanError = await client.telemetry
      .getSpan(TRACE, '3333333333333333')
      .catch((e: unknown) => e);
    expect(spanError).toBeInstanceOf(NotFoundError);
    expect((spanError as Error).message).toMatch(/^404 Span .* not found$/);
    const treeError = await client.telemetry
      .getSpanTree('3333333333333333', {})
      .catch((e: unknown) => e);
    expect(treeError).toBeInstanceOf(NotFoundError);
  });

  it('an id that is not one is a BadRequestError', async () => {
    const error = await client.telemetry.getTrace('not-an-id').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toContain('trace_id');
  });
});
