/**
 * Type compatibility with llama-stack-client@0.2.20 (issue 13): a real `tsc
 * --noEmit` over test-support/client-types/fixture.ts, which assigns every
 * in-process result of the store and of `Telemetry` to the client's own types
 * and back, and passes every client parameter type to our methods. Compiled
 * with `exactOptionalPropertyTypes` on top of the repository's strict options
 * (as a strict client project may set; it only rejects more); the package's
 * own typecheck compiles the fixture with the repository's options too.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PACKAGE_DIR } from './test-support/global-setup.ts';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const fixtures = join(PACKAGE_DIR, 'src', 'test-support', 'client-types');

async function compile(project: string): Promise<string> {
  try {
    await promisify(execFile)(process.execPath, [tsc, '--noEmit', '-p', join(fixtures, project)], {
      cwd: PACKAGE_DIR,
    });
    return '';
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message;
  }
}

describe('llama-stack-client@0.2.20 types', () => {
  it('accept our results and are accepted as our parameters, both ways', async () => {
    expect(await compile('tsconfig.json')).toBe('');
  }, 120_000);
});
