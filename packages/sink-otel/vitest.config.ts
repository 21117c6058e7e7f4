import { defineConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

// The shared `module` condition picks the OpenTelemetry SDK packages' build/esm,
// whose extensionless imports Node cannot load once vitest externalizes them;
// without it they resolve to their CommonJS builds, as in a user's Node app.
const conditions = ['@telemetry/source', 'node', 'development|production'];

export default defineConfig({
  ...sharedConfig,
  resolve: { ...sharedConfig.resolve, conditions },
  ssr: { ...sharedConfig.ssr, resolve: { ...sharedConfig.ssr?.resolve, conditions } },
});
