import { execFileSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const repoRoot = resolve(import.meta.dirname, '../../..');
const changesetBin = createRequire(join(repoRoot, 'package.json')).resolve(
  '@changesets/cli/bin.js',
);
const workspaces: string[] = [];

/** Copies what `changeset version` reads (manifests and config) into a scratch repository. */
function scratchRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'telemetry-changesets-'));
  workspaces.push(dir);
  for (const file of ['package.json', 'pnpm-workspace.yaml', '.changeset/config.json']) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(repoRoot, file), join(dir, file));
  }
  for (const group of ['packages', 'apps', 'tests']) {
    for (const name of readdirSync(join(repoRoot, group))) {
      const manifest = join(group, name, 'package.json');
      try {
        mkdirSync(join(dir, group, name), { recursive: true });
        cpSync(join(repoRoot, manifest), join(dir, manifest));
      } catch {
        // not a package folder
      }
    }
  }
  return dir;
}

function release(
  dir: string,
  bumps: Record<string, 'major' | 'minor' | 'patch'>,
): Record<string, string> {
  const frontmatter = Object.entries(bumps)
    .map(([name, kind]) => `"${name}": ${kind}`)
    .join('\n');
  writeFileSync(join(dir, '.changeset', 'a-change.md'), `---\n${frontmatter}\n---\n\nA change.\n`);
  execFileSync(process.execPath, [changesetBin, 'version'], { cwd: dir, stdio: 'pipe' });
  const versions: Record<string, string> = {};
  for (const name of readdirSync(join(dir, 'packages'))) {
    const pkg = JSON.parse(readFileSync(join(dir, 'packages', name, 'package.json'), 'utf8'));
    versions[pkg.name] = pkg.version;
  }
  return versions;
}

afterEach(() => {
  for (const dir of workspaces.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('changeset version: independent versions', () => {
  it('a minor core release bumps core, and the CLI that depends on it (not as a peer) to take it', () => {
    expect(release(scratchRepo(), { '@telemetry/core': 'minor' })).toEqual({
      '@telemetry/cli': '0.1.1',
      '@telemetry/core': '0.2.0',
      '@telemetry/provider-meta-reference': '0.1.0',
      '@telemetry/server': '0.1.0',
      '@telemetry/sink-console': '0.1.0',
      '@telemetry/sink-otel': '0.1.0',
      '@telemetry/sink-postgres': '0.1.0',
      '@telemetry/sink-sqlite': '0.1.0',
      '@telemetry/sql-store': '0.1.0',
    });
  });

  it('a sink release bumps that sink and the CLI built on it, not the provider that lists it as an optional peer', () => {
    expect(release(scratchRepo(), { '@telemetry/sink-sqlite': 'minor' })).toEqual({
      '@telemetry/cli': '0.1.1',
      '@telemetry/core': '0.1.0',
      '@telemetry/provider-meta-reference': '0.1.0',
      '@telemetry/server': '0.1.0',
      '@telemetry/sink-console': '0.1.0',
      '@telemetry/sink-otel': '0.1.0',
      '@telemetry/sink-postgres': '0.1.0',
      '@telemetry/sink-sqlite': '0.2.0',
      '@telemetry/sql-store': '0.1.0',
    });
  });

  it('a breaking core release leaves the peer range, so every dependent is released with it', () => {
    const versions = release(scratchRepo(), { '@telemetry/core': 'major' });
    expect(versions['@telemetry/core']).toBe('1.0.0');
    for (const name of [
      '@telemetry/sink-console',
      '@telemetry/sql-store',
      '@telemetry/sink-sqlite',
      '@telemetry/sink-postgres',
      '@telemetry/sink-otel',
      '@telemetry/provider-meta-reference',
      '@telemetry/server',
      '@telemetry/cli',
    ]) {
      expect(versions[name], name).not.toBe('0.1.0');
    }
  });
});
