/**
 * The trace and span queries of the query API, as small functions that take
 * the query context first. Filters, keys and ids reach SQLite only as bound
 * parameters; the only identifiers in the SQL come from fixed lists here.
 */
import {
  type QueryCondition,
  type Span,
  type SpanWithStatus,
  TelemetryNotFoundError,
  type Trace,
  toIsoMicros,
} from '@telemetry/core';
import { type Expression, type SqlBool, sql } from 'kysely';
import { encodeAttributeValue, ValueType } from './attribute-values.ts';
import type { QueryContext } from './query-context.ts';

/** Trace columns `order_by` may name (prefix `-` for descending). */
export const TRACE_ORDER_FIELDS = [
  'trace_id',
  'root_span_id',
  'service_name',
  'start_time',
  'end_time',
] as const;
export type TraceOrderField = (typeof TRACE_ORDER_FIELDS)[number];

export interface TraceOrder {
  readonly field: TraceOrderField;
  readonly descending: boolean;
}

/** Parses `order_by` entries; returns the bad ones by index. */
export function parseTraceOrder(orderBy: readonly string[]): {
  order: TraceOrder[];
  bad: number[];
} {
  const order: TraceOrder[] = [];
  const bad: number[] = [];
  orderBy.forEach((entry, i) => {
    const descending = entry.startsWith('-');
    const field = descending ? entry.slice(1) : entry;
    if ((TRACE_ORDER_FIELDS as readonly string[]).includes(field)) {
      order.push({ field: field as TraceOrderField, descending });
    } else {
      bad.push(i);
    }
  });
  return { order, bad };
}

type AttrAlias = 'a0' | 'x';

/** One filter as SQL over a `span_attributes` row; key and value are parameters. */
function conditionSql(alias: AttrAlias, c: QueryCondition): Expression<SqlBool> {
  const key = sql.ref(`${alias}.key`);
  const type = sql.ref(`${alias}.value_type`);
  const value = sql.ref(`${alias}.value`);
  const encoded = encodeAttributeValue(c.value);
  const isNull = encoded.type === ValueType.null;
  switch (c.op) {
    case 'eq':
      return isNull
        ? sql<SqlBool>`${key} = ${c.key} and ${type} = ${encoded.type}`
        : sql<SqlBool>`${key} = ${c.key} and ${type} = ${encoded.type} and ${value} = ${encoded.value}`;
    case 'ne':
      // The key must be there: a span without it matches neither eq nor ne.
      return isNull
        ? sql<SqlBool>`${key} = ${c.key} and ${type} <> ${encoded.type}`
        : sql<SqlBool>`${key} = ${c.key} and (${type} <> ${encoded.type} or ${value} <> ${encoded.value})`;
    case 'gt':
      return sql<SqlBool>`${key} = ${c.key} and ${type} = ${encoded.type} and ${value} > ${encoded.value}`;
    case 'lt':
      return sql<SqlBool>`${key} = ${c.key} and ${type} = ${encoded.type} and ${value} < ${encoded.value}`;
  }
}

/** The spans' other filters, checked on the span that `a0` belongs to, by primary key. */
function otherFiltersOnSameSpan(ctx: QueryContext, rest: readonly QueryCondition[]) {
  return rest.map(
    (f) =>
      sql<SqlBool>`exists ${ctx.db
        .selectFrom('span_attributes as x')
        .select(sql.lit(1).as('one'))
        .where(sql<SqlBool>`${sql.ref('x.span_rowid')} = ${sql.ref('a0.span_rowid')}`)
        .where(conditionSql('x', f))}`,
  );
}

/** A filter matching at least this many attribute rows counts as dense. */
const DENSE_MATCHES = 2_000;

/** How many attribute rows match one filter, counting no further than DENSE_MATCHES. */
function countUpTo(ctx: QueryContext, f: QueryCondition): number {
  const matches = ctx.db
    .selectFrom('span_attributes as a0')
    .select(sql.lit(1).as('one'))
    .where(conditionSql('a0', f))
    .limit(DENSE_MATCHES);
  const row = ctx.all(ctx.db.selectFrom(matches.as('m')).select(sql<number>`count(*)`.as('n')))[0];
  return row?.n ?? 0;
}

/**
 * "Trace `t` has a span on which every filter holds", planned by how many
 * rows the filters match (each probe reads at most DENSE_MATCHES index
 * entries):
 * - a selective filter drives: its index lookup yields the few candidate
 *   spans, the other filters are checked on each, and `t.trace_id IN (...)`;
 * - when every filter is dense, traces are walked in the requested order and
 *   each is checked through its spans, so a page of results stops early
 *   instead of collecting most of the store first.
 */
