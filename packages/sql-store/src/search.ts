/**
 * Trace search: the traces whose local root has ended, filtered by time,
 * service, root name, status, duration and attributes, newest first, a page
 * at a time. Every filter but the attribute conditions is a column of the
 * trace row, and the trace indexes (see the trace_search migration) list
 * them in (start_time, trace_id) order, so a page stops at its limit: the
 * work follows the page, not the store.
 */
import {
  type ParsedTraceSearchParams,
  SEARCH_LIMITS,
  type TraceSearchResult,
  type TraceSummary,
} from '@telemetry/core/sink';
import { type Expression, type SqlBool, sql } from 'kysely';
import type { WritePosition } from './dialect.ts';
import { traceMatches } from './queries.ts';
import type { QueryContext } from './query-context.ts';
import { isoTime, text } from './rows.ts';
import { decodeCursor, encodePageCursor, encodePositionCursor } from './search-cursor.ts';

const WHAT = 'searchTraces parameters';

/** A `traces` row as read (exact integers); any column may hold anything in a hostile file. */
export interface TraceRow {
  trace_id: unknown;
  root_span_id: unknown;
  root_name: unknown;
  service_name: unknown;
  start_time: unknown;
  end_time: unknown;
  span_count: unknown;
  error_count: unknown;
}

export const TRACE_COLUMNS = [
  't.trace_id',
  't.root_span_id',
  't.root_name',
  't.service_name',
  't.start_time',
  't.end_time',
  't.span_count',
  't.error_count',
] as const;

/** A number column as a number: bigints converted, anything else 0. */
export function num(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? value : 0;
  if (typeof value === 'bigint') return Number(value);
  return 0;
}

function nullableText(value: unknown): string | null {
  return value === null || value === undefined ? null : text(value);
}

/** Microseconds between two time columns, as milliseconds (0 when either is not a number). */
export function durationMs(start: unknown, end: unknown): number {
  const a = typeof start === 'bigint' || typeof start === 'number' ? start : undefined;
  const b = typeof end === 'bigint' || typeof end === 'number' ? end : undefined;
  if (a === undefined || b === undefined) return 0;
  const micros =
    typeof a === 'bigint' && typeof b === 'bigint' ? Number(b - a) : Number(b) - Number(a);
  return Number.isFinite(micros) ? micros / 1000 : 0;
}

export function toSummary(row: TraceRow): TraceSummary {
  return {
    trace_id: text(row.trace_id),
    root_span_id: nullableText(row.root_span_id),
    root_name: nullableText(row.root_name),
    service_name: nullableText(row.service_name),
    start_time: isoTime(row.start_time),
    end_time: isoTime(row.end_time),
    duration_ms: durationMs(row.start_time, row.end_time),
    span_count: Math.max(0, Math.trunc(num(row.span_count))),
    error_count: Math.max(0, Math.trunc(num(row.error_count))),
  };
}

/** The filters of a search as conditions on trace `t`. */
async function filterConditions(
  ctx: QueryContext,
  p: ParsedTraceSearchParams,
): Promise<Expression<SqlBool>[]> {
  const t = (column: string) => sql.ref(`t.${column}`);
  const where: Expression<SqlBool>[] = [sql<SqlBool>`${t('root_span_id')} is not null`];
  if (p.start != null) where.push(sql<SqlBool>`${t('start_time')} >= ${p.start}`);
  if (p.end != null) where.push(sql<SqlBool>`${t('start_time')} <= ${p.end}`);
  if (p.service != null) where.push(sql<SqlBool>`${t('service_name')} = ${p.service}`);
  if (p.name != null) where.push(sql<SqlBool>`${t('root_name')} = ${p.name}`);
  // The same terms as the partial index's WHERE, so SQLite can use it.
  if (p.status === 'error') where.push(sql<SqlBool>`${t('error_count')} > 0`);
  if (p.status === 'ok') where.push(sql<SqlBool>`${t('error_count')} = 0`);
  if (p.min_duration_ms != null) {
    where.push(
      sql<SqlBool>`${t('end_time')} - ${t('start_time')} >= ${Math.ceil(p.min_duration_ms * 1000)}`,
    );
  }
  if (p.max_duration_ms != null) {
    where.push(
      sql<SqlBool>`${t('end_time')} - ${t('start_time')} <= ${Math.floor(p.max_duration_ms * 1000)}`,
    );
  }
  if (p.attribute_filters && p.attribute_filters.length > 0) {
    where.push(await traceMatches(ctx, p.attribute_filters));
  }
  return where;
}

