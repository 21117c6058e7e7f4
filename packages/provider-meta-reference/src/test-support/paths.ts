import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CORE_DIR = join(PACKAGE_DIR, '..', 'core');
/** Where global-setup.ts puts the builds of this package and core. */
export const BUILD_DIR = join(
  PACKAGE_DIR,
  'node_modules',
  '.cache',
  'provider-meta-reference-test',
);
