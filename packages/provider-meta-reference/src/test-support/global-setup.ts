/**
 * Child-process tests run plain Node, which cannot load TypeScript. Before
 * they run, this builds this package and @telemetry/core (its three entries) from source with
 * tsup (ESM and CommonJS, as their own builds do) into node_modules/.cache, so that a
 * test never depends on a dist being fresh. `temp-project.ts` copies them
 * into throwaway projects.
 */
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'tsup';
import { BUILD_DIR, CORE_DIR, PACKAGE_DIR } from './paths.ts';

async function buildPackage(
  sourceDir: string,
  name: string,
  entry: Record<string, string>,
  external: string[],
): Promise<void> {
  const outDir = join(BUILD_DIR, name);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await build({
    config: false,
    entry: Object.fromEntries(
      Object.entries(entry).map(([out, file]) => [out, join(sourceDir, 'src', file)]),
    ),
    outDir: join(outDir, 'dist'),
    format: ['esm', 'cjs'],
    platform: 'node',
    target: 'node20',
    dts: false,
    sourcemap: false,
    clean: true,
    // Core's entries share one copy of its classes, as in its own build.
    splitting: true,
    silent: true,
    external,
    esbuildOptions(options) {
      options.conditions = ['@telemetry/source'];
    },
  });
  await copyFile(join(sourceDir, 'package.json'), join(outDir, 'package.json'));
}

export default async function setup(): Promise<void> {
  await buildPackage(
    CORE_DIR,
    'core',
    { index: 'index.ts', sink: 'index-sink.ts', testing: 'index-testing.ts' },
    ['zod', '@opentelemetry/api'],
  );
  await buildPackage(PACKAGE_DIR, 'provider-meta-reference', { index: 'index.ts' }, [
    '@telemetry/core',
    '@telemetry/sink-console',
    '@telemetry/sink-sqlite',
    '@telemetry/sink-otel',
    'yaml',
    'zod',
  ]);
}
