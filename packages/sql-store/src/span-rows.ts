/**
 * What every writer does before and around its inserts: completed spans
 * checked and turned into row values (everything that can fail on bad input
 * happens here, before a transaction), the per-trace aggregate of a batch,
 * and the trace upsert that merges it into the stored trace row. How rows
 * reach the database is the sink's (sink-sqlite: prepared statements row by
 * row; sink-postgres: one multi-row insert per table).
 */
import type { CompletedSpan } from '@telemetry/core';
import { type OnConflictBuilder, sql } from 'kysely';
import type { StoreDialect } from './dialect.ts';
import { isLocalRoot } from './roots.ts';
import type { Database } from './schema.ts';

export interface PreparedSpan {
  readonly span: CompletedSpan;
  readonly attributesJson: string;
  readonly expiresAt: number;
  readonly isRoot: boolean;
  /** Its `service.name` attribute (from an OTLP resource), else the writer's service. */
  readonly service: string;
  readonly events: readonly PreparedEvent[];
}

export interface PreparedEvent {
  readonly name: string;
  readonly timestamp: number;
  readonly attributesJson: string;
  readonly metric?: {
    readonly name: string;
    readonly unit: string;
    readonly labels: string;
    readonly value: number;
  };
}

export interface SpanRowOptions {
  readonly serviceName: string;
  readonly defaultTtlSeconds: number;
}

/** Canonical label set of a metric event: sorted by name, values as strings, nulls left out. */
export function canonicalLabels(attributes: Readonly<Record<string, unknown>> | undefined): string {
  if (!attributes) return '[]';
  const pairs: [string, string][] = [];
  for (const key of Object.keys(attributes).sort()) {
    const value = attributes[key];
    if (value === null || value === undefined) continue;
    pairs.push([key, typeof value === 'string' ? value : JSON.stringify(value)]);
  }
  return JSON.stringify(pairs);
}

/** A log's attributes as the reference stores them: its own, then message and severity. */
function logJson(
  attributes: Readonly<Record<string, unknown>> | undefined,
  message: string,
  severity: string,
): string {
  let empty = true;
  for (const _ in attributes) {
    empty = false;
    break;
  }
  if (empty) return JSON.stringify({ message, severity });
  return JSON.stringify({ ...attributes, message, severity });
}

/**
 * A span as row values, or null when it cannot be stored (no ids, non-finite
 * times, a malformed event). Never throws.
 */
export function prepareSpan(span: CompletedSpan, options: SpanRowOptions): PreparedSpan | null {
  try {
    if (typeof span.span_id !== 'string' || typeof span.trace_id !== 'string') return null;
    if (!Number.isFinite(span.start_time) || !Number.isFinite(span.end_time)) return null;
    const attributes = span.attributes ?? {};
    const ttl =
      typeof span.ttl_seconds === 'number' &&
      span.ttl_seconds > 0 &&
      Number.isFinite(span.ttl_seconds)
        ? span.ttl_seconds
        : options.defaultTtlSeconds;
    if (typeof span.name !== 'string') return null;
    const events: PreparedEvent[] = [];
    for (const event of span.events ?? []) {
      // A NULL time would fail the whole transaction: refuse the span instead.
      if (!Number.isFinite(event.timestamp)) return null;
      if (event.type === 'metric') {
        if (typeof event.metric !== 'string' || typeof event.unit !== 'string') return null;
        const labels = event.attributes ?? {};
        events.push({
          name: `metric.${event.metric}`,
          timestamp: event.timestamp,
          attributesJson: JSON.stringify({ ...labels, value: event.value, unit: event.unit }),
          metric: {
            name: event.metric,
            unit: event.unit,
            labels: canonicalLabels(labels),
            value: event.value,
          },
        });
      } else {
        events.push({
          name: event.type,
          timestamp: event.timestamp,
          attributesJson: logJson(event.attributes, event.message, event.severity),
        });
      }
    }
    const service = attributes['service.name'];
    return {
      span,
      attributesJson: JSON.stringify(attributes),
      expiresAt: Math.round(span.end_time + ttl * 1_000_000),
      isRoot: isLocalRoot(attributes, span.parent_span_id),
      service: typeof service === 'string' && service !== '' ? service : options.serviceName,
      events,
    };
  } catch {
    return null;
  }
}

/** What a batch adds to one trace row. */
export interface TraceAggregate {
  readonly traceId: string;
  start: number;
  end: number;
  root: PreparedSpan | null;
  /** The first span's service: the trace's until its root is written. */
  service: string;
  spans: number;
  errors: number;
}

