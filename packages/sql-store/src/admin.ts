/**
 * Housekeeping of the store for `telemetry stats` and `telemetry prune`:
 * counts, size and time span per service, and pruning through the retention
 * code (chunked transactions, so writers keep going), then the engine's own
 * space reclaim (the sink's `vacuum`).
 */
import type { PruneResult, StoreStats } from '@telemetry/core/sink';
import { SEARCH_LIMITS } from '@telemetry/core/sink';
import { type Compilable, sql } from 'kysely';
import type { QueryContext } from './query-context.ts';
import type { Retention, RetentionResult } from './retention.ts';
import { isoTime, text } from './rows.ts';
import { num } from './search.ts';

interface ServiceRow {
  service_name: unknown;
  traces: unknown;
  spans: unknown;
  error_traces: unknown;
  oldest: unknown;
  newest: unknown;
}

/** Counts and time spans of the store; `sizeBytes` is the engine's (file, or relations). */
export async function storeStats(ctx: QueryContext, sizeBytes: number): Promise<StoreStats> {
  const count = async (q: Compilable<{ n: number }>) => num((await ctx.all(q))[0]?.n);
  const n = sql<number>`count(*)`.as('n');
  const traces = await count(ctx.db.selectFrom('traces').select(n));
  const spans = await count(ctx.db.selectFrom('spans').select(n));
  const events = await count(ctx.db.selectFrom('span_events').select(n));
  // The partial metric index holds exactly the metric points.
  const metricPoints = await count(
    ctx.db.selectFrom('span_events').select(n).where('series_id', 'is not', null),
  );
  const series = await count(ctx.db.selectFrom('metric_series').select(n));
  const range = (
    await ctx.all(
      ctx.db
        .selectFrom('traces')
        .select([
          sql<unknown>`min(start_time)`.as('oldest'),
          sql<unknown>`max(start_time)`.as('newest'),
        ]),
    )
  )[0] as { oldest: unknown; newest: unknown } | undefined;
  const limit = SEARCH_LIMITS.statsServices;
  const services = (await ctx.all(
    ctx.db
      .selectFrom('traces')
      .select([
        'service_name',
        sql<number>`count(*)`.as('traces'),
        sql<number>`sum(span_count)`.as('spans'),
        sql<number>`sum(case when error_count > 0 then 1 else 0 end)`.as('error_traces'),
        sql<unknown>`min(start_time)`.as('oldest'),
        sql<unknown>`max(start_time)`.as('newest'),
      ])
      .groupBy('service_name')
      .orderBy(sql`count(*)`, 'desc')
      .orderBy('service_name')
      .limit(limit + 1),
  )) as ServiceRow[];
  const present = (v: unknown) => (v === null || v === undefined ? null : isoTime(v));
  return {
    traces,
    spans,
    logs: Math.max(0, events - metricPoints),
    metric_points: metricPoints,
    metric_series: series,
    size_bytes: sizeBytes,
    oldest: present(range?.oldest),
    newest: present(range?.newest),
    services: services.slice(0, limit).map((row) => ({
      service_name: row.service_name === null ? null : text(row.service_name),
      traces: num(row.traces),
      spans: num(row.spans),
      error_traces: num(row.error_traces),
      oldest: isoTime(row.oldest),
      newest: isoTime(row.newest),
    })),
    services_truncated: services.length > limit,
  };
}

export interface PruneRequest {
  /** Epoch microseconds. */
  readonly olderThan: number | null;
  readonly keepSpans: number | null;
  readonly vacuum: boolean;
}

export interface PruneDeps {
  readonly retention: Retention;
  /** The store's size in bytes, before and after. */
  sizeBytes(): Promise<number>;
  /** Gives the space of deleted rows back (SQLite: VACUUM and a WAL truncate; PostgreSQL: VACUUM). */
  vacuum(): Promise<void>;
}

/** Old traces first, then the span cap, then the vacuum; counts exactly what each step deleted. */
export async function prune(deps: PruneDeps, request: PruneRequest): Promise<PruneResult> {
  const before = await deps.sizeBytes();
  const results: RetentionResult[] = [];
  if (request.olderThan !== null) {
    results.push(await deps.retention.purgeEndedBefore(request.olderThan));
  }
  if (request.keepSpans !== null) {
    results.push(await deps.retention.enforceCap(request.keepSpans));
  }
  if (request.vacuum) await deps.vacuum();
  const sum = (key: keyof RetentionResult) => results.reduce((n, r) => n + r[key], 0);
  return {
    deleted_traces: sum('deletedTraces'),
    deleted_spans: sum('deletedSpans'),
    deleted_events: sum('deletedEvents'),
    vacuumed: request.vacuum,
    size_bytes_before: before,
    size_bytes_after: await deps.sizeBytes(),
  };
}
