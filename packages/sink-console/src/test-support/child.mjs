// Runs in a child process (bundled sink, see process.test.ts): prints a few
// events to the default stream, process.stdout. With argument `epipe`, waits
// for a line on stdin (the parent closing its end of stdout first), then writes again.
import { createConsoleSink } from './bundle/index.js';

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

const sink = createConsoleSink();
sink.writeEvents(batch(0));
if (process.argv[2] === 'epipe') {
  process.stdin.once('data', () => {
    sink.writeEvents(batch(2000));
    setTimeout(() => {
      sink.writeEvents(batch(4000));
      process.stdin.destroy();
      process.stderr.write('still running\n');
    }, 50);
  });
}
