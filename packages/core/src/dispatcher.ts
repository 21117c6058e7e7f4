import { TelemetryConfigError } from './errors.ts';
import type { TelemetryEvent } from './schemas.ts';
import { type CompletedSpan, eventCountOf, type SinkContext, type TelemetrySink } from './sink.ts';
import { SpanAssembler } from './span-assembler.ts';

/** Counts for one sink; `accepted = delivered + Σdropped + pending` holds at every moment. */
export interface SinkStats {
  /** Events that reached the sink (for span sinks: as part of a completed span). */
  readonly delivered: number;
  /** Events this sink will never get, by reason (`sink_error`, `sink_backlog`, `open_span_timeout`, ...). */
  readonly dropped: Readonly<Record<string, number>>;
  /** Writes that threw or rejected. */
  readonly failed: number;
  /** Events accepted and still on their way to this sink. */
  readonly pending: number;
  /** The last error this sink reported, if any. */
  readonly lastError?: string;
}

export interface TelemetryStats {
  /** Events taken into the queue. */
  readonly accepted: number;
  /** Events refused at the door, by reason (`queue_full`, `shutdown`, `invalid`). */
  readonly dropped: Readonly<Record<string, number>>;
  /** Events in the queue, not yet handed to the sinks. */
  readonly queued: number;
  /** Spans started and not yet ended, held for the sinks that want whole spans. */
  readonly openSpans: number;
  readonly sinks: Readonly<Record<string, SinkStats>>;
}

export interface DispatcherOptions {
  readonly sinks: readonly TelemetrySink[];
  readonly capacity: number;
  readonly sinkCapacity: number;
  readonly batchSize: number;
  readonly warnIntervalMs: number;
  readonly maxOpenSpans: number;
  readonly openSpanTimeoutMs: number;
  readonly orphanTimeoutMs: number;
  readonly warn: (message: string) => void;
}

interface Chunk {
  readonly events: readonly TelemetryEvent[] | undefined;
  readonly spans: readonly CompletedSpan[] | undefined;
  readonly count: number;
  /** Dispatcher sequence number up to which this chunk carries events. */
  readonly seq: number;
}

class SinkChannel {
  readonly chunks: Chunk[] = [];
  busy = false;
  delivered = 0;
  failed = 0;
  inFlight = 0;
  doneSeq = 0;
  /** The chunk being written, and how much of it the sink reported dropped meanwhile. */
  writing: Chunk | undefined;
  writingDropped = 0;
  readonly dropped: Record<string, number> = {};
  lastError: string | undefined;
  lastErrorWarnAt = Number.NEGATIVE_INFINITY;
  errorsSinceWarn = 0;
  /** True when the sink takes raw events; its counts are in events as accepted. */
  readonly eventPrimary: boolean;

  constructor(readonly sink: TelemetrySink) {
    this.eventPrimary = typeof sink.writeEvents === 'function';
  }

  drop(count: number, reason: string): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + count;
  }

  get droppedTotal(): number {
    let n = 0;
    for (const k in this.dropped) n += this.dropped[k]!;
    return n;
  }
}

/**
 * The bounded queue between callers and sinks. `enqueue` is synchronous and
 * cheap; batches reach each sink off the caller's path, one write at a time
 * per sink, so a slow or failing sink holds back only itself.
 */
export class Dispatcher {
  private queue: TelemetryEvent[] = [];
  /** TTLs given explicitly, by event (most events leave it to the store's default). */
  private ttls: Map<TelemetryEvent, number> | undefined;
  private scheduled = false;
  private closed = false;
  private acceptedCount = 0;
  private drainedSeq = 0;
  private readonly refused: Record<string, number> = {};
  private readonly channels: SinkChannel[];
  private readonly spanChannels: SinkChannel[];
  private readonly assembler: SpanAssembler | undefined;
  private readonly idleWaiters: Array<() => void> = [];
  // Rate-limited drop warnings.
  private lastDropWarnAt = Number.NEGATIVE_INFINITY;
  private dropsSinceWarn: Record<string, number> = {};
  private dropWarnTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly drainNow = () => this.drain();

