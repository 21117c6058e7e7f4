/** The README's first Usage snippet, run as written (ports 0 and a temp dir instead of fixed ones). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as core from '@telemetry/core';
import * as sqlite from '@telemetry/sink-sqlite';
import LlamaStackClient from 'llama-stack-client';
import { afterAll, expect, it } from 'vitest';
import * as server from './index.ts';

const dir = mkdtempSync(`${tmpdir()}/server-readme-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('runs the Usage snippet and prints what its comment says', async () => {
  const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
  const usage = readme.slice(readme.indexOf('## Usage'));
  const snippet = /```ts\n([\s\S]*?)```/.exec(usage)![1]!;
  const modules: Record<string, unknown> = {
    '@telemetry/core': core,
    '@telemetry/sink-sqlite': sqlite,
    '@telemetry/server': server,
    'llama-stack-client': { default: LlamaStackClient },
  };
  expect(snippet).toContain('port: 8321, otlpPort: 4318');
  const code = snippet
    .replace('port: 8321, otlpPort: 4318', 'port: 0, otlpPort: 0, token: null')
    .replaceAll("'./telemetry", `'${dir}/telemetry`)
    .replace(/import (\w+) from '([^']+)';/g, (_, name: string, from: string) => {
      expect(modules).toHaveProperty([from]);
      return `const ${name} = modules[${JSON.stringify(from)}].default;`;
    })
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
  expect(printed).toEqual([[['chat_turn']]]);
});
