import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { BUNDLE_DIR, PACKAGE_DIR } from './global-setup.ts';

/** The bundle a child script imports (see global-setup.ts). */
export const BUNDLE = join(BUNDLE_DIR, 'sink-sqlite.js');

export function childScript(name: string): string {
  return join(PACKAGE_DIR, 'src', 'test-support', name);
}

export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node script ...args` with the bundle path in SINK_BUNDLE. */
export function runNode(
  script: string,
  args: readonly string[],
  env: Record<string, string> = {},
  onLine?: (line: string, child: ChildProcess) => void,
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, SINK_BUNDLE: BUNDLE, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (!onLine) return;
      pending += chunk;
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        onLine(pending.slice(0, nl), child);
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
