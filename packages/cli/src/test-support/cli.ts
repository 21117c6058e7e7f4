/**
 * The real `telemetry` bin as a child process, the demo that fills a store,
 * and `telemetry serve` running in the background: what the CLI tests drive.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
export const packageDir = resolve(import.meta.dirname, '../..');
export const repoRoot = resolve(packageDir, '../..');
export const BIN = join(packageDir, 'dist', 'bin.js');
const DEMO = join(repoRoot, 'apps', 'demo', 'dist', 'index.js');

export interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** An environment without the user's telemetry settings: HOME in `home`, no colours unless asked. */
export function cleanEnv(home: string, extra: Record<string, string | undefined> = {}) {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(TELEMETRY_|OTEL_|FORCE_COLOR$|NO_COLOR$|XDG_|NODE_OPTIONS$|VITEST)/.test(k)) continue;
    env[k] = v;
  }
  env.HOME = home;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** A temporary directory, removed by `cleanup`. */
export function tempDir(prefix = 'telemetry-cli-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs the bin to its end. */
export async function cli(
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number },
): Promise<Result> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], {
      env: options.env,
      cwd: options.cwd,
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string; killed?: boolean };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export interface DemoRun {
  readonly runId: string;
  readonly turns: { id: string; traceId: string; rootSpanId: string }[];
}

/** Runs the demo (`apps/demo`), which writes its chat turns into `db` (and OTLP when the env says). */
export async function runDemo(
  db: string,
  env: NodeJS.ProcessEnv,
  args: readonly string[] = [],
): Promise<DemoRun> {
  const resultFile = `${db}.${Date.now()}.result.json`;
  await exec(process.execPath, [DEMO, '--db', db, '--result-file', resultFile, ...args], {
    env: { ...env, NO_COLOR: '1' },
    timeout: 60_000,
  });
  return JSON.parse(readFileSync(resultFile, 'utf8')) as DemoRun;
}

/** A long-running bin (serve, tail): its output as it comes, and how to stop it. */
export class Running {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #waiters: { test: () => boolean; resolve: () => void }[] = [];

  constructor(args: readonly string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [BIN, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      this.#check();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      this.#check();
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.#check();
        resolve({ code, signal });
      });
    });
  }

  #check(): void {
    for (const w of [...this.#waiters]) {
      if (w.test()) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  /** Resolves once `test` holds (checked on every output chunk), or fails after `timeoutMs` with the output so far. */
  until(test: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `timed out waiting for ${what}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.push({
        test: () => test() || this.child.exitCode !== null,
        resolve: () => {
          clearTimeout(timer);
          if (test()) resolve();
          else
            reject(
              new Error(`exited before ${what}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`),
            );
        },
      });
    });
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM') {
    if (this.child.exitCode === null) this.child.kill(signal);
    return this.exited;
  }
}

export interface Served {
  readonly page: string;
  readonly url: string;
  readonly otlp_url: string;
  readonly db: string;
}

/** `telemetry serve` on free ports, once it printed its addresses. */
export async function serve(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ server: Running; address: Served }> {
  const server = new Running(['serve', '--port', '0', '--otlp-port', '0', '--json', ...args], env);
  await server.until(() => server.stdout.includes('\n'), 'the addresses of telemetry serve');
  return { server, address: JSON.parse(server.stdout.split('\n')[0]!) as Served };
}

/** No stack trace, no Node internals: one `telemetry: ...` line. */
export function oneLineError(result: Result): string {
  const lines = result.stderr.split('\n').filter((l) => l !== '');
  if (
    lines.length !== 1 ||
    !lines[0]!.startsWith('telemetry: ') ||
    /\n\s+at /.test(result.stderr)
  ) {
    throw new Error(`expected one error line, got:\n${result.stderr}`);
  }
  return lines[0]!;
}
