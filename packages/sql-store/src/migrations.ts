/**
 * Migrations shipped as code: a bundler or `dist/` carries them along, with no
 * migrations folder to find at run time. Each migration describes the schema
 * as it was on its day (`Kysely<any>`), never the current `Database` types.
 *
 * One history for both engines: what they spell differently (column types,
 * SQLite's WITHOUT ROWID, the attribute value columns, PostgreSQL's write
 * order) comes from the dialect.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { ValueType } from './attribute-values.ts';
import type { StoreDialect } from './dialect.ts';
import { ROOT_MARKERS } from './roots.ts';

const initial = (d: StoreDialect): Migration => ({
  async up(db: Kysely<any>) {
    const { int64, text, float } = d.types;
    // Keyed (SQLite: WITHOUT ROWID): the trace id is the only key, so one B-tree instead of two.
    await d
      .keyedTable(
        db.schema
          .createTable('traces')
          .addColumn('trace_id', text, (c) => c.primaryKey().notNull())
          .addColumn('service_name', text)
          .addColumn('root_span_id', text)
          .addColumn('start_time', int64, (c) => c.notNull())
          .addColumn('end_time', int64, (c) => c.notNull()),
      )
      .execute();
    await db.schema
      .createIndex('traces_start_time')
      .on('traces')
      .columns(d.traceIndexColumns(['start_time']))
      .execute();

    await db.schema
      .createTable('spans')
      .addColumn('id', int64, (c) => d.autoId(c))
      .addColumn('span_id', text, (c) => c.notNull())
      .addColumn('trace_id', text, (c) => c.notNull())
      .addColumn('parent_span_id', text)
      .addColumn('name', text, (c) => c.notNull())
      .addColumn('start_time', int64, (c) => c.notNull())
      .addColumn('end_time', int64, (c) => c.notNull())
      .addColumn('attributes', text, (c) => c.notNull())
      .addColumn('status', text, (c) => c.notNull())
      .addColumn('kind', text, (c) => c.notNull())
      .addColumn('status_message', text)
      .addColumn('expires_at', int64, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('spans_span_id').unique().on('spans').column('span_id').execute();
    // One index serves both "spans of a trace" and "children of a span" (the tree walk).
    await db.schema
      .createIndex('spans_trace_id_parent_span_id')
      .on('spans')
      .columns(['trace_id', 'parent_span_id'])
      .execute();
    await db.schema.createIndex('spans_expires_at').on('spans').column('expires_at').execute();

    // The value column(s) are the dialect's: values compare only within their type.
    await d
      .keyedTable(
        d
          .attributeValueColumns(
            db.schema
              .createTable('span_attributes')
              .addColumn('span_rowid', int64, (c) => c.notNull())
              .addColumn('key', text, (c) => c.notNull())
              .addColumn('value_type', 'integer', (c) => c.notNull()),
          )
          .addPrimaryKeyConstraint('span_attributes_pk', ['span_rowid', 'key']),
      )
      .execute();
    await d.createAttributeIndex(db);

    await db.schema
      .createTable('metric_series')
      .addColumn('id', int64, (c) => d.autoId(c))
      .addColumn('metric', text, (c) => c.notNull())
      .addColumn('unit', text, (c) => c.notNull())
      .addColumn('labels', text, (c) => c.notNull())
      .execute();
    await d.createSeriesIndex(db);

    await db.schema
      .createTable('span_events')
      .addColumn('id', int64, (c) => d.autoId(c))
      .addColumn('span_id', text, (c) => c.notNull())
      .addColumn('span_rowid', int64, (c) => c.notNull())
      .addColumn('name', text, (c) => c.notNull())
      .addColumn('timestamp', int64, (c) => c.notNull())
      .addColumn('attributes', text, (c) => c.notNull())
      .addColumn('series_id', int64)
      .addColumn('value', float)
      .execute();
    await db.schema
      .createIndex('span_events_span_rowid')
      .on('span_events')
      .column('span_rowid')
      .execute();
    // Covering and partial: metric queries read only this index, and logs never enter it.
    await db.schema
      .createIndex('span_events_metric_points')
      .on('span_events')
      .columns(['series_id', 'timestamp', 'value'])
      .where(sql.ref('series_id'), 'is not', null)
      .execute();
    await d.initialSchemaExtras(db);
  },
  async down(db: Kysely<any>) {
    for (const table of ['span_events', 'metric_series', 'span_attributes', 'spans', 'traces']) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
});

/**
 * Files written before `__root_span__` and `__local_root_span__` marked a
 * local root: a trace continued from a caller (its local root under a remote
 * parent) was stored without a root and never listed. This picks its root as
 * the writer now does (a span without a parent first, then the earliest
 * marked one). Data only; the schema is unchanged.
 */
