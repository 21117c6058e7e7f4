import { backoffDelay, isThenable } from './async.ts';
import type { TelemetryEvent } from './schemas.ts';
import {
  type CompletedSpan,
  eventCountOf,
  isRetryable,
  type SinkContext,
  type TelemetrySink,
} from './sink.ts';

/** What a channel needs from its dispatcher. */
export interface ChannelOwner {
  /** Counts a drop for the warnings (the channel counts it in its own stats). */
  noteDrop(channel: SinkChannel, count: number, reason: string): void;
  /** Reports a sink error (rate limited); `lost` events went with it. */
  sinkError(channel: SinkChannel, error: unknown, lost: number): void;
  /** Something finished: flush and shutdown waiters look again. */
  progress(): void;
}

/** Drained data waiting for one sink, or a marker where data had to be dropped. */
interface Segment {
  readonly events: readonly TelemetryEvent[] | undefined;
  readonly spans: readonly CompletedSpan[] | undefined;
  eventsTaken: number;
  spansTaken: number;
  /** Counted events not yet taken into a write. */
  count: number;
  readonly seq: number;
  /** A gap marker: this many events were dropped here, for this reason. */
  gap: { count: number; readonly reason: string } | undefined;
}

/** One write: what it carries, what it counts for, and how often it was tried. */
interface Piece {
  readonly events: readonly TelemetryEvent[] | undefined;
  readonly spans: readonly CompletedSpan[] | undefined;
  readonly count: number;
  /** Events of this piece the sink reported dropped while writing it. */
  dropped: number;
  readonly seq: number;
  attempts: number;
}

export interface ChannelLimits {
  readonly sinkCapacity: number;
  readonly batchSize: number;
}

const DEFAULT_RETRY_INITIAL_MS = 250;
const DEFAULT_RETRY_MAX_MS = 5_000;

function positiveOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && value >= 1 && !Number.isNaN(value) ? value : fallback;
}

/**
 * Everything between the dispatcher and one sink: its bounded backlog, the
 * writes in flight (up to the sink's concurrency), retries with exponential
 * backoff, and its counts, such that
 * `accepted = delivered + Σdropped + pending` holds at every moment.
 */
