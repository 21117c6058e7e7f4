import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { type CompletedSpan, eventCountOf } from '@telemetry/core';
import { OTLP_ERROR_CODES, OtlpExportError } from './errors.ts';
import {
  backoffDelay,
  classifyExportResult,
  describeFailure,
  exportOnce,
} from './export-result.ts';
import type { SinkReporter } from './reporter.ts';
import type { ExportedSpan } from './span-convert.ts';

export interface TraceQueueOptions {
  readonly url: string;
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
  readonly scheduledDelayMillis: number;
  readonly maxConcurrentExports: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
}

interface Batch {
  /** Converted once when taken from the buffer, kept for retries. */
  readonly spans: readonly ExportedSpan[];
  /** Position of the batch's first span in the order spans were accepted. */
  readonly startSeq: number;
}

interface FlushWaiter {
  readonly target: number;
  readonly resolve: () => void;
}

function eventsIn(spans: readonly CompletedSpan[]): number {
  let n = 0;
  for (const s of spans) n += eventCountOf(s);
  return n;
}

function exportedEventsIn(spans: readonly ExportedSpan[]): number {
  let n = 0;
  for (const s of spans) n += s.eventCount;
  return n;
}

/**
 * The sink's own bounded buffer in front of the OTLP trace exporter.
 *
 * Why not the SDK's BatchSpanProcessor: it drops silently in bursts, and
 * forcing a flush past 30 queued batches fails with "Concurrent export limit
 * reached". Here a fixed number of exports are in flight at once; a batch the
 * collector could not take stays at the head and is retried with exponential
 * backoff (all sending pauses meanwhile); what does not fit is counted; a
 * final refusal (4xx) drops and counts that batch instead of retrying forever.
 */
export class TraceExportQueue {
  private buf: CompletedSpan[] = [];
  private head = 0;
  private readonly retry: Batch[] = [];
  private readonly inFlight = new Set<Batch>();
  /** Spans accepted and not yet settled (exported or dropped): the bound applies to this. */
  private held = 0;
  private acceptedSeq = 0;
  private takenSeq = 0;
  private failures = 0;
  private backoffTimer: ReturnType<typeof setTimeout> | undefined;
  private delayTimer: ReturnType<typeof setTimeout> | undefined;
  private partialDue = false;
  private pumpScheduled = false;
  private waiters: FlushWaiter[] = [];
  private closed = false;
  private abandoned = false;
  exportedSpans = 0;
  exportRequests = 0;
  /** Why the last export failed, for reports. */
  lastFailure: string | undefined;

  constructor(
    private readonly exporter: SpanExporter,
    private readonly convert: (spans: readonly CompletedSpan[]) => ExportedSpan[],
    private readonly reporter: SinkReporter,
    private readonly options: TraceQueueOptions,
  ) {}

  /** Spans waiting, being sent, or waiting for a retry. */
  get pending(): number {
    return this.held;
  }

  /** Takes spans for export; what does not fit in the bound is counted as dropped. Never blocks. */
  add(spans: readonly CompletedSpan[]): void {
    if (this.closed) {
      this.reporter.drop(eventsIn(spans), spans.length, 'otlp_shutdown');
      return;
    }
    const room = this.options.maxQueueSize - this.held;
    const taken = Math.min(room, spans.length);
    for (let i = 0; i < taken; i++) this.buf.push(spans[i]!);
    this.held += taken;
    this.acceptedSeq += taken;
    if (taken < spans.length) {
      const over = spans.length - taken;
      this.reporter.drop(
        eventsIn(taken === 0 ? spans : spans.slice(taken)),
        over,
        'otlp_queue_full',
      );
      this.reporter.report(
        new OtlpExportError(
          OTLP_ERROR_CODES.queueFull,
          `dropped ${over} span${over === 1 ? '' : 's'}: ${this.held} spans are already waiting for the collector at ${this.options.url}${
            this.lastFailure ? ` (last failure: ${this.lastFailure})` : ''
          }; raise maxQueueSize or check the collector`,
          { signal: 'traces', url: this.options.url, lostSpans: over },
        ),
      );
    }
    this.schedulePump();
  }

