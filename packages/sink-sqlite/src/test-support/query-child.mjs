// Runs query calls against a database file in a process of its own, so that a
// call that never returns (a regression to a loop) fails its test at a
// deadline instead of hanging the test run, and memory is measured apart.
//
//   node query-child.mjs <request.json>
//
// The request is { path, calls: [{ method, args }] }; objects {"$": ...} stand
// for what JSON cannot carry (NaN, undefined, bigint, ...). Prints one JSON
// line per call, { ok } or { error: { name, code, message, issues } }, then
// { done: true, maxRssMb }.
import { readFileSync } from 'node:fs';

const { createSqliteSink } = await import(process.env.SINK_BUNDLE);
const request = JSON.parse(readFileSync(process.argv[2], 'utf8'));

function decode(value) {
  if (Array.isArray(value)) return value.map(decode);
  if (value === null || typeof value !== 'object') return value;
  if (typeof value.$ === 'string') {
    switch (value.$) {
      case 'NaN':
        return Number.NaN;
      case 'Infinity':
        return Number.POSITIVE_INFINITY;
      case '-Infinity':
        return Number.NEGATIVE_INFINITY;
      case '-0':
        return -0;
      case 'undefined':
        return undefined;
      case 'bigint':
        return BigInt(value.v);
      case 'date':
        return new Date(value.v);
      case 'symbol':
        return Symbol(value.v ?? 's');
      case 'function':
        return () => 1;
      case 'map':
        return new Map([[1, 2]]);
      case 'repeat':
        // A long string or list without a long request file.
        return Array.isArray(value.v)
          ? Array.from({ length: value.n }, () => decode(value.v[0]))
          : String(value.v).repeat(value.n);
      default:
        throw new Error(`unknown tag ${value.$}`);
    }
  }
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    Object.defineProperty(out, k, {
      value: decode(v),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

const appended = [];
const sink = createSqliteSink({
  path: request.path,
  retentionIntervalMs: 0,
  datasetWriter: {
    async appendRows(datasetId, rows) {
      if (typeof datasetId !== 'string' || datasetId === '') throw new Error('bad dataset id');
      appended.push(...rows);
    },
  },
});
await sink.whenReady();

for (const call of request.calls) {
  appended.length = 0;
  let line;
  try {
    const result = await sink[call.method](...decode(call.args));
    const ok = call.method === 'saveSpansToDataset' ? { rows: appended } : result;
    line = JSON.stringify({ ok: ok === undefined ? null : ok });
  } catch (error) {
    line = JSON.stringify({
      error: {
        name: error?.name,
        code: error?.code,
        message: String(error?.message ?? error).slice(0, 2000),
        issues: error?.issues?.slice(0, 20),
      },
    });
  }
  process.stdout.write(`${line}\n`);
}
await sink.shutdown();
process.stdout.write(
  `${JSON.stringify({ done: true, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
);
