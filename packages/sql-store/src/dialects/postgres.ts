/**
 * PostgreSQL's side of the dialect seam (see ../dialect.ts; SQLite's side is
 * ./sqlite.ts, in the same order).
 */
import { type RawBuilder, sql } from 'kysely';
import { ValueType } from '../attribute-values.ts';
import type { StoreDialect, WriteOrder } from '../dialect.ts';

/** Integers as a PostgreSQL array parameter (decimal text, so a bigint stays exact). */
function integerArray(values: readonly (number | bigint)[]) {
  return sql`cast(${values.map((v) => String(v))} as bigint[])`;
}

/** Both `(write_xid, id)` bounds of a write-order range. */
function position(p: readonly bigint[]) {
  return sql`(cast(${String(p[0] ?? 0n)} as bigint), cast(${String(p[1] ?? 0n)} as bigint))`;
}

/**
 * Concurrent transactions take ids from one sequence but commit in any
 * order, so an id cursor could step over a span that commits later with a
 * smaller id. Each span records its writing transaction (`write_xid`, a
 * 64-bit transaction id that never wraps), and a position is
 * `(write_xid, id)`. Readers see only transactions older than the oldest
 * one still running (the snapshot's xmin): every later span comes from a
 * transaction at or past it, so it sorts after any position already handed
 * out. The price: a span is seen once every transaction that started before
 * its own has ended (a transaction held open elsewhere delays the tail).
 */
const writeOrder: WriteOrder = {
  width: 2,
  async current(ctx) {
    const row = (
      await ctx.allExact(
        ctx.db
          .selectNoFrom(
            sql<bigint>`(pg_snapshot_xmin(pg_current_snapshot())::text)::bigint`.as('x'),
          )
          .$castTo<{ x: bigint }>(),
      )
    )[0];
    return [BigInt(row?.x ?? 0n), 0n];
  },
  between(alias, after, upTo) {
    const key = sql`(${sql.ref(`${alias}.write_xid`)}, ${sql.ref(`${alias}.id`)})`;
    if (after && upTo) return sql`${key} > ${position(after)} and ${key} <= ${position(upTo)}`;
    if (after) return sql`${key} > ${position(after)}`;
    if (upTo) return sql`${key} <= ${position(upTo)}`;
    return sql`true`;
  },
  orderColumns: (alias) => [`${alias}.write_xid`, `${alias}.id`],
  selectColumns: (alias) => [`${alias}.write_xid`],
  of: (row) => [BigInt(row.write_xid as bigint | number), BigInt(row.id as bigint | number)],
};

/** Characters of a string attribute in the attribute index (at most 4 bytes each). */
const INDEXED_CHARS = 200;

function textPrefix(value: RawBuilder<unknown> | ReturnType<typeof sql.ref>) {
  return sql`substr(${value}, 1, ${sql.lit(INDEXED_CHARS)})`;
}

const SERIES_LOCK = sql`hashtext(current_schema() || '.telemetry_metric_series')`;

