import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BUNDLE_DIR, PACKAGE_DIR } from './global-setup.ts';

export interface ChildResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node src/test-support/<script> ...args` with the bundle's path in SINK_BUNDLE. */
export function runChild(script: string, args: readonly string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(PACKAGE_DIR, 'src', 'test-support', script), ...args],
      {
        env: { ...process.env, SINK_BUNDLE: join(BUNDLE_DIR, 'child-entry.js') },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
