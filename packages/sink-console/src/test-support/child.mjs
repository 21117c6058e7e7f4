// Runs in a child process (see process.test.ts), with the sink bundled from source.
// Modes: `print` prints a few events to process.stdout; `epipe` then waits for
// the parent to close its end of stdout and writes again; `stall` logs a burst
// through createTelemetry into a stdout pipe that the parent never reads;
// `file-exit <path> <spans>` logs spans into a stream that writes a file a
// moment later, and calls process.exit() right after shutdown.
import { appendFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { createConsoleSink, createTelemetry } from './bundle/bundle-entry.js';

const T0 = Date.UTC(2025, 0, 31, 12, 0, 0) * 1000;
const event = (fields) => ({
  trace_id: '0af7651916cd43dd8448eb211c80319c',
  span_id: 'a000000000000001',
  attributes: {},
  ...fields,
});
const batch = (at) => [
  event({
    type: 'structured_log',
    timestamp: T0 + at,
    payload: { type: 'span_start', name: 'work', parent_span_id: null },
  }),
  event({ type: 'unstructured_log', timestamp: T0 + at + 500, severity: 'error', message: 'boom' }),
  event({
    type: 'structured_log',
    timestamp: T0 + at + 1000,
    payload: { type: 'span_end', status: 'error' },
  }),
];

const mode = process.argv[2] ?? 'print';

if (mode === 'print' || mode === 'epipe') {
  const sink = createConsoleSink();
  sink.writeEvents(batch(0));
  if (mode === 'epipe') {
    process.stdin.once('data', () => {
      sink.writeEvents(batch(2000));
      setTimeout(() => {
        sink.writeEvents(batch(4000));
        process.stdin.destroy();
        process.stderr.write('still running\n');
      }, 50);
    });
  }
}

if (mode === 'stall') {
  const telemetry = createTelemetry({
    batchSize: 500,
    sinkCapacity: 5_000,
    sinks: [createConsoleSink()],
    warn: (message) => process.stderr.write(`${message}\n`),
  });
  const logger = telemetry.createLogger();
  const rounds = 40;
  const perRound = 500;
  for (let round = 0; round < rounds; round++) {
    telemetry.withTrace(`round ${round}`, () => {
      for (let i = 0; i < perRound; i++)
        logger.info(`event ${round * perRound + i} ${'x'.repeat(60)}`);
    });
    // Let the dispatcher hand each round to the sink, as a running application would.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const flushed = await telemetry.flush({ timeoutMs: 300 });
  const started = Date.now();
  await telemetry.shutdown({ timeoutMs: 300 });
  process.stderr.write(
    `${JSON.stringify({ flushed, shutdownMs: Date.now() - started, logged: rounds * perRound, stats: telemetry.stats() })}\n`,
  );
  // The parent never reads: exit without waiting for stdout.
  process.exit(0);
}

if (mode === 'file-exit') {
  // A stream that writes what it took a moment later, from elsewhere, as a file stream
  // does from libuv's threads, a socket behind a full buffer, or a log shipper's client.
  const file = process.argv[3];
  const stream = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk, _encoding, callback) {
      setTimeout(() => {
        appendFileSync(file, chunk);
        callback();
      }, 2);
    },
  });
  // The stream is never ended: an application hands it over and forgets it.
  const telemetry = createTelemetry({ sinks: [createConsoleSink({ stream, format: 'json' })] });
  const spans = Number(process.argv[4]);
  for (let i = 0; i < spans; i++) telemetry.withTrace(`request ${i}`, () => {});
  await telemetry.shutdown();
  process.stderr.write(`${JSON.stringify(telemetry.stats().sinks.console)}\n`);
  // What a CLI or a signal handler does: nothing runs after this, pending I/O included.
  process.exit(0);
}
