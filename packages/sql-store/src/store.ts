/**
 * The query side of a SQL store sink: every method of `TraceStore`,
 * `TraceSearchStore` and `TraceStoreAdmin` validates its input with core's
 * schemas (one error listing every problem) and answers through the shared
 * query functions. A sink extends it and supplies its connection
 * (`usable()`), its size on disk and its pruning.
 */
import {
  type GetSpanTreeParams,
  GetSpanTreeParamsSchema,
  type MetricSeries,
  type QueryMetricsParams,
  QueryMetricsParamsSchema,
  type QuerySpansParams,
  QuerySpansParamsSchema,
  type QueryTracesParams,
  QueryTracesParamsSchema,
  type SaveSpansToDatasetParams,
  SaveSpansToDatasetParamsSchema,
  type Span,
  SpanIdSchema,
  type SpanWithStatus,
  type Trace,
  TraceIdSchema,
} from '@telemetry/core';
import {
  type DatasetWriter,
  formatPath,
  type PruneParams,
  PruneParamsSchema,
  type PruneResult,
  parseSearchParams,
  SEARCH_LIMITS,
  type SpanEvents,
  type SpanEventsParams,
  SpanEventsParamsSchema,
  type StoreStats,
  type Suggestions,
  type SuggestParams,
  SuggestParamsSchema,
  setOwn,
  type TailSpansParams,
  TailSpansParamsSchema,
  type TailSpansResult,
  TelemetryConfigError,
  TelemetryValidationError,
  type TraceDetail,
  type TraceDetailParams,
  TraceDetailParamsSchema,
  type TraceSearchParams,
  TraceSearchParamsSchema,
  type TraceSearchResult,
  type TraceSearchStore,
  type TraceStore,
  type TraceStoreAdmin,
  type ValidationIssue,
} from '@telemetry/core/sink';
import * as admin from './admin.ts';
import { compileMatchers } from './label-matchers.ts';
import { granularitySeconds, queryMetrics } from './metrics.ts';
import * as queries from './queries.ts';
import type { QueryContext } from './query-context.ts';
import * as search from './search.ts';
import * as spanEvents from './span-events.ts';
import * as suggestions from './suggest.ts';
import * as tail from './tail.ts';
import {
  checkListSizes,
  MAX_UNIX_SECONDS,
  paramIssues,
  parseArgument,
  parseParams,
  preview,
  QUERY_LIMITS,
} from './validation.ts';

/** What `prune` asks the sink to do, validated (times in epoch microseconds). */
export type PruneRequest = admin.PruneRequest;

/** Rows per `appendRows` call of `saveSpansToDataset`. */
const DATASET_PAGE_ROWS = 1_000;

export abstract class SqlTraceStore implements TraceStore, TraceSearchStore, TraceStoreAdmin {
  /** The open, migrated store; rejects once the sink is shut down. */
  protected abstract usable(): Promise<QueryContext>;
  /** The error of a call after shutdown (checked again between dataset pages). */
  protected abstract closedError(): Error;
  /** Whether the sink has been shut down. */
  protected abstract isClosed(): boolean;
  /** Where `saveSpansToDataset` appends when the call passes no writer. */
  protected abstract defaultDatasetWriter(): DatasetWriter | undefined;
  /** How the sink's own factory is called with a dataset writer, for the error without one. */
  protected abstract readonly datasetWriterExample: string;
  /** The store's size in bytes for `storeStats`. */
  protected abstract storeSizeBytes(): Promise<number>;
  /** Runs a validated prune. */
  protected abstract runPrune(request: PruneRequest): Promise<PruneResult>;
  /** Each engine's own: waits for what is in flight, then closes the connection(s). */
  abstract shutdown(): Promise<void>;

