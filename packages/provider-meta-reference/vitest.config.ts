import { mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

// Without the shared `module` condition: it picks the OpenTelemetry SDK packages'
// build/esm (imported through @telemetry/sink-otel), whose extensionless imports
// Node cannot load; without it they resolve to their CommonJS builds, as in a Node app.
const conditions = ['@telemetry/source', 'node', 'development|production'];

export default mergeConfig(
  { ...sharedConfig, resolve: { conditions }, ssr: { resolve: { conditions } } },
  {
    test: {
      // Builds this package and core once for the tests that run plain Node child processes.
      globalSetup: ['./src/test-support/global-setup.ts'],
    },
  },
);
