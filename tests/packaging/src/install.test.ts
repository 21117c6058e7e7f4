/**
 * "Install only the sinks you use", proved the way users receive the
 * packages: pack every public package, install the tarballs into a project
 * outside the workspace with npm, and run scripts there as child processes.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type OtlpReceiver, startOtlpReceiver } from '@telemetry/test-support/otlp-receiver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '../../..');
const PACKAGES = [
  'cli',
  'core',
  'sink-console',
  'sql-store',
  'sink-sqlite',
  'sink-postgres',
  'sink-otel',
  'provider-meta-reference',
  'server',
];
const HEAVY = [
  'better-sqlite3',
  'pg',
  'kysely',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/exporter-trace-otlp-proto',
];

let work: string;
let app: string;
const tarballs: Record<string, string> = {};

/** The environment of a user's shell: no pnpm or vitest variables leaking into npm and node. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      /^(npm_|pnpm_|VITEST|TURBO_|NODE_OPTIONS$|INIT_CWD$)/i.test(k) &&
      k !== 'npm_config_nodedir'
    ) {
      continue;
    }
    env[k] = v;
  }
  // better-sqlite3 compiles from source where no prebuilt binary is reachable;
  // node-gyp then needs Node's headers, which it would otherwise download.
  if (existsSync('/usr/include/node/node.h')) env.npm_config_nodedir ??= '/usr';
  return { ...env, NO_COLOR: '1', ...extra };
}

async function npm(args: string[]): Promise<string> {
  const { stdout } = await exec('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: app,
    env: userEnv(),
    timeout: 540_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

async function node(script: string, code: string, env: Record<string, string> = {}) {
  writeFileSync(join(app, script), code);
  return exec(process.execPath, [script], { cwd: app, env: userEnv(env), timeout: 60_000 });
}

/** Every package directory under node_modules, scoped ones as `@scope/name`. */
function installed(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir)) {
      if (entry.startsWith('.')) continue;
      if (entry.startsWith('@')) {
        for (const sub of readdirSync(join(dir, entry))) {
          names.add(`${entry}/${sub}`);
          walk(join(dir, entry, sub, 'node_modules'));
        }
      } else {
        names.add(entry);
        walk(join(dir, entry, 'node_modules'));
      }
    }
  };
  walk(join(app, 'node_modules'));
  return names;
}

