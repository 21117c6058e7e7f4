/**
 * The demo's command line as a user meets it: the built program run as a child
 * process from another directory, its exit code, and what it prints where.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type OtlpReceiver, startOtlpReceiver } from '@telemetry/test-support/otlp-receiver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const program = resolve(dirname(new URL(import.meta.url).pathname), '../dist/index.js');

let dir: string;
let receiver: OtlpReceiver;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'telemetry-demo-cli-'));
  receiver = await startOtlpReceiver();
});

afterAll(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the demo with `cwd` in a scratch directory; never rejects, so each test checks the exit code. */
async function demo(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...env };
  // An endpoint in the developer's own environment must not change what a test sees.
  if (!('OTEL_EXPORTER_OTLP_ENDPOINT' in env)) delete childEnv.OTEL_EXPORTER_OTLP_ENDPOINT;
  try {
    const { stdout, stderr } = await run(process.execPath, [program, ...args], {
      cwd: dir,
      env: childEnv,
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const HINT = 'Run with --help to see the options.';

describe('mistakes on the command line', () => {
  it.each([
    [['--bogus'], 'unknown option --bogus'],
    [['-x'], 'unknown option -x'],
    [['report'], 'unexpected argument "report": every option starts with --'],
    [['--db'], '--db needs a value'],
    [['--db', '--requests', '2'], '--db needs a value'],
    [['--help=yes'], "Option '-h, --help' does not take an argument"],
    [['--sinks', ''], '--sinks needs at least one sink (console, sqlite, otel), got ""'],
    [['--sinks', ' , '], '--sinks needs at least one sink (console, sqlite, otel), got " , "'],
    [['--requests', '0'], '--requests must be a whole number of at least 1, got "0"'],
    [['--requests', '2.5'], '--requests must be a whole number of at least 1, got "2.5"'],
    [['--console-format', 'xml'], '--console-format must be human or json, got "xml"'],
    [
      ['--traceparent', '00-abc-def-01'],
      '--traceparent must be a W3C traceparent such as 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01, got "00-abc-def-01"',
    ],
    [
      ['--otel-endpoint', 'localhost:4318'],
      '--otel-endpoint must be an http(s) URL such as http://localhost:4318, got "localhost:4318"',
    ],
    [
      ['--config', 'telemetry.yaml', '--sinks', 'console', '--db', 'x.db'],
      '--config takes the sinks, the store and the endpoint from the file; drop --sinks, --db or change the file',
    ],
    [['--db', ''], '--db needs a path, got an empty string'],
  ])('%j: one line saying what is wrong, the usage hint, exit code 2', async (args, message) => {
    const outcome = await demo(args);
    expect(outcome).toEqual({ code: 2, stdout: '', stderr: `error: ${message}\n${HINT}\n` });
  });

  it('an unknown sink name is refused before anything runs, without a stack trace', async () => {
    const { code, stdout, stderr } = await demo(['--sinks', 'console,sqlight']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^error: Invalid telemetry config/);
    expect(stderr).toContain(
      'unknown sink "sqlight"; expected one of: console, sqlite, postgres, otel',
    );
    expect(stderr).not.toMatch(/^\s+at /m);
  });

  it('a config file that does not exist: its path and where relative paths start, exit code 1', async () => {
    const { code, stdout, stderr } = await demo(['--config', 'nope.yaml']);
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toBe(
      `error: Cannot read the telemetry run config ${join(dir, 'nope.yaml')}: no such file. Check the path (relative paths start at ${dir}).\n`,
    );
  });
});

describe('--help', () => {
  it('lists every flag with its default and exits 0 without running anything', async () => {
    const { code, stdout, stderr } = await demo(['--help']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    for (const flag of [
      '--sinks',
      '--db',
      '--otel-endpoint',
      '--config',
      '--requests',
      '--traceparent',
      '--console-format',
      '--result-file',
      '--help',
    ]) {
      expect(stdout).toContain(flag);
    }
    expect(stdout).toContain('(default: console,sqlite');
    expect(stdout).toContain('(default: .telemetry/demo.db)');
    expect(stdout).toContain('(default: 3)');
    expect(stdout).toContain('(default: human)');
    expect(existsSync(join(dir, '.telemetry'))).toBe(false);
  });

  it("names the same flags as the demo's README, each with a default there", async () => {
    const { stdout } = await demo(['--help']);
    // Option lines of the help start with two spaces and a dash; continuation lines are deeper.
    const helpFlags = new Set(
      stdout
        .split('\n')
        .filter((l) => /^ {2}-/.test(l))
        .map((l) => /--[a-z-]+/.exec(l)![0]),
    );
    const readme = readFileSync(resolve(dirname(program), '../README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Options'), readme.indexOf('## What you see'));
    const rows = table.split('\n').filter((l) => l.startsWith('| `-'));
    expect(new Set(rows.map((row) => /--[a-z-]+/.exec(row)![0]))).toEqual(helpFlags);
    expect(helpFlags.size).toBe(9);
    for (const row of rows.filter((r) => !r.includes('--help'))) {
      expect(row.split(' | ')[1]?.trim()).not.toBe('');
    }
  });
});

// These run the whole demo, twice in some tests: slow on a busy machine, and not what is tested.
const SLOW = { timeout: 120_000 };

describe('where the spans go', SLOW, () => {
  it('--otel-endpoint adds otel to an explicit --sinks list, and says so', async () => {
    const before = receiver.traces.length;
    const { code, stderr, stdout } = await demo(
      ['--sinks', 'console', '--otel-endpoint', receiver.url, '--requests', '1'],
      { OTEL_SERVICE_NAME: 'cli-endpoint' },
    );
    expect(code).toBe(0);
    expect(stderr).toContain('note: --otel-endpoint adds otel to the sinks: console,otel');
    expect(stdout).toContain('recorded to console, otel.');
    const added = receiver.traces.slice(before);
    expect(added).toHaveLength(8);
    expect(added.every((s) => s.resource['service.name'] === 'cli-endpoint')).toBe(true);
  });

  it('OTEL_EXPORTER_OTLP_ENDPOINT adds otel only to the default sinks, not to an explicit list', async () => {
    const before = receiver.traces.length;
    const explicit = await demo(['--sinks', 'console', '--requests', '1'], {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    });
    expect(explicit.code).toBe(0);
    expect(explicit.stdout).toContain('recorded to console.');
    // The program flushed and shut down before it exited: anything exported has arrived.
    expect(receiver.traces.length).toBe(before);

    const defaults = await demo(['--db', join(dir, 'env.db'), '--requests', '1'], {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    });
    expect(defaults.code).toBe(0);
    expect(defaults.stdout).toContain('recorded to console, sqlite, otel.');
    expect(receiver.traces.length).toBe(before + 8);
  });

  it('a relative --db is relative to the directory the demo runs in', async () => {
    const { code } = await demo(['--sinks', 'sqlite', '--db', 'stores/rel.db', '--requests', '1']);
    expect(code).toBe(0);
    expect(existsSync(join(dir, 'stores/rel.db'))).toBe(true);
  });
});

describe('the read-back report', SLOW, () => {
  /** `model -> tokens` from the report's token section. */
  function tokensOf(stdout: string): Record<string, number> {
    const section = stdout.slice(stdout.indexOf('== total_tokens per model in this run'));
    return Object.fromEntries(
      [...section.matchAll(/model_id=(\S+) provider_id=\S+: (\d+) tokens/g)].map((m) => [
        m[1]!,
        Number(m[2]),
      ]),
    );
  }

  it("counts this run's tokens only, however many runs the store already holds", async () => {
    const db = join(dir, 'shared.db');
    const first = await demo(['--sinks', 'sqlite', '--db', db, '--requests', '2']);
    const second = await demo(['--sinks', 'sqlite', '--db', db, '--requests', '2']);
    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    // The simulated token counts depend only on the questions and models, the same in both runs.
    const tokens = tokensOf(first.stdout);
    expect(Object.keys(tokens).sort()).toEqual(['llama-3.1-8b-instruct', 'llama-3.2-3b-instruct']);
    expect(Object.values(tokens).every((n) => n > 0)).toBe(true);
    expect(tokensOf(second.stdout)).toEqual(tokens);
    expect(second.stdout).toContain('== Traces of this run (queryTraces, 2) ==');
  });
});
