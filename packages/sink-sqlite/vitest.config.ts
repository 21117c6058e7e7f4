import { mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

export default mergeConfig(sharedConfig, {
  test: {
    // Bundles the package once for the tests that spawn plain-Node child processes.
    globalSetup: ['./src/test-support/global-setup.ts'],
  },
});
