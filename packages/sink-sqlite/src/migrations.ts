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

/** A Migrator over this package's migrations. */
export function createMigrator(db: Kysely<any>): Migrator {
  return createStoreMigrator(db, migrations, {
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
}
