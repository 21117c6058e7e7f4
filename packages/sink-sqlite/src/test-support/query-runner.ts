import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeChild, runChild } from '@telemetry/test-support/child-process';
import { BUNDLE, childScript } from './child.ts';

/** A value JSON cannot carry, decoded by query-child.mjs. */
export type Tagged =
  | { $: 'NaN' | 'Infinity' | '-Infinity' | '-0' | 'undefined' | 'function' | 'map' }
  | { $: 'bigint'; v: string }
  | { $: 'date'; v: string | number }
  | { $: 'symbol'; v?: string }
  | { $: 'repeat'; v: unknown; n: number };

export interface QueryCall {
  readonly method:
    | 'queryTraces'
    | 'getTrace'
    | 'getSpan'
    | 'getSpanTree'
    | 'querySpans'
    | 'saveSpansToDataset'
    | 'queryMetrics';
  readonly args: readonly unknown[];
}

export interface CallError {
  readonly name: string;
  readonly code?: string;
  readonly message: string;
  readonly issues?: readonly { path: string; message: string }[];
}

export type Outcome = { ok: any; error?: undefined } | { ok?: undefined; error: CallError };

export interface QueryRun {
  readonly outcomes: Outcome[];
  readonly maxRssMb: number;
}

/**
 * Runs the calls against the database file in a child process. The child is
 * watched by the CPU time it uses, not the wall clock: a query that loops
 * burns CPU and is killed once it has used `cpuLimitMs`, however busy the
 * machine, while a child that is merely slow because the machine is shared is
 * left to finish. So this is a hang detector, not a speed assertion.
 */
export async function runQueries(
  dir: string,
  path: string,
  calls: readonly QueryCall[],
  cpuLimitMs = 60_000,
): Promise<QueryRun> {
  const requestFile = join(
    dir,
    `request-${process.pid}-${Math.random().toString(36).slice(2)}.json`,
  );
  writeFileSync(requestFile, JSON.stringify({ path, calls }));
  const result = await runChild(childScript('query-child.mjs'), {
    args: [requestFile],
    env: { SINK_BUNDLE: BUNDLE },
    cpuLimitMs,
  });
  const lines = result.stdout.trimEnd().split('\n').filter(Boolean);
  if (result.killedBy) {
    throw new Error(
      `query child killed after ${lines.length} of ${calls.length} calls (a query hangs?); next: ${JSON.stringify(calls[lines.length])?.slice(0, 300)}\n${describeChild(result)}`,
    );
  }
  if (result.code !== 0) {
    throw new Error(`query child ${describeChild(result)}`);
  }
  const parsed = lines.map((l) => JSON.parse(l));
  const summary = parsed.pop() as { done: boolean; maxRssMb: number };
  return { outcomes: parsed as Outcome[], maxRssMb: summary.maxRssMb };
}
