/**
 * Every read command, as the real bin, against a store the demo filled:
 * plain text without a terminal, JSON that parses to what the store answers,
 * and the same output from the file (--db) and from a server over it (--url).
 */
import { join } from 'node:path';
import { createSqliteSink, type SqliteSink } from '@telemetry/sink-sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanEnv,
  cli,
  type DemoRun,
  type Running,
  runDemo,
  serve,
  tempDir,
} from './test-support/cli.ts';

const tmp = tempDir();
const db = join(tmp.dir, 'demo.db');
const env = cleanEnv(tmp.dir, { TELEMETRY_DB: db, NO_COLOR: '1' });
let runs: DemoRun[];
let store: SqliteSink;
let server: Running;
let url: string;
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for colour codes is the point
const ANSI = /\x1b\[/;

beforeAll(async () => {
  runs = [await runDemo(db, env), await runDemo(db, env)];
  store = createSqliteSink({ path: db, readOnly: true });
  const served = await serve(['--db', db], env);
  server = served.server;
  url = served.address.url;
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await store?.shutdown();
  tmp.cleanup();
});

const run = (...args: string[]) => cli(args, { env });
const allTraceIds = () => runs.flatMap((r) => r.turns.map((t) => t.traceId));

/** A line of the console format: `HH:MM:SS.mmm <trace8> <LABEL, 8 wide> <2 spaces per depth><text>`. */
function parseLine(line: string) {
  const m = /^\d\d:\d\d:\d\d\.\d{3} ([0-9a-f]{8}) (.{8}) (.*)$/.exec(line);
  if (!m) return null;
  const rest = m[3]!;
  const text = rest.trimStart();
  return { trace: m[1]!, label: m[2]!.trim(), depth: (rest.length - text.length) / 2, text };
}

/** Lines of a table: the header's columns, then each row split on runs of 2+ spaces. */
function rows(text: string): string[][] {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => line.trim().split(/ {2,}/));
}

describe('traces', () => {
  it('prints a table of every trace, newest first, as plain text', async () => {
    const result = await run('traces', '--limit', '100');
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(ANSI);
    const [head, ...body] = rows(result.stdout);
    expect(head).toEqual([
      'TRACE ID',
      'START (UTC)',
      'DURATION',
      'SPANS',
      'ERRORS',
      'SERVICE',
      'ROOT',
    ]);
    const expected = (await store.searchTraces({ limit: 100 })).traces;
    expect(body.map((r) => r[0])).toEqual(expected.map((t) => t.trace_id));
    expect(new Set(body.map((r) => r[0]))).toEqual(new Set(allTraceIds()));
    for (const [i, row] of body.entries()) {
      const t = expected[i]!;
      expect(row.slice(3)).toEqual([
        String(t.span_count),
        String(t.error_count),
        'assistant-demo',
        'chat_turn',
      ]);
      expect(row[1]).toBe(`${t.start_time.slice(0, 10)} ${t.start_time.slice(11, 23)}`);
    }
  });

  it('--json is the store answer, and the filters narrow it', async () => {
    const all = JSON.parse((await run('traces', '--json')).stdout);
    expect(all).toEqual(JSON.parse(JSON.stringify(await store.searchTraces({ limit: 20 }))));

    const failed = JSON.parse((await run('traces', '--error', '--json')).stdout);
    expect(failed.traces.length).toBeGreaterThan(0);
    for (const t of failed.traces) expect(t.error_count).toBeGreaterThan(0);

    const thisRun = JSON.parse(
      (await run('traces', '--attr', `demo.run_id=${runs[0]!.runId}`, '--json')).stdout,
    );
    expect(new Set(thisRun.traces.map((t: { trace_id: string }) => t.trace_id))).toEqual(
      new Set(runs[0]!.turns.map((t) => t.traceId)),
    );
    const none = await run('traces', '--min-duration', '1h', '--since', '1d', '--json');
    expect(JSON.parse(none.stdout).traces).toEqual([]);
    const text = await run('traces', '--name', 'no such root');
    expect(text).toMatchObject({ code: 0, stdout: '' });
    expect(text.stderr).toBe(`No traces match in ${db}.\n`);
  });

  it('pages with --limit and the --cursor it prints, each trace once', async () => {
    const first = await run('traces', '--limit', '4');
    const cursor = /--cursor (\S+)/.exec(first.stderr)?.[1];
    expect(cursor).toBeDefined();
    const second = await run('traces', '--limit', '4', '--cursor', cursor!);
    expect(second.stderr).toBe('');
    const ids = [...rows(first.stdout).slice(1), ...rows(second.stdout).slice(1)].map((r) => r[0]);
    expect(ids).toHaveLength(allTraceIds().length);
    expect(new Set(ids)).toEqual(new Set(allTraceIds()));
  });
});

