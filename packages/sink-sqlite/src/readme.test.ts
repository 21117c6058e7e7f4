/** The README's Usage snippet, run as written (its paths moved into a temp dir). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as core from '@telemetry/core';
import * as sqlite from '@telemetry/sink-sqlite';
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
