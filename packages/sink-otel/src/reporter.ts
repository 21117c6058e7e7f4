import type { SinkContext } from '@telemetry/core';
import type { OtlpExportError } from './errors.ts';

/**
 * Counts what the sink gave up and reports errors to the dispatcher, at most
 * once per error code per interval (a dead collector fails every batch).
 */
export class SinkReporter {
  context: SinkContext | undefined;
  readonly droppedSpans: Record<string, number> = {};
  readonly droppedEvents: Record<string, number> = {};
  lastError: string | undefined;
  private readonly lastReportAt = new Map<string, number>();
  private readonly suppressed = new Map<string, number>();
  private pendingDrops: Record<string, number> = {};
  private dropsScheduled = false;

  constructor(private readonly intervalMs: number) {}

  /** Counts `events` (in `spans` spans) as dropped under `reason`. */
  drop(events: number, spans: number, reason: string): void {
    if (spans <= 0) return;
    this.droppedSpans[reason] = (this.droppedSpans[reason] ?? 0) + spans;
    this.droppedEvents[reason] = (this.droppedEvents[reason] ?? 0) + events;
    this.pendingDrops[reason] = (this.pendingDrops[reason] ?? 0) + events;
    // The dispatcher counts a write as delivered when the write returns; a drop
    // noted during the write must reach it after that, or it would be clamped away.
    if (!this.dropsScheduled) {
      this.dropsScheduled = true;
      queueMicrotask(() => this.flushDrops());
    }
  }

  private flushDrops(): void {
    this.dropsScheduled = false;
    const drops = this.pendingDrops;
    this.pendingDrops = {};
    if (!this.context) return;
    for (const reason in drops) this.context.recordDropped(drops[reason]!, reason);
  }

  /** Reports an error; repeats of the same code within the interval are folded into the next report. */
  report(error: OtlpExportError, force = false): void {
    this.lastError = error.message;
    const now = Date.now();
    const last = this.lastReportAt.get(error.code) ?? Number.NEGATIVE_INFINITY;
    if (!force && now - last < this.intervalMs) {
      this.suppressed.set(error.code, (this.suppressed.get(error.code) ?? 0) + 1);
      return;
    }
    const repeats = this.suppressed.get(error.code) ?? 0;
    this.suppressed.delete(error.code);
    this.lastReportAt.set(error.code, now);
    if (repeats > 0) {
      error.message += ` (${repeats} similar problem${repeats === 1 ? '' : 's'} since the last report)`;
    }
    this.context?.reportError(error);
  }
}
