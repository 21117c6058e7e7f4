/**
 * Migrations shipped as code: a bundler or `dist/` carries them along, with no
 * migrations folder to find at run time. Each migration describes the schema
 * as it was on its day (`Kysely<any>`), never the current `Database` types.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';

const initial: Migration = {
  async up(db: Kysely<any>) {
    // WITHOUT ROWID: the trace id is the only key, so one B-tree instead of two.
    await db.schema
      .createTable('traces')
      .addColumn('trace_id', 'text', (c) => c.primaryKey().notNull())
      .addColumn('service_name', 'text')
      .addColumn('root_span_id', 'text')
      .addColumn('start_time', 'integer', (c) => c.notNull())
      .addColumn('end_time', 'integer', (c) => c.notNull())
      .modifyEnd(sql`without rowid`)
      .execute();
    await db.schema.createIndex('traces_start_time').on('traces').column('start_time').execute();

    await db.schema
      .createTable('spans')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('span_id', 'text', (c) => c.notNull())
      .addColumn('trace_id', 'text', (c) => c.notNull())
      .addColumn('parent_span_id', 'text')
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('start_time', 'integer', (c) => c.notNull())
      .addColumn('end_time', 'integer', (c) => c.notNull())
      .addColumn('attributes', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('status_message', 'text')
      .addColumn('expires_at', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('spans_span_id').unique().on('spans').column('span_id').execute();
    // One index serves both "spans of a trace" and "children of a span" (the tree walk).
    await db.schema
      .createIndex('spans_trace_id_parent_span_id')
      .on('spans')
      .columns(['trace_id', 'parent_span_id'])
      .execute();
    await db.schema.createIndex('spans_expires_at').on('spans').column('expires_at').execute();

    // `value` has no declared type (BLOB affinity), so each value keeps its own
    // storage class: 10 stays an integer, '10' stays text.
    await db.schema
      .createTable('span_attributes')
      .addColumn('span_rowid', 'integer', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('value_type', 'integer', (c) => c.notNull())
      .addColumn('value', 'blob')
      .addPrimaryKeyConstraint('span_attributes_pk', ['span_rowid', 'key'])
      .modifyEnd(sql`without rowid`)
      .execute();
    await db.schema
      .createIndex('span_attributes_key_value')
      .on('span_attributes')
      .columns(['key', 'value_type', 'value'])
      .execute();

    await db.schema
      .createTable('metric_series')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('metric', 'text', (c) => c.notNull())
      .addColumn('unit', 'text', (c) => c.notNull())
      .addColumn('labels', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('metric_series_identity')
      .unique()
      .on('metric_series')
      .columns(['metric', 'unit', 'labels'])
      .execute();

    await db.schema
      .createTable('span_events')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('span_id', 'text', (c) => c.notNull())
      .addColumn('span_rowid', 'integer', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('timestamp', 'integer', (c) => c.notNull())
      .addColumn('attributes', 'text', (c) => c.notNull())
      .addColumn('series_id', 'integer')
      .addColumn('value', 'real')
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
  },
  async down(db: Kysely<any>) {
    for (const table of ['span_events', 'metric_series', 'span_attributes', 'spans', 'traces']) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};

/**
 * Files written before `__root_span__` and `__local_root_span__` marked a
 * local root: a trace continued from a caller (its local root under a remote
 * parent) was stored without a root and never listed. This picks its root as
 * the writer now does (a span without a parent first, then the earliest
 * marked one). Data only; the schema is unchanged.
 */
const localRootMarkers: Migration = {
  async up(db: Kysely<any>) {
    await sql`update traces set root_span_id = (
        select s.span_id from spans as s
        where s.trace_id = traces.trace_id
          and (s.parent_span_id is null or exists (
            select 1 from span_attributes as a
            where a.span_rowid = s.id
              and a.key in ('__root__', '__root_span__', '__local_root_span__')
              and a.value_type = 3 and a.value = 1))
        order by s.parent_span_id is not null, s.start_time, s.span_id limit 1)
      where root_span_id is null`.execute(db);
  },
  async down() {
    // Nothing to undo: the roots found are what the writer stores today.
  },
};

