/**
 * Issue 11, items 1 and 8: SIGTERM in the middle of a burst, with the
 * shutdown hooks installed. The hooks deliver what the pipeline accepted,
 * then let the signal end the process; whatever they could not deliver is
 * named in the one shutdown line. So for each sink, exactly:
 * accepted = what arrived + what that line says was lost.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type OtlpReceiver, startOtlpReceiver } from '@telemetry/test-support/otlp-receiver';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { scratchDir, shutdownSummary, start } from './support/children.ts';
import { recordFigures, total } from './support/figures.ts';
import { auditStore } from './support/store-file.ts';

const dir = scratchDir('sigterm');
let receiver: OtlpReceiver;

beforeAll(async () => {
  receiver = await startOtlpReceiver({ storeSpans: false });
});
afterAll(() => receiver?.close());

it('SIGTERM mid-burst: the process ends by the signal, and every accepted event arrived or is counted in the shutdown line', async () => {
  const consolePath = join(dir, 'console.jsonl');
  const sqlitePath = join(dir, 'sigterm.db');
  const progressPath = join(dir, 'progress.jsonl');
  const SIGNAL_AT = 16_000;
  let signalledAt = 0;
  let spansAtSignal = 0;
  const child = start(
    'sigterm',
    {
      chunks: 200,
      tracesPerChunk: 200,
      slowPerChunk: 5,
      consolePath,
      sqlitePath,
      endpoint: receiver.tracesUrl,
      progressPath,
      // Long enough to deliver everything on a busy machine: nothing should be lost.
      hookTimeoutMs: 120_000,
    },
    {
      onLine: (line, process) => {
        if (signalledAt || !line.startsWith('{"event":"progress"')) return;
        const { spans } = JSON.parse(line) as { spans: number };
        if (spans < SIGNAL_AT) return;
        spansAtSignal = spans;
        signalledAt = Date.now();
        process.kill('SIGTERM');
      },
    },
  );
  const result = await child.result;
  const exitMs = Date.now() - signalledAt;

  // Ended by the signal it was sent, as it would have without the hooks: mid-burst.
  expect(signalledAt, 'the child never reached the point of the signal').toBeGreaterThan(0);
  expect(result.signal, result.stderr).toBe('SIGTERM');

  // The last progress line: what the pipeline had accepted when it stopped accepting.
  const progress = readFileSync(progressPath, 'utf8').trimEnd().split('\n');
  const last = JSON.parse(progress.at(-1)!) as { spans: number; accepted: number; refused: number };
  const accepted = last.accepted;
  // The burst went on after the signal, and what came after was refused, not accepted.
  expect(last.refused).toBeGreaterThan(0);
  expect(accepted + last.refused).toBeLessThanOrEqual(2 * last.spans);

  // What arrived, per sink, in events. The console takes raw events: every line is one,
  // the start of a span still open at the signal included. The span sinks take whole
  // spans of two events; a span still open is named in the shutdown line.
  let consoleEvents = 0;
  for (const line of readFileSync(consolePath, 'utf8').split('\n')) {
    if (line.startsWith('{')) consoleEvents += 1;
  }
  const audit = auditStore(sqlitePath);
  expect(audit.integrity).toBe('ok');
  const arrived = {
    console: consoleEvents,
    sqlite: 2 * audit.spans,
    otel: 2 * receiver.spanIds.size,
  };

  const { lines, lost } = shutdownSummary(result.stderr);
  expect(lines.length).toBeLessThanOrEqual(1);
  const uncounted: Record<string, number> = {};
  for (const [sink, events] of Object.entries(arrived)) {
    uncounted[sink] = accepted - events - (lost[sink] ?? 0);
  }
  expect(uncounted).toEqual({ console: 0, sqlite: 0, otel: 0 });
  expect(receiver.spanCount()).toBe(receiver.spanIds.size);

  recordFigures({
    scenario: 'SIGTERM mid-burst, shutdown hooks, console file + SQLite + OTLP',
    accepted,
    lostCounted: { console: lost.console ?? 0, sqlite: lost.sqlite ?? 0, otel: lost.otel ?? 0 },
    lostUncounted: total(uncounted),
    shutdownMs: exitMs,
    note: `signal after ${spansAtSignal} spans; ${last.refused} events refused after it (not accepted); shutdown = signal to exit; ${lines[0] ?? 'no loss'}`,
  });
});