describe('show', () => {
  it('prints the span tree: every span once, indented by its depth, its logs inside it', async () => {
    const turn = runs[0]!.turns[0]!;
    const result = await run('show', turn.traceId);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(ANSI);
    const detail = await store.getTraceDetail(turn.traceId);
    const tree = await store.getSpanTree(turn.rootSpanId);
    const depthOf = new Map<string, number>();
    const byId = new Map(Object.entries(tree));
    for (const id of byId.keys()) {
      let depth = 0;
      for (let s = byId.get(id); s?.parent_span_id && byId.has(s.parent_span_id); depth++) {
        s = byId.get(s.parent_span_id);
      }
      depthOf.set(id, depth);
    }
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(`Trace ${turn.traceId}  chat_turn  service assistant-demo`);
    const ends: { name: string; depth: number; status: string }[] = [];
    const open: { name: string; depth: number }[] = [];
    const seenLogs: { message: string; inside: string | undefined; depth: number }[] = [];
    for (const line of lines) {
      const parsed = parseLine(line);
      if (!parsed) continue;
      expect(parsed.trace).toBe(turn.traceId.slice(0, 8));
      const [name, status] = parsed.text.split('  ');
      if (parsed.label === 'START') open.push({ name: name!, depth: parsed.depth });
      else if (parsed.label === 'END' || parsed.label === 'SPAN') {
        if (parsed.label === 'END') expect(open.pop()).toEqual({ name, depth: parsed.depth });
        ends.push({ name: name!, depth: parsed.depth, status: status! });
      } else if (parsed.label !== 'METRIC') {
        seenLogs.push({ message: parsed.text, inside: open.at(-1)?.name, depth: parsed.depth });
      }
    }
    expect(open).toEqual([]);
    // One END (or SPAN) line per span, at its depth in getSpanTree, with its status.
    const key = (e: { name: string; depth?: number; status: string }) =>
      `${e.name}|${e.depth}|${e.status}`;
    const expected = detail.spans.map((s) =>
      key({
        name: s.name,
        depth: depthOf.get(s.span_id),
        status: s.status === 'error' ? 'ERROR' : 'ok',
      }),
    );
    expect(ends.map(key).sort()).toEqual(expected.sort());
    expect(ends.at(-1)).toEqual({ name: 'chat_turn', depth: 0, status: 'ok' });
    // Each log is printed inside its own span, one level deeper.
    const spanOf = new Map(detail.spans.map((s) => [s.span_id, s]));
    expect(seenLogs.map((l) => l.message).sort()).toEqual(detail.logs.map((l) => l.message).sort());
    for (const log of detail.logs) {
      const seen = seenLogs.find((l) => l.message === log.message)!;
      expect(seen.inside).toBe(spanOf.get(log.span_id)!.name);
      expect(seen.depth).toBe(depthOf.get(log.span_id)! + 1);
    }
    expect(result.stdout).toMatch(
      /END {8}retrieve_documents {2}ERROR {2}\d+\.\d\dms {2}vector store did not answer within 15 ms/,
    );
    expect(result.stdout).toContain('tool.name: get_weather');
  });

  it('--json is the trace detail; --no-attributes and --min-severity trim the text', async () => {
    // The first turn of a run retries a failed retrieval, with a warning.
    const id = runs[1]!.turns[0]!.traceId;
    const json = JSON.parse((await run('show', id, '--json')).stdout);
    expect(json).toEqual(JSON.parse(JSON.stringify(await store.getTraceDetail(id))));
    const short = await run('show', id, '--no-attributes', '--min-severity', 'warn');
    expect(short.stdout).not.toContain('tool.name:');
    expect(short.stdout).not.toMatch(/ INFO /);
    expect(short.stdout).toMatch(/ WARN /);
  });
});

