/**
 * The search extensions of a trace store, beyond the Llama Stack query API:
 * trace search, a trace with its spans, logs and metric events, suggestions,
 * a tail of new spans, and the store's admin (stats, prune). Zod schemas with
 * their types inferred, as the rest of the model: the store, the HTTP server
 * and their clients validate with these same definitions.
 *
 * Parameters and results are snake_case (they are request and response
 * bodies, as Llama Stack's are). Unlike the Llama Stack shapes, an absent
 * value in a result is `null`, never a missing key: these are not
 * llama-stack-client types, and a client reads every field the same way.
 */
import { z } from 'zod';
import { formatPath, TelemetryValidationError, type ValidationIssue } from './errors.ts';
import { QueryConditionSchema, SpanStatusSchema, TimestampSchema } from './schemas.ts';

/**
 * Defaults and bounds of every search parameter, in one place. A value past
 * a bound is a `TelemetryValidationError` naming the field, so one call is
 * bounded in work and memory whatever it asks.
 */
export const SEARCH_LIMITS = Object.freeze({
  /** `searchTraces` `limit`: traces per page. */
  traces: Object.freeze({ default: 50, max: 1_000 }),
  /** `getTraceDetail` `limit`: spans of the trace, earliest first. */
  detailSpans: Object.freeze({ default: 1_000, max: 10_000 }),
  /** `getTraceDetail` `event_limit`: logs and metric events of those spans together. */
  detailEvents: Object.freeze({ default: 10_000, max: 100_000 }),
  /** `getSpanEvents` `limit`: logs and metric events of one span together. */
  spanEvents: Object.freeze({ default: 1_000, max: 10_000 }),
  /** `suggest` `limit`: distinct values. */
  suggestions: Object.freeze({ default: 100, max: 1_000 }),
  /** `tailSpans` `limit`: spans per call (0 gives only the cursor). */
  tail: Object.freeze({ default: 100, max: 1_000 }),
  /** `storeStats` services listed (the busiest first). */
  statsServices: 1_000,
  /** `attribute_filters` entries of a trace search (each is a subquery). */
  attributeFilters: 64,
  /** Longest `service`, `name` or `prefix` text. */
  text: 1_024,
  /** Longest cursor. */
  cursor: 512,
  /** Longest duration filter, in milliseconds (about 317 years). */
  durationMs: 1e13,
});

const text = (what: string) =>
  z
    .string({ error: `expected ${what}` })
    .min(1, { error: `expected ${what}, not an empty string` })
    .max(SEARCH_LIMITS.text, { error: `expected at most ${SEARCH_LIMITS.text} characters` });

const cursor = z
  .string({ error: 'expected a cursor from an earlier answer' })
  .min(1, { error: 'expected a cursor from an earlier answer' })
  .max(SEARCH_LIMITS.cursor, { error: 'expected a cursor from an earlier answer' });

const limit = (bounds: { readonly max: number }, min = 1) =>
  z
    .number({ error: 'expected a whole number' })
    .int({ error: 'expected a whole number' })
    .min(min, { error: `expected ${min} to ${bounds.max}` })
    .max(bounds.max, { error: `expected ${min} to ${bounds.max}` });

const durationMs = z
  .number({ error: 'expected a number of milliseconds' })
  .nonnegative({ error: 'expected 0 or more milliseconds' })
  .max(SEARCH_LIMITS.durationMs, {
    error: `expected at most ${SEARCH_LIMITS.durationMs} milliseconds`,
  });

/**
 * A list whose length is checked before its entries are read, so a list of
 * a million entries costs one check and one issue, not a million.
 */
function boundedList<T extends z.ZodType>(item: T, max: number) {
  return z
    .unknown()
    .check(
      z.refine((v) => !Array.isArray(v) || v.length <= max, {
        message: `expected at most ${max} entries`,
        abort: true,
      }),
    )
    .pipe(z.array(item)) as unknown as z.ZodType<z.output<T>[], z.input<T>[]>;
}

/**
 * Comparisons need an ordered value: `gt`/`lt` against null or an array mean
 * nothing (arrays compare only for equality, with array attributes).
 */
function comparableIssues(filters: unknown, field: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (!Array.isArray(filters)) return issues;
  filters.forEach((f: { op?: unknown; value?: unknown } | null, i) => {
    if (typeof f !== 'object' || f === null) return;
    if ((f.op === 'gt' || f.op === 'lt') && (f.value === null || Array.isArray(f.value))) {
      issues.push({
        path: formatPath([field, i, 'value']),
        message: `'${f.op}' needs a string, number or boolean to compare with, got ${f.value === null ? 'null' : 'an array'}`,
      });
    }
  });
  return issues;
}

