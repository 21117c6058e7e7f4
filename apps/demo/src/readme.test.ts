/**
 * Runs the TypeScript snippets of the root README and core's README, as a
 * reader would paste them, so the docs cannot drift from the code.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

const appDir = resolve(dirname(new URL(import.meta.url).pathname), '..');
const repoRoot = resolve(appDir, '../..');
const snippetDir = join(appDir, '.readme-snippets');

function snippets(file: string): Map<string, string> {
  const text = readFileSync(join(repoRoot, file), 'utf8');
  const found = new Map<string, string>();
  for (const m of text.matchAll(/<!-- readme-test: ([\w-]+) -->\n```ts\n([\s\S]*?)\n```/g)) {
    found.set(m[1]!, m[2]!);
  }
  return found;
}

/** Writes a snippet as a module of this package (so its imports resolve) and runs it, capturing console.log. */
async function runSnippet(name: string, code: string): Promise<unknown[][]> {
  mkdirSync(snippetDir, { recursive: true });
  const file = join(snippetDir, `${name}.ts`);
  writeFileSync(file, `${code}\nexport {};\n`);
  const logged: unknown[][] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    logged.push(args);
  });
  try {
    await import(file);
  } finally {
    spy.mockRestore();
  }
  return logged;
}

afterAll(() => {
  rmSync(snippetDir, { recursive: true, force: true });
  rmSync(join(appDir, '.telemetry/quickstart.db'), { force: true });
});

describe('root README snippets', () => {
  const root = snippets('README.md');

  it('has the snippets this test knows', () => {
    expect([...root.keys()]).toEqual(['quickstart', 'query', 'custom-sink']);
  });

  it('quickstart: config to console and SQLite, a trace with an OpenTelemetry span, read back', async () => {
    rmSync(join(appDir, '.telemetry/quickstart.db'), { force: true });
    const logged = await runSnippet('quickstart', root.get('quickstart')!);
    const names = logged.at(-1)![0] as string[];
    expect([...names].sort()).toEqual(['GET /weather', 'chat_turn', 'inference']);
  });

  it('query: the store answers from its file', async () => {
    const logged = await runSnippet('query', root.get('query')!);
    expect(logged.at(-1)).toEqual([1, 1, 1]);
  });

  it('custom sink: registered, named in config, receives spans', async () => {
    const logged = await runSnippet('custom-sink', root.get('custom-sink')!);
    expect(logged.at(-1)).toEqual([['slow request']]);
  });
});

describe("core's README snippets", () => {
  const core = snippets('packages/core/README.md');

  it('usage: prints each span with its duration in microseconds', async () => {
    const logged = await runSnippet('core-usage', core.get('core-usage')!);
    const lines = logged.at(-1)![0] as string[];
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^inference \d+ µs$/);
    expect(lines[1]).toMatch(/^chat-turn \d+ µs$/);
  });

  it('writing a sink: the example compiles and delivers spans as NDJSON', async () => {
    await runSnippet('core-sink', core.get('core-sink')!);
    const mod = (await import(join(snippetDir, 'core-sink.ts'))) as {
      createNdjsonSink: (
        write: (line: string) => Promise<void>,
      ) => import('@telemetry/core').TelemetrySink;
    };
    const { createTelemetry } = await import('@telemetry/core');
    const lines: string[] = [];
    const telemetry = createTelemetry({
      sinks: [mod.createNdjsonSink(async (line) => void lines.push(line))],
    });
    telemetry.withTrace('t', () => {});
    await telemetry.shutdown();
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      name: 't',
      start_time: expect.stringMatching(/\.\d{6}Z$/),
    });
  });
});