export class SinkChannel {
  readonly sink: TelemetrySink;
  /** Counted in raw events as accepted (the sink takes `writeEvents`); else in span events. */
  readonly eventPrimary: boolean;
  readonly wantsSpans: boolean;
  delivered = 0;
  failed = 0;
  readonly dropped: Record<string, number> = {};
  lastError: string | undefined;
  /** Per error code: when it was last printed, and how many were not printed since. */
  readonly errorReports = new Map<string, { at: number; suppressed: number }>();
  readonly controller = new AbortController();
  readonly context: SinkContext;
  /** Counted events accepted into this channel and not yet delivered or dropped. */
  held = 0;
  private readonly segments: Segment[] = [];
  private segmentHead = 0;
  private readonly inFlight = new Set<Piece>();
  private readonly retry: Piece[] = [];
  private readonly concurrency: number;
  private readonly maxBatch: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly maxAttempts: number;
  private failures = 0;
  private backoffTimer: ReturnType<typeof setTimeout> | undefined;
  private pumping = false;
  private abandoned = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    sink: TelemetrySink,
    private readonly owner: ChannelOwner,
    private readonly limits: ChannelLimits,
  ) {
    this.sink = sink;
    this.eventPrimary = typeof sink.writeEvents === 'function';
    this.wantsSpans = typeof sink.writeSpans === 'function';
    const delivery = sink.delivery ?? {};
    this.concurrency = Math.floor(positiveOr(delivery.concurrency, 1));
    this.maxBatch = Math.floor(positiveOr(delivery.maxBatchSize, limits.batchSize));
    this.retryInitialMs = positiveOr(delivery.retry?.initialDelayMs, DEFAULT_RETRY_INITIAL_MS);
    this.retryMaxMs = Math.max(
      this.retryInitialMs,
      positiveOr(delivery.retry?.maxDelayMs, DEFAULT_RETRY_MAX_MS),
    );
    this.maxAttempts = positiveOr(delivery.retry?.maxAttempts, Number.POSITIVE_INFINITY);
    this.context = {
      name: sink.name,
      signal: this.controller.signal,
      recordDropped: (count, reason) => this.recordDropped(count, reason),
      reportError: (error) => this.owner.sinkError(this, error, 0),
    };
  }

  get droppedTotal(): number {
    let n = 0;
    for (const k in this.dropped) n += this.dropped[k]!;
    return n;
  }

  /** Counts `count` events this sink will never get. */
  drop(count: number, reason: string): void {
    if (count <= 0) return;
    this.dropped[reason] = (this.dropped[reason] ?? 0) + count;
    this.owner.noteDrop(this, count, reason);
  }

  /**
   * Takes drained data into the backlog, as much as `sinkCapacity` allows;
   * the rest is dropped (`sink_backlog`) and marked where it happened.
   * `count` is what the data counts for this sink.
   */
  admit(
    events: readonly TelemetryEvent[] | undefined,
    spans: readonly CompletedSpan[] | undefined,
    count: number,
    seq: number,
  ): void {
    if (this.abandoned) return;
    if (count <= this.limits.sinkCapacity - this.held) {
      this.push(events, spans, count, seq);
      this.pump();
      return;
    }
    // More than the room left: hand it over a batch at a time, so that a sink
    // that writes synchronously frees room as it goes. What does not fit is
    // dropped, newest first, and marked where it happened.
    const max = this.maxBatch;
    let kept = 0;
    if (this.eventPrimary) {
      const all = events ?? [];
      let withSpans = spans;
      let i = 0;
      while (i < all.length) {
        const room = this.limits.sinkCapacity - this.held;
        if (room <= 0) break;
        const n = Math.min(max, all.length - i, room);
        this.push(sliceOf(all, i, n), withSpans, n, seq);
        withSpans = undefined;
        i += n;
        kept += n;
        this.pump();
      }
    } else if (spans) {
      let i = 0;
      while (i < spans.length) {
        const room = this.limits.sinkCapacity - this.held;
        let n = 0;
        let c = 0;
        while (i + n < spans.length && n < max) {
          const next = eventCountOf(spans[i + n]!);
          if (c + next > room) break;
          c += next;
          n++;
        }
        if (n === 0) break;
        this.push(undefined, sliceOf(spans, i, n), c, seq);
        i += n;
        kept += c;
        this.pump();
      }
    }
    const lost = count - kept;
    this.drop(lost, 'sink_backlog');
    this.markGap(lost, 'sink_backlog', seq);
    this.pump();
  }

  private push(
    events: readonly TelemetryEvent[] | undefined,
    spans: readonly CompletedSpan[] | undefined,
    count: number,
    seq: number,
  ): void {
    if (count === 0 && !(events && events.length > 0) && !(spans && spans.length > 0)) return;
    this.held += count;
    this.segments.push({
      events: events && events.length > 0 ? events : undefined,
      spans: spans && spans.length > 0 ? spans : undefined,
      eventsTaken: 0,
      spansTaken: 0,
      count,
      seq,
      gap: undefined,
    });
  }

  private markGap(count: number, reason: string, seq: number): void {
    if (typeof this.sink.onGap !== 'function' || count <= 0) return;
    const tail = this.segments[this.segments.length - 1];
    if (tail?.gap && tail.gap.reason === reason && this.segments.length > this.segmentHead) {
      tail.gap.count += count;
      return;
    }
    this.segments.push({
      events: undefined,
      spans: undefined,
      eventsTaken: 0,
      spansTaken: 0,
      count: 0,
      seq,
      gap: { count, reason },
    });
  }

  /** Starts writes while the sink has room for them (its concurrency) and is not backing off. */
  pump(): void {
    if (this.pumping || this.abandoned) return;
    this.pumping = true;
    try {
      while (this.backoffTimer === undefined && this.inFlight.size < this.concurrency) {
        const piece = this.retry.shift() ?? this.take();
        if (!piece) break;
        this.write(piece);
      }
    } finally {
      this.pumping = false;
    }
    if (this.held === 0) this.wakeIdle();
  }

  /** The next write: up to `maxBatch` items from the head of the backlog, joining segments. */
  private take(): Piece | undefined {
    const eventParts: (readonly TelemetryEvent[])[] = [];
    const spanParts: (readonly CompletedSpan[])[] = [];
    let events = 0;
    let spans = 0;
    let count = 0;
    let seq = -1;
    const max = this.maxBatch;
    while (this.segmentHead < this.segments.length) {
      const segment = this.segments[this.segmentHead]!;
      if (segment.gap) {
        // A gap goes out in order: only between writes, never inside one.
        if (seq >= 0) break;
        this.shiftSegment();
        try {
          this.sink.onGap?.(segment.gap.count, segment.gap.reason);
        } catch (error) {
          this.owner.sinkError(this, error, 0);
        }
        continue;
      }
      if (seq < 0) seq = segment.seq;
      if (segment.events) {
        const n = Math.min(max - events, segment.events.length - segment.eventsTaken);
        if (n > 0) {
          eventParts.push(sliceOf(segment.events, segment.eventsTaken, n));
          segment.eventsTaken += n;
          events += n;
          if (this.eventPrimary) {
            count += n;
            segment.count -= n;
          }
        }
      }
      if (segment.spans) {
        const n = Math.min(max - spans, segment.spans.length - segment.spansTaken);
        if (n > 0) {
          const part = sliceOf(segment.spans, segment.spansTaken, n);
          spanParts.push(part);
          segment.spansTaken += n;
          spans += n;
          if (!this.eventPrimary) {
            let c = 0;
            for (const s of part) c += eventCountOf(s);
            count += c;
            segment.count -= c;
          }
        }
      }
      const done =
        segment.eventsTaken >= (segment.events?.length ?? 0) &&
        segment.spansTaken >= (segment.spans?.length ?? 0);
      if (!done) break;
      this.shiftSegment();
      if (events >= max || spans >= max) break;
    }
    if (seq < 0) return undefined;
    return {
      events: this.eventPrimary ? join(eventParts) : undefined,
      spans: this.wantsSpans ? join(spanParts) : undefined,
      count,
      dropped: 0,
      seq,
      attempts: 0,
    };
  }

  private shiftSegment(): void {
    this.segmentHead += 1;
    if (this.segmentHead === this.segments.length) {
      this.segments.length = 0;
      this.segmentHead = 0;
    } else if (this.segmentHead >= 1024 && this.segmentHead * 2 >= this.segments.length) {
      this.segments.splice(0, this.segmentHead);
      this.segmentHead = 0;
    }
  }

  private write(piece: Piece): void {
    this.inFlight.add(piece);
    piece.attempts += 1;
    const sink = this.sink;
    let pending: PromiseLike<unknown> | undefined;
    try {
      let r: unknown;
      if (piece.events && piece.events.length > 0) r = sink.writeEvents!(piece.events);
      if (piece.spans && piece.spans.length > 0) {
        const spans = piece.spans;
        if (isThenable(r)) pending = r.then(() => sink.writeSpans!(spans));
        else r = sink.writeSpans!(spans);
      }
      if (!pending && isThenable(r)) pending = r;
    } catch (error) {
      // `throw undefined` is a failure too: the flag, not the value, says so.
      this.finish(piece, true, error);
      return;
    }
    if (!pending) {
      this.finish(piece, false, undefined);
      return;
    }
    pending.then(
      () => this.finish(piece, false, undefined),
      (error: unknown) => this.finish(piece, true, error),
    );
  }

  private finish(piece: Piece, failed: boolean, error: unknown): void {
    if (this.abandoned || !this.inFlight.delete(piece)) return;
    const remaining = piece.count - piece.dropped;
    if (!failed) {
      this.held -= remaining;
      this.delivered += remaining;
      this.failures = 0;
      if (this.backoffTimer !== undefined) {
        // Another write got through: the destination is back, stop waiting.
        clearTimeout(this.backoffTimer);
        this.backoffTimer = undefined;
      }
    } else if (isRetryable(error) && piece.attempts < this.maxAttempts) {
      this.failures += 1;
      insertBySeq(this.retry, piece);
      const wanted = (error as { retryAfterMs?: unknown }).retryAfterMs;
      const delay = Math.max(
        backoffDelay(this.failures, this.retryInitialMs, this.retryMaxMs),
        typeof wanted === 'number' && wanted > 0 ? Math.min(wanted, this.retryMaxMs * 12) : 0,
      );
      if (this.backoffTimer === undefined) {
        // Unref'd: a retry alone does not keep the process alive; an awaited flush or shutdown does.
        this.backoffTimer = setTimeout(() => {
          this.backoffTimer = undefined;
          this.pump();
        }, delay);
        this.backoffTimer.unref?.();
      }
      this.owner.sinkError(this, error, 0);
    } else {
      this.failed += 1;
      this.held -= remaining;
      const reason = isRetryable(error) ? 'retries_exhausted' : 'sink_error';
      this.dropped[reason] = (this.dropped[reason] ?? 0) + remaining;
      this.owner.sinkError(
        this,
        error === undefined ? new Error(`threw ${String(error)}`) : error,
        remaining,
      );
    }
    this.owner.progress();
    this.pump();
  }

  /** A drop the sink reported: out of the writes in flight first, then out of what was delivered. */
  private recordDropped(count: number, reason: string): void {
    if (!(count > 0) || this.abandoned) return;
    let left = Math.floor(count);
    let taken = 0;
    for (const piece of this.inFlight) {
      if (left === 0) break;
      const n = Math.min(left, piece.count - piece.dropped);
      piece.dropped += n;
      left -= n;
      taken += n;
    }
    this.held -= taken;
    const fromDelivered = Math.min(left, this.delivered);
    this.delivered -= fromDelivered;
    this.drop(taken + fromDelivered, reason);
  }

  /** The oldest drain sequence with data not yet delivered or dropped here (Infinity when none). */
  oldestUnfinished(): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const piece of this.inFlight) if (piece.seq < oldest) oldest = piece.seq;
    for (const piece of this.retry) if (piece.seq < oldest) oldest = piece.seq;
    for (let i = this.segmentHead; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      if (segment.gap) continue;
      if (segment.seq < oldest) oldest = segment.seq;
      break;
    }
    return oldest;
  }

  /** Resolves once nothing waits here (used by shutdown, after the queue is closed). */
  whenIdle(): Promise<void> {
    if (this.held === 0 || this.abandoned) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    if (waiters.length === 0) return;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Shutdown begins: a retry that waits for its backoff goes now. */
  expedite(): void {
    if (this.backoffTimer === undefined) return;
    clearTimeout(this.backoffTimer);
    this.backoffTimer = undefined;
    this.pump();
  }

  /**
   * Gives up on everything still here (shutdown's deadline passed): counts it
   * as dropped under `reason`, aborts the sink's signal, and ignores writes
   * that finish later. Returns how many events that was.
   */
  abandon(reason: string): number {
    if (this.abandoned) return 0;
    const lost = this.held;
    this.held = 0;
    this.abandoned = true;
    if (this.backoffTimer !== undefined) clearTimeout(this.backoffTimer);
    this.backoffTimer = undefined;
    this.segments.length = 0;
    this.segmentHead = 0;
    this.retry.length = 0;
    this.inFlight.clear();
    if (lost > 0) {
      this.dropped[reason] = (this.dropped[reason] ?? 0) + lost;
    }
    this.controller.abort(new Error(`${this.sink.name}: the pipeline's shutdown deadline passed`));
    this.wakeIdle();
    return lost;
  }
}

function sliceOf<T>(items: readonly T[], start: number, n: number): readonly T[] {
  return start === 0 && n === items.length ? items : items.slice(start, start + n);
}

function join<T>(parts: (readonly T[])[]): readonly T[] {
  if (parts.length === 1) return parts[0]!;
  const out: T[] = [];
  for (const part of parts) for (const item of part) out.push(item);
  return out;
}

function insertBySeq(list: Piece[], piece: Piece): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.seq > piece.seq) i--;
  list.splice(i, 0, piece);
}