describe('spans, metrics, stats', () => {
  it('spans: one row per span with the asked attributes as columns; --json is querySpans', async () => {
    const result = await run('spans', '--attribute', 'tool.name', '--limit', '100');
    const [head, ...body] = rows(result.stdout);
    expect(head).toEqual([
      'TRACE ID',
      'SPAN ID',
      'PARENT',
      'START (UTC)',
      'DURATION',
      'NAME',
      'tool.name',
    ]);
    expect(body).toHaveLength(allTraceIds().length);
    for (const row of body) expect(row.slice(5)).toEqual(['tool_call', 'get_weather']);
    const params = {
      attribute_filters: [{ key: 'demo.run_id', op: 'eq' as const, value: runs[1]!.runId }],
      limit: 50,
      offset: 0,
    };
    const json = JSON.parse(
      (await run('spans', '--attr', `demo.run_id=${runs[1]!.runId}`, '--json')).stdout,
    );
    expect(json).toEqual(JSON.parse(JSON.stringify(await store.querySpans(params))));
    expect(json.length).toBeGreaterThan(10);
  });

  it('metrics: a row per series with its sum and a sparkline; label matchers; --json is queryMetrics', async () => {
    const now = Math.floor(Date.now() / 1000);
    const series = await store.queryMetrics('total_tokens', {
      query_type: 'range',
      start_time: now - 3600,
      end_time: now + 60,
    });
    const result = await run('metrics', 'total_tokens', '--until', 'now');
    const [head, ...body] = rows(result.stdout);
    expect(head).toEqual(['SERIES', 'UNIT', 'POINTS', 'SUM', 'MIN', 'MAX', 'LAST', 'TREND (60m)']);
    expect(body).toHaveLength(series.length);
    for (const s of series) {
      const labels = s.labels.map((l) => `${l.name}=${l.value}`).join(' ');
      const row = body.find((r) => r[0] === labels)!;
      expect(row).toBeDefined();
      const values = s.values.map((v) => v.value);
      expect(row.slice(1, 7)).toEqual([
        'tokens',
        String(values.length),
        String(values.reduce((a, b) => a + b, 0)),
        String(Math.min(...values)),
        String(Math.max(...values)),
        String(values.at(-1)),
      ]);
      expect(row[7]).toMatch(/^[▁▂▃▄▅▆▇█ ]+$/);
    }
    const matched = JSON.parse(
      (
        await run(
          'metrics',
          'total_tokens',
          '--label',
          'model_id=~llama-3\\.2.*',
          '--label',
          `demo.run_id=${runs[0]!.runId}`,
          '--json',
        )
      ).stdout,
    );
    expect(matched).toHaveLength(1);
    expect(matched[0].labels).toContainEqual({ name: 'model_id', value: 'llama-3.2-3b-instruct' });
    const buckets = JSON.parse(
      (await run('metrics', 'total_tokens', '--granularity', '1h', '--instant', '--json')).stdout,
    );
    expect(buckets.every((s: { values: unknown[] }) => s.values.length === 1)).toBe(true);
  });

  it('stats: the counts of the store; --json is storeStats', async () => {
    const expected = await store.storeStats();
    const json = JSON.parse((await run('stats', '--json')).stdout);
    expect({ ...json, size_bytes: 0 }).toEqual({
      ...JSON.parse(JSON.stringify(expected)),
      size_bytes: 0,
    });
    const text = (await run('stats')).stdout;
    expect(text).toMatch(new RegExp(`^Store +${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(`));
    expect(text).toContain(
      `Traces   ${expected.traces}\nSpans    ${expected.spans}\nLogs     ${expected.logs}\n`,
    );
    expect(text).toMatch(/assistant-demo +6 +\d+ +2 +/);
  });
});

describe('the same output from the file and from a server over it', () => {
  it.each([
    ['traces', '--limit', '50'],
    ['traces', '--error', '--json'],
    ['spans', '--attribute', 'model_id', '--limit', '100'],
    ['metrics', 'total_tokens', '--since', '1d', '--until', '2099-01-01'],
    ['metrics', 'prompt_tokens', '--since', '1d', '--until', '2099-01-01', '--json'],
    ['tail', '--last', '30', '--no-follow'],
    ['export', '--format', 'dataset', '--save', 'model_id'],
  ])('%s %s', async (...args) => {
    const local = await run(...args, '--db', db);
    const remote = await run(...args, '--url', url);
    expect(local.code).toBe(0);
    expect(remote.stdout).toBe(local.stdout);
    expect(local.stdout.length).toBeGreaterThan(100);
  });

  it('$TELEMETRY_URL stands for --url when --db is not given', async () => {
    const viaEnv = await cli(['traces', '--limit', '50'], { env: { ...env, TELEMETRY_URL: url } });
    expect(viaEnv.stdout).toBe((await run('traces', '--limit', '50', '--db', db)).stdout);
    const stopped = await cli(['traces', '--db', db], {
      env: { ...env, TELEMETRY_URL: 'http://127.0.0.1:9' },
    });
    expect(stopped.code).toBe(0);
  });

  it('show', async () => {
    for (const id of [runs[0]!.turns[0]!.traceId, runs[1]!.turns[2]!.traceId]) {
      const local = await run('show', id, '--db', db);
      expect((await run('show', id, '--url', url)).stdout).toBe(local.stdout);
    }
  });
});

describe('colours', () => {
  it('only when forced (FORCE_COLOR stands in for a terminal), never with NO_COLOR or --no-color', async () => {
    const id = runs[0]!.turns[0]!.traceId;
    const colored = await cli(['show', id], {
      env: { ...env, NO_COLOR: undefined, FORCE_COLOR: '1' },
    });
    expect(colored.stdout).toMatch(ANSI);
    const table = await cli(['traces'], { env: { ...env, NO_COLOR: undefined, FORCE_COLOR: '1' } });
    expect(table.stdout).toMatch(ANSI);
    for (const extra of [
      { NO_COLOR: '1', FORCE_COLOR: '1' },
      { NO_COLOR: undefined, FORCE_COLOR: undefined },
    ]) {
      expect((await cli(['show', id], { env: { ...env, ...extra } })).stdout).not.toMatch(ANSI);
    }
    const flag = await cli(['show', id, '--no-color'], {
      env: { ...env, NO_COLOR: undefined, FORCE_COLOR: '1' },
    });
    expect(flag.stdout).not.toMatch(ANSI);
  });
});
