// A minimal OTLP/HTTP traces receiver for the benchmark, in a worker thread so
// that it does not compete with the exporters for the main event loop. It
// counts spans by walking the protobuf wire format (ExportTraceServiceRequest
// field 1 -> ResourceSpans field 2 -> ScopeSpans field 2 = Span) without
// decoding them, and publishes counts through shared memory.
import { createServer } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const counters = new Int32Array(workerData.shared); // [spans, requests, bytes/1024]

function readVarint(buf, pos) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos++];
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [value, pos];
    shift += 7;
  }
}

/** Calls `onField(field, start, end)` for each length-delimited field in buf[start, end). */
function eachLenField(buf, start, end, onField) {
  let pos = start;
  while (pos < end) {
    let tag;
    [tag, pos] = readVarint(buf, pos);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) [, pos] = readVarint(buf, pos);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      onField(field, pos, pos + len);
      pos += len;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
}

function countSpans(buf) {
  let spans = 0;
  eachLenField(buf, 0, buf.length, (f1, s1, e1) => {
    if (f1 !== 1) return; // resource_spans
    eachLenField(buf, s1, e1, (f2, s2, e2) => {
      if (f2 !== 2) return; // scope_spans
      eachLenField(buf, s2, e2, (f3) => {
        if (f3 === 2) spans += 1; // spans
      });
    });
  });
  return spans;
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (req.url.endsWith('/v1/traces')) {
      Atomics.add(counters, 0, countSpans(body));
      Atomics.add(counters, 1, 1);
      Atomics.add(counters, 2, Math.round(body.length / 1024));
    }
    res.writeHead(200, { 'content-type': 'application/x-protobuf' });
    res.end();
  });
});
server.keepAliveTimeout = 5000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (m) => {
  if (m === 'close') server.close(() => process.exit(0));
});
