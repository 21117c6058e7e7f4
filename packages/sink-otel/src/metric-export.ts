import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { backoffDelay, type SinkContext } from '@telemetry/core/sink';
import { OTLP_ERROR_CODES, OtlpExportError } from './errors.ts';
import type { MetricRecorder } from './metrics.ts';
import type { SignalTarget } from './options.ts';
import type { OtlpHttpClient, PostOutcome } from './otlp-http.ts';

const RETRY_INITIAL_MS = 250;
const RETRY_MAX_MS = 5_000;

/** Waits `ms`, or less when `signal` aborts. The timer keeps the process alive: someone awaits it. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Settles (as a failed, final outcome) when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<PostOutcome> {
  return new Promise((resolve) => {
    const settle = () =>
      resolve({
        ok: false,
        retryable: false,
        status: undefined,
        retryAfterMs: undefined,
        why: 'out of time',
        cause: undefined,
      });
    if (signal.aborted) settle();
    else signal.addEventListener('abort', settle, { once: true });
  });
}

/**
 * When the OTLP metrics go out. Sums are cumulative, so the latest state
 * stands for everything before it: on its interval one attempt is made (a
 * failure is made good by the next interval); `flush` retries with backoff,
 * but never longer than its budget. One export at a time.
 */
export class MetricExporter {
  /** Exports the collector accepted, and attempts that failed. */
  exports = 0;
  failedExports = 0;
  /** Data points the collector said it rejected (partial success). */
  rejectedDataPoints = 0;
  lastFailure: string | undefined;
  /** `recorder.recordedValues` when the last accepted export was collected. */
  private exportedUpTo = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private busy = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly recorder: MetricRecorder,
    private readonly client: OtlpHttpClient,
    private readonly target: SignalTarget,
    private readonly context: SinkContext,
    intervalMs: number,
  ) {
    // Unref'd: a periodic export alone does not keep the process alive.
    this.timer = setInterval(() => {
      if (this.busy === 0 && this.unsentValues > 0) void this.attempt('interval');
    }, intervalMs);
    this.timer.unref();
  }

  /** Values recorded since the state of the last accepted export was taken. */
  get unsentValues(): number {
    return this.recorder.recordedValues - this.exportedUpTo;
  }

  /** No more periodic exports. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Sends the state of every value recorded before the call, retrying with
   * backoff for at most `budgetMs` (or until the sink's signal aborts).
   * Resolves true once it is sent (or there was nothing to send); never rejects.
   */
  async flush(budgetMs: number): Promise<boolean> {
    const goal = this.recorder.recordedValues;
    const budget = new AbortController();
    const timer = setTimeout(() => budget.abort(), budgetMs);
    const stop = AbortSignal.any([budget.signal, this.context.signal]);
    try {
      for (let failures = 0; ; ) {
        if (this.exportedUpTo >= goal) return true;
        if (stop.aborted) return false;
        // An export already out (on the interval) may hold the turn: wait for it within the budget only.
        const outcome = await Promise.race([this.attempt('flush', stop), aborted(stop)]);
        if (outcome.ok) continue;
        if (!outcome.retryable || stop.aborted) return false;
        failures += 1;
        await sleep(
          Math.max(
            backoffDelay(failures, RETRY_INITIAL_MS, RETRY_MAX_MS),
            outcome.retryAfterMs ?? 0,
          ),
          stop,
        );
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** One export of the current state, after any export running; never rejects. */
  private attempt(why: 'interval' | 'flush', abort?: AbortSignal): Promise<PostOutcome> {
    this.busy += 1;
    const run = this.chain.then(() => this.exportOnce(why, abort));
    this.chain = run.catch(() => undefined);
    return run
      .catch(
        (error: unknown): PostOutcome => ({
          ok: false,
          retryable: false,
          status: undefined,
          retryAfterMs: undefined,
          why: error instanceof Error ? error.message : String(error),
          cause: error,
        }),
      )
      .finally(() => {
        this.busy -= 1;
      });
  }

  private async exportOnce(
    why: 'interval' | 'flush',
    abort: AbortSignal | undefined,
  ): Promise<PostOutcome> {
    const upTo = this.recorder.recordedValues;
    if (upTo <= this.exportedUpTo) return { ok: true, body: Buffer.alloc(0) };
    const metrics = await this.recorder.collect();
    if (!metrics) {
      this.exportedUpTo = upTo;
      return { ok: true, body: Buffer.alloc(0) };
    }
    const body = ProtobufMetricsSerializer.serializeRequest(metrics);
    if (!body) throw new Error('the OTLP metrics serializer produced no request');
    const outcome = await this.client.post(this.target, body, abort);
    const url = this.target.url;
    if (outcome.ok) {
      this.exports += 1;
      this.exportedUpTo = Math.max(this.exportedUpTo, upTo);
      this.checkPartialSuccess(outcome.body);
      return outcome;
    }
    this.failedExports += 1;
    // Cut off by our own budget or shutdown: the collector's last answer (for
    // example ECONNREFUSED) says more to the user than "aborted".
    if (abort?.aborted || this.context.signal.aborted) return outcome;
    this.lastFailure = outcome.why;
    this.context.reportError(
      outcome.retryable
        ? new OtlpExportError(
            OTLP_ERROR_CODES.unreachable,
            `cannot send metrics to ${url} (${outcome.why}); ${why === 'flush' ? 'retrying with backoff' : 'trying again at the next interval'}`,
            {
              signal: 'metrics',
              url,
              status: outcome.status,
              retryable: true,
              retryAfterMs: outcome.retryAfterMs,
            },
            { cause: outcome.cause },
          )
        : new OtlpExportError(
            OTLP_ERROR_CODES.rejected,
            `the collector at ${url} refused the metrics (${outcome.why}); check the endpoint URL, headers and the collector's limits`,
            { signal: 'metrics', url, status: outcome.status },
            { cause: outcome.cause },
          ),
    );
    return outcome;
  }

  private checkPartialSuccess(body: Buffer): void {
    if (body.length === 0) return;
    let rejected = 0;
    let message = '';
    try {
      const answer = ProtobufMetricsSerializer.deserializeResponse(body);
      rejected = Number(answer.partialSuccess?.rejectedDataPoints ?? 0);
      message = answer.partialSuccess?.errorMessage ?? '';
    } catch {
      return; // Not an OTLP answer; the request was accepted all the same.
    }
    if (!(rejected > 0)) return;
    this.rejectedDataPoints += rejected;
    this.context.reportError(
      new OtlpExportError(
        OTLP_ERROR_CODES.partial,
        `the collector at ${this.target.url} accepted the metrics but rejected ${rejected} data point${rejected === 1 ? '' : 's'}${message ? `: ${message}` : ''}`,
        { signal: 'metrics', url: this.target.url },
      ),
    );
  }
}
