/**
 * The README's PostgreSQL command: the demo from `apps/demo/telemetry-postgres.yaml`
 * with TELEMETRY_POSTGRES_URL, on a throwaway server of Debian's binaries. Two
 * runs at once land in the one store, and each reads its own turns back.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createPostgresSink } from '@telemetry/sink-postgres';
import { type PostgresServer, startPostgres } from '@telemetry/store-suite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const appDir = resolve(dirname(new URL(import.meta.url).pathname), '..');
let server: PostgresServer;
let url: string;
let dir: string;

beforeAll(async () => {
  server = await startPostgres();
  url = await server.createDatabase('demo');
  dir = mkdtempSync(join(tmpdir(), 'telemetry-demo-pg-'));
}, 120_000);
afterAll(async () => {
  await server?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function demo(name: string) {
  const resultFile = join(dir, `${name}.json`);
  return run(
    process.execPath,
    ['dist/index.js', '--config', 'telemetry-postgres.yaml', '--result-file', resultFile],
    {
      cwd: appDir,
      env: { ...process.env, NO_COLOR: '1', TELEMETRY_POSTGRES_URL: url },
      timeout: 120_000,
    },
  ).then(({ stdout }) => ({
    stdout,
    result: JSON.parse(readFileSync(resultFile, 'utf8')) as {
      runId: string;
      turns: { traceId: string; rootSpanId: string }[];
    },
  }));
}

describe('the demo against PostgreSQL, from telemetry-postgres.yaml', () => {
  it('two runs at once: both land in the one store, each reads its own back', async () => {
    const [a, b] = await Promise.all([demo('a'), demo('b')]);
    for (const { stdout } of [a, b]) {
      expect(stdout).toMatch(/START {4}chat_turn/);
      expect(stdout).toMatch(/delivered to console \d+, postgres \d+\./);
    }
    const store = createPostgresSink({ connectionString: url, retentionIntervalMs: 0 });
    try {
      for (const { result } of [a, b]) {
        const traces = await store.queryTraces({
          attribute_filters: [{ key: 'demo.run_id', op: 'eq', value: result.runId }],
        });
        expect(new Set(traces.map((t) => t.trace_id))).toEqual(
          new Set(result.turns.map((t) => t.traceId)),
        );
        const tree = await store.getSpanTree(result.turns[0]!.rootSpanId);
        expect(Object.values(tree).map((s) => s.name)).toContain('retrieve_documents');
      }
    } finally {
      await store.shutdown();
    }
  }, 240_000);
});
