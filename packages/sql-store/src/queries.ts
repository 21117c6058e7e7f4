/**
 * The trace and span queries of the query API, as small functions that take
 * the query context first. Filters, keys and ids reach the database only as
 * bound parameters; the only identifiers in the SQL come from fixed lists here.
 */
import {
  type QueryCondition,
  type Span,
  type SpanWithStatus,
  TelemetryNotFoundError,
  type Trace,
} from '@telemetry/core';
import { setOwn } from '@telemetry/core/sink';
import { type Expression, type SqlBool, sql } from 'kysely';
import { encodeAttributeValue, ValueType } from './attribute-values.ts';
import type { StoreDialect } from './dialect.ts';
import type { QueryContext } from './query-context.ts';
import { isoTime, parseAttributes, text } from './rows.ts';

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
function conditionSql(d: StoreDialect, alias: AttrAlias, c: QueryCondition): Expression<SqlBool> {
  const key = sql.ref(`${alias}.key`);
  const type = sql.ref(`${alias}.value_type`);
  const encoded = encodeAttributeValue(c.value);
  const isNull = encoded.type === ValueType.null;
  const compare = (op: '=' | '<>' | '>' | '<') =>
    d.attributeCompare(alias, encoded.type, op, encoded.value);
  switch (c.op) {
    case 'eq':
      return isNull
        ? sql<SqlBool>`${key} = ${c.key} and ${type} = ${encoded.type}`
        : sql<SqlBool>`${key} = ${c.key} and ${type} = ${encoded.type} and ${compare('=')}`;
    case 'ne':
      // The key must be there: a span without it matches neither eq nor ne.
      return isNull
        ? sql<SqlBool>`${key} = ${c.key} and ${type} <> ${encoded.type}`
        : sql<SqlBool>`${key} = ${c.key} and (${type} <> ${encoded.type} or ${compare('<>')})`;
    case 'gt':
      return sql<SqlBool>`${key} = ${c.key} and ${type} = ${encoded.type} and ${compare('>')}`;
    case 'lt':
      return sql<SqlBool>`${key} = ${c.key} and ${type} = ${encoded.type} and ${compare('<')}`;
  }
}

/** The other filters, checked on the span that `alias` belongs to, by primary key. */
function otherFiltersOnSameSpan(
  ctx: QueryContext,
  alias: AttrAlias,
  rest: readonly QueryCondition[],
) {
  return rest.map(
    (f) =>
      sql<SqlBool>`exists ${ctx.db
        .selectFrom('span_attributes as x')
        .select(sql.lit(1).as('one'))
        .where(sql<SqlBool>`${sql.ref('x.span_rowid')} = ${sql.ref(`${alias}.span_rowid`)}`)
        .where(conditionSql(ctx.dialect, 'x', f))}`,
  );
}

/** A filter matching at least this many attribute rows counts as dense. */
const DENSE_MATCHES = 2_000;

/** How many attribute rows match one filter, counting no further than DENSE_MATCHES. */
async function countUpTo(ctx: QueryContext, f: QueryCondition): Promise<number> {
  const matches = ctx.db
    .selectFrom('span_attributes as a0')
    .select(sql.lit(1).as('one'))
    .where(conditionSql(ctx.dialect, 'a0', f))
    .limit(DENSE_MATCHES);
  const count = ctx.db.selectFrom(matches.as('m')).select(sql<number>`count(*)`.as('n'));
  const row = (await ctx.allWith(ctx.dialect.probeSettings, count))[0];
  return Number(row?.n ?? 0);
}

/**
 * "Trace `t` has a span on which every filter holds", planned by how many
 * rows the filters match (each probe walks the attribute index and stops at
 * DENSE_MATCHES matches: under the dialect's `probeSettings`, as PostgreSQL
 * would otherwise collect every match in a bitmap scan first, 10-30 ms for
 * 50k-200k matches on a 1M-span store against about 2 ms, measured with
 * sink-postgres's bench store):
 * - a selective filter drives: its index lookup yields the few candidate
 *   spans, the other filters are checked on each, and `t.trace_id IN (...)`;
 * - when every filter is dense, each trace is checked through its own spans
 *   (the trace's index range, then one primary-key lookup per span and
 *   filter), so traces walked in the requested order stop at the page: the
 *   work follows limit + offset, not the number of matching traces. (Driving
 *   this check from the attribute index instead costs a scan of the matches
 *   per trace: quadratic over a page deep into the store.)
 */
