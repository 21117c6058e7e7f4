import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { showEscapes } from './test-support/capture.ts';

// A child process gets a real TTY from util-linux `script`, which allocates a pseudo-terminal.
const hasScript = spawnSync('script', ['--version']).status === 0;
const packageDir = fileURLToPath(new URL('..', import.meta.url));
let dir = '';

/** Bundles `entry` (TypeScript, importing core and this package by name) into `dir/bundle`. */
async function bundle(entry: string): Promise<void> {
  await build({
    entry: [entry],
    outDir: join(dir, 'bundle'),
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    dts: false,
    config: false,
    silent: true,
    noExternal: [/.*/],
    esbuildOptions(options) {
      options.conditions = ['@telemetry/source', 'module', 'node', 'import'];
      // Entries outside the package (the README's snippet) resolve packages as the tests do.
      options.nodePaths = [join(packageDir, 'node_modules')];
      options.alias = { '@telemetry/sink-console': join(packageDir, 'src/index.ts') };
    },
  });
}

beforeAll(async () => {
  // The child runs plain JavaScript: bundle the sink (and core) from source.
  dir = mkdtempSync(join(tmpdir(), 'sink-console-'));
  await bundle(join(packageDir, 'src/test-support/bundle-entry.ts'));
  cpSync(join(packageDir, 'src/test-support/child.mjs'), join(dir, 'child.mjs'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The parent's environment without anything that decides colour. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', ...extra };
  for (const key of ['FORCE_COLOR', 'NO_COLOR', 'NODE_DISABLE_COLORS']) {
    if (!(key in extra)) delete env[key];
  }
  return env;
}

function run(options: { tty: boolean; env?: Record<string, string> }): string {
  const command = `${JSON.stringify(process.execPath)} child.mjs`;
  const result = options.tty
    ? spawnSync('script', ['-qec', command, '/dev/null'], { cwd: dir, env: cleanEnv(options.env) })
    : spawnSync(process.execPath, ['child.mjs'], { cwd: dir, env: cleanEnv(options.env) });
  expect(result.stderr.toString()).toBe('');
  expect(result.status).toBe(0);
  // A terminal turns \n into \r\n.
  return result.stdout.toString().replaceAll('\r\n', '\n');
}

describe('in a real process, writing to process.stdout', () => {
  it.skipIf(!hasScript)('colours output on a terminal', () => {
    expect(showEscapes(run({ tty: true }))).toMatchInlineSnapshot(`
      "<2>12:00:00.000<0> <2>0af76519<0> <35>START<0>    <1>work<0>
      <2>12:00:00.000<0> <2>0af76519<0> <1;31>ERROR<0>      <31>boom<0>
      <2>12:00:00.001<0> <2>0af76519<0> <35>END<0>      <1>work<0>  <1;31>ERROR<0>  <2>1.00ms<0>
      "
    `);
  });

  it.skipIf(!hasScript)('does not colour a terminal when NO_COLOR is set', () => {
    expect(run({ tty: true, env: { NO_COLOR: '1' } })).toMatchInlineSnapshot(`
      "12:00:00.000 0af76519 START    work
      12:00:00.000 0af76519 ERROR      boom
      12:00:00.001 0af76519 END      work  ERROR  1.00ms
      "
    `);
  });

  it('does not colour a pipe', () => {
    const out = run({ tty: false });
    expect(out).toContain('ERROR');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for ESC
    expect(out).not.toMatch(/\x1b/);
  });

  it('colours a pipe when FORCE_COLOR is set', () => {
    const forced = run({ tty: false, env: { FORCE_COLOR: '1' } });
    expect(forced).toContain('\x1b[1;31mERROR\x1b[0m');
    if (hasScript) expect(forced).toBe(run({ tty: true }));
  });

  it('keeps the application running when the reader of its stdout goes away (| head)', async () => {
    const child = spawn(process.execPath, ['child.mjs', 'epipe'], {
      cwd: dir,
      env: cleanEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // Close our end of its stdout after the first output, then let it write again.
    child.stdout.once('data', () => {
      child.stdout.destroy();
      child.stdin.write('go\n');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(stderr).toContain('still running');
    // With no core pipeline attached, the sink's one error report is a process warning.
    expect(stderr).toContain("Console sink 'console' can no longer write to its stream");
    expect(stderr.match(/can no longer write/g)).toHaveLength(1);
  });

  it('keeps the application running when the reader of a stdout pipe stops reading', async () => {
    const child = spawn(process.execPath, ['child.mjs', 'stall'], {
      cwd: dir,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Never read child.stdout: once the pipe's buffers are full, process.stdout.write returns false.
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.stdout.destroy();
    expect(code).toBe(0);
    // Drop warnings come first; the child's report is the last line.
    const lines = stderr.trim().split('\n');
    expect(lines.slice(0, -1).some((line) => line.includes('for "console"'))).toBe(true);
    const report = JSON.parse(lines.at(-1)!) as {
      flushed: boolean;
      shutdownMs: number;
      logged: number;
      stats: {
        accepted: number;
        sinks: Record<
          string,
          { delivered: number; dropped: Record<string, number>; pending: number }
        >;
      };
    };
    // Every log call returned; flush() and shutdown() ended at their deadlines
    // although the reader never read.
    expect(report.flushed).toBe(false);
    expect(report.shutdownMs).toBeLessThan(5_000);
    expect(report.stats.accepted).toBe(report.logged + 2 * 40);
    const console = report.stats.sinks.console!;
    expect(console.dropped.sink_backlog).toBeGreaterThan(0);
    expect(console.dropped.shutdown_timeout).toBeGreaterThan(0);
    expect(console.pending).toBe(0);
    const dropped = Object.values(console.dropped).reduce((a, b) => a + b, 0);
    expect(console.delivered + dropped).toBe(report.stats.accepted);
    // The loss is summed up once, at shutdown.
    expect(lines.filter((line) => line.startsWith('[telemetry] shutdown:'))).toHaveLength(1);
  });
});

describe('the README', () => {
  it('has a Usage snippet that runs and prints what the README shows', async () => {
    const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
    const usage = readme.slice(readme.indexOf('## Usage'));
    const snippet = /```ts\n([\s\S]*?)```/.exec(usage)![1]!;
    const shown = /prints\n\n```\n([\s\S]*?)```/.exec(usage)![1]!;
    writeFileSync(join(dir, 'readme-usage.ts'), snippet);
    await bundle(join(dir, 'readme-usage.ts'));
    const result = spawnSync(process.execPath, ['bundle/readme-usage.js'], {
      cwd: dir,
      env: cleanEnv(),
    });
    expect(result.stderr.toString()).toBe('');
    expect(result.status).toBe(0);
    const normalise = (text: string) =>
      text
        .replace(/^\d\d:\d\d:\d\d\.\d{3} [0-9a-f]{8}/gm, 'HH:MM:SS.mmm tttttttt')
        .replace(/\d+\.\d\dms/g, 'N.NNms');
    expect(normalise(result.stdout.toString())).toBe(normalise(shown));
  });
});

describe('a process that exits right after shutdown', () => {
  it('finds every line its stream took: shutdown waits until the stream has written it out', () => {
    const file = join(dir, 'exit.jsonl');
    const spans = 20_000;
    const result = spawnSync(process.execPath, ['child.mjs', 'file-exit', file, String(spans)], {
      cwd: dir,
      env: cleanEnv(),
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stderr)).toEqual({
      delivered: 2 * spans,
      dropped: {},
      failed: 0,
      pending: 0,
    });
    // Before: shutdown resolved once the stream had taken the text into its buffer, and the
    // last batch was still there when process.exit() came.
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(2 * spans);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({
      type: 'structured_log',
      payload: { type: 'span_end' },
      name: `request ${spans - 1}`,
    });
  });
});