/** One page of a trace search (parameters already validated). */
export async function searchTraces(
  ctx: QueryContext,
  p: ParsedTraceSearchParams,
): Promise<TraceSearchResult> {
  const limit = p.limit ?? SEARCH_LIMITS.traces.default;
  const order = ctx.dialect.writeOrder;
  const after = p.cursor != null ? decodeCursor(p.cursor, 'page', 'cursor', WHAT) : null;
  const newer =
    p.newer_than != null
      ? decodeCursor(p.newer_than, 'position', 'newer_than', WHAT, order.width)
      : null;
  // Read before the page: whatever is written meanwhile is past this position,
  // so polling with it as newer_than misses nothing.
  const position = await order.current(ctx);
  const where = await filterConditions(ctx, p);
  if (after) {
    // Written as a range on start_time (which the indexes serve), then the tie.
    where.push(
      sql<SqlBool>`${sql.ref('t.start_time')} <= ${after.startTime} and (${sql.ref('t.start_time')} < ${after.startTime} or ${sql.ref('t.trace_id')} < ${after.traceId})`,
    );
  }
  const rows = newer
    ? await newerTraces(ctx, where, newer.position, position, limit + 1)
    : await page(ctx, where, limit + 1);
  const more = rows.length > limit;
  const shown = more ? rows.slice(0, limit) : rows;
  const last = shown[shown.length - 1];
  return {
    traces: shown.map(toSummary),
    next_cursor:
      more && last && (typeof last.start_time === 'bigint' || typeof last.start_time === 'number')
        ? encodePageCursor(last.start_time, text(last.trace_id))
        : null,
    // The position read before the page, even behind a newer_than from a
    // store since emptied or replaced: the next poll then sees what comes.
    live_cursor: encodePositionCursor(position),
  };
}

function page(
  ctx: QueryContext,
  where: readonly Expression<SqlBool>[],
  limit: number,
): Promise<TraceRow[]> {
  let q = ctx.db.selectFrom('traces as t').select(TRACE_COLUMNS);
  for (const w of where) q = q.where(w);
  q = q.orderBy('t.start_time', 'desc').orderBy('t.trace_id', 'desc').limit(limit);
  return ctx.allExact(q) as Promise<TraceRow[]>;
}

/**
 * Traces whose root span was written after the cursor and up to `position`:
 * read from the spans written since (a range in write order), so polling
 * costs what was written since the last poll, not the store.
 */
function newerTraces(
  ctx: QueryContext,
  where: readonly Expression<SqlBool>[],
  after: WritePosition,
  position: WritePosition,
  limit: number,
): Promise<TraceRow[]> {
  // CROSS JOIN keeps the new spans as the outer loop (in SQLite).
  let q = ctx.db
    .selectFrom('spans as r')
    .crossJoin('traces as t')
    .select(TRACE_COLUMNS)
    .where(ctx.dialect.writeOrder.between('r', after, position))
    .whereRef('t.trace_id', '=', 'r.trace_id')
    .whereRef('t.root_span_id', '=', 'r.span_id');
  for (const w of where) q = q.where(w);
  q = q.orderBy('t.start_time', 'desc').orderBy('t.trace_id', 'desc').limit(limit);
  return ctx.allExact(q) as Promise<TraceRow[]>;
}
