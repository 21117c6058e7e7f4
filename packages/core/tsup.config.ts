import { defineConfig } from 'tsup';

export default defineConfig({
  // One bundle per public entry; shared code is split into chunks, so the
  // three entries share one dispatcher and one set of classes.
  entry: { index: 'src/index.ts', sink: 'src/index-sink.ts', testing: 'src/index-testing.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  splitting: true,
  target: 'node20',
});
