/**
 * Spans in the order they were written, after a cursor: `telemetry tail`
 * polls this, from this process or another one writing to the same store.
 * The order is the dialect's write order (SQLite: the rowid, as writers take
 * the write lock one at a time; PostgreSQL: the writing transaction, read
 * once it and every older one have ended), so a span written later always
 * sorts after the cursor.
 */
import type { TailSpansResult } from '@telemetry/core/sink';
import { comparePositions } from './dialect.ts';
import type { QueryContext } from './query-context.ts';
import { decodeCursor, encodePositionCursor } from './search-cursor.ts';
import { SPAN_DETAIL_COLUMNS, type SpanDetailRow, toSpanDetail } from './span-events.ts';

type TailRow = SpanDetailRow & { trace_service: unknown };

/** The spans written after `cursor` (or the newest `limit` without one), oldest first. */
export async function tailSpans(
  ctx: QueryContext,
  cursor: string | null,
  limit: number,
): Promise<TailSpansResult> {
  const order = ctx.dialect.writeOrder;
  // Decoded first: a bad cursor is the caller's error, whatever the store holds.
  const after =
    cursor === null
      ? null
      : decodeCursor(cursor, 'position', 'cursor', 'tailSpans parameters', order.width).position;
  const position = await order.current(ctx);
  const base = ctx.db
    .selectFrom('spans as s')
    .leftJoin('traces as t', 't.trace_id', 's.trace_id')
    .select([
      ...SPAN_DETAIL_COLUMNS,
      ...(order.selectColumns('s') as ['s.id']),
      't.service_name as trace_service',
    ]);
  let rows: TailRow[];
  let more: boolean;
  if (after === null) {
    // The end of the store: the newest `limit` spans, returned oldest first.
    let q = base.where(order.between('s', null, position));
    for (const column of order.orderColumns('s')) q = q.orderBy(column as 's.id', 'desc');
    rows = ((await ctx.allExact(q.limit(limit))) as TailRow[]).reverse();
    more = false;
  } else {
    // A cursor past the end (the store was emptied or replaced) starts again at the end.
    const from = comparePositions(after, position) > 0 ? position : after;
    let q = base.where(order.between('s', from, position));
    for (const column of order.orderColumns('s')) q = q.orderBy(column as 's.id');
    rows = (await ctx.allExact(q.limit(limit + 1))) as TailRow[];
    more = rows.length > limit;
    if (more) rows = rows.slice(0, limit);
    if (rows.length === 0) return { spans: [], cursor: encodePositionCursor(from), more: false };
  }
  const last = rows[rows.length - 1];
  return {
    spans: rows.map((r) => toSpanDetail(r, r.trace_service)),
    cursor: encodePositionCursor(
      last ? order.of(last as unknown as Record<string, unknown>) : position,
    ),
    more,
  };
}
