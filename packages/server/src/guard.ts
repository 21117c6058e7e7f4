import type { Telemetry } from './core-api.ts';
import { type HttpError, overloaded, shutDown } from './errors.ts';

/** Events refused by the pipeline while one request was logging, by reason. */
export interface Refusals {
  readonly queueFull: number;
  readonly shutdown: number;
  readonly invalid: number;
}

/**
 * Back-pressure between HTTP writers and the pipeline, through its public
 * `stats()`: a write is answered 503 with Retry-After when the pipeline is
 * shut down or holds too many events, rather than accepted and then dropped.
 */
export class PipelineGuard {
  constructor(
    private readonly telemetry: Telemetry,
    private readonly maxPendingEvents: number,
    private readonly retryAfterSeconds: number,
  ) {}

  /** Throws the 503 to answer when a write now would be refused or dropped. */
  check(): void {
    if (this.telemetry.isShutdown) throw shutDown(this.retryAfterSeconds);
    const stats = this.telemetry.stats();
    let pending = stats.queued;
    for (const name in stats.sinks) pending = Math.max(pending, stats.sinks[name]!.pending);
    if (pending >= this.maxPendingEvents) {
      throw overloaded(
        this.retryAfterSeconds,
        `${pending} events waiting for the sinks, the server's maxPendingEvents is ${this.maxPendingEvents}`,
      );
    }
  }

  /**
   * Runs `write` (synchronous calls to logEvent) and counts what the pipeline
   * refused meanwhile; the calls are synchronous, so the counts are this request's.
   */
  measure<T>(write: () => T): { result: T; refused: Refusals } {
    const before = this.telemetry.stats().dropped;
    const result = write();
    const after = this.telemetry.stats().dropped;
    const delta = (key: string) => (after[key] ?? 0) - (before[key] ?? 0);
    return {
      result,
      refused: {
        queueFull: delta('queue_full'),
        shutdown: delta('shutdown'),
        invalid: delta('invalid'),
      },
    };
  }

  /** The 503 for events refused as queue_full or shutdown, if any. */
  refusalError(refused: Refusals, total: number): HttpError | undefined {
    if (refused.shutdown > 0) return shutDown(this.retryAfterSeconds);
    if (refused.queueFull > 0) {
      return overloaded(
        this.retryAfterSeconds,
        `its queue was full: ${refused.queueFull} of ${total} events of this request were refused; retrying the whole request is safe, stored spans are not duplicated`,
      );
    }
    return undefined;
  }
}
