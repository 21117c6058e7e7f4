import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The child programs, bundled from source (see global-setup.ts). */
export const BUNDLE_DIR = join(PACKAGE_DIR, 'node_modules', '.cache', 'reliability-children');
/** Each test file's figures, gathered into FIGURES_FILE when the run ends. */
export const FIGURES_DIR = join(PACKAGE_DIR, 'node_modules', '.cache', 'reliability-figures');
/** Next to test-results.json, for the lead to quote (gitignored). */
export const FIGURES_FILE = join(PACKAGE_DIR, 'reliability-figures.json');
