/**
 * Starts one throwaway PostgreSQL server for the test run (or uses the one
 * TELEMETRY_TEST_POSTGRES_URL names) and hands its URL to the tests; each
 * test file works in databases or schemas of its own. Child-process tests
 * run plain Node, which cannot load TypeScript: the package and core are
 * bundled from source into node_modules/.cache first (pg and kysely stay
 * external, resolved from this package).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PostgresServer, startPostgres } from '@telemetry/store-suite';
import { build } from 'tsup';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUNDLE_DIR = join(PACKAGE_DIR, 'node_modules', '.cache', 'sink-postgres-test');

let server: PostgresServer | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await build({
    config: false,
    entry: { 'child-entry': join(PACKAGE_DIR, 'src', 'test-support', 'child-entry.ts') },
    outDir: BUNDLE_DIR,
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    dts: false,
    sourcemap: false,
    clean: true,
    silent: true,
    external: ['pg', 'kysely'],
    noExternal: ['@telemetry/core', '@telemetry/sql-store', 're2js', 'zod', '@opentelemetry/api'],
    esbuildOptions(options) {
      options.conditions = ['@telemetry/source'];
    },
  });
  const given = process.env.TELEMETRY_TEST_POSTGRES_URL;
  if (given) {
    project.provide('postgresUrl', given);
    return async () => {};
  }
  server = await startPostgres();
  project.provide('postgresUrl', server.url);
  return async () => {
    await server?.destroy();
  };
}
