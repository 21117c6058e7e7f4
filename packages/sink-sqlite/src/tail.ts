/**
 * Spans in the order they were written, after a cursor: `telemetry tail`
 * polls this, from this process or another one with the same file open (in
 * WAL mode a reader sees every committed transaction). The order is the
 * spans' rowid: writers take the write lock one at a time and each span gets
 * the next rowid, so a span written later always sorts after the cursor.
 */
import type { TailSpansResult } from '@telemetry/core/sink';
import type { QueryContext } from './query-context.ts';
import { writePosition } from './search.ts';
import { decodeCursor, encodePositionCursor } from './search-cursor.ts';
import { SPAN_DETAIL_COLUMNS, type SpanDetailRow, toSpanDetail } from './span-events.ts';

type TailRow = SpanDetailRow & { trace_service: unknown };

/** The spans written after `cursor` (or the newest `limit` without one), oldest first. */
export function tailSpans(
  ctx: QueryContext,
  cursor: string | null,
  limit: number,
): TailSpansResult {
  const position = writePosition(ctx);
  const base = ctx.db
    .selectFrom('spans as s')
    .leftJoin('traces as t', 't.trace_id', 's.trace_id')
    .select([...SPAN_DETAIL_COLUMNS, 't.service_name as trace_service']);
  let rows: TailRow[];
  let more: boolean;
  if (cursor === null) {
    // The end of the store: the newest `limit` spans, returned oldest first.
    rows = (
      ctx.allExact(
        base
          .where('s.id', '<=', position as never)
          .orderBy('s.id', 'desc')
          .limit(limit),
      ) as TailRow[]
    ).reverse();
    more = false;
  } else {
    const after = decodeCursor(cursor, 'position', 'cursor', 'tailSpans parameters');
    // A cursor past the end (the store was emptied or replaced) starts again at the end.
    let from = after.rowid;
    if (from > position) from = position;
    rows = ctx.allExact(
      base
        .where('s.id', '>', from as never)
        .orderBy('s.id')
        .limit(limit + 1),
    ) as TailRow[];
    more = rows.length > limit;
    if (more) rows = rows.slice(0, limit);
    if (rows.length === 0) return { spans: [], cursor: encodePositionCursor(from), more: false };
  }
  const last = rows[rows.length - 1];
  return {
    spans: rows.map((r) => toSpanDetail(r, r.trace_service)),
    cursor: encodePositionCursor(last ? (last.id as bigint) : position),
    more,
  };
}
