/**
 * The SQLite store's migrations: the shared history (`@telemetry/sql-store`)
 * in SQLite's dialect, with bookkeeping tables of this package's own names.
 */
import {
  createStoreMigrator,
  sqliteDialect,
  storeMigrationProvider,
  storeMigrations,
} from '@telemetry/sql-store';
import type { Kysely, Migration, MigrationProvider, Migrator } from 'kysely';

/** Every migration of this package, by name (names sort in the order they run). */
export const migrations: Readonly<Record<string, Migration>> = storeMigrations(sqliteDialect);

/** A provider that hands Kysely's Migrator the in-code record above. */
export const migrationProvider: MigrationProvider = storeMigrationProvider(migrations);

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
  return createStoreMigrator(db, migrations, {
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
}