function traceMatches(ctx: QueryContext, filters: readonly QueryCondition[]): Expression<SqlBool> {
  const counted = filters.map((f) => ({ f, n: countUpTo(ctx, f) })).sort((a, b) => a.n - b.n);
  const [first, ...rest] = counted.map((c) => c.f) as [QueryCondition, ...QueryCondition[]];
  if (counted[0]!.n === 0) return sql<SqlBool>`0`;
  let spans = ctx.db
    .selectFrom('span_attributes as a0')
    .innerJoin('spans as s', 's.id', 'a0.span_rowid')
    .where(conditionSql('a0', first));
  for (const e of otherFiltersOnSameSpan(ctx, rest)) spans = spans.where(e);
  if (counted[0]!.n < DENSE_MATCHES) {
    return sql<SqlBool>`${sql.ref('t.trace_id')} in ${spans.select('s.trace_id')}`;
  }
  return sql<SqlBool>`exists ${spans
    .select(sql.lit(1).as('one'))
    .where(sql<SqlBool>`${sql.ref('s.trace_id')} = ${sql.ref('t.trace_id')}`)}`;
}

interface TraceRow {
  trace_id: string;
  root_span_id: string;
  start_time: number;
  end_time: number;
}

function toTrace(row: TraceRow): Trace {
  return {
    trace_id: row.trace_id,
    root_span_id: row.root_span_id,
    start_time: toIsoMicros(row.start_time),
    end_time: toIsoMicros(row.end_time),
  };
}

export interface TraceQuery {
  readonly filters: readonly QueryCondition[];
  readonly limit: number;
  readonly offset: number;
  readonly order: readonly TraceOrder[];
}

/** Traces whose local root span has ended, filtered, ordered and paged. */
export function queryTraces(ctx: QueryContext, query: TraceQuery): Trace[] {
  let q = ctx.db
    .selectFrom('traces as t')
    .select(['t.trace_id', 't.root_span_id', 't.start_time', 't.end_time'])
    .where('t.root_span_id', 'is not', null);
  if (query.filters.length > 0) {
    q = q.where(traceMatches(ctx, query.filters));
  }
  for (const o of query.order) q = q.orderBy(`t.${o.field}`, o.descending ? 'desc' : 'asc');
  // The trace id breaks ties, so pages never overlap or skip.
  if (!query.order.some((o) => o.field === 'trace_id')) q = q.orderBy('t.trace_id', 'asc');
  q = q.limit(query.limit).offset(query.offset);
  return ctx.all(q).map((row) => toTrace(row as TraceRow));
}

/** One trace; not found when unknown, expired, or its local root has not ended yet. */
export function getTrace(ctx: QueryContext, traceId: string): Trace {
  const row = ctx.all(
    ctx.db
      .selectFrom('traces')
      .select(['trace_id', 'root_span_id', 'start_time', 'end_time'])
      .where('trace_id', '=', traceId)
      .where('root_span_id', 'is not', null),
  )[0];
  if (!row) throw new TelemetryNotFoundError('Trace', traceId);
  return toTrace(row as TraceRow);
}

interface SpanRow {
  span_id: string;
  trace_id: string;
  parent_span_id: string | null;
  name: string;
  start_time: number;
  end_time: number;
  attributes: string;
  status: string;
}