  /** The same as `shutdown()`. */
  close(): Promise<void> {
    return this.shutdown();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  // ---------------------------------------------------------------------------
  // TraceStore

  async queryTraces(params?: QueryTracesParams): Promise<Trace[]> {
    const what = 'queryTraces parameters';
    checkListSizes(params, what, [
      ['attribute_filters', QUERY_LIMITS.attributeFilters],
      ['order_by', QUERY_LIMITS.orderBy],
    ]);
    const p = parseParams(QueryTracesParamsSchema, params, what, (d) => [
      ...filterIssues(d.attribute_filters ?? []),
      ...orderIssues(d.order_by ?? []),
    ]);
    const ctx = await this.usable();
    return queries.queryTraces(ctx, {
      filters: p.attribute_filters ?? [],
      limit: p.limit ?? 100,
      offset: p.offset ?? 0,
      order: p.order_by?.length
        ? queries.parseTraceOrder(p.order_by).order
        : [{ field: 'start_time', descending: false }],
    });
  }

  async getTrace(traceId: string): Promise<Trace> {
    const id = parseArgument(TraceIdSchema, traceId, 'getTrace argument', 'trace_id');
    return queries.getTrace(await this.usable(), id);
  }

  async getSpan(traceId: string, spanId: string): Promise<Span> {
    const ids = parseIds(traceId, spanId, 'getSpan arguments');
    return queries.getSpan(await this.usable(), ids.traceId, ids.spanId);
  }

  async getSpanTree(
    spanId: string,
    params?: GetSpanTreeParams,
  ): Promise<Record<string, SpanWithStatus>> {
    const id = parseArgument(SpanIdSchema, spanId, 'getSpanTree argument', 'span_id');
    const what = 'getSpanTree parameters';
    checkListSizes(params, what, [['attributes_to_return', QUERY_LIMITS.attributeKeys]]);
    const p = parseParams(GetSpanTreeParamsSchema, params, what);
    return queries.getSpanTree(
      await this.usable(),
      id,
      p.attributes_to_return ?? null,
      p.max_depth ?? null,
    );
  }

  async querySpans(params: QuerySpansParams): Promise<Span[]> {
    const what = 'querySpans parameters';
    checkListSizes(params, what, [
      ['attribute_filters', QUERY_LIMITS.attributeFilters],
      ['attributes_to_return', QUERY_LIMITS.attributeKeys],
    ]);
    const p = parseParams(QuerySpansParamsSchema, params, what, (d) =>
      filterIssues(d.attribute_filters),
    );
    return queries.querySpans(await this.usable(), {
      filters: p.attribute_filters,
      attributesToReturn: p.attributes_to_return ?? null,
      maxDepth: p.max_depth ?? null,
      limit: p.limit ?? null,
      offset: p.offset ?? 0,
    });
  }

  async saveSpansToDataset(
    params: SaveSpansToDatasetParams,
    writer?: DatasetWriter,
  ): Promise<void> {
    const what = 'saveSpansToDataset parameters';
    checkListSizes(params, what, [
      ['attribute_filters', QUERY_LIMITS.attributeFilters],
      ['attributes_to_save', QUERY_LIMITS.attributeKeys],
    ]);
    const p = parseParams(SaveSpansToDatasetParamsSchema, params, what, (d) =>
      filterIssues(d.attribute_filters),
    );
    const target = writer ?? this.defaultDatasetWriter();
    if (!target) {
      throw new TelemetryConfigError(
        'saveSpansToDataset() needs a dataset writer: pass one as its second argument, or create the sink with ' +
          `${this.datasetWriterExample}.`,
      );
    }
    const keys = [...new Set(p.attributes_to_save)];
    const walk = new queries.SpanWalk(await this.usable(), {
      filters: p.attribute_filters,
      attributesToReturn: keys,
      maxDepth: p.max_depth ?? null,
      limit: null,
      offset: 0,
    });
    // A page at a time: memory follows the page, not the dataset, and the
    // event loop runs while the writer appends.
    for (let first = true; ; first = false) {
      if (this.isClosed()) throw this.closedError();
      const spans = await walk.next(DATASET_PAGE_ROWS);
      // The first page goes to the writer even when empty: it validates the dataset id.
      if (spans.length === 0 && !first) break;
      const rows = spans.map((span) => {
        const row: Record<string, unknown> = {
          trace_id: span.trace_id,
          span_id: span.span_id,
          parent_span_id: span.parent_span_id ?? null,
          name: span.name,
          start_time: span.start_time,
          end_time: span.end_time,
        };
        for (const key of keys) setOwn(row, key, span.attributes?.[key] ?? null);
        return row;
      });
      await target.appendRows(p.dataset_id, rows);
      if (spans.length < DATASET_PAGE_ROWS) break;
    }
  }

  async queryMetrics(metricName: string, params: QueryMetricsParams): Promise<MetricSeries[]> {
    const what = 'queryMetrics parameters';
    // The name is checked with the parameters, so one error lists every problem.
    const nameIssues: ValidationIssue[] =
      typeof metricName === 'string' && metricName !== ''
        ? []
        : [{ path: 'metric_name', message: 'expected a non-empty metric name' }];
    checkListSizes(params, what, [['label_matchers', QUERY_LIMITS.labelMatchers]]);
    const parsed = QueryMetricsParamsSchema.safeParse(params ?? {});
    if (!parsed.success) {
      throw new TelemetryValidationError(what, [...nameIssues, ...paramIssues(parsed.error)]);
    }
    const p = parsed.data;
    const issues = [...nameIssues];
    for (const field of ['start_time', 'end_time'] as const) {
      const value = p[field];
      if (value != null && value > MAX_UNIX_SECONDS) {
        issues.push({
          path: field,
          message: `expected unix seconds up to ${MAX_UNIX_SECONDS} (9999-12-31T23:59:59Z), got ${value}`,
        });
      }
    }
    if (p.end_time != null && p.start_time > p.end_time) {
      issues.push({
        path: 'start_time',
        message: `expected at most end_time (${p.end_time}), got ${p.start_time}`,
      });
    }
    if (p.granularity && granularitySeconds(p.granularity) > MAX_UNIX_SECONDS) {
      issues.push({
        path: 'granularity',
        message: `expected at most ${MAX_UNIX_SECONDS} seconds, got ${preview(p.granularity)}`,
      });
    }
    const { compiled, bad } = compileMatchers(p.label_matchers ?? []);
    for (const b of bad) {
      issues.push({ path: formatPath(['label_matchers', b.index, 'value']), message: b.message });
    }
    if (issues.length > 0) throw new TelemetryValidationError(what, issues);
    return queryMetrics(await this.usable(), {
      metric: metricName,
      queryType: p.query_type,
      startTime: p.start_time,
      endTime: p.end_time ?? Math.floor(Date.now() / 1000),
      granularity: p.granularity ?? null,
      matchers: compiled,
    });
  }

  // ---------------------------------------------------------------------------
  // TraceSearchStore (search.ts, span-events.ts, suggest.ts, tail.ts)

  async searchTraces(params?: TraceSearchParams): Promise<TraceSearchResult> {
    const p = parseSearchParams(TraceSearchParamsSchema, params, 'searchTraces parameters');
    return search.searchTraces(await this.usable(), p);
  }

  async getTraceDetail(traceId: string, params?: TraceDetailParams): Promise<TraceDetail> {
    const id = parseArgument(TraceIdSchema, traceId, 'getTraceDetail argument', 'trace_id');
    const p = parseSearchParams(TraceDetailParamsSchema, params, 'getTraceDetail parameters');
    return spanEvents.getTraceDetail(
      await this.usable(),
      id,
      p.limit ?? SEARCH_LIMITS.detailSpans.default,
      p.event_limit ?? SEARCH_LIMITS.detailEvents.default,
    );
  }

  async getSpanEvents(
    traceId: string,
    spanId: string,
    params?: SpanEventsParams,
  ): Promise<SpanEvents> {
    const ids = parseIds(traceId, spanId, 'getSpanEvents arguments');
    const p = parseSearchParams(SpanEventsParamsSchema, params, 'getSpanEvents parameters');
    return spanEvents.getSpanEvents(
      await this.usable(),
      ids.traceId,
      ids.spanId,
      p.limit ?? SEARCH_LIMITS.spanEvents.default,
    );
  }

  async suggest(params: SuggestParams): Promise<Suggestions> {
    const p = parseSearchParams(SuggestParamsSchema, params, 'suggest parameters');
    return suggestions.suggest(await this.usable(), {
      field: p.field,
      prefix: p.prefix ?? '',
      service: p.service ?? null,
      limit: p.limit ?? SEARCH_LIMITS.suggestions.default,
    });
  }

  async tailSpans(params?: TailSpansParams): Promise<TailSpansResult> {
    const p = parseSearchParams(TailSpansParamsSchema, params, 'tailSpans parameters');
    return tail.tailSpans(
      await this.usable(),
      p.cursor ?? null,
      p.limit ?? SEARCH_LIMITS.tail.default,
    );
  }

  // ---------------------------------------------------------------------------
  // TraceStoreAdmin (admin.ts)

  async storeStats(): Promise<StoreStats> {
    const ctx = await this.usable();
    return admin.storeStats(ctx, await this.storeSizeBytes());
  }

  prune(params: PruneParams): Promise<PruneResult> {
    let p: ReturnType<typeof PruneParamsSchema.parse>;
    try {
      p = parseSearchParams(PruneParamsSchema, params, 'prune parameters');
    } catch (error) {
      return Promise.reject(error);
    }
    return this.runPrune({
      olderThan: p.older_than ?? null,
      keepSpans: p.keep_spans ?? null,
      vacuum: p.vacuum ?? false,
    });
  }
}

/** A trace id and a span id, both checked (one error names both when both are bad). */
function parseIds(traceId: unknown, spanId: unknown, what: string) {
  const issues: ValidationIssue[] = [];
  const t = TraceIdSchema.safeParse(traceId);
  const s = SpanIdSchema.safeParse(spanId);
  if (!t.success)
    issues.push({ path: 'trace_id', message: t.error.issues[0]?.message ?? 'invalid' });
  if (!s.success)
    issues.push({ path: 'span_id', message: s.error.issues[0]?.message ?? 'invalid' });
  if (!t.success || !s.success) throw new TelemetryValidationError(what, issues);
  return { traceId: t.data, spanId: s.data };
}

/**
 * Comparisons need an ordered value: `gt`/`lt` against null or an array mean
 * nothing (arrays compare only for equality, with array attributes).
 */
function filterIssues(filters: readonly { op: string; value: unknown }[]): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  filters.forEach((f, i) => {
    if ((f.op === 'gt' || f.op === 'lt') && (f.value === null || Array.isArray(f.value))) {
      issues.push({
        path: formatPath(['attribute_filters', i, 'value']),
        message: `'${f.op}' needs a string, number or boolean to compare with, got ${f.value === null ? 'null' : 'an array'}`,
      });
    }
  });
  return issues;
}

function orderIssues(orderBy: readonly string[]): ValidationIssue[] {
  return queries.parseTraceOrder(orderBy).bad.map((i) => ({
    path: formatPath(['order_by', i]),
    message: `expected one of ${queries.TRACE_ORDER_FIELDS.join(', ')} (prefix '-' for descending), got ${preview(orderBy[i])}`,
  }));
}
