import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

export default mergeConfig(
  sharedConfig,
  defineConfig({
    test: {
      // Bundles the child programs first; prints and keeps the figures at the end.
      globalSetup: ['./src/support/global-setup.ts'],
      // Deadlines of the scenarios are hang detectors (the children's watchdog counts
      // CPU time), not speed limits: a shared two-core machine running every
      // package's tests must not fail a scenario that is merely slow.
      testTimeout: 600_000,
      hookTimeout: 600_000,
    },
  }),
);
