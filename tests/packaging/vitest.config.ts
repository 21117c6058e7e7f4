import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

// Packing and installing from tarballs takes minutes (better-sqlite3 compiles from source).
export default mergeConfig(
  sharedConfig,
  defineConfig({ test: { testTimeout: 600_000, hookTimeout: 600_000 } }),
);