/**
 * What trace search needs on the trace row: its root span's name, how many
 * spans it has and how many failed (so "any span in error" is a column, not
 * a scan), its service taken from the root span's `service.name` attribute
 * where there is one (spans from OTLP carry their resource's), and indexes
 * for the search filters in newest-first order. Existing rows are filled in.
 */
const traceSearch: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('traces').addColumn('root_name', 'text').execute();
    await db.schema
      .alterTable('traces')
      .addColumn('span_count', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .alterTable('traces')
      .addColumn('error_count', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await sql`update traces set
        span_count = (select count(*) from spans as s where s.trace_id = traces.trace_id),
        error_count = (select count(*) from spans as s
          where s.trace_id = traces.trace_id and s.status = 'error'),
        root_name = (select s.name from spans as s
          where s.span_id = traces.root_span_id and s.trace_id = traces.trace_id),
        service_name = coalesce((select a.value from spans as s
            join span_attributes as a on a.span_rowid = s.id
          where s.span_id = traces.root_span_id and s.trace_id = traces.trace_id
            and a.key = 'service.name' and a.value_type = 1
            and typeof(a.value) = 'text' and a.value <> ''), service_name)`.execute(db);
    // Secondary indexes of a WITHOUT ROWID table end with its key (trace_id),
    // so each one also orders by (start_time, trace_id): a search page and its
    // cursor need no sort.
    await db.schema
      .createIndex('traces_service_name_start_time')
      .on('traces')
      .columns(['service_name', 'start_time'])
      .execute();
    await db.schema
      .createIndex('traces_root_name_start_time')
      .on('traces')
      .columns(['root_name', 'start_time'])
      .execute();
    // Root names per service, for suggestions.
    await db.schema
      .createIndex('traces_service_name_root_name')
      .on('traces')
      .columns(['service_name', 'root_name'])
      .execute();
    // Failed traces are few: a partial index lists them newest first.
    await db.schema
      .createIndex('traces_errors_start_time')
      .on('traces')
      .column('start_time')
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
};

/** Every migration of this package, by name (names sort in the order they run). */
export const migrations: Readonly<Record<string, Migration>> = Object.freeze({
  '2025_11_29_0001_initial': initial,
  '2026_12_01_0002_local_root_markers': localRootMarkers,
  '2026_12_02_0003_trace_search': traceSearch,
});

/** A provider that hands Kysely's Migrator the in-code record above. */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...migrations }),
};

/** The migration bookkeeping tables, named so they never collide with an app's own Kysely migrations. */
export const MIGRATION_TABLE = 'telemetry_sqlite_migration';
export const MIGRATION_LOCK_TABLE = 'telemetry_sqlite_migration_lock';

/**
 * Throws, saying what to do, unless every migration of this package has run
 * on the database: for a reader, which must not migrate. Migrations of a
 * newer version are fine (they only add).
 */
export function checkMigrated(raw: {
  prepare(sql: string): { pluck(): { all(): unknown[] } };
}): void {
  let done: Set<unknown>;
  try {
    done = new Set(raw.prepare(`select name from ${MIGRATION_TABLE}`).pluck().all());
  } catch (error) {
    if (/no such table/.test((error as Error).message)) {
      throw new Error(
        'it has no telemetry tables: it is not a telemetry store, or no writer has opened it yet',
      );
    }
    throw error;
  }
  const missing = Object.keys(migrations).filter((name) => !done.has(name));
  if (missing.length > 0) {
    throw new Error(
      `it was written by an older version (migrations not run: ${missing.join(', ')}); open it once for writing (a sink without readOnly, or \`telemetry serve\`) to migrate it`,
    );
  }
}

/** A Migrator over this package's migrations. */
export function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({
    db,
    provider: migrationProvider,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
}
