/**
 * Which span of a trace is its local root, the span `queryTraces` lists the
 * trace by. Llama Stack marks it with attributes: `__root__` and
 * `__root_span__` on the root of a new trace, and `__local_root_span__` on the
 * first span of this process in a trace continued from a caller (that span
 * keeps the caller's span as its remote parent, and loses the other two
 * markers). A span without a parent is a root too.
 */
import { sql } from 'kysely';
import { ValueType } from './attribute-values.ts';
import type { StoreDialect } from './dialect.ts';

export const ROOT_MARKERS = ['__root__', '__root_span__', '__local_root_span__'] as const;

/** True when the span is marked (attribute `true`) or has no parent. */
export function isLocalRoot(
  attributes: Readonly<Record<string, unknown>>,
  parentSpanId: string | null | undefined,
): boolean {
  if (!parentSpanId) return true;
  for (const marker of ROOT_MARKERS) if (attributes[marker] === true) return true;
  return false;
}

/**
 * The same test in SQL, for span `alias` (a `spans` row), through the
 * attribute index: a marker stored as boolean true.
 */
export function isLocalRootSql(dialect: StoreDialect, alias: string) {
  return sql<boolean>`(${sql.ref(`${alias}.parent_span_id`)} is null or exists (
    select 1 from span_attributes as ra
    where ra.span_rowid = ${sql.ref(`${alias}.id`)}
      and ra.key in (${sql.join(ROOT_MARKERS.map((m) => sql.lit(m)))})
      and ra.value_type = ${sql.lit(ValueType.boolean)}
      and ${dialect.attributeValue('ra', ValueType.boolean)} = 1))`;
}
