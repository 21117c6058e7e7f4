/**
 * `--db postgres://...`: `telemetry serve` stores into PostgreSQL what the demo
 * sends over OTLP, and the read commands, `stats` and `prune` answer from the
 * same database, on a throwaway server of Debian's binaries. The password of
 * the URL is never printed.
 */
import { join } from 'node:path';
import { type PostgresServer, startPostgres } from '@telemetry/store-suite';
import LlamaStackClient from 'llama-stack-client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, cli, runDemo, serve, tempDir } from './test-support/cli.ts';

const tmp = tempDir();
let server: PostgresServer;
let db: string;

beforeAll(async () => {
  server = await startPostgres();
  const plain = await server.createDatabase('cli_store');
  const admin = new pg.Client({ connectionString: plain });
  await admin.connect();
  try {
    await admin.query(`create role cli login password 'pa55word'`);
    await admin.query('grant all on schema public to cli');
  } finally {
    await admin.end();
  }
  db = plain.replace('//postgres@', '//cli:pa55word@');
}, 120_000);
afterAll(async () => {
  await server?.destroy();
  tmp.cleanup();
});

describe('--db postgres://', () => {
  it('serve stores the demo over OTLP; traces, show, stats and prune read and delete the same rows', async () => {
    const env = cleanEnv(tmp.dir, { NO_COLOR: '1' });
    const { server: served, address } = await serve(['--db', db], env);
    let demo: Awaited<ReturnType<typeof runDemo>>;
    try {
      expect(address.db).toBe(db.replace('pa55word', '***'));
      demo = await runDemo(join(tmp.dir, 'demo-own.db'), {
        ...env,
        OTEL_EXPORTER_OTLP_ENDPOINT: address.otlp_url,
      });
    } finally {
      expect((await served.stop('SIGTERM')).code).toBe(0);
    }
    expect(served.stderr).toMatch(
      /stopped; all \d+ accepted event\(s\) are stored in postgres:\/\/cli:\*\*\*@/,
    );
    expect(served.stdout + served.stderr).not.toContain('pa55word');

    // Read after the server stopped: every span it accepted is in the database.
    const listed = await cli(['traces', '--db', db, '--name', 'chat_turn', '--json'], { env });
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    const ids = JSON.parse(listed.stdout).traces.map((t: { trace_id: string }) => t.trace_id);
    expect(new Set(ids)).toEqual(new Set(demo.turns.map((t) => t.traceId)));

    const shown = await cli(['show', demo.turns[0]!.traceId, '--db', db], { env });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('retrieve_documents');

    const before = JSON.parse((await cli(['stats', '--db', db, '--json'], { env })).stdout);
    expect(before.traces).toBeGreaterThanOrEqual(demo.turns.length);
    const pruned = await cli(['prune', '--db', db, '--keep-spans', '0', '--json'], { env });
    expect(pruned.stderr).toBe('');
    expect(pruned.code).toBe(0);
    expect(JSON.parse(pruned.stdout)).toMatchObject({
      deleted_traces: before.traces,
      deleted_spans: before.spans,
    });
    const after = JSON.parse((await cli(['stats', '--db', db, '--json'], { env })).stdout);
    expect(after).toMatchObject({ traces: 0, spans: 0 });
  }, 180_000);

  it('two servers behind one database answer the same queries', async () => {
    const env = cleanEnv(tmp.dir, { NO_COLOR: '1' });
    const shared = db.replace('/cli_store', '/cli_shared');
    await server.createDatabase('cli_shared');
    const admin = new pg.Client({ connectionString: server.urlOf('cli_shared') });
    await admin.connect();
    await admin.query('grant all on schema public to cli').finally(() => admin.end());
    const a = await serve(['--db', shared], env);
    const b = await serve(['--db', shared], env);
    try {
      const demo = await runDemo(join(tmp.dir, 'demo-two.db'), {
        ...env,
        OTEL_EXPORTER_OTLP_ENDPOINT: a.address.otlp_url,
      });
      // What one server stored, the other answers, once the first has written it.
      const ids = new Set(demo.turns.map((t) => t.traceId));
      const viaB = new LlamaStackClient({ baseURL: b.address.url, maxRetries: 0 });
      let found = new Set<string>();
      for (let i = 0; i < 100 && found.size < ids.size; i++) {
        const traces = await viaB.telemetry.queryTraces({
          attribute_filters: [{ key: 'demo.run_id', op: 'eq', value: demo.runId }],
        });
        found = new Set(traces.map((t) => t.trace_id));
        if (found.size < ids.size) await new Promise((r) => setTimeout(r, 200));
      }
      expect(found).toEqual(ids);
      const viaA = new LlamaStackClient({ baseURL: a.address.url, maxRetries: 0 });
      const root = demo.turns[0]!.rootSpanId;
      expect(await viaB.telemetry.getSpanTree(root, {})).toEqual(
        await viaA.telemetry.getSpanTree(root, {}),
      );
    } finally {
      expect((await a.server.stop('SIGTERM')).code).toBe(0);
      expect((await b.server.stop('SIGTERM')).code).toBe(0);
    }
  }, 180_000);

  it('a server that is not there: one line naming the URL without its password, exit 1', async () => {
    const env = cleanEnv(tmp.dir, { NO_COLOR: '1' });
    const down = `postgres://cli:pa55word@127.0.0.1:1/nothing`;
    const result = await cli(['traces', '--db', down], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^telemetry: Cannot reach the store at postgres:\/\/cli:\*\*\*@127\.0\.0\.1:1\/nothing: .*ECONNREFUSED.*\. Start the database, or check --db\.\n$/,
    );
    expect(result.stderr).not.toContain('pa55word');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);
});
