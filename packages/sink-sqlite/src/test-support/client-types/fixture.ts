/**
 * Compiled (never run) by client-types.test.ts with `tsc --noEmit`: every
 * in-process query result assigns to llama-stack-client@0.2.20's own types
 * and back, and every client parameter type is accepted by our methods, for
 * the SQLite store and for the `Telemetry` pipeline.
 */
import {
  createTelemetry,
  type GetSpanTreeParams,
  type LogEventParams,
  type MetricSeries,
  type QueryMetricsParams,
  type QuerySpansParams,
  type QueryTracesParams,
  type SaveSpansToDatasetParams,
  type Span,
  type SpanWithStatus,
  type Trace,
} from '@telemetry/core';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import type { Telemetry as Client } from 'llama-stack-client/resources/telemetry';

declare const clientParams: {
  queryTraces: Client.TelemetryQueryTracesParams;
  getSpanTree: Client.TelemetryGetSpanTreeParams;
  querySpans: Client.TelemetryQuerySpansParams;
  saveSpansToDataset: Client.TelemetrySaveSpansToDatasetParams;
  queryMetrics: Client.TelemetryQueryMetricsParams;
  logEvent: Client.TelemetryLogEventParams;
  condition: Client.QueryCondition;
};
declare const clientResults: {
  trace: Client.Trace;
  span: Client.TelemetryGetSpanResponse;
  tree: Client.TelemetryGetSpanTreeResponse;
  spans: Client.TelemetryQuerySpansResponse;
  traces: Client.TelemetryQueryTracesResponse;
  metrics: Client.TelemetryQueryMetricsResponse;
  withStatus: Client.SpanWithStatus;
};

export async function storeResultsAreClientTypes(id: string): Promise<void> {
  const store = createSqliteSink();
  const trace: Client.Trace = await store.getTrace(id);
  const traces: Client.TelemetryQueryTracesResponse = await store.queryTraces(
    clientParams.queryTraces,
  );
  const span: Client.TelemetryGetSpanResponse = await store.getSpan(id, id);
  const tree: Client.TelemetryGetSpanTreeResponse = await store.getSpanTree(
    id,
    clientParams.getSpanTree,
  );
  const spans: Client.TelemetryQuerySpansResponse = await store.querySpans(clientParams.querySpans);
  await store.saveSpansToDataset(clientParams.saveSpansToDataset);
  const metrics: Client.TelemetryQueryMetricsResponse = await store.queryMetrics(
    'tokens',
    clientParams.queryMetrics,
  );
  void [trace, traces, span, tree, spans, metrics];
}

export async function telemetryResultsAreClientTypes(id: string): Promise<void> {
  const telemetry = createTelemetry();
  telemetry.logEvent(clientParams.logEvent);
  const trace: Client.Trace = await telemetry.getTrace(id);
  const traces: Client.TelemetryQueryTracesResponse = await telemetry.queryTraces(
    clientParams.queryTraces,
  );
  const span: Client.TelemetryGetSpanResponse = await telemetry.getSpan(id, id);
  const tree: Client.TelemetryGetSpanTreeResponse = await telemetry.getSpanTree(
    id,
    clientParams.getSpanTree,
  );
  const spans: Client.TelemetryQuerySpansResponse = await telemetry.querySpans(
    clientParams.querySpans,
  );
  await telemetry.saveSpansToDataset(clientParams.saveSpansToDataset);
  const metrics: Client.TelemetryQueryMetricsResponse = await telemetry.queryMetrics(
    'tokens',
    clientParams.queryMetrics,
  );
  void [trace, traces, span, tree, spans, metrics];
}

/** The other way: the client's types are our types (results), and its parameters ours. */
export function clientTypesAreOurs(): void {
  const trace: Trace = clientResults.trace;
  const span: Span = clientResults.span;
  const withStatus: SpanWithStatus = clientResults.withStatus;
  const tree: Record<string, SpanWithStatus> = clientResults.tree;
  const spans: Span[] = clientResults.spans;
  const traces: Trace[] = clientResults.traces;
  const metrics: MetricSeries[] = clientResults.metrics;
  const queryTraces: QueryTracesParams = clientParams.queryTraces;
  const getSpanTree: GetSpanTreeParams = clientParams.getSpanTree;
  const querySpans: QuerySpansParams = clientParams.querySpans;
  const save: SaveSpansToDatasetParams = clientParams.saveSpansToDataset;
  const queryMetrics: QueryMetricsParams = clientParams.queryMetrics;
  const logEvent: LogEventParams = clientParams.logEvent;
  const filters: QueryTracesParams = { attribute_filters: [clientParams.condition] };
  void [trace, span, withStatus, tree, spans, traces, metrics];
  void [queryTraces, getSpanTree, querySpans, save, queryMetrics, logEvent, filters];
}

/** The client's types are strict enough for the checks above to mean something. */
export function clientTypesRejectWhatOursMustNotProduce(): void {
  const withNull: Client.Trace = {
    trace_id: 't',
    root_span_id: 'r',
    start_time: 's',
    // @ts-expect-error null is not an optional string: results must leave absent fields out
    end_time: null,
  };
  const badStatus: Client.SpanWithStatus = {
    span_id: 's',
    trace_id: 't',
    name: 'n',
    start_time: 's',
    // @ts-expect-error a status the client does not know
    status: 'unset',
  };
  void [withNull, badStatus];
}
