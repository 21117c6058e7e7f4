import { defineConfig } from 'vitest/config';

// Tests import workspace packages by name; the `@telemetry/source` export condition
// points those names at `src/index.ts`, so a test run needs no prior build.
// No `module`: it would pick the OpenTelemetry SDK's extension-less build/esm
// files, which Node cannot load once vitest externalizes them.
const conditions = ['@telemetry/source', 'node', 'development|production'];

export const sharedConfig = defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  // Vite's transformer lowers only TypeScript's legacy decorators; the toolkit's
  // decorators accept both forms, and tests call the standard form directly.
  oxc: { decorator: { legacy: true } },
  test: {
    include: ['src/**/*.test.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
