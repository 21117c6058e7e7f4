/**
 * Suggestions for a search form: distinct values read by hopping through an
 * index (each next value is one index seek past the previous), so listing
 * 100 services costs 100 seeks however many traces each has.
 */
import type { SuggestField, Suggestions } from '@telemetry/core/sink';
import { type Expression, type SqlBool, sql } from 'kysely';
import type { QueryContext } from './query-context.ts';
import { text } from './rows.ts';

/** Where each field's values live; each (table, column) pair leads an index. */
const SOURCES = {
  service: { table: 'traces', column: 'service_name' },
  span_name: { table: 'traces', column: 'root_name' },
  attribute_key: { table: 'span_attributes', column: 'key' },
  metric_name: { table: 'metric_series', column: 'metric' },
} as const satisfies Record<SuggestField, { table: string; column: string }>;

export interface SuggestQuery {
  readonly field: SuggestField;
  readonly prefix: string;
  readonly service: string | null;
  readonly limit: number;
}

export async function suggest(ctx: QueryContext, q: SuggestQuery): Promise<Suggestions> {
  const { table, column } = SOURCES[q.field];
  const col = sql.ref(`x.${column}`);
  const scope: Expression<SqlBool>[] =
    q.service !== null ? [sql<SqlBool>`${sql.ref('x.service_name')} = ${q.service}`] : [];
  const values: string[] = [];
  // Stored values are compared with the prefix as the engine stores text.
  const prefix = ctx.dialect.storedText(q.prefix);
  // The raw stored value, bound back as the next lower bound (a blob stays a blob).
  let previous: unknown = null;
  while (values.length <= q.limit) {
    let next = ctx.db
      .selectFrom(`${table} as x` as 'traces as x')
      .select(sql<unknown>`${col}`.as('v'))
      .where(
        previous === null
          ? sql<SqlBool>`${col} >= ${q.prefix}`
          : sql<SqlBool>`${col} > ${previous}`,
      )
      .orderBy(sql`${col}`)
      .limit(1);
    for (const w of scope) next = next.where(w);
    const row = (await ctx.all(next))[0] as { v: unknown } | undefined;
    if (!row) break;
    const value = text(row.v);
    // Values with the prefix are contiguous in the index's (binary) order.
    if (!value.startsWith(prefix)) break;
    values.push(value);
    previous = row.v;
  }
  const truncated = values.length > q.limit;
  return { values: truncated ? values.slice(0, q.limit) : values, truncated };
}