export const postgresDialect: StoreDialect = {
  name: 'postgres',

  // Schema: bigint for times and ids, text in the "C" collation (byte order,
  // as SQLite's BINARY: the same sort, prefix ranges and ties whatever the
  // database's locale), identity columns for ids.
  types: { int64: 'bigint', text: sql`text collate "C"`, float: 'double precision' },
  autoId: (column) => column.generatedByDefaultAsIdentity().primaryKey(),
  keyedTable: (table) => table,
  // A column per kind: strings and JSON as text, numbers and booleans as
  // float8; `value_type` still says which, so types never compare across.
  attributeValueColumns: (table) =>
    table.addColumn('value_text', sql`text collate "C"`).addColumn('value_num', 'double precision'),
  // A B-tree entry holds at most about 2,700 bytes, and string attributes
  // (prompts, SQL) are often longer: the index holds each string's first
  // INDEXED_CHARS characters, which the comparisons below test first.
  createAttributeIndex: async (db) => {
    await sql`create index span_attributes_key_value on span_attributes
      (key, value_type, ${textPrefix(sql.ref('value_text'))}, value_num)`.execute(db);
  },
  // Label sets can be long too: the identity is unique by the labels' hash.
  createSeriesIndex: async (db) => {
    await sql`create unique index metric_series_identity on metric_series
      (metric, unit, md5(labels))`.execute(db);
  },
  traceIndexColumns: (columns) => [...columns, 'trace_id'],
  async initialSchemaExtras(db) {
    await sql`alter table spans add column write_xid bigint not null
      default (pg_current_xact_id()::text)::bigint`.execute(db);
    await db.schema
      .createIndex('spans_write_order')
      .on('spans')
      .columns(['write_xid', 'id'])
      .execute();
  },
  migrationBackfill: false,

  // Expressions.
  // An OFFSET keeps the planner from pulling an EXISTS up into a semi-join
  // (which would read every match before the first page): it stays a
  // subplan that stops at the first match of each outer row.
  perRowSubquery: sql`offset 0`,
  // The probe reads the attribute index in order and stops at its LIMIT:
  // neither a bitmap scan (every match first) nor, with those off, a
  // parallel sequential scan (workers to start, the table to read).
  probeSettings: { enable_bitmapscan: 'off', enable_seqscan: 'off' },
  never: sql`false`,
  greatest: (a, b) => sql`greatest(${a}, ${b})`,
  least: (a, b) => sql`least(${a}, ${b})`,
  isDistinct: (a, b) => sql`${a} is distinct from ${b}`,
  attributeValue: (alias, type) =>
    sql.ref(
      `${alias}.${type === ValueType.number || type === ValueType.boolean ? 'value_num' : 'value_text'}`,
    ),
  // The attribute index is (key, value_type, prefix of value_text, value_num):
  // a number is reached past the prefix's NULL; a string through its prefix,
  // which orders as the string does (byte-wise), then compared whole.
  attributeCompare: (alias, type, op, value) => {
    if (type === ValueType.number || type === ValueType.boolean) {
      const num = sql.ref(`${alias}.value_num`);
      if (op === '<>') return sql`${num} <> ${value}`;
      return sql`${textPrefix(sql.ref(`${alias}.value_text`))} is null and ${num} ${sql.raw(op)} ${value}`;
    }
    const text = sql.ref(`${alias}.value_text`);
    if (op === '<>') return sql`${text} <> ${value}`;
    const prefixOp = op === '=' ? '=' : `${op}=`;
    return sql`${textPrefix(text)} ${sql.raw(prefixOp)} ${textPrefix(sql`cast(${value} as text)`)} and ${text} ${sql.raw(op)} ${value}`;
  },
  storedText: (value) => (value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value),
  attributeText: (alias) => sql.ref(`${alias}.value_text`),
  integerTable: (values, alias) =>
    sql<{
      key: number;
      value: number;
    }>`(select * from unnest(${integerArray(values)}) with ordinality as u(value, key))`.as(alias),
  inIntegers: (expr, values) => sql`${expr} = any(${integerArray(values)})`,
  inTexts: (expr, values) => sql`${expr} = any(cast(${[...values]} as text[]))`,

  // Writing and deleting: rows locked in trace id order, series guarded by
  // an advisory lock (see retention.ts and sink-postgres' writer).
  writeOrder,
  tempTable: (name) => sql`pg_temp.${sql.id(name)}`,
  lockTracesOf: (doomed) =>
    sql`select 1 from traces where trace_id in (select trace_id from ${doomed})
      order by trace_id for update`,
  seriesLock: (mode) =>
    mode === 'shared'
      ? sql`select pg_advisory_xact_lock_shared(${SERIES_LOCK})`
      : sql`select pg_advisory_xact_lock(${SERIES_LOCK})`,
};
