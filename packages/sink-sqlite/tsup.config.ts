import { defineConfig } from 'tsup';

export default defineConfig({
  // The checkpoint worker is loaded by file at run time, so it is an entry of its own.
  entry: ['src/index.ts', 'src/checkpoint-worker.js'],
  format: ['esm', 'cjs'],
  dts: { entry: 'src/index.ts' },
  // `import.meta.url` (the worker's location) in the CommonJS build too.
  shims: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
});
