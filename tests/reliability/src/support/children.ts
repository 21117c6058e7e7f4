import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ChildOptions,
  type ChildResult,
  type RunningChild,
  startChild,
} from '@telemetry/test-support/child-process';
import { afterAll } from 'vitest';
import { BUNDLE_DIR } from './paths.ts';

export type ChildName =
  | 'bad-sinks'
  | 'burst'
  | 'concurrent'
  | 'export'
  | 'fuzz'
  | 'hostile-server'
  | 'ingest'
  | 'querier'
  | 'sigterm'
  | 'writer';

/** The environment a child gets: the scenario, and none of the OTEL_* variables of this shell. */
function environment(scenario: object): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { SCENARIO: JSON.stringify(scenario) };
  for (const key of Object.keys(process.env)) if (key.startsWith('OTEL_')) env[key] = undefined;
  return env;
}

/** Starts a child program of src/children with its scenario. */
export function start(
  name: ChildName,
  scenario: object,
  options: Omit<ChildOptions, 'env'> = {},
): RunningChild {
  return startChild(join(BUNDLE_DIR, `${name}.js`), { ...options, env: environment(scenario) });
}

/** Runs a child program to its end. */
export function run(
  name: ChildName,
  scenario: object,
  options: Omit<ChildOptions, 'env'> = {},
): Promise<ChildResult> {
  const child = start(name, scenario, options);
  child.process.stdin?.end();
  return child.result;
}

/** The record of a child's run with this `event`, or an error saying what the child did instead. */
export function recordOf(result: ChildResult, event: string): Record<string, any> {
  const record = result.records.findLast((r) => r.event === event);
  if (!record) {
    throw new Error(
      `the child printed no "${event}" line; it ${result.killedBy ? `was killed by the watchdog (${result.killedBy})` : `exited with ${result.signal ?? `code ${result.code}`}`} after ${result.ms} ms.\n--- stderr ---\n${result.stderr.slice(-3000)}\n--- stdout ---\n${result.stdout.slice(-1500)}`,
    );
  }
  return record;
}

/** A scratch directory for this test file, removed after it. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `reliability-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The `[telemetry] shutdown: ...` summary lines of stderr, and the loss each names per sink. */
export function shutdownSummary(stderr: string): { lines: string[]; lost: Record<string, number> } {
  const lines = stderr.split('\n').filter((l) => l.startsWith('[telemetry] shutdown:'));
  const lost: Record<string, number> = {};
  for (const line of lines) {
    for (const m of line.matchAll(/sink "([^"]+)" lost (\d+)/g)) {
      lost[m[1]!] = (lost[m[1]!] ?? 0) + Number(m[2]);
    }
  }
  return { lines, lost };
}
