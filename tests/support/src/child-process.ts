/**
 * Child processes for tests, watched by the CPU time they use rather than by
 * the wall clock: a child stuck in a loop burns CPU and is killed once it has
 * used `cpuLimitMs`, however busy the machine is, while a child that is only
 * slow because the machine is shared (two cores, every package's tests at
 * once) is left to finish. A wall-clock limit remains as a last resort, far
 * above any normal run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Linux reports CPU time in clock ticks of 1/100 s (USER_HZ) on every architecture Node runs on. */
const TICK_MS = 10;

/**
 * CPU time (user + system, every thread) the process has used so far, from
 * /proc; undefined where there is no /proc or the process is gone.
 */
export function cpuTimeMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count from after its ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 (utime) and 15 (stime) of the whole line are 12 and 13 after the name and state.
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

export interface ChildOptions {
  readonly args?: readonly string[];
  /** Added to (or, as undefined, removed from) the parent's environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /**
   * Killed (SIGKILL) once it has used this much CPU time: the hang detector.
   * @default 60_000
   */
  readonly cpuLimitMs?: number;
  /**
   * Killed after this much wall time whatever it used: a last resort for a
   * child that waits forever without spinning. Keep it far above any run on a
   * busy machine; tests that prove a bound assert it themselves.
   * @default 600_000
   */
  readonly wallLimitMs?: number;
  /** Each line of stdout as it arrives (to send a signal at the right moment). */
  readonly onLine?: (line: string, child: ChildProcess) => void;
}

export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Lines of stdout that are JSON objects, parsed, in order. */
  readonly records: Record<string, any>[];
  /** Wall time from spawn to exit. */
  readonly ms: number;
  /** CPU time the child had used when last seen (the watchdog's view). */
  readonly cpuMs: number | undefined;
  /** Set when the watchdog killed it. */
  readonly killedBy: 'cpu limit' | 'wall limit' | undefined;
}

export interface RunningChild {
  readonly process: ChildProcess;
  /** Writes one line to the child's stdin. */
  send(line: string): void;
  readonly result: Promise<ChildResult>;
}

/** Starts `node file ...args`; stdin stays open for `send`. */
export function startChild(file: string, options: ChildOptions = {}): RunningChild {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  const started = Date.now();
  const child = spawn(process.execPath, [file, ...(options.args ?? [])], {
    cwd: options.cwd,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // A child that exits before reading its stdin must not fail the test with EPIPE.
  child.stdin.on('error', () => {});
  let stdout = '';
  let stderr = '';
  let pending = '';
  const records: Record<string, any>[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    pending += chunk;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.startsWith('{')) {
        try {
          records.push(JSON.parse(line));
        } catch {
          // Not a record: kept in stdout only.
        }
      }
      options.onLine?.(line, child);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });

  const cpuLimitMs = options.cpuLimitMs ?? 60_000;
  const wallLimitMs = options.wallLimitMs ?? 600_000;
  let cpuMs: number | undefined;
  let killedBy: ChildResult['killedBy'];
  const watchdog = setInterval(() => {
    if (child.pid === undefined) return;
    cpuMs = cpuTimeMs(child.pid) ?? cpuMs;
    if (cpuMs !== undefined && cpuMs > cpuLimitMs) killedBy = 'cpu limit';
    else if (Date.now() - started > wallLimitMs) killedBy = 'wall limit';
    if (killedBy) {
      clearInterval(watchdog);
      child.kill('SIGKILL');
    }
  }, 250);

  const result = new Promise<ChildResult>((resolve, reject) => {
    child.on('error', (error) => {
      clearInterval(watchdog);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearInterval(watchdog);
      if (pending.startsWith('{')) {
        try {
          records.push(JSON.parse(pending));
        } catch {
          // A last line cut short (the child was killed while writing it).
        }
      }
      resolve({
        code,
        signal,
        stdout,
        stderr,
        records,
        ms: Date.now() - started,
        cpuMs,
        killedBy,
      });
    });
  });
  return {
    process: child,
    send: (line) => {
      child.stdin.write(`${line}\n`);
    },
    result,
  };
}

/** Runs a child to its end (see startChild); its stdin is closed at once. */
export function runChild(file: string, options: ChildOptions = {}): Promise<ChildResult> {
  const running = startChild(file, options);
  running.process.stdin?.end();
  return running.result;
}

/** Explains a child that did not end as it should, for an assertion message. */
export function describeChild(result: ChildResult): string {
  const how = result.killedBy
    ? `killed by the watchdog (${result.killedBy}; it used ${result.cpuMs} ms of CPU in ${result.ms} ms)`
    : `exited with ${result.signal ?? `code ${result.code}`} after ${result.ms} ms`;
  return `${how}\n--- stderr ---\n${result.stderr.slice(-4000)}\n--- stdout (end) ---\n${result.stdout.slice(-2000)}`;
}
