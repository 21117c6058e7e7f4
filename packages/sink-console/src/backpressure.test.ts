import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { ConsoleStreamError, createConsoleSink } from '@telemetry/sink-console';
import { describe, expect, it } from 'vitest';
import { CaptureStream, recordingContext, StalledStream } from './test-support/capture.ts';
import { ID, log, TRACE } from './test-support/events.ts';

/** `count` one-line info logs numbered from `from`; each renders as `... <trace> INFO     event <n>`. */
function logs(from: number, count: number) {
  return Array.from({ length: count }, (_, i) =>
    log(ID.root, from + i, 'info', `event ${from + i}`),
  );
}

function shownNumbers(text: string): number[] {
  return [...text.matchAll(/event (\d+)$/gm)].map((m) => Number(m[1]));
}

/** Lets the sink's deferred drop reports run. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('a stream that stalls', () => {
  it('does not block the caller: writes return at once, buffer up to the bound, then drop and count', async () => {
    const stream = new StalledStream(1024);
    const { context, dropped } = recordingContext();
    const sink = createConsoleSink({ stream, color: false, maxBufferBytes: 4096 });
    sink.attach!(context);

    const total = 2_000;
    for (let i = 0; i < total; i += 100) sink.writeEvents!(logs(i, 100));
    await tick();

    // Every write returned although the stream never completed one.
    expect(stream.writableNeedDrain).toBe(true);
    // The sink stopped handing text to the stream after its first refusal...
    expect(stream.writeCalls).toBe(1);
    // ...held the next lines up to maxBufferBytes, and counted the rest as dropped.
    const line = (n: number) =>
      `12:00:00.00${Math.floor(n / 1000)} ${TRACE.slice(0, 8)} INFO     event ${n}\n`;
    let held = 0;
    for (let bytes = 0; bytes + line(100 + held).length <= 4096; held++)
      bytes += line(100 + held).length;
    expect(dropped).toEqual({ backpressure: total - 100 - held });

    // The reader catches up: what was held comes out in order, then a line saying what was lost.
    stream.release();
    await sink.forceFlush!();
    const shown = shownNumbers(stream.text);
    expect(shown).toEqual(Array.from({ length: shown.length }, (_, i) => i));
    expect(shown.length + dropped.backpressure!).toBe(total);
    expect(stream.text.trimEnd().split('\n').at(-1)).toBe(
      `... ${dropped.backpressure} events not shown: the output stream was too slow`,
    );

    // And the sink writes straight through again.
    sink.writeEvents!(logs(total, 3));
    await sink.forceFlush!();
    expect(shownNumbers(stream.text).slice(-3)).toEqual([total, total + 1, total + 2]);
  });

  it('loses nothing when the buffer is large enough for the stall', async () => {
    const stream = new StalledStream(256);
    const { context, dropped } = recordingContext();
    const sink = createConsoleSink({ stream, color: false });
    sink.attach!(context);
    for (let i = 0; i < 500; i += 50) sink.writeEvents!(logs(i, 50));
    const flushed = sink.forceFlush!();
    setImmediate(() => stream.release());
    await flushed;
    await tick();
    expect(dropped).toEqual({});
    expect(shownNumbers(stream.text)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it('forceFlush and shutdown give up on a stream that never drains, counting what was held', async () => {
    const stream = new StalledStream(64);
    const { context, dropped } = recordingContext();
    const sink = createConsoleSink({ stream, color: false, flushTimeoutMs: 20 });
    sink.attach!(context);
    sink.writeEvents!(logs(0, 10)); // handed to the stream, which refuses more
    sink.writeEvents!(logs(10, 10)); // held by the sink
    await sink.forceFlush!(); // resolves although nothing drained
    await sink.shutdown!();
    await sink.shutdown!(); // idempotent
    sink.writeEvents!(logs(20, 5));
    await tick();
    expect(dropped).toEqual({ shutdown: 10, after_shutdown: 5 });
    // What the stream had already taken still comes out if it ever drains.
    stream.release();
    await tick();
    expect(shownNumbers(stream.text)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('waits when another writer has already filled the stream, and keeps its own order', async () => {
    const stream = new StalledStream(64);
    expect(stream.write('x'.repeat(100) + '\n')).toBe(false); // console.log on the same stdout
    const sink = createConsoleSink({ stream, color: false });
    sink.writeEvents!(logs(0, 5));
    expect(stream.writeCalls).toBe(1); // only the other writer's
    stream.release();
    await sink.forceFlush!();
    expect(shownNumbers(stream.text)).toEqual([0, 1, 2, 3, 4]);
  });

  it('drops everything while the stream is not draining when maxBufferBytes is 0', async () => {
    const stream = new StalledStream(16);
    const { context, dropped } = recordingContext();
    const sink = createConsoleSink({ stream, color: false, maxBufferBytes: 0, format: 'json' });
    sink.attach!(context);
    sink.writeEvents!(logs(0, 2));
    sink.writeEvents!(logs(2, 3));
    await tick();
    expect(dropped).toEqual({ backpressure: 3 });
    stream.release();
    await sink.forceFlush!();
    const lines = stream.text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((l) => l.message ?? l.type)).toEqual([
      'event 0',
      'event 1',
      'console_sink_dropped',
    ]);
    expect(lines[2]).toEqual({ type: 'console_sink_dropped', dropped: 3, reason: 'backpressure' });
  });
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
    sink.writeEvents!(logs(0, 3)); // the stream emits 'error': unhandled, it would crash the process
    await tick();
    sink.writeEvents!(logs(3, 4));
    sink.writeEvents!(logs(7, 1));
    await tick();
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
    sinkA.writeEvents!(logs(0, 1));
    await tick();
    sinkA.writeEvents!(logs(1, 2));
    await tick();
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
    await tick();
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
});
