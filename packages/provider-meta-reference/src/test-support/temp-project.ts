/**
 * A throwaway Node project outside the monorepo, with this package and
 * @telemetry/core installed (copied, as a package manager would), their
 * third-party dependencies linked, and no sink package at all.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BUILD_DIR, PACKAGE_DIR } from './paths.ts';

export interface TempProject {
  readonly dir: string;
  /** Writes `name` into the project (an ESM script when it ends in .mjs). */
  write(name: string, content: string): Promise<string>;
  /** Runs `node <script>` in the project. */
  run(script: string, options?: RunOptions): ChildRun;
  remove(): Promise<void>;
}

export interface RunOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Called with each chunk of stdout, e.g. to send a signal once the child is ready. */
  readonly onStdout?: (text: string, child: ReturnType<typeof spawn>) => void;
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ChildRun {
  readonly child: ReturnType<typeof spawn>;
  readonly done: Promise<RunResult>;
}

/** Third-party packages the two installed packages import. */
const LINKED = ['yaml', 'zod', '@opentelemetry/api'];

export async function createTempProject(): Promise<TempProject> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'telemetry-provider-')));
  const modules = join(dir, 'node_modules');
  for (const name of ['core', 'provider-meta-reference']) {
    await cp(join(BUILD_DIR, name), join(modules, '@telemetry', name), { recursive: true });
  }
  for (const name of LINKED) {
    const target = await realpath(join(PACKAGE_DIR, 'node_modules', name));
    await mkdir(dirname(join(modules, name)), { recursive: true });
    await symlink(target, join(modules, name), 'dir');
  }
  await writeFile(join(dir, 'package.json'), '{ "name": "temp-app", "type": "module" }\n');

  return {
    dir,
    async write(name, content) {
      const file = join(dir, name);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, content);
      return file;
    },
    run(script, options = {}) {
      // The child must not inherit the test runner's package manager, loaders, or
      // module paths (pnpm's bin shims set NODE_PATH to the workspace's store, where
      // CommonJS would find the sink packages this project does not have).
      const env: Record<string, string | undefined> = {
        ...process.env,
        npm_config_user_agent: undefined,
        NODE_OPTIONS: undefined,
        NODE_PATH: undefined,
        ...options.env,
      };
      const child = spawn(process.execPath, [script], {
        cwd: dir,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (text: string) => {
        stdout += text;
        options.onStdout?.(text, child);
      });
      child.stderr!.setEncoding('utf8').on('data', (text: string) => {
        stderr += text;
      });
      const done = new Promise<RunResult>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
      });
      return { child, done };
    },
    async remove() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}
