/**
 * Each entry point exports only names its README section documents: what is
 * exported is a promise, so nothing gets out undocumented (issue 12).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8');

/** The names an entry file exports (`export { a, b as c }`, `export type { ... }`). */
function exportedNames(file: string): string[] {
  const names: string[] = [];
  for (const m of read(file).matchAll(/export (?:type )?\{([^}]*)\}/g)) {
    for (const part of m[1]!.split(',')) {
      const name = part
        .trim()
        .split(/\s+as\s+/)
        .at(-1)!;
      if (name) names.push(name);
    }
  }
  return names;
}

/** The README's section that starts with `heading`, up to the next heading. */
function section(heading: string): string {
  const readme = read('../README.md');
  const start = readme.indexOf(heading);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const end = readme.indexOf('\n#', start + heading.length);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe.each([
  ['@telemetry/core', './index.ts', '## What `@telemetry/core` exports'],
  ['@telemetry/core/sink', './index-sink.ts', '### What `@telemetry/core/sink` exports'],
  ['@telemetry/core/testing', './index-testing.ts', '### What `@telemetry/core/testing` exports'],
])('%s', (_entry, file, heading) => {
  it('exports only names its README section documents', () => {
    const names = exportedNames(file);
    expect(names.length).toBeGreaterThan(0);
    const documented = section(heading);
    expect(names.filter((name) => !documented.includes(`\`${name}`))).toEqual([]);
  });
});

it('the main entry no longer exports the 0.1 compatibility names', async () => {
  const core = await import('@telemetry/core');
  for (const name of ['eventCountOf', 'DEFAULT_TTL_SECONDS', 'formatPath', 'issuesFromZod']) {
    expect(core, name).not.toHaveProperty(name);
  }
  const sink = await import('@telemetry/core/sink');
  for (const name of ['eventCountOf', 'DEFAULT_TTL_SECONDS', 'formatPath', 'issuesFromZod']) {
    expect(sink, name).toHaveProperty(name);
  }
});
