/**
 * The root README's recipe for OpenTelemetry instrumentations, run as a user
 * would: its instrumentation files, taken from the README as they are, loaded
 * with `node --import` (ES modules) or `node --require` (CommonJS) in front of a
 * small app that makes an HTTP call inside a trace. The HTTP client span must
 * join that trace. Without the loader hook, an ES-module app gets nothing: the
 * pitfall the README warns about, checked here so the warning stays true.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const appDir = resolve(dirname(new URL(import.meta.url).pathname), '..');
const repoRoot = resolve(appDir, '../..');
let workDir: string;

/** The README's ```js block marked `<!-- readme-test: <name> -->`. */
function readmeSnippet(name: string): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const m = new RegExp(`<!-- readme-test: ${name} -->\\n\`\`\`js\\n([\\s\\S]*?)\\n\`\`\``).exec(
    readme,
  );
  if (!m) throw new Error(`README.md has no js snippet marked readme-test: ${name}`);
  return `${m[1]}\n`;
}

// An app that knows nothing of the instrumentation: a local server, one GET inside a trace.
const APP_BODY = `
const server = http.createServer((req, res) => res.end('sunny'));
await new Promise((ready) => server.listen(0, '127.0.0.1', ready));
const telemetry = await createTelemetryFromConfig(
  { sinks: 'console' },
  { register: true, sinkOptions: { console: { format: 'json' } } },
);
await telemetry.withTrace('chat_turn', () =>
  new Promise((done, fail) => {
    const url = 'http://127.0.0.1:' + server.address().port + '/v1/forecast';
    http.get(url, (res) => { res.resume(); res.on('end', done); }).on('error', fail);
  }),
);
await telemetry.shutdown();
server.close();
`;

const ESM_APP = `import http from 'node:http';
import { createTelemetryFromConfig } from '@telemetry/provider-meta-reference';
${APP_BODY}`;

const CJS_APP = `const http = require('node:http');
const { createTelemetryFromConfig } = require('@telemetry/provider-meta-reference');
(async () => {${APP_BODY}})();
`;

interface SpanStart {
  readonly trace_id: string;
  readonly span_id: string;
  readonly name: string;
  readonly parent_span_id: string | null;
}

/** Runs node with `args` in the work directory and returns the span starts it printed. */
async function spanStarts(args: string[]): Promise<SpanStart[]> {
  const { stdout } = await run(process.execPath, args, {
    cwd: workDir,
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 60_000,
  });
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .filter((e) => e.payload?.type === 'span_start')
    .map((e) => ({
      trace_id: e.trace_id,
      span_id: e.span_id,
      name: e.payload.name,
      parent_span_id: e.payload.parent_span_id,
    }));
}

/** The HTTP client span must be a child of chat_turn, in its trace; the server span a child of the client's. */
function expectHttpSpansInTheTrace(spans: SpanStart[]): void {
  const root = spans.find((s) => s.name === 'chat_turn')!;
  expect(root).toBeDefined();
  const client = spans.find((s) => s.name === 'GET' && s.parent_span_id === root.span_id);
  expect(client, JSON.stringify(spans)).toMatchObject({ trace_id: root.trace_id });
  // The client sent our traceparent, so the instrumented server continued the same trace.
  const server = spans.find((s) => s.name === 'GET' && s.parent_span_id === client!.span_id);
  expect(server).toMatchObject({ trace_id: root.trace_id });
}

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'telemetry-otel-recipe-'));
  // This package's dependencies, found as an app finds its own node_modules.
  symlinkSync(join(appDir, 'node_modules'), join(workDir, 'node_modules'), 'dir');
  writeFileSync(join(workDir, 'instrumentation.mjs'), readmeSnippet('otel-esm'));
  writeFileSync(join(workDir, 'instrumentation.cjs'), readmeSnippet('otel-cjs'));
  writeFileSync(join(workDir, 'app.mjs'), ESM_APP);
  writeFileSync(join(workDir, 'app.cjs'), CJS_APP);
  // The README's ESM file without its loader hook: what a user gets who leaves it out.
  writeFileSync(
    join(workDir, 'without-hook.mjs'),
    readmeSnippet('otel-esm')
      .split('\n')
      .filter((line) => !/\bregister\b(?!Instrumentations)/.test(line))
      .join('\n'),
  );
});

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

describe('OpenTelemetry instrumentation-http joins our traces, as the README says', () => {
  it('ES modules: node --import ./instrumentation.mjs app.mjs', async () => {
    expectHttpSpansInTheTrace(await spanStarts(['--import', './instrumentation.mjs', 'app.mjs']));
  });

  it('CommonJS: node --require ./instrumentation.cjs app.cjs', async () => {
    expectHttpSpansInTheTrace(await spanStarts(['--require', './instrumentation.cjs', 'app.cjs']));
  });

  it('ES modules without the loader hook: no HTTP span at all, and no error either', async () => {
    const withoutHook = readFileSync(join(workDir, 'without-hook.mjs'), 'utf8');
    expect(withoutHook).toContain('registerInstrumentations(');
    expect(withoutHook).not.toContain('hook.mjs');
    const spans = await spanStarts(['--import', './without-hook.mjs', 'app.mjs']);
    expect(spans.map((s) => s.name)).toEqual(['chat_turn']);
  });
});