export async function traceMatches(
  ctx: QueryContext,
  filters: readonly QueryCondition[],
): Promise<Expression<SqlBool>> {
  const counted: { f: QueryCondition; n: number }[] = [];
  for (const f of filters) counted.push({ f, n: await countUpTo(ctx, f) });
  counted.sort((a, b) => a.n - b.n);
  const [first, ...rest] = counted.map((c) => c.f) as [QueryCondition, ...QueryCondition[]];
  if (counted[0]!.n === 0) return ctx.dialect.never;
  if (counted[0]!.n < DENSE_MATCHES) {
    let spans = ctx.db
      .selectFrom('span_attributes as a0')
      .innerJoin('spans as s', 's.id', 'a0.span_rowid')
      .where(conditionSql(ctx.dialect, 'a0', first));
    for (const e of otherFiltersOnSameSpan(ctx, 'a0', rest)) spans = spans.where(e);
    return sql<SqlBool>`${sql.ref('t.trace_id')} in ${spans.select('s.trace_id')}`;
  }
  // CROSS JOIN fixes the loop order in SQLite: the trace's spans outside
  // (PostgreSQL's planner chooses its own order either way).
  let spans = ctx.db
    .selectFrom('spans as s')
    .crossJoin('span_attributes as a0')
    .select(sql.lit(1).as('one'))
    .where(sql<SqlBool>`${sql.ref('s.trace_id')} = ${sql.ref('t.trace_id')}`)
    .whereRef('a0.span_rowid', '=', 's.id')
    .where(conditionSql(ctx.dialect, 'a0', first));
  for (const e of otherFiltersOnSameSpan(ctx, 'a0', rest)) spans = spans.where(e);
  const perRow = ctx.dialect.perRowSubquery;
  return sql<SqlBool>`exists ${perRow ? spans.modifyEnd(perRow) : spans}`;
}

interface TraceRow {
  trace_id: unknown;
  root_span_id: unknown;
  start_time: unknown;
  end_time: unknown;
}

function toTrace(row: TraceRow): Trace {
  return {
    trace_id: text(row.trace_id),
    root_span_id: text(row.root_span_id),
    start_time: isoTime(row.start_time),
    end_time: isoTime(row.end_time),
  };
}

export interface TraceQuery {
  readonly filters: readonly QueryCondition[];
  readonly limit: number;
  readonly offset: number;
  readonly order: readonly TraceOrder[];
}

/** Traces whose local root span has ended, filtered, ordered and paged. */
export async function queryTraces(ctx: QueryContext, query: TraceQuery): Promise<Trace[]> {
  let q = ctx.db
    .selectFrom('traces as t')
    .select(['t.trace_id', 't.root_span_id', 't.start_time', 't.end_time'])
    .where('t.root_span_id', 'is not', null);
  if (query.filters.length > 0) {
    q = q.where(await traceMatches(ctx, query.filters));
  }
  for (const o of query.order) q = q.orderBy(`t.${o.field}`, o.descending ? 'desc' : 'asc');
  // The trace id breaks ties, so pages never overlap or skip.
  if (!query.order.some((o) => o.field === 'trace_id')) q = q.orderBy('t.trace_id', 'asc');
  q = q.limit(query.limit).offset(query.offset);
  return (await ctx.all(q)).map((row) => toTrace(row as TraceRow));
}