/** The same preference as the trace upsert: no parent first, then the earlier start, then the id. */
function betterRoot(a: PreparedSpan, b: PreparedSpan): boolean {
  const aTop = !a.span.parent_span_id;
  const bTop = !b.span.parent_span_id;
  if (aTop !== bTop) return aTop;
  if (a.span.start_time !== b.span.start_time) return a.span.start_time < b.span.start_time;
  return a.span.span_id < b.span.span_id;
}

/** Adds up the stored spans of a batch per trace. */
export class TraceAggregates {
  readonly #traces = new Map<string, TraceAggregate>();

  /** A span that was stored (not one skipped as already there). */
  add(p: PreparedSpan): void {
    const s = p.span;
    const failed = s.status === 'error' ? 1 : 0;
    const t = this.#traces.get(s.trace_id);
    if (!t) {
      this.#traces.set(s.trace_id, {
        traceId: s.trace_id,
        start: s.start_time,
        end: s.end_time,
        root: p.isRoot ? p : null,
        service: p.service,
        spans: 1,
        errors: failed,
      });
    } else {
      if (s.start_time < t.start) t.start = s.start_time;
      if (s.end_time > t.end) t.end = s.end_time;
      if (p.isRoot && (t.root === null || betterRoot(p, t.root))) t.root = p;
      t.spans++;
      t.errors += failed;
    }
  }

  /** Each trace's row values, in trace id order (so concurrent writers lock trace rows in one order). */
  rows(): TraceRowValues[] {
    return [...this.#traces.values()]
      .sort((a, b) => (a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0))
      .map((t) => ({
        trace_id: t.traceId,
        service_name: t.root ? t.root.service : t.service,
        root_span_id: t.root?.span.span_id ?? null,
        root_name: t.root?.span.name ?? null,
        start_time: t.start,
        end_time: t.end,
        span_count: t.spans,
        error_count: t.errors,
      }));
  }
}

/** The values of one trace row as a batch inserts or merges it (in the column order of `TRACE_ROW_COLUMNS`). */
export interface TraceRowValues {
  readonly trace_id: string;
  readonly service_name: string;
  readonly root_span_id: string | null;
  readonly root_name: string | null;
  readonly start_time: number;
  readonly end_time: number;
  readonly span_count: number;
  readonly error_count: number;
}

export const TRACE_ROW_COLUMNS = [
  'trace_id',
  'service_name',
  'root_span_id',
  'root_name',
  'start_time',
  'end_time',
  'span_count',
  'error_count',
] as const satisfies readonly (keyof TraceRowValues)[];

/**
 * How a batch's trace row merges into the stored one (`insert into traces
 * ... on conflict (trace_id) do update`): times widen, counts add up, and of
 * two root candidates (from another batch or process) a span without a
 * parent beats a marked local root under a remote parent, then the earlier.
 * The root's name and service come with it.
 */
export function mergeTraceRow(dialect: StoreDialect) {
  const chosenRoot = sql<string | null>`case
              when traces.root_span_id is null then excluded.root_span_id
              when excluded.root_span_id is null or excluded.root_span_id = traces.root_span_id then traces.root_span_id
              else coalesce((select s.span_id from spans s
                where s.span_id in (traces.root_span_id, excluded.root_span_id)
                order by s.parent_span_id is not null, s.start_time, s.span_id limit 1), excluded.root_span_id)
            end`;
  const newRootWins = sql`excluded.root_span_id is not null
              and ${dialect.isDistinct(sql.ref('excluded.root_span_id'), sql.ref('traces.root_span_id'))}
              and (${chosenRoot}) = excluded.root_span_id`;
  return (oc: OnConflictBuilder<Database, 'traces'>) =>
    oc.column('trace_id').doUpdateSet({
      service_name: sql`case when ${newRootWins} then excluded.service_name
              else coalesce(traces.service_name, excluded.service_name) end`,
      root_name: sql`case when ${newRootWins} then excluded.root_name else traces.root_name end`,
      start_time: dialect.least(sql.ref('traces.start_time'), sql.ref('excluded.start_time')),
      end_time: dialect.greatest(sql.ref('traces.end_time'), sql.ref('excluded.end_time')),
      root_span_id: chosenRoot,
      span_count: sql`traces.span_count + excluded.span_count`,
      error_count: sql`traces.error_count + excluded.error_count`,
    });
}

/** What one chunk of a store sink's write did. */
export interface ChunkResult {
  /** Spans stored. */
  readonly written: number;
  /** Spans whose id was already stored (a retry, another writer): skipped with their events. */
  readonly duplicates: number;
  /** Spans that could not be turned into rows (counted, skipped). */
  readonly invalid: readonly CompletedSpan[];
}
