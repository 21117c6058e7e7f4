import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';

const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));
/** Inside this package, so that Node resolves anything left external from its node_modules. */
const BUNDLE_DIR = join(PACKAGE_DIR, 'node_modules', '.cache', 'sink-otel-test');

/**
 * Bundles the child scripts from source (core and the sinks included, so the
 * children run exactly this checkout). better-sqlite3 is native: it stays
 * external, imported by its resolved path; sink-sqlite's checkpoint worker
 * is bundled next to the scripts, where sink-sqlite looks for it.
 */
export async function bundleChildren(): Promise<void> {
  const sqliteRequire = createRequire(join(PACKAGE_DIR, '..', 'sink-sqlite', 'package.json'));
  const betterSqlite = sqliteRequire.resolve('better-sqlite3');
  const here = join(PACKAGE_DIR, 'src', 'test-support');
  await build({
    config: false,
    entry: {
      'child-tla': join(here, 'child-tla.ts'),
      'child-main': join(here, 'child-main.ts'),
      'checkpoint-worker': join(PACKAGE_DIR, '..', 'sink-sqlite', 'src', 'checkpoint-worker.js'),
    },
    outDir: BUNDLE_DIR,
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    dts: false,
    sourcemap: false,
    clean: true,
    silent: true,
    splitting: false,
    noExternal: [/.*/],
    esbuildPlugins: [
      {
        name: 'native-better-sqlite3',
        setup(b) {
          b.onResolve({ filter: /^better-sqlite3$/ }, () => ({
            path: betterSqlite,
            external: true,
          }));
        },
      },
    ],
    esbuildOptions(options) {
      options.conditions = ['@telemetry/source', 'node', 'import'];
    },
  });
}

export interface ChildRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The JSON lines the child printed, by `event`. */
  readonly events: Record<string, Record<string, unknown>>;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time from spawn to exit, and from the child's `after` line to its exit. */
  readonly ms: number;
  readonly exitAfterMs: number | undefined;
}

/** Runs a bundled child script with `SCENARIO` set; kills it (a failed test, not a hung run) after `killAfterMs`. */
export function runChild(
  script: 'tla' | 'main',
  scenario: Record<string, unknown>,
  killAfterMs = 120_000,
): Promise<ChildRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, SCENARIO: JSON.stringify(scenario) };
  // The child reads OTEL_* from its environment: only what the test sets.
  for (const key of Object.keys(env)) if (key.startsWith('OTEL_')) delete env[key];
  const started = Date.now();
  const child = spawn(process.execPath, [join(BUNDLE_DIR, `child-${script}.js`)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const exitedAt = Date.now();
      clearTimeout(guard);
      // 'close' comes once stdio is drained.
      child.on('close', () => {
        const events: Record<string, Record<string, unknown>> = {};
        for (const line of stdout.split('\n')) {
          if (!line.startsWith('{"event"')) continue;
          const record = JSON.parse(line) as Record<string, unknown>;
          events[String(record.event)] = record;
        }
        const at = events.after?.at;
        resolve({
          code,
          signal,
          events,
          stdout,
          stderr,
          ms: exitedAt - started,
          exitAfterMs: typeof at === 'number' ? exitedAt - at : undefined,
        });
      });
    });
  });
}