  constructor(private readonly options: DispatcherOptions) {
    const names = new Set<string>();
    this.channels = options.sinks.map((sink) => {
      if (names.has(sink.name)) {
        throw new TelemetryConfigError(
          `Two sinks are named "${sink.name}": give each sink a unique \`name\` option.`,
        );
      }
      names.add(sink.name);
      return new SinkChannel(sink);
    });
    this.spanChannels = this.channels.filter((c) => typeof c.sink.writeSpans === 'function');
    if (this.spanChannels.length > 0) {
      this.assembler = new SpanAssembler(options, (count, reason) => {
        // Events the assembler gives up on never reach the span-only sinks.
        for (const ch of this.spanChannels) if (!ch.eventPrimary) ch.drop(count, reason);
      });
    }
    for (const ch of this.channels) {
      const context: SinkContext = {
        recordDropped: (count, reason) => {
          if (!(count > 0)) return;
          // A drop reported during a write comes out of the batch being written;
          // one reported later comes out of what was already delivered.
          let n = 0;
          if (ch.writing) {
            n = Math.min(count, ch.writing.count - ch.writingDropped);
            ch.writingDropped += n;
          }
          const fromDelivered = Math.min(count - n, ch.delivered);
          ch.delivered -= fromDelivered;
          ch.drop(n + fromDelivered, reason);
        },
        reportError: (error) => this.sinkError(ch, error, 0),
      };
      try {
        ch.sink.attach?.(context);
      } catch (error) {
        this.sinkError(ch, error, 0);
      }
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Takes an event that is valid by construction. Never throws. */
  enqueue(event: TelemetryEvent, ttlSeconds: number | undefined): void {
    if (this.closed) {
      this.refuse('shutdown');
      return;
    }
    if (this.queue.length >= this.options.capacity) {
      this.refuse('queue_full');
      return;
    }
    this.queue.push(event);
    if (ttlSeconds !== undefined) {
      if (!this.ttls) this.ttls = new Map();
      this.ttls.set(event, ttlSeconds);
    }
    this.acceptedCount += 1;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drainNow);
    }
  }

  /** Counts an event refused before it was accepted. */
  refuse(reason: string): void {
    this.refused[reason] = (this.refused[reason] ?? 0) + 1;
    this.dropsSinceWarn[reason] = (this.dropsSinceWarn[reason] ?? 0) + 1;
    const now = Date.now();
    if (now - this.lastDropWarnAt >= this.options.warnIntervalMs) {
      this.warnDrops(now);
    } else if (!this.dropWarnTimer) {
      const delay = this.lastDropWarnAt + this.options.warnIntervalMs - now;
      this.dropWarnTimer = setTimeout(() => {
        this.dropWarnTimer = undefined;
        this.warnDrops(Date.now());
      }, delay);
      this.dropWarnTimer.unref?.();
    }
  }

  private warnDrops(now: number): void {
    let total = 0;
    const parts: string[] = [];
    for (const reason in this.dropsSinceWarn) {
      const n = this.dropsSinceWarn[reason]!;
      total += n;
      parts.push(`${reason}: ${n}`);
    }
    if (total === 0) return;
    this.lastDropWarnAt = now;
    const drops = this.dropsSinceWarn;
    this.dropsSinceWarn = {};
    const hints: string[] = [];
    if (drops.queue_full) {
      hints.push(`the queue holds ${this.options.capacity} events: raise \`capacity\` or log less`);
    }
    if (drops.shutdown) hints.push('events were logged after shutdown()');
    if (drops.invalid)
      hints.push("invalid events were logged: use onInvalidEvent: 'throw' to see why");
    const hint = hints.join('; ');
    this.options.warn(
      `[telemetry] dropped ${total} event${total === 1 ? '' : 's'} since the last warning (${parts.join(', ')}): ${hint}. See stats().`,
    );
  }

  /** Moves everything queued to the sinks' channels and starts their writes. */
  drain(): void {
    this.scheduled = false;
    const events = this.queue;
    const ttls = this.ttls;
    if (events.length === 0) return;
    this.queue = [];
    this.ttls = undefined;
    const batchSize = this.options.batchSize;
    const now = Date.now();
    this.assembler?.sweep(now);
    for (let start = 0; start < events.length; start += batchSize) {
      const end = Math.min(start + batchSize, events.length);
      const slice = start === 0 && end === events.length ? events : events.slice(start, end);
      let spans: CompletedSpan[] | undefined;
      let spanEvents = 0;
      if (this.assembler) {
        spans = [];
        for (let i = start; i < end; i++) {
          const event = events[i]!;
          this.assembler.add(event, ttls?.get(event), now, spans);
        }
        for (const s of spans) spanEvents += eventCountOf(s);
      }
      this.drainedSeq += end - start;
      for (const ch of this.channels) {
        const wantsSpans =
          spans !== undefined && spans.length > 0 && ch.sink.writeSpans !== undefined;
        const count = ch.eventPrimary ? slice.length : wantsSpans ? spanEvents : 0;
        if (count === 0 && !wantsSpans) {
          if (ch.chunks.length === 0 && !ch.busy) ch.doneSeq = this.drainedSeq;
          continue;
        }
        if (ch.inFlight + count > this.options.sinkCapacity) {
          ch.drop(count, 'sink_backlog');
          continue;
        }
        ch.inFlight += count;
        ch.chunks.push({
          events: ch.eventPrimary ? slice : undefined,
          spans: wantsSpans ? spans : undefined,
          count,
          seq: this.drainedSeq,
        });
        // Start at once: a synchronous sink empties its backlog slice by slice.
        if (!ch.busy) this.pump(ch);
      }
    }
  }

