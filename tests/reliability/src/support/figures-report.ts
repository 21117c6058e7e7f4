import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ScenarioFigures, total } from './figures.ts';
import { FIGURES_DIR, FIGURES_FILE } from './paths.ts';

const ms = (value: number | undefined) => (value === undefined ? '-' : `${Math.round(value)}`);

/** Gathers the scenarios' figures into FIGURES_FILE and prints them as a table. */
export function writeFiguresReport(durationMs: number): void {
  if (!existsSync(FIGURES_DIR)) return;
  const rows: (ScenarioFigures & { recordedAt: number })[] = readdirSync(FIGURES_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(FIGURES_DIR, f), 'utf8')));
  if (rows.length === 0) return;
  rows.sort((a, b) => a.scenario.localeCompare(b.scenario));
  const max = (pick: (r: ScenarioFigures) => number | undefined) => {
    const values = rows.map(pick).filter((v): v is number => v !== undefined);
    return values.length > 0 ? Math.max(...values) : undefined;
  };
  const summary = {
    durationMs,
    scenarios: rows.length,
    eventsAccepted: rows.reduce((a, r) => a + (r.accepted ?? 0), 0),
    eventsLostCounted: rows.reduce((a, r) => a + total(r.lostCounted), 0),
    eventsLostUncounted: rows.reduce((a, r) => a + (r.lostUncounted ?? 0), 0),
    eventsLostInFlightAtKill: rows.reduce((a, r) => a + (r.lostInFlightAtKill ?? 0), 0),
    longestFlushMs: max((r) => r.flushMs),
    longestShutdownMs: max((r) => r.shutdownMs),
    longestQueryUnderWritesMs: max((r) => (r.queryUnderWrites ? r.queryMaxMs : undefined)),
  };
  writeFileSync(
    FIGURES_FILE,
    `${JSON.stringify({ summary, scenarios: rows.map(({ recordedAt: _, ...r }) => r) }, null, 2)}\n`,
  );

  const header = [
    'scenario',
    'accepted',
    'lost (counted)',
    'uncounted',
    'flush ms',
    'shutdown ms',
    'query ms',
  ];
  const table = rows.map((r) => [
    r.scenario,
    r.accepted === undefined ? '-' : String(r.accepted),
    r.lostInFlightAtKill !== undefined
      ? `${r.lostInFlightAtKill} in flight at kill`
      : r.lostCounted === undefined
        ? '-'
        : total(r.lostCounted) === 0
          ? '0'
          : Object.entries(r.lostCounted)
              .filter(([, n]) => n > 0)
              .map(([sink, n]) => `${sink} ${n}`)
              .join(', '),
    r.lostUncounted === undefined ? '-' : String(r.lostUncounted),
    ms(r.flushMs),
    ms(r.shutdownMs),
    r.queryMaxMs === undefined
      ? '-'
      : `${ms(r.queryMaxMs)}${r.queryUnderWrites ? ' (writes)' : ''}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  const out = [
    '',
    'Reliability figures (issue 11)',
    line(header),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...table.map(line),
    '',
    `events lost: ${summary.eventsLostCounted} counted, ${summary.eventsLostUncounted} uncounted, ${summary.eventsLostInFlightAtKill} in flight at a kill -9; longest flush ${ms(summary.longestFlushMs)} ms, longest shutdown ${ms(summary.longestShutdownMs)} ms, longest query under concurrent writes ${ms(summary.longestQueryUnderWritesMs)} ms; suite ${(durationMs / 1000).toFixed(1)} s`,
    `(kept in ${FIGURES_FILE})`,
    '',
  ];
  console.log(out.join('\n'));
}
