/** The README's Usage snippet, run as written (its paths moved into a temp dir). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as core from '@telemetry/core';
import * as sqlite from '@telemetry/sink-sqlite';
import { SqliteSinkOptionsSchema, sqliteSink } from '@telemetry/sink-sqlite';
import { afterAll, expect, it } from 'vitest';
import { tempDir } from './test-support/fixtures.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

it('runs the Usage snippet and prints what its comment says', async () => {
  const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
  const usage = readme.slice(readme.indexOf('## Usage'));
  const snippet = /```ts\n([\s\S]*?)```/.exec(usage)![1]!;
  const modules: Record<string, unknown> = {
    '@telemetry/core': core,
    '@telemetry/sink-sqlite': sqlite,
  };
  const code = snippet
    .replaceAll("'./telemetry", `'${tmp.dir}/telemetry`)
    .replace(/import \{([^}]+)\} from '([^']+)';/g, (_, names: string, from: string) => {
      expect(modules).toHaveProperty([from]);
      return `const {${names}} = modules[${JSON.stringify(from)}];`;
    });
  const printed: unknown[][] = [];
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
    ...args: string[]
  ) => (...args: unknown[]) => Promise<void>;
  await new AsyncFunction('modules', 'console', code)(modules, {
    log: (...args: unknown[]) => printed.push(args),
  });
  expect(printed).toEqual([[1, 2, 12.5]]);
  const rows = readFileSync(join(tmp.dir, 'telemetry', 'datasets', 'checkouts.jsonl'), 'utf8')
    .trim()
    .split('\n');
  expect(rows.map((r) => JSON.parse(r))).toEqual([
    expect.objectContaining({ name: 'POST /checkout', parent_span_id: null, 'user.id': 'u-42' }),
  ]);
});

const readme = () => readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');

it('documents every option in the Options table, with the schema’s defaults', () => {
  const text = readme();
  const section = text.slice(text.indexOf('## Options'), text.indexOf('## What the queries mean'));
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const m = /^\| `(\w+)` \| (.*?) \|/.exec(line);
    // The second table (Llama Stack keys) has snake_case keys.
    if (m && !m[1]!.includes('_')) rows.set(m[1]!, m[2]!);
  }
  expect([...rows.keys()].sort()).toEqual(Object.keys(SqliteSinkOptionsSchema.shape).sort());
  const { serviceName: _, ...defaults } = sqliteSink.parseOptions({});
  for (const [key, value] of Object.entries(defaults)) {
    const shown = typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
    expect(rows.get(key), key).toContain(`\`${shown}\``);
  }
});

it('shows the error that bad options really give', () => {
  const text = readme();
  const sample = /```\n( *Invalid sqlite sink options[\s\S]*?)\n *```/
    .exec(text.slice(text.indexOf('## How it fails')))![1]!
    .split('\n')
    .map((line) => line.replace(/^ {2}/, ''))
    .join('\n');
  // @ts-expect-error a typo of ttlSeconds, on purpose
  expect(() => sqlite.createSqliteSink({ ttlSeconds: 0, ttl: 60 })).toThrow(sample);
});
