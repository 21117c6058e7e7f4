/**
 * The seam between the engines. Everything the store says in SQL is written
 * once, in the query modules, except what SQLite and PostgreSQL spell or do
 * differently: that is a method here, and each engine's answers are in one
 * file, dialects/sqlite.ts and dialects/postgres.ts, side by side.
 *
 * How a query runs (better-sqlite3's synchronous calls, pg's pool) is not
 * here: it is the sink's `QueryRunner`, so this package depends on
 * neither driver.
 */
import type {
  AliasedRawBuilder,
  ColumnDefinitionBuilder,
  Compilable,
  CreateTableBuilder,
  Expression,
  Kysely,
  RawBuilder,
  SqlBool,
} from 'kysely';
import type { ValueType } from './attribute-values.ts';
import type { Database } from './schema.ts';

/**
 * How a sink runs the queries this package builds: the typed Kysely instance
 * (it only compiles; it never runs them) and the engine's runner. The
 * dialect's own queries take it; the query modules take a `QueryContext`,
 * which adds the dialect.
 */
export interface QueryRunner {
  readonly db: Kysely<Database>;
  all<R>(query: Compilable<R>): Promise<R[]>;
  /**
   * The same, with 64-bit integers read exactly (as `bigint`): for values
   * bound back into a later query, such as a keyset cursor. Stored times past
   * 2^53 would otherwise round, and a cursor could repeat or skip rows.
   */
  allExact<R>(query: Compilable<R>): Promise<R[]>;
  /**
   * The same, with planner settings (the dialect's, such as `probeSettings`)
   * in force for this query alone. They steer the plan, never the answer: a
   * runner that cannot apply them runs the query as `all` does.
   */
  allWith<R>(settings: PlannerSettings, query: Compilable<R>): Promise<R[]>;
}

/** Planner settings by name (PostgreSQL's `enable_bitmapscan`, ...); SQLite has none. */
export type PlannerSettings = Readonly<Record<string, string>>;

/** A column type: a name Kysely knows, or raw SQL (kysely's own `DataTypeExpression`, not exported). */
export type ColumnType = Parameters<CreateTableBuilder<string, string>['addColumn']>[1];
/**
 * A place in the order spans were written: cursors of `tailSpans` and the
 * live cursor of `searchTraces` carry it. Its integers are the dialect's
 * (SQLite: the span's rowid; PostgreSQL: the writing transaction, then the
 * span's id), compared left to right.
 */
export type WritePosition = readonly bigint[];

/**
 * Write order: "the spans written after this cursor" must never miss a span
 * that commits later. SQLite has one writer at a time, so its rowids are in
 * commit order; PostgreSQL's concurrent transactions commit out of id order,
 * so it orders by writing transaction and reads only transactions that have
 * finished.
 */
export interface WriteOrder {
  /** How many integers a position has. */
  readonly width: number;
  /** The position just after every span that can be read now; nothing written later sorts before it. */
  current(ctx: QueryRunner): Promise<WritePosition>;
  /** Span `alias` was written after `after` (null: from the start) and at or before `upTo`. */
  between(
    alias: string,
    after: WritePosition | null,
    upTo: WritePosition | null,
  ): Expression<SqlBool>;
  /** Columns of span `alias` to order by in write order. */
  orderColumns(alias: string): readonly string[];
  /** Columns to select besides the span's own, so that `of` can read its position. */
  selectColumns(alias: string): readonly string[];
  /** The position of a span row that has the columns above and `id` (read exactly). */
  of(row: Readonly<Record<string, unknown>>): WritePosition;
}

export interface StoreDialect {
  readonly name: 'sqlite' | 'postgres';

  // ---------------------------------------------------------------------------
  // Schema (migrations.ts)

