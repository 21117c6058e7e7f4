import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

// One browser session runs the steps in order; starting Chromium takes a few seconds.
export default mergeConfig(
  sharedConfig,
  defineConfig({ test: { testTimeout: 30_000, hookTimeout: 60_000 } }),
);
