import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';
import { afterAll } from 'vitest';

const packageDir = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time from spawn to exit. */
  readonly ms: number;
}

/**
 * Scripts run as real Node processes: each is TypeScript importing
 * `@telemetry/core` (and its entries) by name, bundled from source into a
 * temporary directory, so the child runs exactly this checkout.
 */
export function useChildScripts() {
  const dir = mkdtempSync(join(tmpdir(), 'core-child-'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  let counter = 0;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  return {
    dir,
    /** Bundles `source` and returns the path of the runnable script. */
    async script(source: string): Promise<string> {
      counter += 1;
      const entry = join(dir, `script-${counter}.ts`);
      writeFileSync(entry, source);
      await build({
        entry: { [`script-${counter}`]: entry },
        outDir: dir,
        format: ['esm'],
        platform: 'node',
        target: 'node20',
        dts: false,
        config: false,
        silent: true,
        noExternal: [/.*/],
        outExtension: () => ({ js: '.mjs' }),
        esbuildOptions(options) {
          options.conditions = ['@telemetry/source', 'module', 'node', 'import'];
          options.nodePaths = [join(packageDir, 'node_modules')];
          options.alias = {
            '@telemetry/core/sink': join(packageDir, 'src/index-sink.ts'),
            '@telemetry/core/testing': join(packageDir, 'src/index-testing.ts'),
            '@telemetry/core': join(packageDir, 'src/index.ts'),
          };
        },
      });
      return join(dir, `script-${counter}.mjs`);
    },
    /** Runs a script; `onStdout` sees output as it comes (to send a signal at the right moment). */
    run(
      file: string,
      options: {
        args?: string[];
        onStdout?: (text: string, child: ReturnType<typeof spawn>) => void;
        killAfterMs?: number;
      } = {},
    ): Promise<ChildResult> {
      const started = Date.now();
      const child = spawn(process.execPath, [file, ...(options.args ?? [])], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        options.onStdout?.(stdout, child);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      // A child that hangs is a failed test, not a hung run.
      const guard = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 20_000);
      return new Promise((resolve) => {
        child.on('close', (code, signal) => {
          clearTimeout(guard);
          resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
        });
      });
    },
  };
}