  /** Column types: 64-bit integers (times, ids), text that sorts byte-wise, doubles. */
  readonly types: {
    readonly int64: ColumnType;
    readonly text: ColumnType;
    readonly float: ColumnType;
  };
  /** An integer primary key the engine numbers on insert. */
  autoId(column: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /** A table whose primary key is its only access path (SQLite: WITHOUT ROWID). */
  keyedTable<T extends string, C extends string>(
    table: CreateTableBuilder<T, C>,
  ): CreateTableBuilder<T, C>;
  /** Adds the attribute value column(s) to `span_attributes`. */
  attributeValueColumns<T extends string, C extends string>(
    table: CreateTableBuilder<T, C>,
  ): CreateTableBuilder<T, any>;
  /** Creates the attribute index, `span_attributes_key_value`: key, value type, then the value. */
  createAttributeIndex(db: Kysely<any>): Promise<void>;
  /** Creates the unique index of a metric series' identity, `metric_series_identity`. */
  createSeriesIndex(db: Kysely<any>): Promise<void>;
  /**
   * The columns of an index on `traces`, ending with the trace id so that a
   * search page and its cursor need no sort (SQLite: implied, a secondary
   * index of a WITHOUT ROWID table ends with its key).
   */
  traceIndexColumns(columns: readonly string[]): string[];
  /** What the dialect adds to the initial schema (PostgreSQL: the write order of spans). */
  initialSchemaExtras(db: Kysely<any>): Promise<void>;
  /**
   * Stored rows of older versions brought up to date by a migration. Only
   * SQLite files predate the migrations that need it; a new PostgreSQL store
   * has nothing to fill in, so the statement is still valid but finds no rows.
   */
  readonly migrationBackfill: boolean;

  // ---------------------------------------------------------------------------
  // Expressions

  /**
   * Appended to a correlated subquery that must run per outer row, stopping
   * at its first match (PostgreSQL turns an EXISTS into a semi-join over
   * every match unless it has an OFFSET; SQLite runs it per row already).
   */
  readonly perRowSubquery: RawBuilder<unknown> | null;
  /**
   * Settings under which a LIMIT-ed read of the attribute index stops at its
   * limit (the density probe of `traceMatches`). PostgreSQL plans the probe
   * as a bitmap scan, which collects every match before the first row,
   * whenever it underestimates the matches (it does, 4-100x, on a key whose
   * values repeat); an index scan stops at the limit. SQLite: none.
   */
  readonly probeSettings: PlannerSettings;
  /** A condition that never holds. */
  readonly never: RawBuilder<SqlBool>;
  /** The larger and the smaller of two values (SQLite's two-argument max/min). */
  greatest(a: Expression<unknown>, b: Expression<unknown>): RawBuilder<number>;
  least(a: Expression<unknown>, b: Expression<unknown>): RawBuilder<number>;
  /** `a` and `b` differ, a NULL being a value (SQLite `is not`, PostgreSQL `is distinct from`). */
  isDistinct(a: Expression<unknown>, b: Expression<unknown>): RawBuilder<SqlBool>;
  /** The column of attribute row `alias` that holds values of `type`. */
  attributeValue(alias: string, type: ValueType): RawBuilder<unknown>;
  /**
   * Attribute row `alias` holds a value of `type` that compares with `value`
   * by `op`, written so that the engine's attribute index serves it.
   */
  attributeCompare(
    alias: string,
    type: ValueType,
    op: '=' | '<>' | '>' | '<',
    value: unknown,
  ): RawBuilder<SqlBool>;
  /**
   * A string as the engine keeps it in a text column (PostgreSQL text cannot
   * hold NUL: it becomes U+FFFD, in stored rows and bound parameters alike).
   */
  storedText(value: string): string;
  /** The value of attribute row `alias` when it is stored as text, else NULL. */
  attributeText(alias: string): RawBuilder<unknown>;
  /** A table `alias(value, key)` of the given integers, `key` ordering them as given. */
  integerTable<A extends string>(
    values: readonly (number | bigint)[],
    alias: A,
  ): AliasedRawBuilder<{ key: number; value: number }, A>;
  /** `expr` is one of the given integers / strings (one bound parameter, whatever the count). */
  inIntegers(expr: Expression<unknown>, values: readonly (number | bigint)[]): RawBuilder<SqlBool>;
  inTexts(expr: Expression<unknown>, values: readonly string[]): RawBuilder<SqlBool>;

  // ---------------------------------------------------------------------------
  // Writing and deleting

  readonly writeOrder: WriteOrder;
  /** The qualified name of a connection-private table. */
  tempTable(name: string): RawBuilder<unknown>;
  /**
   * Statements a deleting transaction runs before it reads the spans it
   * deletes: PostgreSQL locks the traces first (see retention.ts), SQLite's
   * IMMEDIATE transaction already excludes every writer.
   */
  lockTracesOf(doomed: RawBuilder<unknown>): RawBuilder<unknown> | null;
  /**
   * A statement that keeps metric series from being deleted while this
   * transaction uses them (`shared`), or that waits for every such
   * transaction before deleting unused ones; null where the transaction
   * already excludes every writer.
   */
  seriesLock(mode: 'shared' | 'exclusive'): RawBuilder<unknown> | null;
}

/** Compares two write positions left to right. */
export function comparePositions(a: WritePosition, b: WritePosition): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0n;
    const y = b[i] ?? 0n;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
