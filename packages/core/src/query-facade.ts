import { TelemetryStoreRequiredError } from './errors.ts';
import type {
  GetSpanTreeParams,
  MetricSeries,
  QueryMetricsParams,
  QuerySpansParams,
  QueryTracesParams,
  SaveSpansToDatasetParams,
  Span,
  SpanWithStatus,
  Trace,
} from './schemas.ts';
import { type DatasetWriter, isTraceStore, type TelemetrySink, type TraceStore } from './sink.ts';

/**
 * Llama Stack's query API over a pipeline: each method asks the first sink
 * that implements TraceStore. Without one, each rejects (never throws
 * synchronously) with TelemetryStoreRequiredError.
 */
export class QueryFacade implements TraceStore {
  constructor(private readonly sinks: readonly TelemetrySink[]) {}

  /** The first sink that answers queries, if any. */
  get store(): TraceStore | undefined {
    return this.sinks.find(isTraceStore) as TraceStore | undefined;
  }

  private require(method: string): TraceStore {
    const store = this.store;
    if (!store) throw new TelemetryStoreRequiredError(method);
    return store;
  }

  async queryTraces(params?: QueryTracesParams): Promise<Trace[]> {
    return this.require('queryTraces').queryTraces(params);
  }

  async getTrace(traceId: string): Promise<Trace> {
    return this.require('getTrace').getTrace(traceId);
  }

  async getSpan(traceId: string, spanId: string): Promise<Span> {
    return this.require('getSpan').getSpan(traceId, spanId);
  }

  async getSpanTree(
    spanId: string,
    params?: GetSpanTreeParams,
  ): Promise<Record<string, SpanWithStatus>> {
    return this.require('getSpanTree').getSpanTree(spanId, params);
  }

  async querySpans(params: QuerySpansParams): Promise<Span[]> {
    return this.require('querySpans').querySpans(params);
  }

  async saveSpansToDataset(
    params: SaveSpansToDatasetParams,
    writer?: DatasetWriter,
  ): Promise<void> {
    return this.require('saveSpansToDataset').saveSpansToDataset(params, writer);
  }

  async queryMetrics(metricName: string, params: QueryMetricsParams): Promise<MetricSeries[]> {
    return this.require('queryMetrics').queryMetrics(metricName, params);
  }
}