/**
 * A check across fields that runs even when some field is invalid, so one
 * error lists every problem; it sees the raw values, so it checks their types.
 */
function crossCheck(
  check: (p: Record<string, unknown>, add: (path: string, message: string) => void) => void,
) {
  return z.superRefine<Record<string, unknown>>(
    (p, ctx) => {
      if (typeof p !== 'object' || p === null) return;
      check(p, (path, message) => ctx.addIssue({ code: 'custom', path: [path], message }));
    },
    { when: () => true },
  );
}

const isNum = (v: unknown): v is number => typeof v === 'number';

// ---------------------------------------------------------------------------
// Trace search

export const TraceSearchStatusSchema = z.enum(['ok', 'error'], {
  error: "expected 'error' (a span of the trace failed) or 'ok' (none did)",
});
export type TraceSearchStatus = z.infer<typeof TraceSearchStatusSchema>;

/**
 * `searchTraces` parameters; every one is optional and they combine with AND.
 * Traces are listed newest first (start time, then trace id, descending).
 */
export const TraceSearchParamsSchema = z
  .strictObject({
    /** Traces that start at or after this time (ISO-8601, a Date, or epoch microseconds). */
    start: TimestampSchema.nullish(),
    /** Traces that start at or before this time. */
    end: TimestampSchema.nullish(),
    /** The trace's service: its local root span's `service.name`. */
    service: text('a service name').nullish(),
    /** The name of the trace's local root span, exactly. */
    name: text('a span name').nullish(),
    /** `error`: some span of the trace has status error; `ok`: none has. */
    status: TraceSearchStatusSchema.nullish(),
    /** Trace duration (first span start to last span end) at least this long. */
    min_duration_ms: durationMs.nullish(),
    /** Trace duration at most this long. */
    max_duration_ms: durationMs.nullish(),
    /** Attribute conditions that must all hold on one span of the trace (as `queryTraces`). */
    attribute_filters: boundedList(QueryConditionSchema, SEARCH_LIMITS.attributeFilters).nullish(),
    /** Traces per page. @default 50 */
    limit: limit(SEARCH_LIMITS.traces).nullish(),
    /** `next_cursor` of the previous page. */
    cursor: cursor.nullish(),
    /** `live_cursor` of an earlier answer: only traces that became visible since. */
    newer_than: cursor.nullish(),
  })
  .check(
    crossCheck((p, add) => {
      if (isNum(p.start) && isNum(p.end) && p.start > p.end) add('start', 'expected at most end');
      if (isNum(p.min_duration_ms) && isNum(p.max_duration_ms)) {
        if (p.min_duration_ms > p.max_duration_ms) {
          add('min_duration_ms', 'expected at most max_duration_ms');
        }
      }
      if (p.cursor != null && p.newer_than != null) {
        add(
          'cursor',
          'expected cursor or newer_than, not both: page a list, or poll it for new traces',
        );
      }
      for (const issue of comparableIssues(p.attribute_filters, 'attribute_filters')) {
        add(issue.path, issue.message);
      }
    }),
  );
export type TraceSearchParams = z.input<typeof TraceSearchParamsSchema>;
export type ParsedTraceSearchParams = z.output<typeof TraceSearchParamsSchema>;

const IsoTime = z.string();
const Count = z.number().int().nonnegative();

/** One trace in search results (and at the top of a trace detail). */
export const TraceSummarySchema = z.object({
  trace_id: z.string(),
  /** The local root span; `null` only in a detail of a trace whose root has not ended. */
  root_span_id: z.string().nullable(),
  root_name: z.string().nullable(),
  service_name: z.string().nullable(),
  start_time: IsoTime,
  end_time: IsoTime,
  duration_ms: z.number(),
  span_count: Count,
  /** Spans of the trace with status error. */
  error_count: Count,
});
export type TraceSummary = z.infer<typeof TraceSummarySchema>;

export const TraceSearchResultSchema = z.object({
  /** Newest first. */
  traces: z.array(TraceSummarySchema),
  /** Pass as `cursor` for the next page; `null` on the last page. */
  next_cursor: z.string().nullable(),
  /** Pass as `newer_than` (with the same filters) to get the traces that become visible later. */
  live_cursor: z.string(),
});
export type TraceSearchResult = z.infer<typeof TraceSearchResultSchema>;

