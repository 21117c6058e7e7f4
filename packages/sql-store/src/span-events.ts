/**
 * A trace with everything stored about it: its spans (status, kind, status
 * message, attributes) and their logs and metric events, bounded by limits
 * so that a trace of 100k spans, or a span with 100k logs, answers a page of
 * them and says it was cut.
 */
import {
  type SpanDetail,
  type SpanEvents,
  type SpanLog,
  type SpanMetricEvent,
  setOwn,
  TelemetryNotFoundError,
  type TraceDetail,
} from '@telemetry/core/sink';
import { sql } from 'kysely';
import type { QueryContext } from './query-context.ts';
import { isoTime, parseAttributes, text } from './rows.ts';
import { durationMs, num, TRACE_COLUMNS, type TraceRow, toSummary } from './search.ts';

/** A `spans` row as read, with its rowid and its trace's service. */
export interface SpanDetailRow {
  id: unknown;
  span_id: unknown;
  trace_id: unknown;
  parent_span_id: unknown;
  name: unknown;
  kind: unknown;
  status: unknown;
  status_message: unknown;
  start_time: unknown;
  end_time: unknown;
  attributes: unknown;
}

export const SPAN_DETAIL_COLUMNS = [
  's.id',
  's.span_id',
  's.trace_id',
  's.parent_span_id',
  's.name',
  's.kind',
  's.status',
  's.status_message',
  's.start_time',
  's.end_time',
  's.attributes',
] as const;

/** A span row as a result; its service is its `service.name` attribute, else its trace's. */
export function toSpanDetail(row: SpanDetailRow, traceService: unknown): SpanDetail {
  const attributes = parseAttributes(row.attributes);
  const own = attributes['service.name'];
  return {
    trace_id: text(row.trace_id),
    span_id: text(row.span_id),
    parent_span_id:
      row.parent_span_id === null || row.parent_span_id === undefined
        ? null
        : text(row.parent_span_id),
    name: text(row.name),
    service_name:
      typeof own === 'string' && own !== ''
        ? own
        : traceService === null || traceService === undefined
          ? null
          : text(traceService),
    kind: text(row.kind) || 'internal',
    status: row.status === 'error' ? 'error' : 'ok',
    status_message:
      row.status_message === null || row.status_message === undefined
        ? null
        : text(row.status_message),
    start_time: isoTime(row.start_time),
    end_time: isoTime(row.end_time),
    duration_ms: durationMs(row.start_time, row.end_time),
    attributes,
  };
}

interface EventRow {
  span_id: unknown;
  timestamp: unknown;
  attributes: unknown;
  series_id: unknown;
  value: unknown;
  metric: unknown;
  unit: unknown;
  labels: unknown;
}

/**
 * The events of the given span rowids, earliest first, at most `limit`
 * (one more is read to tell whether any were left out).
 */
async function readEvents(
  ctx: QueryContext,
  rowids: readonly unknown[],
  limit: number,
): Promise<{ logs: SpanLog[]; metrics: SpanMetricEvent[]; truncated: boolean }> {
  if (rowids.length === 0) return { logs: [], metrics: [], truncated: false };
  // Row ids in one parameter: one statement shape for any count.
  const ids = rowids.map((id) => BigInt(id as number | bigint));
  const rows = (await ctx.all(
    ctx.db
      .selectFrom('span_events as e')
      .leftJoin('metric_series as m', 'm.id', 'e.series_id')
      .select([
        'e.span_id',
        'e.timestamp',
        'e.attributes',
        'e.series_id',
        'e.value',
        'm.metric',
        'm.unit',
        'm.labels',
      ])
      .where(ctx.dialect.inIntegers(sql.ref('e.span_rowid'), ids))
      .orderBy('e.timestamp')
      .orderBy('e.id')
      .limit(limit + 1),
  )) as EventRow[];
  const truncated = rows.length > limit;
  const logs: SpanLog[] = [];
  const metrics: SpanMetricEvent[] = [];
  for (const row of truncated ? rows.slice(0, limit) : rows) {
    if (row.series_id !== null && row.series_id !== undefined) metrics.push(toMetric(row));
    else logs.push(toLog(row));
  }
  return { logs, metrics, truncated };
}

/** A log: its stored attributes hold `message` and `severity` next to the log's own. */
function toLog(row: EventRow): SpanLog {
  const attributes = parseAttributes(row.attributes);
  const { message, severity } = attributes;
  delete attributes.message;
  delete attributes.severity;
  return {
    span_id: text(row.span_id),
    timestamp: isoTime(row.timestamp),
    severity: typeof severity === 'string' ? severity : 'info',
    message: typeof message === 'string' ? message : message == null ? '' : String(message),
    attributes,
  };
}

/** A metric point, named and labelled by its series (labels as the series stores them). */
function toMetric(row: EventRow): SpanMetricEvent {
  return {
    span_id: text(row.span_id),
    timestamp: isoTime(row.timestamp),
    metric: text(row.metric),
    value: num(row.value),
    unit: text(row.unit),
    labels: labelsOf(row.labels),
  };
}

/** Canonical `[[name, value], ...]` as an object; `{}` for anything else. */
function labelsOf(json: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof json !== 'string') return out;
  let pairs: unknown;
  try {
    pairs = JSON.parse(json);
  } catch {
    return out;
  }
  if (!Array.isArray(pairs)) return out;
  for (const pair of pairs) {
    if (Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'string') {
      setOwn(out, pair[0], pair[1]);
    }
  }
  return out;
}

/** A trace, its earliest `limit` spans and their earliest `eventLimit` events. */
export async function getTraceDetail(
  ctx: QueryContext,
  traceId: string,
  limit: number,
  eventLimit: number,
): Promise<TraceDetail> {
  const trace = (
    await ctx.allExact(
      ctx.db.selectFrom('traces as t').select(TRACE_COLUMNS).where('t.trace_id', '=', traceId),
    )
  )[0] as TraceRow | undefined;
  if (!trace) throw new TelemetryNotFoundError('Trace', traceId);
  // The engine keeps only the first `limit + 1` rows while it sorts: memory follows the limit.
  const rows = (await ctx.all(
    ctx.db
      .selectFrom('spans as s')
      .select(SPAN_DETAIL_COLUMNS)
      .where('s.trace_id', '=', traceId)
      .orderBy('s.start_time')
      .orderBy('s.span_id')
      .limit(limit + 1),
  )) as SpanDetailRow[];
  const spansTruncated = rows.length > limit;
  const shown = spansTruncated ? rows.slice(0, limit) : rows;
  const events = await readEvents(
    ctx,
    shown.map((r) => r.id),
    eventLimit,
  );
  return {
    trace: toSummary(trace),
    spans: shown.map((r) => toSpanDetail(r, trace.service_name)),
    logs: events.logs,
    metrics: events.metrics,
    spans_truncated: spansTruncated,
    events_truncated: events.truncated,
  };
}

/** The logs and metric events of one span of one trace. */
export async function getSpanEvents(
  ctx: QueryContext,
  traceId: string,
  spanId: string,
  limit: number,
): Promise<SpanEvents> {
  const span = (
    await ctx.all(
      ctx.db
        .selectFrom('spans')
        .select('id')
        .where('span_id', '=', spanId)
        .where('trace_id', '=', traceId),
    )
  )[0];
  if (!span) throw new TelemetryNotFoundError('Span', spanId);
  return readEvents(ctx, [span.id], limit);
}
