import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

export default mergeConfig(
  sharedConfig,
  defineConfig({
    test: {
      // A test here runs the real bin several times as child processes; on a shared
      // two-core machine under load each start can take seconds. The deadline only
      // catches a hang: each child has its own 60 s limit.
      testTimeout: 180_000,
      hookTimeout: 180_000,
    },
  }),
);
