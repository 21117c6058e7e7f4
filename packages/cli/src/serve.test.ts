/**
 * `telemetry serve` as users start it: with no flags it stores into the
 * default file the read commands read; it receives the demo's OTLP export,
 * answers the Llama Stack client, and on SIGINT or SIGTERM stores every span
 * it accepted before it exits.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import LlamaStackClient from 'llama-stack-client';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, cli, Running, runDemo, serve, tempDir } from './test-support/cli.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('serve', () => {
  it('with no flags: the default store, the demo over OTLP, the Llama Stack client, the read commands', async () => {
    const home = join(tmp.dir, 'home');
    const env = cleanEnv(home, { NO_COLOR: '1' });
    const expectedDb = join(home, '.local', 'share', 'telemetry', 'telemetry.db');
    // Only the ports are chosen (the defaults, 8321 and 4318, may be taken on a test machine).
    const { server, address } = await serve([], env);
    try {
      expect(address.db).toBe(expectedDb);
      expect(existsSync(expectedDb)).toBe(true);
      expect(address.page).toBe(`${address.url}/`);

      // The demo's OTLP export (its own store is elsewhere), pointed at the server as the README says.
      const demo = await runDemo(join(tmp.dir, 'demo-own.db'), {
        ...env,
        OTEL_EXPORTER_OTLP_ENDPOINT: address.otlp_url,
      });
      const client = new LlamaStackClient({ baseURL: address.url, maxRetries: 0 });
      for (const turn of demo.turns) {
        const trace = await client.telemetry.getTrace(turn.traceId);
        expect(trace.root_span_id).toBe(turn.rootSpanId);
        const tree = await client.telemetry.getSpanTree(turn.rootSpanId, {});
        expect(Object.values(tree).map((s) => s.name)).toContain('retrieve_documents');
      }
      const traces = await client.telemetry.queryTraces({
        attribute_filters: [{ key: 'demo.run_id', op: 'eq', value: demo.runId }],
      });
      expect(new Set(traces.map((t) => t.trace_id))).toEqual(
        new Set(demo.turns.map((t) => t.traceId)),
      );

      // A read command with no flags reads the same default file, while the server writes it.
      const listed = await cli(['traces', '--name', 'chat_turn', '--json'], { env });
      expect(listed.code).toBe(0);
      const ids = JSON.parse(listed.stdout).traces.map((t: { trace_id: string }) => t.trace_id);
      expect(new Set(ids)).toEqual(new Set(demo.turns.map((t) => t.traceId)));
    } finally {
      expect((await server.stop('SIGINT')).code).toBe(0);
    }
    expect(server.stderr).toMatch(/stopped; all \d+ accepted event\(s\) are stored/);
  });

  it('prints where to send and what to open, as text', async () => {
    const env = cleanEnv(tmp.dir, { NO_COLOR: '1' });
    const db = join(tmp.dir, 'text.db');
    const server = new Running(['serve', '--db', db, '--port', '0', '--otlp-port', '0'], env);
    try {
      await server.until(() => server.stdout.includes('Ctrl-C'), 'the banner');
      expect(server.stdout).toMatch(
        new RegExp(
          `^telemetry serve is storing into ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n  page {9}http://127\\.0\\.0\\.1:(\\d+)/\\n  API {10}http://127\\.0\\.0\\.1:\\1 {2}\\(Llama Stack: /v1/telemetry, search: /api/v1\\)\\n  OTLP/HTTP {4}http://127\\.0\\.0\\.1:(\\d+) {2}\\(send with OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:\\2\\)\\nPress Ctrl-C to stop\\.\\n$`,
        ),
      );
    } finally {
      await server.stop('SIGTERM');
    }
  });

  it('a port in use: one line, exit 1', async () => {
    const env = cleanEnv(tmp.dir, { NO_COLOR: '1' });
    const { server, address } = await serve(['--db', join(tmp.dir, 'a.db')], env);
    try {
      const port = new URL(address.url).port;
      const result = await cli(
        ['serve', '--db', join(tmp.dir, 'b.db'), '--port', port, '--otlp-port', '0'],
        { env },
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(
          `^telemetry: Cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\): the port is taken; choose another \\(0 picks a free one\\)\\. \\(--host, --port and --otlp-port choose where\\)\\n$`,
        ),
      );
    } finally {
      await server.stop();
    }
  });

  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s while spans pour in: every span the server accepted is in the store',
    async (signal) => {
      const env = cleanEnv(tmp.dir, { NO_COLOR: '1' });
      const db = join(tmp.dir, `${signal}.db`);
      const { server, address } = await serve(['--db', db], env);
      const REQUESTS = 40;
      const SPANS = 50;
      const accepted: string[] = [];
      let answered = 0;
      let signalled = false;
      const now = BigInt(Date.now()) * 1_000_000n;
      const send = async (r: number) => {
        const traceId = `${signal === 'SIGINT' ? 'a' : 'b'}${r.toString(16).padStart(31, '0')}`;
        const spans = Array.from({ length: SPANS }, (_, s) => ({
          traceId,
          spanId: `${(r * 1000 + s + 1).toString(16).padStart(16, '0')}`,
          ...(s === 0 ? {} : { parentSpanId: `${(r * 1000 + 1).toString(16).padStart(16, '0')}` }),
          name: `span-${s}`,
          startTimeUnixNano: String(now),
          endTimeUnixNano: String(now + 1_000_000n),
          attributes: [{ key: 'request', value: { intValue: String(r) } }],
        }));
        try {
          const response = await fetch(`${address.otlp_url}/v1/traces`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ resourceSpans: [{ resource: {}, scopeSpans: [{ spans }] }] }),
          });
          await response.arrayBuffer();
          if (response.status === 200) accepted.push(...spans.map((s) => s.spanId));
        } catch {
          // Refused once the server stopped accepting: the client knows it was not taken.
        }
        answered++;
        if (answered === 10 && !signalled) {
          signalled = true;
          server.child.kill(signal);
        }
      };
      await Promise.all(Array.from({ length: REQUESTS }, (_, r) => send(r)));
      const exit = await server.exited;
      expect(exit.code).toBe(0);
      expect(accepted.length).toBeGreaterThanOrEqual(10 * SPANS);
      const stored = new Sqlite(db, { readonly: true });
      try {
        const ids = new Set(stored.prepare('select span_id from spans').pluck().all() as string[]);
        const missing = accepted.filter((id) => !ids.has(id));
        expect(missing).toEqual([]);
      } finally {
        stored.close();
      }
      expect(server.stderr).toContain(`${signal}: finishing requests in flight`);
    },
  );
});
