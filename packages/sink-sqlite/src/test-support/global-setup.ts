/**
 * Child-process tests run plain Node 20, which cannot load TypeScript. Before
 * they run, this bundles the package from source (core included, so the test
 * never depends on core's dist being fresh) into node_modules/.cache, where
 * Node still resolves better-sqlite3 and kysely from this package.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUNDLE_DIR = join(PACKAGE_DIR, 'node_modules', '.cache', 'sink-sqlite-test');

export default async function setup(): Promise<void> {
  await build({
    config: false,
    entry: {
      'sink-sqlite': join(PACKAGE_DIR, 'src', 'index.ts'),
      'checkpoint-worker': join(PACKAGE_DIR, 'src', 'checkpoint-worker.js'),
    },
    outDir: BUNDLE_DIR,
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    dts: false,
    sourcemap: false,
    clean: true,
    silent: true,
    external: ['better-sqlite3', 'kysely'],
    noExternal: ['@telemetry/core', '@telemetry/sql-store'],
    esbuildOptions(options) {
      options.conditions = ['@telemetry/source'];
    },
  });
}
