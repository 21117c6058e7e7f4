/**
 * `bash scripts/demo.sh`, the README's first command, run as a user runs it:
 * from the repository root or elsewhere, with paths relative to where it runs;
 * and its setup steps (scripts/lib/setup.sh) against a scratch repository with a
 * stand-in `pnpm`, to see what a first run, a later run, a change and a failure print.
 */
import { execFile } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = resolve(dirname(new URL(import.meta.url).pathname), '../../..');
const demoScript = join(repoRoot, 'scripts/demo.sh');

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'telemetry-demo-script-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function bash(
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<Outcome> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...options.env };
  if (!options.env || !('OTEL_EXPORTER_OTLP_ENDPOINT' in options.env)) {
    delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
  }
  try {
    const { stdout, stderr } = await run('bash', args, { cwd: options.cwd, env, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** The only lines the setup may print: one per step that ran. */
const PROGRESS_LINE =
  /^(Installing dependencies|Dependencies changed|Building the packages|Sources changed)[^\n]* \.\.\. done \(\d+s\)$/;

// Each test starts several processes; on a busy machine that takes a while, and is not what is tested.
const SLOW = { timeout: 180_000 };

describe('bash scripts/demo.sh', SLOW, () => {
  it("runs the README's `--config apps/demo/telemetry.yaml` from the repository root", async () => {
    const db = join(dir, 'readme.db');
    const { code, stdout, stderr } = await bash(
      [demoScript, '--config', 'apps/demo/telemetry.yaml', '--requests', '1'],
      { cwd: repoRoot, env: { TELEMETRY_SINKS: 'console,sqlite', SQLITE_DB_PATH: db } },
    );
    expect(stderr.split('\n').filter((l) => l !== '' && !PROGRESS_LINE.test(l))).toEqual([]);
    expect(code).toBe(0);
    expect(stdout).toContain('== Traces of this run (queryTraces, 1) ==');
    expect(existsSync(db)).toBe(true);
  });

  it('takes relative paths from the directory it is run in', async () => {
    const here = join(dir, 'elsewhere');
    mkdirSync(here);
    const { code } = await bash(
      [
        demoScript,
        '--sinks',
        'sqlite',
        '--db',
        'runs/demo.db',
        '--result-file',
        'result.json',
        '--requests',
        '1',
      ],
      { cwd: here },
    );
    expect(code).toBe(0);
    expect(existsSync(join(here, 'runs/demo.db'))).toBe(true);
    expect(JSON.parse(readFileSync(join(here, 'result.json'), 'utf8')).turns).toHaveLength(1);
  });

  it('prints nothing but the demo once installed and built: --help answers with the usage alone', async () => {
    // The first call may install or build (if this checkout was set up another way), with one line per step.
    const first = await bash([demoScript, '--help'], { cwd: dir });
    expect(first.code).toBe(0);
    expect(first.stderr.split('\n').filter((l) => l !== '' && !PROGRESS_LINE.test(l))).toEqual([]);
    const later = await bash([demoScript, '--help'], { cwd: dir });
    expect(later).toMatchObject({ code: 0, stderr: '' });
    expect(later.stdout).toMatch(/^Usage: bash scripts\/demo\.sh \[options\]/);
  });

  it('an unknown flag gets one line and the usage hint, exit code 2', async () => {
    const { code, stdout, stderr } = await bash([demoScript, '--bogus'], { cwd: dir });
    expect({ code, stdout, stderr }).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: unknown option --bogus\nRun with --help to see the options.\n',
    });
  });
});

/**
 * A scratch repository: one package and the demo, and a `pnpm` that records its
 * calls, prints as much noise as the real one, and "installs" and "builds" by
 * creating what the real one would. FAKE_PNPM_FAIL makes it fail with a reason.
 */
function scratchRepository(): { root: string; bin: string; calls: () => string[] } {
  const root = mkdtempSync(join(dir, 'repo-'));
  const bin = join(root, '.bin');
  const file = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  file('package.json', '{"name":"root","private":true}\n');
  file('pnpm-workspace.yaml', 'packages:\n  - packages/*\n  - apps/*\n');
  file('pnpm-lock.yaml', "lockfileVersion: '9.0'\n");
  file('tsconfig.base.json', '{}\n');
  file('packages/a/package.json', '{"name":"@telemetry/a"}\n');
  file('packages/a/src/index.ts', 'export const a = 1;\n');
  file('packages/a/src/index.test.ts', '// a test\n');
  file('apps/demo/package.json', '{"name":"@telemetry/demo"}\n');
  file('apps/demo/src/index.ts', 'console.log("demo");\n');
  file(
    '.bin/pnpm',
    `#!/usr/bin/env bash
echo "$*" >> "${root}/.calls"
for i in $(seq 1 40); do echo "noise line $i"; echo "node-gyp info $i" >&2; done
if [ -n "\${FAKE_PNPM_FAIL:-}" ]; then
  echo " ERR_PNPM_FETCH_404  GET https://registry.npmjs.org/nope: Not Found - 404" >&2
  exit 1
fi
case "$1" in
  install)
    mkdir -p "${root}/node_modules" "${root}/apps/demo/node_modules/@telemetry"
    ln -sfn "${root}/packages/a" "${root}/apps/demo/node_modules/@telemetry/a" ;;
  exec)
    mkdir -p "${root}/packages/a/dist" "${root}/apps/demo/dist"
    echo built > "${root}/packages/a/dist/index.js"
    echo built > "${root}/apps/demo/dist/index.js" ;;
esac
`,
  );
  chmodSync(join(bin, 'pnpm'), 0o755);
  const calls = () =>
    existsSync(join(root, '.calls'))
      ? readFileSync(join(root, '.calls'), 'utf8').trim().split('\n')
      : [];
  return { root, bin, calls };
}

async function setup(
  repo: { root: string; bin: string },
  env: Record<string, string> = {},
): Promise<Outcome> {
  const script = `set -euo pipefail; ROOT=${JSON.stringify(repo.root)}; PNPM_VERSION=9.9.9
source ${JSON.stringify(join(repoRoot, 'scripts/lib/setup.sh'))}
ensure_installed
ensure_built`;
  return bash(['-c', script], {
    cwd: repo.root,
    env: { PATH: `${repo.bin}:${process.env.PATH}`, ...env },
  });
}

const INSTALL = 'install --frozen-lockfile --reporter=append-only';
const BUILD =
  'exec turbo run build --filter=@telemetry/demo... --filter=@telemetry/cli... --output-logs=errors-only';

describe('the setup steps of scripts/demo.sh', SLOW, () => {
  it('first run: one line per step, the tools’ output in log files; later runs: nothing', async () => {
    const repo = scratchRepository();
    const first = await setup(repo);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('');
    expect(first.stderr.replace(/\(\d+s\)/g, '(Ns)')).toBe(
      'Installing dependencies (first run: about a minute, better-sqlite3 compiles from source) ... done (Ns)\n' +
        'Building the packages (first run: up to a minute) ... done (Ns)\n',
    );
    expect(repo.calls()).toEqual([INSTALL, BUILD]);
    const installLog = readFileSync(join(repo.root, '.tools/logs/install.log'), 'utf8');
    expect(installLog).toContain('noise line 40');
    expect(installLog).toContain('node-gyp info 40');

    expect(await setup(repo)).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(repo.calls()).toEqual([INSTALL, BUILD]);
  });

  it('rebuilds only when a source changed (not a test), and reinstalls when the lockfile changed', async () => {
    const repo = scratchRepository();
    await setup(repo);

    writeFileSync(join(repo.root, 'packages/a/src/index.test.ts'), '// an edited test\n');
    expect(await setup(repo)).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(repo.calls()).toEqual([INSTALL, BUILD]);

    writeFileSync(join(repo.root, 'packages/a/src/index.ts'), 'export const a = 2;\n');
    const rebuilt = await setup(repo);
    expect(rebuilt.stderr).toMatch(/^Sources changed: rebuilding \.\.\. done \(\d+s\)\n$/);
    expect(repo.calls()).toEqual([INSTALL, BUILD, BUILD]);
    expect((await setup(repo)).stderr).toBe('');

    writeFileSync(join(repo.root, 'pnpm-lock.yaml'), "lockfileVersion: '9.0'\n# changed\n");
    const reinstalled = await setup(repo);
    expect(reinstalled.stderr.split('\n')[0]).toMatch(
      /^Dependencies changed: installing \.\.\. done \(\d+s\)$/,
    );
    expect(repo.calls().slice(3)).toEqual([INSTALL, BUILD]);
    expect((await setup(repo)).stderr).toBe('');

    // A deleted build output is noticed too.
    rmSync(join(repo.root, 'packages/a/dist'), { recursive: true });
    expect((await setup(repo)).stderr).toMatch(/rebuilding \.\.\. done/);
  });

  it('a test-support package of the demo’s tests (tests/*, used from source, never built) does not make each run rebuild', async () => {
    const repo = scratchRepository();
    mkdirSync(join(repo.root, 'tests/support/src'), { recursive: true });
    mkdirSync(join(repo.root, 'apps/demo/node_modules/@telemetry'), { recursive: true });
    writeFileSync(join(repo.root, 'tests/support/package.json'), '{"name":"@telemetry/t"}\n');
    symlinkSync(
      join(repo.root, 'tests/support'),
      join(repo.root, 'apps/demo/node_modules/@telemetry/t'),
    );
    await setup(repo);
    expect(await setup(repo)).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(repo.calls()).toEqual([INSTALL, BUILD]);
  });

  it('a failing step prints the reason and where the full log is, and exits with its code', async () => {
    const repo = scratchRepository();
    const failed = await setup(repo, { FAKE_PNPM_FAIL: '1' });
    const log = join(repo.root, '.tools/logs/install.log');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^Installing dependencies .* \.\.\. failed\n/);
    expect(failed.stderr).toContain('ERR_PNPM_FETCH_404');
    expect(failed.stderr).toContain(`The full log is ${log}`);
    // The last lines only: the log has all of them.
    expect(failed.stderr.split('\n').length).toBeLessThan(30);
    expect(readFileSync(log, 'utf8')).toContain('noise line 1\n');
    // Nothing was recorded as installed: the next run tries again.
    expect((await setup(repo)).stderr).toMatch(/^Installing dependencies .* \.\.\. done/);
  });
});