// ---------------------------------------------------------------------------
// A trace, its spans and their events

/** A stored span with everything the store keeps about it. */
export const SpanDetailSchema = z.object({
  trace_id: z.string(),
  span_id: z.string(),
  /** `null` for a span without a parent; may name a span of another process (a remote parent). */
  parent_span_id: z.string().nullable(),
  name: z.string(),
  /** The span's `service.name` attribute, else its trace's service. */
  service_name: z.string().nullable(),
  kind: z.string(),
  status: SpanStatusSchema,
  status_message: z.string().nullable(),
  start_time: IsoTime,
  end_time: IsoTime,
  duration_ms: z.number(),
  attributes: z.record(z.string(), z.unknown()),
});
export type SpanDetail = z.infer<typeof SpanDetailSchema>;

/** A log of a span. */
export const SpanLogSchema = z.object({
  span_id: z.string(),
  timestamp: IsoTime,
  /** As logged (`verbose` ... `critical`). */
  severity: z.string(),
  message: z.string(),
  attributes: z.record(z.string(), z.unknown()),
});
export type SpanLog = z.infer<typeof SpanLogSchema>;

/** A metric event of a span (one data point). */
export const SpanMetricEventSchema = z.object({
  span_id: z.string(),
  timestamp: IsoTime,
  metric: z.string(),
  value: z.number(),
  unit: z.string(),
  /** Label values as strings, as metric series carry them. */
  labels: z.record(z.string(), z.string()),
});
export type SpanMetricEvent = z.infer<typeof SpanMetricEventSchema>;

export const TraceDetailParamsSchema = z.strictObject({
  /** Spans, earliest start first. @default 1000 */
  limit: limit(SEARCH_LIMITS.detailSpans).nullish(),
  /** Logs and metric events of those spans, together, earliest first. @default 10000 */
  event_limit: limit(SEARCH_LIMITS.detailEvents).nullish(),
});
export type TraceDetailParams = z.input<typeof TraceDetailParamsSchema>;

export const TraceDetailSchema = z.object({
  trace: TraceSummarySchema,
  /** Earliest start first (then span id). */
  spans: z.array(SpanDetailSchema),
  /** Logs of the spans listed, earliest first. */
  logs: z.array(SpanLogSchema),
  /** Metric events of the spans listed, earliest first. */
  metrics: z.array(SpanMetricEventSchema),
  /** The trace has more spans than `limit`: the earliest are listed. */
  spans_truncated: z.boolean(),
  /** The spans listed have more events than `event_limit`: the earliest are listed. */
  events_truncated: z.boolean(),
});
export type TraceDetail = z.infer<typeof TraceDetailSchema>;

export const SpanEventsParamsSchema = z.strictObject({
  /** Logs and metric events together, earliest first. @default 1000 */
  limit: limit(SEARCH_LIMITS.spanEvents).nullish(),
});
export type SpanEventsParams = z.input<typeof SpanEventsParamsSchema>;

export const SpanEventsSchema = z.object({
  logs: z.array(SpanLogSchema),
  metrics: z.array(SpanMetricEventSchema),
  /** The span has more events than `limit`: the earliest are listed. */
  truncated: z.boolean(),
});
export type SpanEvents = z.infer<typeof SpanEventsSchema>;

// ---------------------------------------------------------------------------
// Suggestions

/**
 * What `suggest` lists: trace services, root span names (the names search
 * filters on), attribute keys, metric names.
 */
export const SuggestFieldSchema = z.enum(['service', 'span_name', 'attribute_key', 'metric_name'], {
  error: "expected 'service', 'span_name', 'attribute_key' or 'metric_name'",
});
export type SuggestField = z.infer<typeof SuggestFieldSchema>;

export const SuggestParamsSchema = z
  .strictObject({
    field: SuggestFieldSchema,
    /** Only values that start with this text (case-sensitive). */
    prefix: z
      .string({ error: 'expected text' })
      .max(SEARCH_LIMITS.text, { error: `expected at most ${SEARCH_LIMITS.text} characters` })
      .nullish(),
    /** `span_name` only: root span names of this service's traces. */
    service: text('a service name').nullish(),
    /** Distinct values, in ascending order. @default 100 */
    limit: limit(SEARCH_LIMITS.suggestions).nullish(),
  })
  .check(
    crossCheck((p, add) => {
      if (p.service != null && p.field !== 'span_name') {
        add('service', "only 'span_name' suggestions are per service");
      }
    }),
  );
