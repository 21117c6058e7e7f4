/**
 * The PostgreSQL store's migrations: the shared history (`@telemetry/sql-store`)
 * in PostgreSQL's dialect. Kysely's Migrator runs them in one transaction
 * under an advisory lock, so several processes starting at once against a new
 * database migrate it once: the others wait, then find nothing to do.
 */
import {
  createStoreMigrator,
  postgresDialect,
  storeMigrationProvider,
  storeMigrations,
} from '@telemetry/sql-store';
import type { Kysely, Migration, MigrationProvider, Migrator } from 'kysely';

/** Every migration of this package, by name (names sort in the order they run). */
export const migrations: Readonly<Record<string, Migration>> = storeMigrations(postgresDialect);

/** A provider that hands Kysely's Migrator the in-code record above. */
export const migrationProvider: MigrationProvider = storeMigrationProvider(migrations);

/** The migration bookkeeping tables, named so they never collide with an app's own Kysely migrations. */
export const MIGRATION_TABLE = 'telemetry_postgres_migration';
export const MIGRATION_LOCK_TABLE = 'telemetry_postgres_migration_lock';

/**
 * A Migrator over this package's migrations, with its bookkeeping tables in
 * `schema` (where the store's tables are: the first schema of the search path).
 */
export function createMigrator(db: Kysely<any>, schema?: string): Migrator {
  return createStoreMigrator(db, migrations, {
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
}
