import { mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

export default mergeConfig(sharedConfig, {
  test: {
    // One throwaway PostgreSQL server for the run (see test-support/global-setup.ts).
    globalSetup: ['./src/test-support/global-setup.ts'],
  },
});