const localRootMarkers = (d: StoreDialect): Migration => ({
  async up(db: Kysely<any>) {
    if (!d.migrationBackfill) return;
    await sql`update traces set root_span_id = (
        select s.span_id from spans as s
        where s.trace_id = traces.trace_id
          and (s.parent_span_id is null or exists (
            select 1 from span_attributes as a
            where a.span_rowid = s.id
              and a.key in (${sql.join(ROOT_MARKERS.map((m) => sql.lit(m)))})
              and a.value_type = ${sql.lit(ValueType.boolean)}
              and ${d.attributeValue('a', ValueType.boolean)} = 1))
        order by s.parent_span_id is not null, s.start_time, s.span_id limit 1)
      where root_span_id is null`.execute(db);
  },
  async down() {
    // Nothing to undo: the roots found are what the writer stores today.
  },
});

/**
 * What trace search needs on the trace row: its root span's name, how many
 * spans it has and how many failed (so "any span in error" is a column, not
 * a scan), its service taken from the root span's `service.name` attribute
 * where there is one (spans from OTLP carry their resource's), and indexes
 * for the search filters in newest-first order. Existing rows are filled in.
 */
const traceSearch = (d: StoreDialect): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('traces').addColumn('root_name', d.types.text).execute();
    await db.schema
      .alterTable('traces')
      .addColumn('span_count', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .alterTable('traces')
      .addColumn('error_count', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    if (d.migrationBackfill)
      await sql`update traces set
        span_count = (select count(*) from spans as s where s.trace_id = traces.trace_id),
        error_count = (select count(*) from spans as s
          where s.trace_id = traces.trace_id and s.status = 'error'),
        root_name = (select s.name from spans as s
          where s.span_id = traces.root_span_id and s.trace_id = traces.trace_id),
        service_name = coalesce((select a.value from spans as s
            join span_attributes as a on a.span_rowid = s.id
          where s.span_id = traces.root_span_id and s.trace_id = traces.trace_id
            and a.key = 'service.name' and a.value_type = ${sql.lit(ValueType.string)}
            and ${d.attributeText('a')} <> ''), service_name)`.execute(db);
    // Each index also orders by (start_time, trace_id) (see traceIndexColumns):
    // a search page and its cursor need no sort.
    await db.schema
      .createIndex('traces_service_name_start_time')
      .on('traces')
      .columns(d.traceIndexColumns(['service_name', 'start_time']))
      .execute();
    await db.schema
      .createIndex('traces_root_name_start_time')
      .on('traces')
      .columns(d.traceIndexColumns(['root_name', 'start_time']))
      .execute();
    // Root names per service, for suggestions.
    await db.schema
      .createIndex('traces_service_name_root_name')
      .on('traces')
      .columns(d.traceIndexColumns(['service_name', 'root_name']))
      .execute();
    // Failed traces are few: a partial index lists them newest first.
    await db.schema
      .createIndex('traces_errors_start_time')
      .on('traces')
      .columns(d.traceIndexColumns(['start_time']))
      .where(sql.ref('error_count'), '>', 0)
      .execute();
  },
  async down(db: Kysely<any>) {
    for (const index of [
      'traces_errors_start_time',
      'traces_service_name_root_name',
      'traces_root_name_start_time',
      'traces_service_name_start_time',
    ]) {
      await db.schema.dropIndex(index).ifExists().execute();
    }
    for (const column of ['error_count', 'span_count', 'root_name']) {
      await db.schema.alterTable('traces').dropColumn(column).execute();
    }
  },
});

/** Every migration of the store in a dialect, by name (names sort in the order they run). */
export function storeMigrations(dialect: StoreDialect): Readonly<Record<string, Migration>> {
  return Object.freeze({
    '2025_11_29_0001_initial': initial(dialect),
    '2026_12_01_0002_local_root_markers': localRootMarkers(dialect),
    '2026_12_02_0003_trace_search': traceSearch(dialect),
  });
}

/** A provider that hands Kysely's Migrator the in-code record of migrations. */
export function storeMigrationProvider(
  migrations: Readonly<Record<string, Migration>>,
): MigrationProvider {
  return { getMigrations: async () => ({ ...migrations }) };
}

/** A Migrator over the given migrations, with bookkeeping tables of these names. */
export function createStoreMigrator(
  db: Kysely<any>,
  migrations: Readonly<Record<string, Migration>>,
  tables: {
    readonly migrationTableName: string;
    readonly migrationLockTableName: string;
    /** The schema of the bookkeeping tables (PostgreSQL), where Kysely looks for them. */
    readonly migrationTableSchema?: string;
  },
): Migrator {
  return new Migrator({ db, provider: storeMigrationProvider(migrations), ...tables });
}
