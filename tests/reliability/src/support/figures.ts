/**
 * What each scenario measured, for the table printed at the end of the run
 * and reliability-figures.json. Figures are reported, never asserted as
 * speeds: the machine is shared.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIGURES_DIR } from './paths.ts';

export interface ScenarioFigures {
  /** The row's name. */
  readonly scenario: string;
  /** Events the pipeline accepted (per process, summed). */
  readonly accepted?: number;
  /** Events lost and counted by stats(), per sink (0 when nothing was lost). */
  readonly lostCounted?: Readonly<Record<string, number>>;
  /** Events lost without being counted: the tests fail when this is not 0. */
  readonly lostUncounted?: number;
  /** Events a killed process had accepted and not yet committed (a crash counts nothing). */
  readonly lostInFlightAtKill?: number;
  /** Longest flush() and shutdown() in the scenario. */
  readonly flushMs?: number;
  readonly shutdownMs?: number;
  /** Longest single query, and whether it ran while other processes wrote. */
  readonly queryMaxMs?: number;
  readonly queryUnderWrites?: boolean;
  readonly note?: string;
}

let written = 0;

export function recordFigures(figures: ScenarioFigures): void {
  written += 1;
  writeFileSync(
    join(FIGURES_DIR, `${process.pid}-${written}.json`),
    JSON.stringify({ ...figures, recordedAt: Date.now() }),
  );
}

/** Sum of the values of a record of counts. */
export function total(counts: Readonly<Record<string, number>> | undefined): number {
  return Object.values(counts ?? {}).reduce((a, b) => a + b, 0);
}
