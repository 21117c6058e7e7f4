/**
 * Before the run: bundles the child programs (src/children) from source,
 * every @telemetry package included, so that the children run exactly this
 * checkout on plain Node 20; better-sqlite3 stays external (native) and
 * resolves from this package, and sink-sqlite's checkpoint worker goes next
 * to the bundles, where sink-sqlite looks for it.
 * After the run: gathers the figures every scenario recorded, writes them to
 * reliability-figures.json and prints them as a table.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'tsup';
import { writeFiguresReport } from './figures-report.ts';
import { BUNDLE_DIR, FIGURES_DIR, PACKAGE_DIR } from './paths.ts';

export default async function setup(): Promise<() => void> {
  const started = Date.now();
  rmSync(FIGURES_DIR, { recursive: true, force: true });
  mkdirSync(FIGURES_DIR, { recursive: true });
  const children = join(PACKAGE_DIR, 'src', 'children');
  const entry: Record<string, string> = {
    'checkpoint-worker': join(
      PACKAGE_DIR,
      '..',
      '..',
      'packages',
      'sink-sqlite',
      'src',
      'checkpoint-worker.js',
    ),
  };
  for (const file of readdirSync(children)) {
    if (file.endsWith('.ts') && file !== 'common.ts')
      entry[file.slice(0, -3)] = join(children, file);
  }
  await build({
    config: false,
    entry,
    outDir: BUNDLE_DIR,
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    dts: false,
    sourcemap: false,
    clean: true,
    silent: true,
    splitting: true,
    external: ['better-sqlite3'],
    noExternal: [/^(?!better-sqlite3$)/],
    esbuildOptions(options) {
      options.conditions = ['@telemetry/source', 'node', 'import'];
    },
  });
  return () => writeFiguresReport(Date.now() - started);
}
