// How soon `telemetry tail` prints a span another process wrote into the same
// SQLite file: the real bin follows the file while the test-support writer
// commits one span every 100 ms; latency = printed - committed (ms).
// Run: pnpm --filter @telemetry/cli bench   (after `pnpm build`)
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const packageDir = resolve(import.meta.dirname, '..');
const BIN = join(packageDir, 'dist', 'bin.js');
const WRITER = join(packageDir, 'src', 'test-support', 'span-writer.mjs');
const COUNT = Number(process.env.BENCH_SPANS ?? 100);

const dir = mkdtempSync(join(tmpdir(), 'telemetry-tail-bench-'));
const db = join(dir, 'tail.db');
try {
  await exec(process.execPath, [WRITER, db, 'before', '1', '0'], { cwd: packageDir });
  const tail = spawn(process.execPath, [BIN, 'tail', '--db', db, '--last', '1'], {
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const printed = new Map();
  let out = '';
  let ready;
  const started = new Promise((r) => {
    ready = r;
  });
  tail.stdout.setEncoding('utf8').on('data', (chunk) => {
    const now = Date.now();
    out += chunk;
    if (out.includes('before-0')) ready();
    for (const m of chunk.matchAll(/\bEND\s+(b-\d+)\s/g))
      if (!printed.has(m[1])) printed.set(m[1], now);
  });
  await started;
  const { stdout } = await exec(process.execPath, [WRITER, db, 'b', String(COUNT), '100'], {
    cwd: packageDir,
  });
  const committed = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const deadline = Date.now() + 10_000;
  while (printed.size < committed.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  tail.kill('SIGINT');
  const latencies = committed
    .filter((c) => printed.has(c.name))
    .map((c) => printed.get(c.name) - c.committed)
    .sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  console.log(
    `telemetry tail, default --interval 250ms, ${COUNT} spans written by another process`,
  );
  console.log(`  printed   ${latencies.length}/${committed.length}`);
  console.log(`  latency   p50 ${at(0.5)} ms   p95 ${at(0.95)} ms   max ${latencies.at(-1)} ms`);
  console.log(`  ratio     p95 / 1000 ms target = ${(at(0.95) / 1000).toFixed(2)}`);
  if (latencies.length < committed.length) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
