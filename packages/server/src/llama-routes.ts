import type { Context, Hono } from 'hono';
import { nodeIncoming, readJson } from './body.ts';
import {
  GetSpanTreeParamsSchema,
  issuesFromZod,
  LogEventParamsSchema,
  QueryMetricsParamsSchema,
  QuerySpansParamsSchema,
  QueryTracesParamsSchema,
  SaveSpansToDatasetParamsSchema,
  TelemetryValidationError,
} from './core-api.ts';
import type { PipelineGuard } from './guard.ts';
import type { ResolvedOptions } from './options.ts';

/** The Llama Stack telemetry routes, as `llama-stack-client@0.2.20` calls them. */
export const LLAMA_STACK_ROUTES = Object.freeze({
  logEvent: 'POST /v1/telemetry/events',
  queryTraces: 'POST /v1/telemetry/traces',
  getTrace: 'GET /v1/telemetry/traces/{trace_id}',
  getSpan: 'GET /v1/telemetry/traces/{trace_id}/spans/{span_id}',
  getSpanTree: 'POST /v1/telemetry/spans/{span_id}/tree',
  querySpans: 'POST /v1/telemetry/spans',
  saveSpansToDataset: 'POST /v1/telemetry/spans/export',
  queryMetrics: 'POST /v1/telemetry/metrics/{metric_name}',
});

interface Schema {
  safeParse(value: unknown): { success: true } | { success: false; error: any };
}

/**
 * Checks a body with the schema that the in-process API uses, so the answer
 * is a 400 naming every invalid field before anything reaches the store.
 */
function validate(schema: Schema, body: unknown, what: string): void {
  const result = schema.safeParse(body ?? {});
  if (!result.success) throw new TelemetryValidationError(what, issuesFromZod(result.error));
}

export function mountLlamaStackRoutes(
  app: Hono,
  options: ResolvedOptions,
  guard: PipelineGuard,
): void {
  const telemetry = options.telemetry;
  const limit = options.maxBodyBytes;
  const body = (c: Context) => readJson(c.req.raw, limit, nodeIncoming(c.env));
  // Results are answered as the in-process API returns them, through JSON.stringify.
  const data = (c: Context, value: unknown) => c.json({ data: value });

  app.post('/v1/telemetry/events', async (c) => {
    const params = await body(c);
    validate(LogEventParamsSchema, params, 'logEvent body');
    guard.check();
    const { refused } = guard.measure(() => telemetry.logEvent(params as never));
    const refusal = guard.refusalError(refused, 1);
    if (refusal) throw refusal;
    return c.json(null);
  });

  app.post('/v1/telemetry/traces', async (c) => {
    const params = await body(c);
    validate(QueryTracesParamsSchema, params, 'queryTraces body');
    return data(c, await telemetry.queryTraces((params ?? undefined) as never));
  });

  app.get('/v1/telemetry/traces/:trace_id', async (c) =>
    c.json(await telemetry.getTrace(c.req.param('trace_id'))),
  );

  app.get('/v1/telemetry/traces/:trace_id/spans/:span_id', async (c) =>
    c.json(await telemetry.getSpan(c.req.param('trace_id'), c.req.param('span_id'))),
  );

  app.post('/v1/telemetry/spans/export', async (c) => {
    const params = await body(c);
    validate(SaveSpansToDatasetParamsSchema, params, 'saveSpansToDataset body');
    await telemetry.saveSpansToDataset(params as never, options.datasetWriter);
    return c.json(null);
  });

  app.post('/v1/telemetry/spans/:span_id/tree', async (c) => {
    const params = await body(c);
    validate(GetSpanTreeParamsSchema, params, 'getSpanTree body');
    return data(
      c,
      await telemetry.getSpanTree(c.req.param('span_id'), (params ?? undefined) as never),
    );
  });

  app.post('/v1/telemetry/spans', async (c) => {
    const params = await body(c);
    validate(QuerySpansParamsSchema, params, 'querySpans body');
    return data(c, await telemetry.querySpans(params as never));
  });

  app.post('/v1/telemetry/metrics/:metric_name', async (c) => {
    const params = await body(c);
    validate(QueryMetricsParamsSchema, params, 'queryMetrics body');
    return data(c, await telemetry.queryMetrics(c.req.param('metric_name'), params as never));
  });
}
