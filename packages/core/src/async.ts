/** True for a promise or any object with a `then` method. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

export interface DeadlineOptions {
  /**
   * Let the process exit while waiting. Leave it `false` for a deadline that
   * someone awaits: an unref'd timer is not enough to keep Node running, so a
   * script awaiting `shutdown()` of a sink that never settles would exit
   * (code 13 under top-level await) before the deadline fires.
   * @default false
   */
  readonly unref?: boolean;
}

/**
 * Resolves `true` once `work` settles (resolved to anything but `false`),
 * `false` if it resolves `false`, rejects, or is still running after
 * `timeoutMs`. Never rejects. The timer is cleared as soon as `work` settles.
 */
export async function withDeadline(
  work: PromiseLike<unknown>,
  timeoutMs: number,
  options: DeadlineOptions = {},
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, timeoutMs));
    if (options.unref) timer.unref?.();
  });
  try {
    return await Promise.race([
      Promise.resolve(work).then(
        (result) => result !== false,
        () => false,
      ),
      expired,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Exponential backoff with ±20 % jitter, so that many clients do not retry in
 * step: `initialMs` after the first failure, doubling up to `maxMs`.
 */
export function backoffDelay(failures: number, initialMs: number, maxMs: number): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}
