/**
 * Housekeeping of the SQLite store for `telemetry stats` and `telemetry
 * prune`: counts, size on disk and time span per service, and pruning through
 * the retention code (chunked transactions, so writers in this or another
 * process keep going), then an optional VACUUM.
 */
import { statSync } from 'node:fs';
import type { PruneResult, StoreStats } from '@telemetry/core/sink';
import { SEARCH_LIMITS } from '@telemetry/core/sink';
import type BetterSqlite3 from 'better-sqlite3';
import { type Compilable, sql } from 'kysely';
import type { QueryContext } from './query-context.ts';
import type { ChunkRunner, Retention, RetentionResult } from './retention.ts';
import { isoTime, text } from './rows.ts';
import { num } from './search.ts';

/** Bytes the store takes: the database file and its WAL (pages, for `:memory:`). */
export function storeSize(raw: BetterSqlite3.Database, path: string): number {
  if (path === ':memory:') {
    return (
      (raw.pragma('page_count', { simple: true }) as number) *
      (raw.pragma('page_size', { simple: true }) as number)
    );
  }
  let bytes = 0;
  for (const file of [path, `${path}-wal`]) {
    try {
      bytes += statSync(file).size;
    } catch {
      // No WAL file (checkpointed and removed): nothing to add.
    }
  }
  return bytes;
}

interface ServiceRow {
  service_name: unknown;
  traces: unknown;
  spans: unknown;
  error_traces: unknown;
  oldest: unknown;
  newest: unknown;
}

export function storeStats(
  ctx: QueryContext,
  raw: BetterSqlite3.Database,
  path: string,
): StoreStats {
  const count = (q: Compilable<{ n: number }>) => num(ctx.all(q)[0]?.n);
  const n = sql<number>`count(*)`.as('n');
  const traces = count(ctx.db.selectFrom('traces').select(n));
  const spans = count(ctx.db.selectFrom('spans').select(n));
  const events = count(ctx.db.selectFrom('span_events').select(n));
  // The partial metric index holds exactly the metric points.
  const metricPoints = count(
    ctx.db.selectFrom('span_events').select(n).where('series_id', 'is not', null),
  );
  const series = count(ctx.db.selectFrom('metric_series').select(n));
  const range = ctx.all(
    ctx.db
      .selectFrom('traces')
      .select([
        sql<unknown>`min(start_time)`.as('oldest'),
        sql<unknown>`max(start_time)`.as('newest'),
      ]),
  )[0] as { oldest: unknown; newest: unknown } | undefined;
  const limit = SEARCH_LIMITS.statsServices;
  const services = ctx.all(
    ctx.db
      .selectFrom('traces')
      .select([
        'service_name',
        sql<number>`count(*)`.as('traces'),
        sql<number>`sum(span_count)`.as('spans'),
        sql<number>`sum(error_count > 0)`.as('error_traces'),
        sql<unknown>`min(start_time)`.as('oldest'),
        sql<unknown>`max(start_time)`.as('newest'),
      ])
      .groupBy('service_name')
      .orderBy(sql`count(*)`, 'desc')
      .orderBy('service_name')
      .limit(limit + 1),
  ) as ServiceRow[];
  const present = (v: unknown) => (v === null || v === undefined ? null : isoTime(v));
  return {
    traces,
    spans,
    logs: Math.max(0, events - metricPoints),
    metric_points: metricPoints,
    metric_series: series,
    size_bytes: storeSize(raw, path),
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
  readonly raw: BetterSqlite3.Database;
  readonly path: string;
  readonly retention: Retention;
  /** The sink's chunk runner: its busy retry and WAL checkpoint pacing. */
  readonly run: ChunkRunner;
  /** The sink's busy retry, for the VACUUM. */
  readonly retry: <T>(fn: () => T) => Promise<T>;
}

/** Old traces first, then the span cap, then VACUUM; counts exactly what each step deleted. */
export async function prune(deps: PruneDeps, request: PruneRequest): Promise<PruneResult> {
  const before = storeSize(deps.raw, deps.path);
  const results: RetentionResult[] = [];
  if (request.olderThan !== null) {
    results.push(await deps.retention.purgeEndedBefore(request.olderThan, deps.run));
  }
  if (request.keepSpans !== null) {
    results.push(await deps.retention.enforceCap(request.keepSpans, deps.run));
  }
  if (request.vacuum) {
    await deps.retry(() => deps.raw.exec('VACUUM'));
    // VACUUM writes the whole database through the WAL: fold it back in and
    // truncate it, so the file system gets the space now.
    if (deps.path !== ':memory:') {
      await deps.retry(() => deps.raw.pragma('wal_checkpoint(TRUNCATE)'));
    }
  }
  const sum = (key: keyof RetentionResult) => results.reduce((n, r) => n + r[key], 0);
  return {
    deleted_traces: sum('deletedTraces'),
    deleted_spans: sum('deletedSpans'),
    deleted_events: sum('deletedEvents'),
    vacuumed: request.vacuum,
    size_bytes_before: before,
    size_bytes_after: storeSize(deps.raw, deps.path),
  };
}
