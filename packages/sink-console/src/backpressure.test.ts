import { EventEmitter } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createTelemetry, type TelemetryStats } from '@telemetry/core';
import { ConsoleStreamError, createConsoleSink } from '@telemetry/sink-console';
import { describe, expect, it } from 'vitest';
import { CaptureStream, recordingContext, StalledStream } from './test-support/capture.ts';
import { ID, log } from './test-support/events.ts';

/** `count` one-line info logs numbered from `from`; each renders as `... <trace> INFO     event <n>`. */
function logs(from: number, count: number) {
  return Array.from({ length: count }, (_, i) =>
    log(ID.root, from + i, 'info', `event ${from + i}`),
  );
}

function shownNumbers(text: string): number[] {
  return [...text.matchAll(/event (\d+)$/gm)].map((m) => Number(m[1]));
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const sum = (counts: Readonly<Record<string, number>>) =>
  Object.values(counts).reduce((a, b) => a + b, 0);

function expectBalanced(stats: TelemetryStats, sink = 'console'): void {
  const s = stats.sinks[sink]!;
  expect(s.delivered + sum(s.dropped) + s.pending, JSON.stringify(s)).toBe(stats.accepted);
}

describe('a stream that stalls', () => {
  it("does not block the caller: the sink waits for the stream, core's backlog holds what comes, bounded, and the overflow is counted and shown in order", async () => {
    const stream = new StalledStream(1024);
    const telemetry = createTelemetry({
      sinks: [createConsoleSink({ stream, color: false })],
      sinkCapacity: 500,
      batchSize: 100,
      warn: () => {},
    });
    const total = 2_000;
    for (const event of logs(0, total)) telemetry.logEvent({ event });
    await tick();

    // Every call returned although the stream never completed a write.
    expect(stream.writableNeedDrain).toBe(true);
    // The stream took one batch (delivered), and the next write waits for it to drain...
    expect(stream.writeCalls).toBe(1);
    // ...while the backlog holds 500 events, and the rest is counted.
    let stats = telemetry.stats();
    expect(stats.sinks.console).toMatchObject({
      delivered: 100,
      pending: 500,
      dropped: { sink_backlog: 1400 },
    });
    expectBalanced(stats);

    // The reader catches up: what was held comes out in order, then a line saying what was lost.
    stream.release();
    expect(await telemetry.flush()).toBe(true);
    const shown = shownNumbers(stream.text);
    expect(shown).toEqual(Array.from({ length: 600 }, (_, i) => i));
    expect(stream.text.trimEnd().split('\n').at(-1)).toBe(
      '... 1400 events not shown: the output stream was too slow',
    );
    stats = telemetry.stats();
    expect(stats.sinks.console).toMatchObject({ delivered: 600, pending: 0 });
    expectBalanced(stats);

    // And the sink writes straight through again.
    for (const event of logs(total, 3)) telemetry.logEvent({ event });
    await telemetry.flush();
    expect(shownNumbers(stream.text).slice(-3)).toEqual([total, total + 1, total + 2]);
    await telemetry.shutdown();
  });

  it('loses nothing when the backlog is large enough for the stall', async () => {
    const stream = new StalledStream(256);
    const telemetry = createTelemetry({ sinks: [createConsoleSink({ stream, color: false })] });
    for (let i = 0; i < 500; i += 50) {
      for (const event of logs(i, 50)) telemetry.logEvent({ event });
      await tick();
    }
    const flushed = telemetry.flush();
    setImmediate(() => stream.release());
    expect(await flushed).toBe(true);
    expect(telemetry.stats().sinks.console).toMatchObject({ delivered: 500, dropped: {} });
    expect(shownNumbers(stream.text)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it('flush and shutdown stop waiting for a stream that never drains at their deadline, counting what was held', async () => {
    const stream = new StalledStream(64);
    const telemetry = createTelemetry({
      sinks: [createConsoleSink({ stream, color: false })],
      batchSize: 10,
      warn: () => {},
    });
    for (const event of logs(0, 20)) telemetry.logEvent({ event }); // 10 handed to the stream, 10 held
    expect(await telemetry.flush({ timeoutMs: 50 })).toBe(false);
    await telemetry.shutdown({ timeoutMs: 50 });
    for (const event of logs(20, 5)) telemetry.logEvent({ event });
    const stats = telemetry.stats();
    expect(stats.sinks.console).toMatchObject({
      delivered: 10,
      pending: 0,
      dropped: { shutdown_timeout: 10 },
    });
    expect(stats.dropped).toEqual({ shutdown: 5 });
    expectBalanced(stats);
    // What the stream had already taken still comes out if it ever drains.
    stream.release();
    await tick();
    expect(shownNumbers(stream.text)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('waits when another writer has already filled the stream, and keeps its own order', async () => {
    const stream = new StalledStream(64);
    expect(stream.write('x'.repeat(100) + '\n')).toBe(false); // console.log on the same stdout
    const sink = createConsoleSink({ stream, color: false });
    const written = sink.writeEvents!(logs(0, 5));
    expect(written).toBeInstanceOf(Promise); // resolves once its text is handed over
    expect(stream.writeCalls).toBe(1); // only the other writer's
    stream.release();
    await written;
    expect(shownNumbers(stream.text)).toEqual([0, 1, 2, 3, 4]);
  });

  it('says what was dropped in JSON too, as a line of its own', async () => {
    const stream = new StalledStream(16);
    const telemetry = createTelemetry({
      sinks: [createConsoleSink({ stream, color: false, format: 'json' })],
      sinkCapacity: 2,
      batchSize: 2,
      warn: () => {},
    });
    for (const event of logs(0, 5)) telemetry.logEvent({ event });
    await tick();
    stream.release();
    await telemetry.flush();
    const lines = stream.text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    // Two taken by the stream, two waiting in the backlog, one dropped: said after the four.
    expect(lines.map((l) => l.message ?? l.type)).toEqual([
      'event 0',
      'event 1',
      'event 2',
      'event 3',
      'console_sink_dropped',
    ]);
    expect(lines[4]).toEqual({ type: 'console_sink_dropped', dropped: 1, reason: 'sink_backlog' });
  });
});

describe('a burst into a file', () => {
  it('100,000 spans into a console writing to a file, with default options: every line arrives, nothing dropped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'console-file-'));
    try {
      const file = join(dir, 'out.log');
      const stream = createWriteStream(file);
      const telemetry = createTelemetry({ sinks: [createConsoleSink({ stream, color: false })] });
      const SPANS = 100_000;
      for (let i = 0; i < SPANS; i++) telemetry.startSpan(`op-${i}`).end();
      // What is proven is the capacity (default options keep the whole burst), not a speed:
      // on a busy machine writing 200,000 lines can take longer than shutdown's 10 s
      // deadline, so the test waits for the delivery itself, as long as it takes.
      expect(await telemetry.flush({ timeoutMs: 240_000 })).toBe(true);
      await telemetry.shutdown();
      await new Promise<void>((resolve) => stream.end(resolve));
      const stats = telemetry.stats();
      // Before: the sink's own 1 MiB buffer kept 5,315 of 200,000 events.
      expect(stats.sinks.console).toMatchObject({ delivered: 2 * SPANS, dropped: {}, pending: 0 });
      const text = readFileSync(file, 'utf8');
      const lines = text.trimEnd().split('\n');
      expect(lines).toHaveLength(2 * SPANS);
      expect(lines[0]).toMatch(/START {4}op-0$/);
      expect(lines.at(-1)).toMatch(/END {6}op-99999 {2}ok {2}\d+\.\d\dms$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('a stream that fails', () => {
  it('reports one ConsoleStreamError, counts later events as stream_error, and never throws', async () => {
    const stream = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const { context, dropped, errors } = recordingContext();
    const sink = createConsoleSink({ stream, name: 'console-pipe' });
    sink.attach!(context);
    await sink.writeEvents!(logs(0, 3)); // the stream emits 'error': unhandled, it would crash the process
    await tick();
    await sink.writeEvents!(logs(3, 4));
    await sink.writeEvents!(logs(7, 1));
    expect(dropped).toEqual({ stream_error: 5 });
    expect(errors).toHaveLength(1);
    const error = errors[0] as ConsoleStreamError;
    expect(error).toBeInstanceOf(ConsoleStreamError);
    expect(error.code).toBe('TELEMETRY_CONSOLE_STREAM');
    expect((error.cause as Error).message).toBe('write EPIPE');
    expect(error.message).toMatchInlineSnapshot(
      `"Console sink 'console-pipe' can no longer write to its stream: write EPIPE. Its further output is dropped and counted as 'stream_error'; make sure the stream stays open (a pipe's reader, such as \`| head\`, may have exited), or pass another stream."`,
    );
    await expect(sink.forceFlush!()).resolves.toBeUndefined();
    await expect(sink.shutdown!()).resolves.toBeUndefined();
  });

  it('survives a destroyed stream and a write() that throws', async () => {
    const destroyed = new CaptureStream();
    destroyed.destroy();
    const a = recordingContext();
    const sinkA = createConsoleSink({ stream: destroyed });
    sinkA.attach!(a.context);
    await sinkA.writeEvents!(logs(0, 1));
    await tick();
    await sinkA.writeEvents!(logs(1, 2));
    expect(a.errors).toHaveLength(1);
    expect(a.dropped).toEqual({ stream_error: 2 });

    const throwing = Object.assign(new EventEmitter(), {
      write(): boolean {
        throw new Error('not writable');
      },
    }) as unknown as NodeJS.WritableStream;
    const b = recordingContext();
    const sinkB = createConsoleSink({ stream: throwing });
    sinkB.attach!(b.context);
    expect(() => sinkB.writeEvents!(logs(0, 1))).not.toThrow();
    expect((b.errors[0] as Error).message).toContain('not writable');
  });

  it('stops listening to the stream on shutdown', async () => {
    const stream = new CaptureStream();
    const sink = createConsoleSink({ stream });
    sink.writeEvents!(logs(0, 1));
    expect(stream.listenerCount('error')).toBe(1);
    expect(stream.listenerCount('drain')).toBe(1);
    await sink.shutdown!();
    expect(stream.listenerCount('error')).toBe(0);
    expect(stream.listenerCount('drain')).toBe(0);
    expect(stream.writableEnded).toBe(false); // the sink never ends a stream it was given
  });

  it('a write waiting for a stream that fails resolves, and what it could not hand over is counted', async () => {
    const stream = new StalledStream(16);
    expect(stream.write('x'.repeat(32))).toBe(false);
    const { context, dropped } = recordingContext();
    const sink = createConsoleSink({ stream, color: false });
    sink.attach!(context);
    const waiting = sink.writeEvents!(logs(0, 4));
    stream.destroy(new Error('reader gone'));
    await waiting;
    expect(dropped).toEqual({ stream_error: 4 });
  });
});