/** The pnpm running this test (a script or a native binary), else the one on PATH. */
function pnpmCommand(args: string[]): [string, string[]] {
  const execPath = process.env.npm_execpath;
  if (!execPath || !/pnpm/.test(execPath)) return ['pnpm', args];
  return /\.[cm]?js$/.test(execPath) ? [process.execPath, [execPath, ...args]] : [execPath, args];
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'telemetry-install-'));
  const dest = join(work, 'tarballs');
  mkdirSync(dest);
  for (const pkg of PACKAGES) {
    // pnpm pack rewrites workspace: ranges to real versions, as publishing does.
    const [cmd, args] = pnpmCommand(['pack', '--pack-destination', dest]);
    await exec(cmd, args, { cwd: join(repoRoot, 'packages', pkg) });
    const file = readdirSync(dest).find(
      (f) => f.startsWith(`telemetry-${pkg}-`) && f.endsWith('.tgz'),
    );
    if (!file) throw new Error(`no tarball for ${pkg} in ${dest}`);
    tarballs[pkg] = join(dest, file);
  }
  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'telemetry-user-app',
      private: true,
      type: 'module',
      dependencies: {
        '@telemetry/core': `file:${tarballs.core}`,
        '@telemetry/provider-meta-reference': `file:${tarballs['provider-meta-reference']}`,
        '@telemetry/sink-console': `file:${tarballs['sink-console']}`,
      },
    }),
  );
  await npm(['install']);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('installed from tarballs, outside the workspace', () => {
  it('core, the provider and sink-console: no better-sqlite3, kysely or OpenTelemetry SDK in the tree', () => {
    const tree = installed();
    expect(tree.has('@telemetry/core')).toBe(true);
    expect(tree.has('@opentelemetry/api')).toBe(true); // core's peer
    for (const heavy of HEAVY) expect(tree.has(heavy), heavy).toBe(false);
    expect(tree.has('@telemetry/sink-sqlite')).toBe(false);
    expect(tree.has('@telemetry/sink-postgres')).toBe(false);
    expect(tree.has('@telemetry/sql-store')).toBe(false);
    expect(tree.has('@telemetry/sink-otel')).toBe(false);
    // The server is a package of its own: nothing else pulls it (or its HTTP framework) in.
    expect(tree.has('@telemetry/server')).toBe(false);
    expect(tree.has('hono')).toBe(false);
  });

  it('records a trace to the console, from ESM and from CommonJS', async () => {
    const { stdout } = await node(
      'record.mjs',
      `import { createTelemetryFromConfig } from '@telemetry/provider-meta-reference';
const telemetry = await createTelemetryFromConfig({ sinks: ['console'] }, { register: true });
await telemetry.withTrace('installed-trace', async () => telemetry.createLogger('app').warn('hello from the tarballs'));
await telemetry.shutdown();
`,
    );
    expect(stdout).toMatch(/START {4}installed-trace/);
    expect(stdout).toMatch(/WARN +hello from the tarballs/);
    expect(stdout).toMatch(/END {6}installed-trace {2}ok/);
    const cjs = await node(
      'record.cjs',
      `const { createTelemetry } = require('@telemetry/core');
const { createConsoleSink } = require('@telemetry/sink-console');
const telemetry = createTelemetry({ sinks: [createConsoleSink()] });
telemetry.withTrace('from-commonjs', () => {});
telemetry.shutdown();
`,
    );
    expect(cjs.stdout).toMatch(/END {6}from-commonjs {2}ok/);
  });

  it('configuring sqlite without its package fails at start with the install command', async () => {
    const { stdout } = await node(
      'sqlite-missing.mjs',
      `import { createTelemetryFromConfig } from '@telemetry/provider-meta-reference';
try {
  await createTelemetryFromConfig({ sinks: ['console', 'sqlite'], sqlite_db_path: './t.db' });
  console.log('no error');
} catch (error) {
  console.log(error.code + ': ' + error.message);
}
`,
    );
    expect(stdout.trim()).toBe(
      'TELEMETRY_SINK_NOT_INSTALLED: Telemetry sink "sqlite" needs the package @telemetry/sink-sqlite, which is not installed: run `npm install @telemetry/sink-sqlite`, or remove "sqlite" from sinks.',
    );
  });

  it('after adding sink-sqlite from its tarball, queries work', async () => {
    // sql-store too: a published sink-sqlite gets it from the registry, these tarballs are not there.
    await npm(['install', tarballs['sql-store']!, tarballs['sink-sqlite']!]);
    const { stdout } = await node(
      'sqlite.mjs',
      `import { createTelemetryFromConfig } from '@telemetry/provider-meta-reference';
const telemetry = await createTelemetryFromConfig({ sinks: 'sqlite', sqlite_db_path: './data/store.db' });
const traceId = await telemetry.withTrace('stored-trace', async (span) => {
  await telemetry.withSpan('child', (s) => s.metric('tokens', 7, 'tokens', { model_id: 'm' }));
  return span.trace_id;
});
await telemetry.flush();
const trace = await telemetry.getTrace(traceId);
const tree = await telemetry.getSpanTree(trace.root_span_id);
const now = Math.floor(Date.now() / 1000);
const series = await telemetry.queryMetrics('tokens', { query_type: 'instant', start_time: now - 60, end_time: now + 60 });
console.log(JSON.stringify({ spans: Object.values(tree).map((s) => s.name).sort(), tokens: series[0].values[0].value }));
await telemetry.shutdown();
`,
    );
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
      spans: ['child', 'stored-trace'],
      tokens: 7,
    });
    expect(installed().has('better-sqlite3')).toBe(true);
  });

  it('after adding the server from its tarball, it ingests OTLP and answers the Llama Stack routes', async () => {
    await npm(['install', tarballs.server!]);
    const { stdout } = await node(
      'serve.mjs',
      `import { createTelemetry } from '@telemetry/core';
import { createSqliteSink } from '@telemetry/sink-sqlite';
import { createTelemetryServer } from '@telemetry/server';
const telemetry = createTelemetry({ sinks: [createSqliteSink({ path: './data/served.db' })] });
const server = createTelemetryServer({ telemetry, port: 0, token: null });
const { url } = await server.listen();
const traceId = '5b8efff798038103d269b633813fc60c';
const now = BigInt(Date.now()) * 1000000n;
const span = { traceId, spanId: 'eee19b7ec3c1b174', name: 'from-otlp', kind: 2,
  startTimeUnixNano: String(now - 5000000n), endTimeUnixNano: String(now) };
const sent = await fetch(url + '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'tarball' } }] },
    scopeSpans: [{ spans: [span] }] }] }) });
await telemetry.flush();
const trace = await (await fetch(url + '/v1/telemetry/traces/' + traceId)).json();
const tree = await (await fetch(url + '/v1/telemetry/spans/' + trace.root_span_id + '/tree', {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json();
console.log(JSON.stringify({ status: sent.status, names: Object.values(tree.data).map((s) => s.name) }));
await server.close();
await telemetry.shutdown();
`,
    );
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
      status: 200,
      names: ['from-otlp'],
    });
    const cjs = await node(
      'serve.cjs',
      `const { createTelemetryServer, SERVER_DEFAULTS } = require('@telemetry/server');
console.log(typeof createTelemetryServer, SERVER_DEFAULTS.host, SERVER_DEFAULTS.port);
`,
    );
    expect(cjs.stdout.trim()).toBe('function 127.0.0.1 8321');
  });

  it('after adding the CLI from its tarball, `npx telemetry` runs and reads the store', async () => {
    await npm(['install', tarballs.cli!]);
    const help = await exec('npx', ['telemetry', '--help'], {
      cwd: app,
      env: userEnv(),
      timeout: 60_000,
    });
    expect(help.stdout).toContain('Usage: telemetry [options] [command]');
    expect(help.stdout).toMatch(/serve \[options\] +store what is sent/);
    // The store written from the tarballs above, read by the installed command.
    const stats = await exec('npx', ['telemetry', 'stats', '--db', './data/store.db', '--json'], {
      cwd: app,
      env: userEnv(),
      timeout: 60_000,
    });
    expect(JSON.parse(stats.stdout)).toMatchObject({ traces: 1, spans: 2, metric_points: 1 });
    // Another engine is an optional package, loaded only when --db names it: without it, what to install.
    const postgres = await exec(
      'npx',
      ['telemetry', 'traces', '--db', 'postgres://me:secret@127.0.0.1/traces'],
      {
        cwd: app,
        env: userEnv(),
        timeout: 60_000,
      },
    ).catch((error: { code: number; stderr: string }) => error);
    expect(postgres).toMatchObject({
      code: 1,
      stderr:
        'telemetry: --db postgres://me:***@127.0.0.1/traces needs the package @telemetry/sink-postgres, which is not installed: run `npm install @telemetry/sink-postgres` next to @telemetry/cli.\n',
    });
  });

  it('after adding sink-postgres from its tarball, the provider and the CLI load it, and pg comes only with it', async () => {
    expect(installed().has('pg')).toBe(false);
    await npm(['install', tarballs['sink-postgres']!]);
    const { stdout } = await node(
      'postgres.mjs',
      `import { createTelemetryFromConfig } from '@telemetry/provider-meta-reference';
try {
  await createTelemetryFromConfig({ sinks: ['postgres'] });
  console.log('no error');
} catch (error) {
  console.log(error.code + ': ' + error.message);
}
`,
    );
    // Loaded and validated by the sink's own schema: the config names no connection string.
    expect(stdout.trim()).toMatch(
      /^TELEMETRY_INVALID_INPUT: Invalid telemetry sink options \(1 problem\):\n {2}- postgres\.options\.connectionString: expected a connection string/,
    );
    expect(installed().has('pg')).toBe(true);
    // The CLI (installed above) now finds the engine; a database that is not there is one line, no password.
    const cli = await exec(
      'npx',
      ['telemetry', 'traces', '--db', 'postgres://me:secret@127.0.0.1:1/traces'],
      { cwd: app, env: userEnv(), timeout: 60_000 },
    ).catch((error: { code: number; stderr: string }) => error);
    expect(cli).toMatchObject({ code: 1 });
    expect((cli as { stderr: string }).stderr).toMatch(
      /^telemetry: Cannot reach the store at postgres:\/\/me:\*\*\*@127\.0\.0\.1:1\/traces: .*ECONNREFUSED.*\. Start the database, or check --db\.\n$/,
    );
  });

  describe('after adding sink-otel from its tarball', () => {
    let receiver: OtlpReceiver;
    beforeAll(async () => {
      receiver = await startOtlpReceiver();
      await npm(['install', tarballs['sink-otel']!]);
    });
    afterAll(async () => {
      await receiver?.close();
    });

    it('exports to a local OTLP receiver', async () => {
      const { stdout } = await node(
        'otel.mjs',
        `import { createTelemetryFromConfig } from '@telemetry/provider-meta-reference';
const telemetry = await createTelemetryFromConfig({ sinks: ['otel'], otel_endpoint: process.env.TRACES_URL, service_name: 'from-tarballs' });
const traceId = telemetry.withTrace('exported-trace', (span) => span.trace_id);
await telemetry.shutdown();
console.log(traceId);
`,
        { TRACES_URL: receiver.tracesUrl },
      );
      const traceId = stdout.trim().split('\n').at(-1);
      expect(receiver.traces).toHaveLength(1);
      expect(receiver.traces[0]).toMatchObject({
        traceId,
        name: 'exported-trace',
        resource: { 'service.name': 'from-tarballs' },
      });
    });
  });
});
