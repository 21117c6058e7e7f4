import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const A = await import('./node_modules/.cache/ab-baseline/baseline.js');
const B = await import('./node_modules/.cache/ab-search/search.js');
const dir = mkdtempSync(join(tmpdir(), 'ab-'));
const hex = (n, w) => n.toString(16).padStart(w, '0');
const T0 = Date.UTC(2026, 0, 1) * 1000;
const MODELS = ['llama', 'gpt', 'claude', 'mistral'];
function spans(count, offset) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const n = offset + i, t = Math.floor(n / 10), root = n % 10 === 0;
    const ids = { trace_id: hex(t + 1, 32), span_id: hex(n + 1, 16) };
    out.push({ ...ids, parent_span_id: root ? null : hex(t * 10 + 1, 16), name: root ? 'request' : 'step', kind: 'internal',
      start_time: T0 + n * 100, end_time: T0 + n * 100 + 50, status: 'ok',
      attributes: { 'http.method': n % 3 ? 'GET' : 'POST', 'customer.id': `c-${t % 5000}`, model: MODELS[n % 4], tokens: n % 1000, cached: n % 2 === 0 },
      events: [{ type: 'unstructured_log', ...ids, timestamp: T0 + n * 100 + 10, message: `step ${n} done`, severity: 'info', attributes: {} }],
      ttl_seconds: 3e9 });
  }
  return out;
}
const N = 100_000;
const batches = []; for (let i = 0; i < N; i += 1000) batches.push(spans(1000, i));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const rates = { baseline: [], search: [] };
for (let round = 0; round < 5; round++) {
  for (const [name, mod] of round % 2 ? [['search', B], ['baseline', A]] : [['baseline', A], ['search', B]]) {
    const path = join(dir, `${name}-${round}.db`);
    const sink = mod.createSqliteSink({ path, retentionIntervalMs: 0, serviceName: 'bench' });
    await sink.whenReady();
    const t = performance.now();
    for (const b of batches) await sink.writeSpans(b);
    const ms = performance.now() - t;
    await sink.shutdown();
    rates[name].push(N / (ms / 1000));
    for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
  }
}
rmSync(dir, { recursive: true, force: true });
console.log('baseline (main) spans/s', rates.baseline.map(Math.round), 'median', Math.round(median(rates.baseline)));
console.log('search branch spans/s ', rates.search.map(Math.round), 'median', Math.round(median(rates.search)));
console.log('ratio search/baseline', (median(rates.search) / median(rates.baseline)).toFixed(3));
