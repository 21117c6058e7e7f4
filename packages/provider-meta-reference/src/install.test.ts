/**
 * Real child processes in a throwaway project that has this package and core
 * but no sink package: what a user sees who forgot to install a sink, and a
 * sink type of their own named in a config.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTempProject, type TempProject } from './test-support/temp-project.ts';

let project: TempProject;

beforeAll(async () => {
  project = await createTempProject();
});

afterAll(async () => {
  await project?.remove();
});

const reportError = `
  } catch (error) {
    console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message }));
    process.exitCode = 1;
  }
`;

describe('a project without the sink packages', () => {
  it('names the missing package and the install command when the config asks for sqlite', async () => {
    await project.write(
      'run.yaml',
      `telemetry:
  - provider_id: meta-reference
    provider_type: inline::meta-reference
    config:
      sinks: ['sqlite']
      sqlite_db_path: ./trace_store.db
`,
    );
    const script = await project.write(
      'missing-sqlite.mjs',
      `import { createTelemetryFromConfig } from '@telemetry/provider-meta-reference';
try {
  await createTelemetryFromConfig('run.yaml');
  console.log('created');
${reportError}`,
    );
    const result = await project.run(script).done;
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      name: 'SinkNotInstalledError',
      code: 'TELEMETRY_SINK_NOT_INSTALLED',
      message:
        'Telemetry sink "sqlite" needs the package @telemetry/sink-sqlite, which is not installed: run `npm install @telemetry/sink-sqlite`, or remove "sqlite" from sinks.',
    });
    expect(result.code).toBe(1);
  });

  it('names every missing package in one line, with the package manager that runs the app', async () => {
    const script = await project.write(
      'missing-all.mjs',
      `import { createTelemetryFromConfig } from '@telemetry/provider-meta-reference';
try {
  await createTelemetryFromConfig({
    sinks: 'console,sqlite,otel',
    otel_exporter_otlp_endpoint: 'http://127.0.0.1:4318',
    sqlite_db_path: ':memory:',
  });
  console.log('created');
${reportError}`,
    );
    const result = await project.run(script, {
      env: { npm_config_user_agent: 'pnpm/12.4.2 npm/? node/v20.20.0 linux x64' },
    }).done;
    expect(JSON.parse(result.stdout).message).toMatchInlineSnapshot(
      `"Telemetry sinks "console", "sqlite", "otel" need the packages @telemetry/sink-console, @telemetry/sink-sqlite, @telemetry/sink-otel, which are not installed: run \`pnpm add @telemetry/sink-console @telemetry/sink-sqlite @telemetry/sink-otel\`, or remove them from sinks."`,
    );
  });

  it('says the same from CommonJS (require)', async () => {
    const script = await project.write(
      'missing-otel.cjs',
      `const { createTelemetryFromConfig } = require('@telemetry/provider-meta-reference');
createTelemetryFromConfig({ sinks: ['otel_trace'], otel_endpoint: 'http://127.0.0.1:4318/v1/traces' }).then(
  () => console.log('created'),
  (error) => {
    console.log(JSON.stringify({ code: error.code, message: error.message }));
    process.exitCode = 1;
  },
);
`,
    );
    const result = await project.run(script).done;
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      code: 'TELEMETRY_SINK_NOT_INSTALLED',
      message:
        'Telemetry sink "otel_trace" needs the package @telemetry/sink-otel, which is not installed: run `npm install @telemetry/sink-otel`, or remove "otel_trace" from sinks.',
    });
  });

  it('runs a registered sink type named in the config, without importing any sink package', async () => {
    const out = join(project.dir, 'custom-events.jsonl');
    await project.write(
      'custom.yaml',
      `telemetry:
  - provider_id: meta-reference
    provider_type: inline::meta-reference
    config:
      sinks: \${env.TELEMETRY_SINKS:=console,sqlite}
`,
    );
    const script = await project.write(
      'custom-sink.mjs',
      `import { appendFileSync } from 'node:fs';
import { createTelemetryFromConfig, registerSinkType } from '@telemetry/provider-meta-reference';

registerSinkType('jsonl', ({ name, options }) => ({
  name,
  writeEvents(events) {
    for (const event of events) appendFileSync(options.file ?? ${JSON.stringify(out)}, JSON.stringify(event) + '\\n');
  },
}));

const telemetry = await createTelemetryFromConfig('custom.yaml');
telemetry.withTrace('handle-request', () => {
  telemetry.createLogger('app').info('hello from the child');
});
await telemetry.shutdown();
console.log(JSON.stringify({ sinks: telemetry.sinks.map((s) => s.name), stats: telemetry.stats().sinks }));
`,
    );
    const result = await project.run(script, { env: { TELEMETRY_SINKS: 'jsonl' } }).done;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.sinks).toEqual(['jsonl']);
    expect(report.stats.jsonl).toMatchObject({ delivered: 3, failed: 0, pending: 0 });
    const events = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(events.map((e) => [e.type, e.payload?.type ?? e.message])).toEqual([
      ['structured_log', 'span_start'],
      ['unstructured_log', 'hello from the child'],
      ['structured_log', 'span_end'],
    ]);
    expect(events[0].payload.name).toBe('handle-request');
    expect(new Set(events.map((e) => e.trace_id)).size).toBe(1);
  });
});

describe('a sink package that is installed but cannot load', () => {
  let broken: TempProject;

  beforeAll(async () => {
    broken = await createTempProject();
    // Stand-ins with the real names: one needs a package that is missing, one throws as it loads.
    const pkg = (name: string) =>
      JSON.stringify({ name, type: 'module', exports: { '.': './index.js' } });
    await broken.write(
      'node_modules/@telemetry/sink-otel/package.json',
      pkg('@telemetry/sink-otel'),
    );
    await broken.write(
      'node_modules/@telemetry/sink-otel/index.js',
      `export * from '@opentelemetry/exporter-trace-otlp-proto';\n`,
    );
    await broken.write(
      'node_modules/@telemetry/sink-sqlite/package.json',
      pkg('@telemetry/sink-sqlite'),
    );
    await broken.write(
      'node_modules/@telemetry/sink-sqlite/index.js',
      `throw new Error('The module better_sqlite3.node was compiled against a different Node.js version');\n`,
    );
    // A 0.1 console sink: a factory, but no definition for the table.
    await broken.write(
      'node_modules/@telemetry/sink-console/package.json',
      pkg('@telemetry/sink-console'),
    );
    await broken.write(
      'node_modules/@telemetry/sink-console/index.js',
      `export function createConsoleSink() { return { name: 'console', writeEvents() {} }; }\n`,
    );
  });

  afterAll(async () => {
    await broken?.remove();
  });

  async function start(config: string) {
    const script = await broken.write(
      `start-${Math.random().toString(36).slice(2)}.mjs`,
      `import { createTelemetryFromConfig } from '@telemetry/provider-meta-reference';
try {
  await createTelemetryFromConfig(${config});
  console.log('created');
${reportError}`,
    );
    const result = await broken.run(script).done;
    expect(result.stderr).toBe('');
    return JSON.parse(result.stdout);
  }

  it('names the missing dependency and which sink package needs it', async () => {
    expect(
      await start(`{ sinks: 'otel', otel_exporter_otlp_endpoint: 'http://127.0.0.1:4318' }`),
    ).toEqual({
      name: 'SinkNotInstalledError',
      code: 'TELEMETRY_SINK_NOT_INSTALLED',
      message:
        'Telemetry sink "otel" needs the package @opentelemetry/exporter-trace-otlp-proto (required by @telemetry/sink-otel), which is not installed: run `npm install @opentelemetry/exporter-trace-otlp-proto`, or remove "otel" from sinks.',
    });
  });

  it('says which version to install when the package is too old to have a sink definition', async () => {
    expect(await start(`{ sinks: 'console' }`)).toEqual({
      name: 'SinkLoadError',
      code: 'TELEMETRY_SINK_LOAD_FAILED',
      message:
        'Telemetry sink "console": @telemetry/sink-console is installed but failed to load: it exports no sink definition for "console", so it is older than this provider needs (install @telemetry/sink-console@">=0.2.0"). Reinstall it, or remove "console" from sinks.',
    });
  });

  it("passes on the package's own error when it is there but fails to load", async () => {
    expect(await start(`{ sinks: 'sqlite', sqlite_db_path: ':memory:' }`)).toEqual({
      name: 'SinkLoadError',
      code: 'TELEMETRY_SINK_LOAD_FAILED',
      message:
        'Telemetry sink "sqlite": @telemetry/sink-sqlite is installed but failed to load: The module better_sqlite3.node was compiled against a different Node.js version. Reinstall it, or remove "sqlite" from sinks.',
    });
  });
});
