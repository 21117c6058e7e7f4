/**
 * A sink written from the README alone: its "Writing a sink" snippets run as
 * written, importing nothing but the published entry points, against a real
 * HTTP server on 127.0.0.1. What they get without a line of their own for
 * it: validation, retry, backpressure, concurrency and accounting.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createTelemetry,
  type TelemetrySink,
  type TelemetryStats,
  TelemetryValidationError,
} from '@telemetry/core';
import { checkSinkConformance } from '@telemetry/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const snippetDir = join(packageDir, '.readme-snippets');

function snippet(name: string): string {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const m = new RegExp(`<!-- readme-test: ${name} -->\\n\`\`\`ts\\n([\\s\\S]*?)\\n\`\`\``).exec(
    readme,
  );
  if (!m) throw new Error(`README has no snippet ${name}`);
  return m[1]!;
}

type Send = (text: string, options: { signal: AbortSignal }) => Promise<void>;
interface SinkModule {
  ndjsonSink: {
    create(input?: unknown): TelemetrySink;
    parseOptions(input?: unknown): unknown;
  };
  createNdjsonSink(
    send: Send,
    options?: { name?: string; concurrency?: number; batchSize?: number },
  ): TelemetrySink;
}
interface HttpModule {
  postTo(url: string): Send;
}

let sinkModule: SinkModule;
let httpModule: HttpModule;

/** A collector on 127.0.0.1 whose answers a test scripts: a status, or no answer at all. */
async function collector() {
  const received: string[] = [];
  let script: (n: number) => number | 'hang' = () => 200;
  let requests = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const hanging: { res: ServerResponse; body: string }[] = [];
  const keep = (body: string) => {
    for (const line of body.split('\n')) if (line) received.push(line);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const n = requests++;
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      const answer = script(n);
      if (answer === 'hang') {
        hanging.push({ res, body });
        return;
      }
      if (answer === 200) keep(body);
      inFlight -= 1;
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/ingest`,
    received,
    get requests() {
      return requests;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get hanging() {
      return hanging.length;
    },
    answer(next: (n: number) => number | 'hang') {
      script = next;
    },
    /** Answers the requests it held with `status`. */
    release(status = 200) {
      for (const { res, body } of hanging.splice(0)) {
        inFlight -= 1;
        if (status === 200) keep(body);
        res.writeHead(status).end();
      }
    },
    async close() {
      for (const { res } of hanging.splice(0)) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function expectBalanced(stats: TelemetryStats, sink: string): void {
  const s = stats.sinks[sink]!;
  const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
  expect(s.delivered + dropped + s.pending, JSON.stringify(s)).toBe(stats.accepted);
}

beforeAll(async () => {
  mkdirSync(snippetDir, { recursive: true });
  writeFileSync(join(snippetDir, 'ndjson-sink.ts'), snippet('core-sink'));
  writeFileSync(join(snippetDir, 'post-to.ts'), snippet('core-sink-http'));
  sinkModule = (await import(join(snippetDir, 'ndjson-sink.ts'))) as SinkModule;
  httpModule = (await import(join(snippetDir, 'post-to.ts'))) as HttpModule;
});

afterAll(() => {
  rmSync(snippetDir, { recursive: true, force: true });
});

describe("the README's sink, as a stranger writes it", () => {
  it('imports nothing but the published entry points', () => {
    const imports = [snippet('core-sink'), snippet('core-sink-http')]
      .join('\n')
      .match(/from '[^']+'/g);
    expect(new Set(imports)).toEqual(new Set(["from '@telemetry/core/sink'"]));
  });

  it('gets validation: every problem at once, in the format every sink uses', () => {
    let error: unknown;
    try {
      sinkModule.ndjsonSink.create({ send: 'not a function', concurrency: 0, colour: 'red' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TelemetryValidationError);
    expect((error as Error).message).toMatchInlineSnapshot(`
      "Invalid ndjson sink options (3 problems):
        - options.send: expected a function (text, { signal }) => Promise<void>
        - options.concurrency: Too small: expected number to be >=1
        - options: unknown option "colour": expected send, concurrency, batchSize, name"
    `);
    expect(sinkModule.ndjsonSink.parseOptions({ send: async () => {} })).toMatchObject({
      name: 'ndjson',
      concurrency: 2,
      batchSize: 500,
    });
  });

  it('gets retry: a collector answering 503 twice, then 200, loses nothing', async () => {
    const c = await collector();
    try {
      c.answer((n) => (n < 2 ? 503 : 200));
      const warnings: string[] = [];
      const telemetry = createTelemetry({
        sinks: [sinkModule.createNdjsonSink(httpModule.postTo(c.url), { batchSize: 100 })],
        warn: (m) => warnings.push(m),
      });
      for (let i = 0; i < 300; i++) telemetry.withTrace(`request-${i}`, () => {});
      expect(await telemetry.flush({ timeoutMs: 20_000 })).toBe(true);
      expect(c.received).toHaveLength(300);
      const names = c.received.map((line) => (JSON.parse(line) as { name: string }).name).sort();
      expect(new Set(names).size).toBe(300);
      expect(c.requests).toBeGreaterThan(3); // the refused batches went again
      const s = telemetry.stats();
      expect(s.sinks.ndjson).toMatchObject({ delivered: 600, failed: 0, pending: 0, dropped: {} });
      expect(warnings).toEqual([
        `[telemetry] sink "ndjson" failed: ${c.url} answered 503. See stats().sinks["ndjson"].`,
      ]);
      await telemetry.shutdown();
    } finally {
      await c.close();
    }
  });

  it('gets backpressure and concurrency: a collector that stops answering holds two requests, the backlog fills to its bound, the overflow is counted', async () => {
    const c = await collector();
    try {
      c.answer(() => 'hang');
      const telemetry = createTelemetry({
        sinks: [sinkModule.createNdjsonSink(httpModule.postTo(c.url), { batchSize: 50 })],
        sinkCapacity: 400,
        warn: () => {},
      });
      for (let i = 0; i < 1000; i++) telemetry.startSpan(`s${i}`).end();
      await expect.poll(() => c.hanging, { timeout: 20_000 }).toBe(2);
      let s = telemetry.stats();
      // 2 writes of 50 spans in flight, the rest of 400 events waiting; the overflow counted.
      expect(s.sinks.ndjson).toMatchObject({
        delivered: 0,
        pending: 400,
        dropped: { sink_backlog: 1600 },
      });
      expectBalanced(s, 'ndjson');
      // The collector answers again: everything that waited goes, never more than 2 at once.
      c.answer(() => 200);
      c.release();
      expect(await telemetry.flush({ timeoutMs: 20_000 })).toBe(true);
      s = telemetry.stats();
      expect(s.sinks.ndjson).toMatchObject({ delivered: 400, pending: 0 });
      expect(c.received).toHaveLength(200);
      expect(c.maxInFlight).toBe(2);
      expectBalanced(s, 'ndjson');
      await telemetry.shutdown();
    } finally {
      await c.close();
    }
  });

  it('gets accounting at shutdown: what a collector that never answers held is counted, and its requests are aborted', async () => {
    const c = await collector();
    try {
      c.answer(() => 'hang');
      const telemetry = createTelemetry({
        sinks: [sinkModule.createNdjsonSink(httpModule.postTo(c.url))],
        shutdownTimeoutMs: 300,
        warn: () => {},
      });
      for (let i = 0; i < 10; i++) telemetry.withTrace(`r${i}`, () => {});
      await expect.poll(() => c.hanging, { timeout: 20_000 }).toBe(1);
      await telemetry.shutdown();
      const s = telemetry.stats();
      expect(s.sinks.ndjson).toMatchObject({ pending: 0, dropped: { shutdown_timeout: 20 } });
      expectBalanced(s, 'ndjson');
    } finally {
      await c.close();
    }
  });

  it("passes core's conformance check", async () => {
    const c = await collector();
    try {
      const report = await checkSinkConformance(() =>
        sinkModule.createNdjsonSink(httpModule.postTo(c.url)),
      );
      expect(report.delivered).toBe(report.accepted);
      expect(c.received.length).toBe(report.accepted / 3);
    } finally {
      await c.close();
    }
  });
});
