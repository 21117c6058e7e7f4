/**
 * SQLite's side of the dialect seam (see ../dialect.ts; PostgreSQL's side is
 * ./postgres.ts, in the same order).
 */
import { sql } from 'kysely';
import type { StoreDialect, WriteOrder } from '../dialect.ts';

/** A JSON array as one bound parameter, for `json_each`; integers as exact decimal text. */
function jsonIntegers(values: readonly (number | bigint)[]): string {
  return `[${values.map((v) => String(v)).join(',')}]`;
}

/**
 * One writer at a time (the write lock), and each span takes the next
 * rowid: the rowid is the commit order.
 */
const writeOrder: WriteOrder = {
  width: 1,
  async current(ctx) {
    const row = (
      await ctx.allExact(ctx.db.selectFrom('spans').select(sql<bigint>`max(id)`.as('id')))
    )[0];
    return [typeof row?.id === 'bigint' ? row.id : 0n];
  },
  between(alias, after, upTo) {
    const id = sql.ref(`${alias}.id`);
    if (after && upTo) return sql`${id} > ${after[0]} and ${id} <= ${upTo[0]}`;
    if (after) return sql`${id} > ${after[0]}`;
    if (upTo) return sql`${id} <= ${upTo[0]}`;
    return sql`1`;
  },
  orderColumns: (alias) => [`${alias}.id`],
  selectColumns: () => [],
  of: (row) => [BigInt(row.id as bigint | number)],
};

export const sqliteDialect: StoreDialect = {
  name: 'sqlite',

  // Schema: INTEGER is 64-bit, TEXT compares byte-wise (BINARY), the
  // rowid is the id, and a keyed table needs no rowid of its own.
  types: { int64: 'integer', text: 'text', float: 'real' },
  autoId: (column) => column.primaryKey(),
  keyedTable: (table) => table.modifyEnd(sql`without rowid`),
  // No declared type (BLOB affinity): each value keeps its own storage
  // class, so 10 stays an integer and '10' stays text in one column.
  attributeValueColumns: (table) => table.addColumn('value', 'blob'),
  createAttributeIndex: async (db) => {
    await db.schema
      .createIndex('span_attributes_key_value')
      .on('span_attributes')
      .columns(['key', 'value_type', 'value'])
      .execute();
  },
  createSeriesIndex: async (db) => {
    await db.schema
      .createIndex('metric_series_identity')
      .unique()
      .on('metric_series')
      .columns(['metric', 'unit', 'labels'])
      .execute();
  },
  traceIndexColumns: (columns) => [...columns],
  initialSchemaExtras: async () => {},
  migrationBackfill: true,

  // Expressions.
  perRowSubquery: null,
  probeSettings: {},
  never: sql`0`,
  greatest: (a, b) => sql`max(${a}, ${b})`,
  least: (a, b) => sql`min(${a}, ${b})`,
  isDistinct: (a, b) => sql`${a} is not ${b}`,
  attributeValue: (alias) => sql.ref(`${alias}.value`),
  attributeCompare: (alias, _type, op, value) =>
    sql`${sql.ref(`${alias}.value`)} ${sql.raw(op)} ${value}`,
  storedText: (value) => value,
  attributeText: (alias) => {
    const value = sql.ref(`${alias}.value`);
    return sql`case when typeof(${value}) = 'text' then ${value} end`;
  },
  // json_each's columns are `key` (the array index) and `value`.
  integerTable: (values, alias) =>
    sql<{ key: number; value: number }>`json_each(${jsonIntegers(values)})`.as(alias),
  inIntegers: (expr, values) =>
    sql`${expr} in (select value from json_each(${jsonIntegers(values)}))`,
  inTexts: (expr, values) =>
    sql`${expr} in (select value from json_each(${JSON.stringify(values)}))`,

  // Writing and deleting: an IMMEDIATE transaction holds the only write lock.
  writeOrder,
  tempTable: (name) => sql`temp.${sql.id(name)}`,
  lockTracesOf: () => null,
  seriesLock: () => null,
};
