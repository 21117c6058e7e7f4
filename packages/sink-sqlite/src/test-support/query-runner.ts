import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
 * Runs the calls against the database file in a child process; rejects when
 * the child has not finished by the deadline (it is killed), so a query that
 * loops fails the test instead of hanging the run. A deadline is a hang
 * detector here, far above any normal answer time, not a speed assertion.
 */
export function runQueries(
  dir: string,
  path: string,
  calls: readonly QueryCall[],
  deadlineMs = 60_000,
): Promise<QueryRun> {
  const requestFile = join(
    dir,
    `request-${process.pid}-${Math.random().toString(36).slice(2)}.json`,
  );
  writeFileSync(requestFile, JSON.stringify({ path, calls }));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript('query-child.mjs'), requestFile], {
      env: { ...process.env, SINK_BUNDLE: BUNDLE },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout.trimEnd().split('\n').filter(Boolean);
      if (signal === 'SIGKILL') {
        reject(
          new Error(
            `query child did not finish within ${deadlineMs} ms (a query hangs?) after ${lines.length} of ${calls.length} calls; next: ${JSON.stringify(calls[lines.length])?.slice(0, 300)}`,
          ),
        );
        return;
      }
      if (code !== 0) {
        reject(new Error(`query child exited with ${code ?? signal}: ${stderr.slice(0, 2000)}`));
        return;
      }
      const parsed = lines.map((l) => JSON.parse(l));
      const summary = parsed.pop() as { done: boolean; maxRssMb: number };
      resolve({ outcomes: parsed as Outcome[], maxRssMb: summary.maxRssMb });
    });
  });
}