/** One trace; not found when unknown, expired, or its local root has not ended yet. */
export async function getTrace(ctx: QueryContext, traceId: string): Promise<Trace> {
  const row = (
    await ctx.all(
      ctx.db
        .selectFrom('traces')
        .select(['trace_id', 'root_span_id', 'start_time', 'end_time'])
        .where('trace_id', '=', traceId)
        .where('root_span_id', 'is not', null),
    )
  )[0];
  if (!row) throw new TelemetryNotFoundError('Trace', traceId);
  return toTrace(row as TraceRow);
}

/** A `spans` row as read; any column may hold anything in a hostile file (see rows.ts). */
interface SpanRow {
  span_id: unknown;
  trace_id: unknown;
  parent_span_id: unknown;
  name: unknown;
  start_time: unknown;
  end_time: unknown;
  attributes: unknown;
  status: unknown;
}

/** Every attribute asked for, `null` where the span lacks it; all of them when none are asked for. */
function project(
  attributes: Record<string, unknown>,
  keys: readonly string[] | null,
): Record<string, unknown> {
  if (!keys || keys.length === 0) return attributes;
  const out: Record<string, unknown> = {};
  for (const key of keys) setOwn(out, key, Object.hasOwn(attributes, key) ? attributes[key] : null);
  return out;
}