function parseAttributes(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/** Every attribute asked for, `null` where the span lacks it; all of them when none are asked for. */
function project(
  attributes: Record<string, unknown>,
  keys: readonly string[] | null,
): Record<string, unknown> {
  if (!keys || keys.length === 0) return attributes;
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = Object.hasOwn(attributes, key) ? attributes[key] : null;
  return out;
}

function toSpan(row: SpanRow, attributes: Record<string, unknown>): Span {
  return {
    span_id: row.span_id,
    trace_id: row.trace_id,
    parent_span_id: row.parent_span_id,
    name: row.name,
    start_time: toIsoMicros(row.start_time),
    end_time: toIsoMicros(row.end_time),
    attributes,
  };
}

const SPAN_COLUMNS = [
  'span_id',
  'trace_id',
  'parent_span_id',
  'name',
  'start_time',
  'end_time',
  'attributes',
  'status',
] as const;

/** The same columns read from `spans as s`, with the row id, for the recursive tree queries. */
const S_SPAN_COLUMNS = [
  's.id',
  's.span_id',
  's.trace_id',
  's.parent_span_id',
  's.name',
  's.start_time',
  's.end_time',
  's.attributes',
  's.status',
] as const;

/** One span of one trace, with its attributes as an object. */
export function getSpan(ctx: QueryContext, traceId: string, spanId: string): Span {
  const row = ctx.all(
    ctx.db
      .selectFrom('spans')
      .select(SPAN_COLUMNS)
      .where('span_id', '=', spanId)
      .where('trace_id', '=', traceId),
  )[0] as SpanRow | undefined;
  if (!row) throw new TelemetryNotFoundError('Span', spanId);
  return toSpan(row, parseAttributes(row.attributes));
}

/**
 * A span and its descendants in the same trace, down to `maxDepth` levels
 * (the span itself is depth 1), ordered by depth then start time.
 */
export function getSpanTree(
  ctx: QueryContext,
  spanId: string,
  attributesToReturn: readonly string[] | null,
  maxDepth: number | null,
): Record<string, SpanWithStatus> {
  const q = ctx.db
    .withRecursive(
      'tree(id, span_id, trace_id, parent_span_id, name, start_time, end_time, attributes, status, depth)',
      (db) =>
        db
          .selectFrom('spans')
          .select(['id', ...SPAN_COLUMNS, sql<number>`1`.as('depth')])
          .where('span_id', '=', spanId)
          .unionAll((db) => {
            let child = db
              .selectFrom('tree as p')
              .innerJoin('spans as s', (join) =>
                join
                  .onRef('s.trace_id', '=', 'p.trace_id')
                  .onRef('s.parent_span_id', '=', 'p.span_id'),
              )
              .select([...S_SPAN_COLUMNS, sql<number>`p.depth + 1`.as('depth')]);
            if (maxDepth !== null) child = child.where('p.depth', '<', maxDepth);
            return child;
          }),
    )
    .selectFrom('tree')
    .select([...SPAN_COLUMNS, 'depth'])
    .orderBy('depth')
    .orderBy('start_time')
    .orderBy('span_id');
  const rows = ctx.all(q) as (SpanRow & { depth: number })[];
  if (rows.length === 0) throw new TelemetryNotFoundError('Span', spanId);
  const out: Record<string, SpanWithStatus> = {};
  for (const row of rows) {
    out[row.span_id] = {
      ...toSpan(row, project(parseAttributes(row.attributes), attributesToReturn)),
      status: row.status === 'error' ? 'error' : 'ok',
    };
  }
  return out;
}

export interface SpanQuery {
  readonly filters: readonly QueryCondition[];
  readonly attributesToReturn: readonly string[] | null;
  readonly maxDepth: number | null;
  readonly limit: number | null;
  readonly offset: number;
}

/**
 * Spans of the traces that match the filters, walked from each trace's local
 * root down to `maxDepth`, that carry every attribute asked for (non-null),
 * each with its own trace id. Traces in start order, spans by depth then start.
 */
export function querySpans(ctx: QueryContext, query: SpanQuery): Span[] {
  const { maxDepth } = query;
  let q = ctx.db
    .withRecursive(
      'tree(id, span_id, trace_id, parent_span_id, name, start_time, end_time, attributes, status, depth, trace_start)',
      (db) => {
        let roots = db
          .selectFrom('traces as t')
          .innerJoin('spans as s', (join) =>
            join.onRef('s.span_id', '=', 't.root_span_id').onRef('s.trace_id', '=', 't.trace_id'),
          )
          .select([...S_SPAN_COLUMNS, sql<number>`1`.as('depth'), 't.start_time as trace_start'])
          .where('t.root_span_id', 'is not', null);
        if (query.filters.length > 0) {
          roots = roots.where(traceMatches(ctx, query.filters));
        }
        return roots.unionAll((db) => {
          let child = db
            .selectFrom('tree as p')
            .innerJoin('spans as s', (join) =>
              join
                .onRef('s.trace_id', '=', 'p.trace_id')
                .onRef('s.parent_span_id', '=', 'p.span_id'),
            )
            .select([...S_SPAN_COLUMNS, sql<number>`p.depth + 1`.as('depth'), 'p.trace_start']);
          if (maxDepth !== null) child = child.where('p.depth', '<', maxDepth);
          return child;
        });
      },
    )
    .selectFrom('tree')
    .select(SPAN_COLUMNS);
  for (const key of query.attributesToReturn ?? []) {
    q = q.where(({ exists, selectFrom }) =>
      exists(
        selectFrom('span_attributes as x')
          .select(sql.lit(1).as('one'))
          .whereRef('x.span_rowid', '=', 'tree.id')
          .where('x.key', '=', key)
          .where('x.value_type', '<>', ValueType.null),
      ),
    );
  }
  q = q
    .orderBy('trace_start')
    .orderBy('trace_id')
    .orderBy('depth')
    .orderBy('start_time')
    .orderBy('span_id');
  if (query.limit !== null) q = q.limit(query.limit).offset(query.offset);
  else if (query.offset > 0) q = q.limit(-1).offset(query.offset);
  const rows = ctx.all(q) as SpanRow[];
  return rows.map((row) =>
    toSpan(row, project(parseAttributes(row.attributes), query.attributesToReturn)),
  );
}