export type SuggestParams = z.input<typeof SuggestParamsSchema>;

export const SuggestionsSchema = z.object({
  /** Distinct values, ascending (by code unit). */
  values: z.array(z.string()),
  /** More values exist past `limit`. */
  truncated: z.boolean(),
});
export type Suggestions = z.infer<typeof SuggestionsSchema>;

// ---------------------------------------------------------------------------
// Tail

export const TailSpansParamsSchema = z.strictObject({
  /** `cursor` of the previous answer; without it, the newest `limit` spans. */
  cursor: cursor.nullish(),
  /** Spans per answer, in write order; 0 answers only a cursor at the end of the store. @default 100 */
  limit: limit(SEARCH_LIMITS.tail, 0).nullish(),
});
export type TailSpansParams = z.input<typeof TailSpansParamsSchema>;

export const TailSpansResultSchema = z.object({
  /** In the order they were written (each span when it ended). */
  spans: z.array(SpanDetailSchema),
  /** Pass back to get the spans written after these. */
  cursor: z.string(),
  /** More spans are already waiting past `limit`. */
  more: z.boolean(),
});
export type TailSpansResult = z.infer<typeof TailSpansResultSchema>;

// ---------------------------------------------------------------------------
// Store admin

export const PruneParamsSchema = z
  .strictObject({
    /** Delete whole traces whose every span ended before this time. */
    older_than: TimestampSchema.nullish(),
    /** Then keep at most this many spans: the oldest written are deleted. */
    keep_spans: z
      .number({ error: 'expected a whole number' })
      .int({ error: 'expected a whole number' })
      .nonnegative({ error: 'expected 0 or more' })
      .nullish(),
    /** Then rebuild the file to give the freed space back to the file system. @default false */
    vacuum: z.boolean({ error: 'expected true or false' }).nullish(),
  })
  .check(
    crossCheck((p, add) => {
      if (p.older_than == null && p.keep_spans == null && !p.vacuum) {
        add('older_than', 'expected older_than, keep_spans or vacuum: say what to prune');
      }
    }),
  );
export type PruneParams = z.input<typeof PruneParamsSchema>;

export const PruneResultSchema = z.object({
  deleted_traces: Count,
  deleted_spans: Count,
  /** Logs and metric events deleted with their spans. */
  deleted_events: Count,
  vacuumed: z.boolean(),
  size_bytes_before: Count,
  size_bytes_after: Count,
});
export type PruneResult = z.infer<typeof PruneResultSchema>;

export const ServiceStatsSchema = z.object({
  service_name: z.string().nullable(),
  traces: Count,
  spans: Count,
  /** Traces with at least one span in error. */
  error_traces: Count,
  /** Earliest and latest trace start. */
  oldest: IsoTime,
  newest: IsoTime,
});
export type ServiceStats = z.infer<typeof ServiceStatsSchema>;

export const StoreStatsSchema = z.object({
  traces: Count,
  spans: Count,
  logs: Count,
  metric_points: Count,
  metric_series: Count,
  /** The store's size on disk (for SQLite: the file and its WAL). */
  size_bytes: Count,
  /** Earliest and latest trace start; `null` when the store is empty. */
  oldest: IsoTime.nullable(),
  newest: IsoTime.nullable(),
  /** Per trace service, the most traces first. */
  services: z.array(ServiceStatsSchema),
  /** More services exist than are listed. */
  services_truncated: z.boolean(),
});
export type StoreStats = z.infer<typeof StoreStatsSchema>;

// ---------------------------------------------------------------------------

interface ParseSchema<Out> {
  safeParse(value: unknown): { success: true; data: Out } | { success: false; error: z.ZodError };
}

/**
 * Validates the parameters of a search method with its schema and throws one
 * `TelemetryValidationError` listing every problem, each at its field (an
 * unknown parameter at its own name, so a typo is named). Stores call this
 * first, so every store rejects the same input the same way.
 */
export function parseSearchParams<Out>(
  schema: ParseSchema<Out>,
  value: unknown,
  what: string,
): Out {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw new TelemetryValidationError(what, searchIssues(result.error));
}

/** Zod issues as paths and messages; an unknown key is named, a whole-object problem is `params`. */
export function searchIssues(error: z.ZodError): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        issues.push({ path: formatPath([...issue.path, key]), message: 'unknown parameter' });
      }
    } else {
      const path = formatPath(issue.path);
      issues.push({ path: path === '(root)' ? 'params' : path, message: issue.message });
    }
  }
  return issues;
}