/** A span result; `parent_span_id` is left out for a span without a parent, not null. */
function toSpan(row: SpanRow, attributes: Record<string, unknown>): Span {
  const parent = row.parent_span_id;
  return {
    span_id: text(row.span_id),
    trace_id: text(row.trace_id),
    ...(parent === null || parent === undefined ? {} : { parent_span_id: text(parent) }),
    name: text(row.name),
    start_time: isoTime(row.start_time),
    end_time: isoTime(row.end_time),
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
export async function getSpan(ctx: QueryContext, traceId: string, spanId: string): Promise<Span> {
  const row = (
    await ctx.all(
      ctx.db
        .selectFrom('spans')
        .select(SPAN_COLUMNS)
        .where('span_id', '=', spanId)
        .where('trace_id', '=', traceId),
    )
  )[0] as SpanRow | undefined;
  if (!row) throw new TelemetryNotFoundError('Span', spanId);
  return toSpan(row, parseAttributes(row.attributes));
}

/*
 * Why the tree walks below end, whatever the parent links say: span ids are
 * unique (a unique index the writer depends on), so every span has at most one
 * parent, and the walk from a start span reaches a span twice only through a
 * cycle of parent links that leads back to the start span itself. So the walk
 * never steps onto its own start span again (`s.id <> root`): each span is
 * visited at most once, a span that is its own parent is a tree of one, and
 * the rest of the answer is what it would be without the cycle.
 */

/**
 * A span and its descendants in the same trace, down to `maxDepth` levels
 * (the span itself is depth 1; 0 and 1 both give the span alone), ordered by
 * depth then start time.
 */
export async function getSpanTree(
  ctx: QueryContext,
  spanId: string,
  attributesToReturn: readonly string[] | null,
  maxDepth: number | null,
): Promise<Record<string, SpanWithStatus>> {
  const q = ctx.db
    .withRecursive(
      'tree(id, span_id, trace_id, parent_span_id, name, start_time, end_time, attributes, status, depth, root)',
      (db) =>
        db
          .selectFrom('spans')
          .select(['id', ...SPAN_COLUMNS, sql<number>`1`.as('depth'), 'id as root'])
          .where('span_id', '=', spanId)
          .unionAll((db) => {
            let child = db
              .selectFrom('tree as p')
              .innerJoin('spans as s', (join) =>
                join
                  .onRef('s.trace_id', '=', 'p.trace_id')
                  .onRef('s.parent_span_id', '=', 'p.span_id'),
              )
              .select([...S_SPAN_COLUMNS, sql<number>`p.depth + 1`.as('depth'), 'p.root'])
              .whereRef('s.id', '<>', 'p.root');
            if (maxDepth !== null) child = child.where('p.depth', '<', maxDepth);
            return child;
          }),
    )
    .selectFrom('tree')
    .select([...SPAN_COLUMNS, 'depth'])
    .orderBy('depth')
    .orderBy('start_time')
    .orderBy('span_id');
  const rows = (await ctx.all(q)) as (SpanRow & { depth: number })[];
  if (rows.length === 0) throw new TelemetryNotFoundError('Span', spanId);
  const out: Record<string, SpanWithStatus> = {};
  for (const row of rows) {
    setOwn(out, text(row.span_id), {
      ...toSpan(row, project(parseAttributes(row.attributes), attributesToReturn)),
      status: row.status === 'error' ? 'error' : 'ok',
    });
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

/** Most traces read per step of a span walk. */
const MAX_TRACES_PER_STEP = 1_024;

/**
 * The spans `querySpans` answers, read a step at a time: the spans of the
 * traces that match the filters, walked from each trace's local root down to
 * `maxDepth`, that carry every attribute asked for (non-null), each with its
 * own trace id. Traces in start order (then id), spans by depth, then start,
 * then id.
 *
 * Each step reads the next few matching traces (a keyset cursor over the
 * trace start index) and their trees, so the work and memory follow what is
 * read, never the number of matching traces: a page of 50 spans reads a few
 * traces, and an export reads the store a page at a time. Between steps the
 * cursor is plain values, so other queries and writes may run; a trace written
 * meanwhile is read if it sorts after the cursor.
 */
export class SpanWalk {
  readonly #ctx: QueryContext;
  readonly #query: SpanQuery;
  #matches: Promise<Expression<SqlBool> | null> | undefined;
  /** Distinct keys a span must carry (non-null). */
  readonly #required: { keys: string[]; count: number } | null;
  #cursor: { start: unknown; traceId: unknown } | null = null;
  #exhausted = false;
  /** Rows of the current step, converted to spans only when returned (skipped ones never are). */
  #buffer: SpanRow[] = [];
  #position = 0;
  #skip: number;
  #tracesRead = 0;
  #spansRead = 0;

  constructor(ctx: QueryContext, query: SpanQuery) {
    this.#ctx = ctx;
    this.#query = query;
    const keys = [...new Set(query.attributesToReturn ?? [])];
    this.#required = keys.length > 0 ? { keys, count: keys.length } : null;
    this.#skip = query.offset;
  }

  /**
   * Up to `max` more spans, in order; fewer (or none) only when the walk is
   * over. With `last`, the caller will not ask again, so a step reads no more
   * rows than this call needs.
   */
  async next(max: number, last = false): Promise<Span[]> {
    const out: Span[] = [];
    while (out.length < max) {
      const available = this.#buffer.length - this.#position;
      if (available > 0) {
        if (this.#skip > 0) {
          const skipped = Math.min(this.#skip, available);
          this.#skip -= skipped;
          this.#position += skipped;
          continue;
        }
        const take = Math.min(max - out.length, available);
        const keys = this.#query.attributesToReturn;
        for (let i = 0; i < take; i++) {
          const row = this.#buffer[this.#position + i]!;
          out.push(toSpan(row, project(parseAttributes(row.attributes), keys)));
        }
        this.#position += take;
        continue;
      }
      if (this.#exhausted) break;
      await this.#step(this.#skip + (max - out.length), last);
    }
    return out;
  }

  /** Reads the next traces' spans into the buffer, about `want` of them. */
  async #step(want: number, last: boolean): Promise<void> {
    // Size the step by the spans per trace seen so far (one at first), so that
    // a page reads about the traces it needs; grow at most 8x per step.
    const perTrace = this.#tracesRead > 0 ? Math.max(1, this.#spansRead / this.#tracesRead) : 1;
    const cap = this.#tracesRead > 0 ? Math.max(8, this.#tracesRead * 8) : 8;
    const count = Math.max(1, Math.min(Math.ceil(want / perTrace), cap, MAX_TRACES_PER_STEP));
    const traces = await this.#nextTraces(count);
    if (traces.length < count) this.#exhausted = true;
    this.#buffer = [];
    this.#position = 0;
    if (traces.length === 0) return;
    const last_ = traces[traces.length - 1]!;
    this.#cursor = { start: last_.start_time, traceId: last_.trace_id };
    this.#buffer = await this.#trees(
      traces.map((t) => t.root),
      last && Number.isFinite(want) ? want : null,
    );
    this.#tracesRead += traces.length;
    this.#spansRead += this.#buffer.length;
  }

  /** The next `count` matching traces after the cursor, with their root span's rowid. */
  async #nextTraces(
    count: number,
  ): Promise<{ trace_id: unknown; start_time: unknown; root: bigint }[]> {
    // The filters are planned once, on the first step (their counts steer the plan).
    this.#matches ??=
      this.#query.filters.length > 0
        ? traceMatches(this.#ctx, this.#query.filters)
        : Promise.resolve(null);
    const matches = await this.#matches;
    let q = this.#ctx.db
      .selectFrom('traces as t')
      .innerJoin('spans as s', (join) =>
        join.onRef('s.span_id', '=', 't.root_span_id').onRef('s.trace_id', '=', 't.trace_id'),
      )
      .select(['t.trace_id', 't.start_time', 's.id as root'])
      .where('t.root_span_id', 'is not', null);
    if (matches) q = q.where(matches);
    if (this.#cursor) {
      const { start, traceId } = this.#cursor;
      q = q.where(
        sql<SqlBool>`(${sql.ref('t.start_time')}, ${sql.ref('t.trace_id')}) > (${start}, ${traceId})`,
      );
    }
    q = q.orderBy('t.start_time').orderBy('t.trace_id').limit(count);
    // Exact integers: the cursor binds these values back, and a rounded time
    // could make the walk repeat or skip traces.
    return (await this.#ctx.allExact(q)) as unknown as {
      trace_id: unknown;
      start_time: unknown;
      root: bigint;
    }[];
  }

  /** The trees under the given roots, in root order, then depth, start, id. */
  async #trees(roots: readonly bigint[], limit: number | null): Promise<SpanRow[]> {
    const { maxDepth } = this.#query;
    const d = this.#ctx.dialect;
    let q = this.#ctx.db
      .withRecursive(
        'tree(id, span_id, trace_id, parent_span_id, name, start_time, end_time, attributes, status, depth, ord, root)',
        (db) =>
          db
            .selectFrom(d.integerTable(roots, 'r'))
            .innerJoin('spans as s', 's.id', 'r.value')
            .select([...S_SPAN_COLUMNS, sql<number>`1`.as('depth'), 'r.key as ord', 's.id as root'])
            .unionAll((db) => {
              let child = db
                .selectFrom('tree as p')
                .innerJoin('spans as s', (join) =>
                  join
                    .onRef('s.trace_id', '=', 'p.trace_id')
                    .onRef('s.parent_span_id', '=', 'p.span_id'),
                )
                .select([
                  ...S_SPAN_COLUMNS,
                  sql<number>`p.depth + 1`.as('depth'),
                  'p.ord',
                  'p.root',
                ])
                .whereRef('s.id', '<>', 'p.root');
              if (maxDepth !== null) child = child.where('p.depth', '<', maxDepth);
              return child;
            }),
      )
      .selectFrom('tree')
      .select(SPAN_COLUMNS);
    if (this.#required) {
      const { keys, count } = this.#required;
      q = q.where(
        sql<SqlBool>`(select count(*) from span_attributes as x
          where x.span_rowid = ${sql.ref('tree.id')}
            and ${d.inTexts(sql.ref('x.key'), keys)}
            and x.value_type <> ${ValueType.null}) = ${count}`,
      );
    }
    q = q.orderBy('ord').orderBy('depth').orderBy('start_time').orderBy('span_id');
    if (limit !== null) q = q.limit(limit);
    return (await this.#ctx.all(q)) as SpanRow[];
  }
}

/** The spans of `SpanWalk`, paged by `limit` (none: all of them) and `offset`. */
export function querySpans(ctx: QueryContext, query: SpanQuery): Promise<Span[]> {
  return new SpanWalk(ctx, query).next(query.limit ?? Number.POSITIVE_INFINITY, true);
}
