/**
 * What every child program of the suite shares: its scenario from the
 * environment, JSON lines on stdout for the test to read, lines from the test
 * on stdin, and a last look at what still keeps the process alive.
 */
import { createInterface } from 'node:readline';

/** The scenario the test passed in the SCENARIO environment variable. */
export function scenario<T>(): T {
  return JSON.parse(process.env.SCENARIO ?? '{}') as T;
}

/** One JSON line on stdout (written synchronously on Linux: a pipe). */
export function emit(record: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

let lines: ReturnType<typeof createInterface> | undefined;
const received: string[] = [];
const waiting: ((line: string) => void)[] = [];

/**
 * The next line the test sends on stdin. Stdin is read only while a child
 * waits for a line: afterwards it no longer keeps the process alive.
 */
export function nextLine(): Promise<string> {
  const line = received.shift();
  if (line !== undefined) return Promise.resolve(line);
  lines ??= createInterface({ input: process.stdin }).on('line', (text) => {
    const next = waiting.shift();
    if (!next) {
      received.push(text);
      return;
    }
    if (waiting.length === 0) {
      lines?.close();
      lines = undefined;
      // A pipe from the test stays open: it must not keep the child alive.
      (process.stdin as { unref?: () => void }).unref?.();
    }
    next(text);
  });
  return new Promise((resolve) => waiting.push(resolve));
}

/** Resources that keep the event loop alive, leaving out the stdio pipes the child started with. */
function aliveResources(baseline: readonly string[]): string[] {
  const left = [...baseline];
  return process.getActiveResourcesInfo().filter((type) => {
    const i = left.indexOf(type);
    if (i < 0) return true;
    left.splice(i, 1);
    return false;
  });
}

const baseline = process.getActiveResourcesInfo();

/**
 * Called after the script's last line of work: says `after`, and if the
 * process is somehow still running 2 s later, says what keeps it alive. A
 * machine so busy that exiting takes that long shows an empty list (nothing
 * keeps it, it is only slow); a timer, socket or worker left behind is named.
 */
export function after(extra: Record<string, unknown> = {}): void {
  emit({ event: 'after', at: Date.now(), ...extra });
  setTimeout(() => {
    // Two turns of the loop, so that handles being closed are closed.
    setImmediate(() =>
      setImmediate(() => emit({ event: 'still alive', resources: aliveResources(baseline) })),
    );
  }, 2_000).unref();
}

export function warnToStderr(message: string): void {
  process.stderr.write(`${message}\n`);
}

export function maxRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}