  /** Resolves once every span added before the call is exported or dropped. Never rejects. */
  flush(): Promise<void> {
    const target = this.acceptedSeq;
    if (this.settledSeq() >= target) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push({ target, resolve });
      this.schedulePump();
    });
  }

  /** Stops taking spans and sends what is held at once (a pending backoff is cut short once). */
  close(): void {
    this.closed = true;
    if (this.backoffTimer) {
      clearTimeout(this.backoffTimer);
      this.backoffTimer = undefined;
    }
    this.schedulePump();
  }

  /** Gives up on everything still held: counts it as dropped and returns how much that was. */
  abandon(reason: string): { spans: number; events: number } {
    this.abandoned = true;
    this.clearTimers();
    const buffered = this.buf.slice(this.head);
    let spans = buffered.length;
    let events = eventsIn(buffered);
    for (const b of [...this.retry, ...this.inFlight]) {
      spans += b.spans.length;
      events += exportedEventsIn(b.spans);
    }
    this.buf = [];
    this.head = 0;
    this.retry.length = 0;
    this.inFlight.clear();
    this.held = 0;
    this.reporter.drop(events, spans, reason);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve();
    return { spans, events };
  }

  private clearTimers(): void {
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    if (this.delayTimer) clearTimeout(this.delayTimer);
    this.backoffTimer = undefined;
    this.delayTimer = undefined;
  }

  /** Everything before this position in the accepted order is settled. */
  private settledSeq(): number {
    let s = this.takenSeq;
    for (const b of this.retry) if (b.startSeq < s) s = b.startSeq;
    for (const b of this.inFlight) if (b.startSeq < s) s = b.startSeq;
    return s;
  }

  private resolveWaiters(): void {
    if (this.waiters.length === 0) return;
    const settled = this.settledSeq();
    const still: FlushWaiter[] = [];
    for (const w of this.waiters) {
      if (w.target <= settled) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.abandoned) return;
    this.pumpScheduled = true;
    // Off the writer's stack, so that every chunk of one dispatcher drain lands in the same batches.
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.abandoned) return;
    while (!this.backoffTimer && this.inFlight.size < this.options.maxConcurrentExports) {
      const batch = this.retry.shift() ?? this.takeBatch();
      if (!batch) break;
      this.send(batch);
    }
    this.resolveWaiters();
  }

  private takeBatch(): Batch | undefined {
    const available = this.buf.length - this.head;
    if (available === 0) return undefined;
    const max = this.options.maxExportBatchSize;
    if (available < max && !this.partialDue && !this.closed && this.waiters.length === 0) {
      // A partial batch waits a little for company; flush and shutdown do not wait.
      this.delayTimer ??= unref(
        setTimeout(() => {
          this.delayTimer = undefined;
          this.partialDue = true;
          this.pump();
        }, this.options.scheduledDelayMillis),
      );
      return undefined;
    }
    const n = Math.min(available, max);
    const taken = this.buf.slice(this.head, this.head + n);
    this.head += n;
    const startSeq = this.takenSeq;
    this.takenSeq += n;
    if (this.head === this.buf.length) {
      this.buf = [];
      this.head = 0;
      this.partialDue = false;
      if (this.delayTimer) {
        clearTimeout(this.delayTimer);
        this.delayTimer = undefined;
      }
    } else if (this.head >= 16_384 && this.head * 2 >= this.buf.length) {
      this.buf = this.buf.slice(this.head);
      this.head = 0;
    }
    let spans: ExportedSpan[];
    try {
      spans = this.convert(taken);
    } catch (error) {
      // Not expected (the spans were valid when core built them); if it happens, this batch cannot go.
      this.held -= n;
      this.reporter.drop(eventsIn(taken), n, 'otlp_rejected');
      this.reporter.report(
        new OtlpExportError(
          OTLP_ERROR_CODES.rejected,
          `could not convert ${n} spans for OTLP (${error instanceof Error ? error.message : String(error)}); they are dropped`,
          { signal: 'traces', url: this.options.url, lostSpans: n },
        ),
      );
      return this.takeBatch();
    }
    return { spans, startSeq };
  }

  private send(batch: Batch): void {
    this.inFlight.add(batch);
    this.exportRequests += 1;
    void exportOnce(this.exporter, batch.spans as ExportedSpan[]).then((result) =>
      this.onResult(batch, result),
    );
  }

  private onResult(batch: Batch, result: Parameters<typeof classifyExportResult>[0]): void {
    if (this.abandoned || !this.inFlight.delete(batch)) return;
    const outcome = classifyExportResult(result);
    if (outcome.ok) {
      this.held -= batch.spans.length;
      this.exportedSpans += batch.spans.length;
      this.failures = 0;
      if (this.backoffTimer) {
        // Another batch got through: the collector is back, stop waiting.
        clearTimeout(this.backoffTimer);
        this.backoffTimer = undefined;
      }
    } else {
      const why = describeFailure(outcome);
      this.lastFailure = why;
      if (outcome.permanent) {
        if (outcome.status === 413 && batch.spans.length > 1) {
          // Too large for this collector: send it in halves.
          const half = Math.ceil(batch.spans.length / 2);
          this.retry.unshift(
            { spans: batch.spans.slice(0, half), startSeq: batch.startSeq },
            { spans: batch.spans.slice(half), startSeq: batch.startSeq + half },
          );
        } else {
          this.reject(batch, why, outcome.status);
        }
      } else {
        this.retry.unshift(batch);
        this.failures += 1;
        const delay = backoffDelay(
          this.failures,
          this.options.retryInitialMs,
          this.options.retryMaxMs,
        );
        if (!this.backoffTimer) {
          this.backoffTimer = unref(
            setTimeout(() => {
              this.backoffTimer = undefined;
              this.pump();
            }, delay),
          );
        }
        this.reporter.report(
          new OtlpExportError(
            OTLP_ERROR_CODES.unreachable,
            `cannot send spans to ${this.options.url} (${why}); retrying with backoff, ${this.held} spans held`,
            { signal: 'traces', url: this.options.url, status: outcome.status },
            { cause: outcome.error },
          ),
        );
      }
    }
    // Not from inside the exporter's callback: the exporter forgets this request
    // only after the callback returns, and counts it against its concurrency limit until then.
    this.schedulePump();
  }

  /** The collector refused the batch for good: count it and say why. */
  private reject(batch: Batch, why: string, status: number | undefined): void {
    const n = batch.spans.length;
    this.held -= n;
    this.reporter.drop(exportedEventsIn(batch.spans), n, 'otlp_rejected');
    this.reporter.report(
      new OtlpExportError(
        OTLP_ERROR_CODES.rejected,
        `the collector at ${this.options.url} refused ${n} span${n === 1 ? '' : 's'} (${why}); they are dropped, not retried. Check the endpoint URL, headers and the collector's limits`,
        { signal: 'traces', url: this.options.url, status, lostSpans: n },
      ),
    );
  }
}

function unref<T extends ReturnType<typeof setTimeout>>(timer: T): T {
  timer.unref?.();
  return timer;
}