  private pump(ch: SinkChannel): void {
    ch.busy = true;
    const sink = ch.sink;
    const next = (): void => {
      for (;;) {
        const chunk = ch.chunks.shift();
        if (!chunk) {
          ch.busy = false;
          ch.doneSeq = this.drainedSeq;
          this.notifyIdle();
          return;
        }
        let pending: PromiseLike<void> | undefined;
        ch.writing = chunk;
        ch.writingDropped = 0;
        try {
          let r: void | Promise<void> | undefined;
          if (chunk.events) r = sink.writeEvents!(chunk.events);
          if (chunk.spans) {
            pending = isThenable(r) ? r.then(() => sink.writeSpans!(chunk.spans!)) : undefined;
            if (!pending) r = sink.writeSpans!(chunk.spans);
          }
          if (!pending && isThenable(r)) pending = r;
        } catch (error) {
          this.finishChunk(ch, chunk, error);
          continue;
        }
        if (pending) {
          Promise.resolve(pending).then(
            () => {
              this.finishChunk(ch, chunk, undefined);
              next();
            },
            (error: unknown) => {
              this.finishChunk(ch, chunk, error ?? new Error('rejected'));
              next();
            },
          );
          return;
        }
        this.finishChunk(ch, chunk, undefined);
      }
    };
    next();
  }

  private finishChunk(ch: SinkChannel, chunk: Chunk, error: unknown): void {
    const remaining = chunk.count - ch.writingDropped;
    ch.writing = undefined;
    ch.writingDropped = 0;
    ch.inFlight -= chunk.count;
    ch.doneSeq = chunk.seq;
    if (error === undefined) {
      ch.delivered += remaining;
    } else {
      ch.failed += 1;
      ch.drop(remaining, 'sink_error');
      this.sinkError(ch, error, remaining);
    }
    this.notifyIdle();
  }

  private sinkError(ch: SinkChannel, error: unknown, lost: number): void {
    const message = error instanceof Error ? error.message : String(error);
    ch.lastError = message;
    ch.errorsSinceWarn += 1;
    const now = Date.now();
    if (now - ch.lastErrorWarnAt < this.options.warnIntervalMs) return;
    const repeats = ch.errorsSinceWarn - 1;
    ch.errorsSinceWarn = 0;
    ch.lastErrorWarnAt = now;
    this.options.warn(
      `[telemetry] sink "${ch.sink.name}" failed: ${message}${lost > 0 ? ` (${lost} events lost)` : ''}${
        repeats > 0 ? `; ${repeats} more errors since the last report` : ''
      }. See stats().sinks["${ch.sink.name}"].`,
    );
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters.splice(0);
    for (const w of waiters) w();
  }

  /** Resolves when every event accepted before the call has been handled by every sink. */
  async settle(): Promise<void> {
    this.drain();
    const target = this.drainedSeq;
    const done = () =>
      this.channels.every((ch) => ch.doneSeq >= target || (!ch.busy && ch.chunks.length === 0));
    while (!done()) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  /**
   * Asks each sink to push out what it buffers itself. False when a sink's
   * forceFlush failed or answered `false` (it still holds data).
   */
  async flushSinks(): Promise<boolean> {
    const results = await Promise.all(
      this.channels.map(async (ch) => {
        try {
          return (await ch.sink.forceFlush?.()) !== false;
        } catch (error) {
          this.sinkError(ch, error, 0);
          return false;
        }
      }),
    );
    return results.every(Boolean);
  }

  /** Stops accepting; what is still held for whole spans is counted as dropped. */
  close(): void {
    this.closed = true;
  }

  dropUnfinished(): void {
    this.assembler?.clear('unfinished_at_shutdown');
  }

  async shutdownSinks(): Promise<void> {
    if (this.dropWarnTimer) {
      clearTimeout(this.dropWarnTimer);
      this.dropWarnTimer = undefined;
      this.warnDrops(Date.now());
    }
    await Promise.all(
      this.channels.map(async (ch) => {
        try {
          await ch.sink.shutdown?.();
        } catch (error) {
          this.sinkError(ch, error, 0);
        }
      }),
    );
  }

  stats(): TelemetryStats {
    const sinks: Record<string, SinkStats> = {};
    const queued = this.queue.length;
    const held = this.assembler?.held ?? 0;
    for (const ch of this.channels) {
      sinks[ch.sink.name] = {
        delivered: ch.delivered,
        dropped: { ...ch.dropped },
        failed: ch.failed,
        pending: queued + ch.inFlight + (ch.eventPrimary ? 0 : held),
        ...(ch.lastError !== undefined ? { lastError: ch.lastError } : {}),
      };
    }
    return {
      accepted: this.acceptedCount,
      dropped: { ...this.refused },
      queued,
      openSpans: this.assembler?.openSpans ?? 0,
      sinks,
    };
  }
}

function isThenable(value: unknown): value is PromiseLike<void> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as PromiseLike<void>).then === 'function'
  );
}
