/**
 * The README's snippets run as written (their import line becomes a lookup in
 * this package, and `run.yaml` a temporary file), and its sample error is the
 * error this package prints.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as core from '@telemetry/core';
import * as sink from '@telemetry/core/sink';
import * as provider from '@telemetry/provider-meta-reference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_DIR } from './test-support/paths.ts';

let readme: string;
let dir: string;

beforeAll(async () => {
  readme = await readFile(join(PACKAGE_DIR, 'README.md'), 'utf8');
  dir = await mkdtemp(join(tmpdir(), 'provider-readme-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The fenced blocks of one language in a section, in order. */
function blocks(section: string, lang: string): string[] {
  const start = readme.indexOf(`${section}\n`);
  const next = readme.slice(start + section.length).search(/\n#{2,3} /);
  const text = readme.slice(start, next < 0 ? undefined : start + section.length + next);
  return [...text.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map(
    (m) => m[1]!,
  );
}

type Run = (
  modules: Record<string, unknown>,
  log: (...args: unknown[]) => void,
) => Promise<unknown>;

/** Turns `import { a, b } from 'pkg';` into lookups, so the rest runs as written. */
function compile(snippet: string, tail = ''): Run {
  const body = snippet.replace(
    /import \{([^}]*)\} from '([^']+)';/g,
    (_m, names: string, from: string) => `const {${names}} = modules[${JSON.stringify(from)}];`,
  );
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
  return new AsyncFunction('modules', 'log', `${body.replaceAll('console.log(', 'log(')}\n${tail}`);
}

const modules = {
  '@telemetry/core': core,
  '@telemetry/core/sink': sink,
  '@telemetry/provider-meta-reference': provider,
};

describe('README', () => {
  it('Usage: the run.yaml and the program work together', async () => {
    const [yaml] = blocks('## Usage', 'yaml');
    const [program] = blocks('## Usage', 'ts');
    const path = join(dir, 'run.yaml');
    await writeFile(path, yaml!);
    const saved = process.env.SQLITE_STORE_DIR;
    process.env.SQLITE_STORE_DIR = dir;
    const logged: unknown[] = [];
    try {
      const run = compile(
        program!.replace("'run.yaml'", JSON.stringify(path)),
        'return telemetry;',
      );
      const telemetry = (await run(modules, (value) => logged.push(value))) as core.Telemetry;
      provider.installShutdownHooks(telemetry)();
      expect(telemetry.sinks.map((s) => s.name)).toEqual(['console', 'sqlite']);
      const tree = logged[0] as Record<string, core.SpanWithStatus>;
      expect(Object.values(tree).map((s) => [s.name, s.status])).toEqual([
        ['chat_completion', 'ok'],
      ]);
      expect(core.getGlobalTelemetry()).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.SQLITE_STORE_DIR;
      else process.env.SQLITE_STORE_DIR = saved;
    }
  });

  it('From code: the snippet runs', async () => {
    const [program] = blocks('### From code', 'ts');
    const logged: unknown[] = [];
    try {
      await compile(program!)(modules, (value) => logged.push(value));
      expect(logged).toEqual([['console', 'audit', 'mine']]);
    } finally {
      // The snippet registers process-wide; registering again returns the way to undo it.
      provider.registerSinkType(
        sink.defineSink({
          type: 'audit',
          options: sink.z.object({}),
          create: () => ({ writeSpans() {} }),
        }),
      )();
      provider.registerProviderType('remote::archive', () => [])();
    }
  });

  it('How it fails: the sample error is what a bad file gives', async () => {
    const sample = readme
      .slice(readme.indexOf('## How it fails'))
      .match(/```\n( *Invalid telemetry config[\s\S]*?)\n *```/)![1]!
      .split('\n')
      .map((line) => line.replace(/^ {2}/, ''))
      .join('\n')
      .trim();
    const section = readme.slice(readme.indexOf('## How it fails'));
    const yaml = section.match(/```yaml\n([\s\S]*?)\n *```/)![1]!.replace(/^ {2}/gm, '');
    const path = join(dir, 'bad.yaml');
    await writeFile(path, yaml);
    const error = await provider.loadRunConfig(path).catch((e: Error) => e);
    expect((error as Error).message.replace(path, '/app/run.yaml')).toBe(sample);
  });

  it('How it fails: the sample of sink options is what such a config gives', async () => {
    const section = readme.slice(readme.indexOf('## How it fails'));
    const sample = section
      .match(/```\n( *Invalid telemetry sink options[\s\S]*?)\n *```/)![1]!
      .split('\n')
      .map((line) => line.replace(/^ {2}/, ''))
      .join('\n')
      .trim();
    const error = await provider
      .createTelemetryFromConfig(
        { sinks: 'sqlite,otel', sqlite_db_path: '/data/t.db\0.bak' },
        { env: { HOME: dir } },
      )
      .catch((e: Error) => e);
    expect((error as Error).message).toBe(sample);
  });

  it('Config keys: the table lists every key of the block', () => {
    const section = readme.slice(
      readme.indexOf('### Config keys'),
      readme.indexOf('### Options of'),
    );
    const keys = [...section.matchAll(/^\| `(\w+)`(?:, `(\w+)`)? \|/gm)].flatMap((m) =>
      m.slice(1).filter((k): k is string => k !== undefined),
    );
    expect(keys).toEqual([...provider.META_REFERENCE_CONFIG_KEYS]);
  });
});
