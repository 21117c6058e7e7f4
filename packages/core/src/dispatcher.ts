import { TelemetryConfigError } from './errors.ts';
import type { TelemetryEvent } from './schemas.ts';
import { type CompletedSpan, eventCountOf, type TelemetrySink } from './sink.ts';
import { type ChannelOwner, SinkChannel } from './sink-channel.ts';
import {
  type ChildEvent,
  LANE_EVENTS,
  LANE_SPANS,
  type SpanRecorder,
  TelemetrySpan,
} from './span.ts';
import { SpanAssembler } from './span-assembler.ts';

/** Counts for one sink; `accepted = delivered + Σdropped + pending` holds at every moment. */
export interface SinkStats {
  /** Events that reached the sink (for span sinks: as part of a completed span). */
  readonly delivered: number;
  /** Events this sink will never get, by reason (`sink_error`, `sink_backlog`, `shutdown_timeout`, ...). */
  readonly dropped: Readonly<Record<string, number>>;
  /** Writes that failed for good (retried writes count once, when they give up). */
  readonly failed: number;
  /** Events accepted and still on their way to this sink (queued, in its backlog, being written or retried, or in open spans). */
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
  /** Spans started and not yet ended (those of the helpers, and raw ones held for span sinks). */
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

/** Reasons reported elsewhere than in the rate-limited drop warning. */
const NOT_IN_DROP_WARNING = new Set([
  // An error line names the sink and says how many events went with it.
  'sink_error',
  'retries_exhausted',
  // The loss summary at shutdown says these.
  'shutdown_timeout',
  'unfinished_at_shutdown',
]);

/**
 * The bounded queue between callers and sinks. Everything a caller does is
 * synchronous and cheap; a drain on `setImmediate` hands the queue to each
 * sink's channel, which writes off the caller's path with the sink's own
 * concurrency, retries and bounded backlog. A slow or failing sink holds
 * back only itself.
 */
export class Dispatcher implements SpanRecorder, ChannelOwner {
  readonly lanes: number;
  /** Raw events, for sinks that take events; a span stands for its start or end event until the drain. */
  private events: (TelemetryEvent | TelemetrySpan)[] = [];
  /** Raw events from `logEvent`, for span assembly. */
  private toAssemble: TelemetryEvent[] = [];
  /** TTLs given explicitly, by event (most events leave it to the store's default). */
  private ttls: Map<TelemetryEvent, number> | undefined;
  /** Spans of the helpers that ended, made CompletedSpans at the drain. */
  private spans: TelemetrySpan[] = [];
  private spansQueuedEvents = 0;
  /** Events of open helper spans, held by the spans themselves for span sinks. */
  private helperHeld = 0;
  private helperOpen = 0;
  private scheduled = false;
  private closed = false;
  private acceptedCount = 0;
  private drainSeq = 0;
  private readonly refused: Record<string, number> = {};
  private readonly channels: SinkChannel[];
  private readonly spanOnlyChannels: SinkChannel[];
  private readonly assembler: SpanAssembler | undefined;
  private progressWaiters: (() => void)[] = [];
  // Rate-limited drop warnings.
  private lastDropWarnAt = Number.NEGATIVE_INFINITY;
  private dropsSinceWarn = new Map<string, { count: number; reason: string }>();
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
      return new SinkChannel(sink, this, options);
    });
    this.spanOnlyChannels = this.channels.filter((c) => !c.eventPrimary && c.wantsSpans);
    const anyEvents = this.channels.some((c) => c.eventPrimary);
    const anySpans = this.channels.some((c) => c.wantsSpans);
    this.lanes = (anyEvents ? LANE_EVENTS : 0) | (anySpans ? LANE_SPANS : 0);
    if (anySpans) {
      this.assembler = new SpanAssembler(options, (count, reason) => {
        // Raw events the assembler gives up on never reach the span-only sinks.
        this.dropForSpanSinks(count, reason);
      });
    }
    for (const ch of this.channels) {
      try {
        ch.sink.attach?.(ch.context);
      } catch (error) {
        this.sinkError(ch, error, 0);
      }
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Events waiting in the queue, each counted once. */
  private get queued(): number {
    return this.lanes & LANE_EVENTS
      ? this.events.length
      : this.toAssemble.length + this.spansQueuedEvents;
  }

  /** Why a new event cannot come in, if it cannot. */
  private admission(): string | undefined {
    if (this.closed) return 'shutdown';
    if (this.queued >= this.options.capacity) return 'queue_full';
    return undefined;
  }

  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drainNow);
    }
  }

  /** Takes a raw event (valid by construction or validated). Never throws. */
  enqueue(event: TelemetryEvent, ttlSeconds: number | undefined): void {
    const refusedFor = this.admission();
    if (refusedFor !== undefined) {
      this.refuse(refusedFor);
      return;
    }
    this.acceptedCount += 1;
    if (this.lanes & LANE_EVENTS) this.events.push(event);
    if (this.lanes & LANE_SPANS) {
      this.toAssemble.push(event);
      if (ttlSeconds !== undefined) {
        if (!this.ttls) this.ttls = new Map();
        this.ttls.set(event, ttlSeconds);
      }
    }
    this.schedule();
  }

  // SpanRecorder: what the spans of the helpers report.

  spanStarted(span: TelemetrySpan): string | undefined {
    const refusedFor = this.admission();
    if (refusedFor !== undefined) {
      this.refuse(refusedFor);
      return refusedFor;
    }
    this.acceptedCount += 1;
    this.helperOpen += 1;
    if (this.lanes & LANE_SPANS) this.helperHeld += 1;
    if (this.lanes & LANE_EVENTS) {
      this.events.push(span);
      this.schedule();
    }
    return undefined;
  }

  spanEvent(event: ChildEvent): string | undefined {
    const refusedFor = this.admission();
    if (refusedFor !== undefined) {
      this.refuse(refusedFor);
      return refusedFor;
    }
    this.acceptedCount += 1;
    if (this.lanes & LANE_SPANS) this.helperHeld += 1;
    if (this.lanes & LANE_EVENTS) {
      this.events.push(event);
      this.schedule();
    }
    return undefined;
  }

  spanEnded(span: TelemetrySpan, held: number): void {
    if (this.closed) {
      // Its start and logs were counted as unfinished when shutdown began.
      this.refuse('shutdown');
      return;
    }
    this.helperOpen -= 1;
    if (this.queued >= this.options.capacity) {
      this.refuse('queue_full');
      if (this.lanes & LANE_SPANS) {
        this.helperHeld -= held;
        this.dropForSpanSinks(held, 'queue_full');
      }
      return;
    }
    this.acceptedCount += 1;
    if (this.lanes & LANE_EVENTS) this.events.push(span);
    if (this.lanes & LANE_SPANS) {
      this.helperHeld -= held;
      this.spans.push(span);
      this.spansQueuedEvents += held + 1;
    }
    this.schedule();
  }

  /** Counts an event refused before it was accepted. */
  refuse(reason: string): void {
    this.refused[reason] = (this.refused[reason] ?? 0) + 1;
    this.noteDropLabel(reason, reason, 1);
  }

  private dropForSpanSinks(count: number, reason: string): void {
    if (count <= 0) return;
    for (const ch of this.spanOnlyChannels) ch.dropped[reason] = (ch.dropped[reason] ?? 0) + count;
    if (this.spanOnlyChannels.length > 0) this.noteDropLabel(reason, reason, count);
  }

  // ChannelOwner

  noteDrop(channel: SinkChannel, count: number, reason: string): void {
    this.noteDropLabel(`${reason} for "${channel.sink.name}"`, reason, count);
  }

  private noteDropLabel(label: string, reason: string, count: number): void {
    if (NOT_IN_DROP_WARNING.has(reason)) return;
    const entry = this.dropsSinceWarn.get(label);
    if (entry) entry.count += count;
    else this.dropsSinceWarn.set(label, { count, reason });
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
    const reasons = new Set<string>();
    for (const [label, { count, reason }] of this.dropsSinceWarn) {
      total += count;
      parts.push(`${label}: ${count}`);
      reasons.add(reason);
    }
    if (total === 0) return;
    this.lastDropWarnAt = now;
    this.dropsSinceWarn = new Map();
    const o = this.options;
    const hints: string[] = [];
    if (reasons.has('queue_full')) {
      hints.push(`the queue holds ${o.capacity} events: raise \`capacity\` or log less`);
    }
    if (reasons.has('sink_backlog')) {
      hints.push(
        `a sink is slower than events arrive and its backlog holds ${o.sinkCapacity} events: raise \`sinkCapacity\`, or see its lastError`,
      );
    }
    if (reasons.has('open_span_limit')) {
      hints.push(
        `more than ${o.maxOpenSpans} spans written as raw span_start events were open at once: raise \`maxOpenSpans\``,
      );
    }
    if (reasons.has('shutdown')) hints.push('events were logged after shutdown()');
    if (reasons.has('invalid')) {
      hints.push("invalid events were logged: use onInvalidEvent: 'throw' to see why");
    }
    const hint = hints.length > 0 ? `: ${hints.join('; ')}` : '';
    o.warn(
      `[telemetry] dropped ${total} event${total === 1 ? '' : 's'} since the last warning (${parts.join(', ')})${hint}. See stats().`,
    );
  }

  sinkError(ch: SinkChannel, error: unknown, lost: number): void {
    const message = error instanceof Error ? error.message : String(error);
    ch.lastError = message;
    const code =
      typeof (error as { code?: unknown } | null)?.code === 'string'
        ? (error as { code: string }).code
        : error instanceof Error
          ? error.name
          : 'error';
    const now = Date.now();
    const seen = ch.errorReports.get(code);
    if (seen && now - seen.at < this.options.warnIntervalMs) {
      seen.suppressed += 1;
      return;
    }
    const repeats = seen?.suppressed ?? 0;
    ch.errorReports.set(code, { at: now, suppressed: 0 });
    this.options.warn(
      `[telemetry] sink "${ch.sink.name}" failed: ${message}${lost > 0 ? ` (${lost} events lost)` : ''}${
        repeats > 0 ? `; ${repeats} more errors since the last report` : ''
      }. See stats().sinks["${ch.sink.name}"].`,
    );
  }

  progress(): void {
    const waiters = this.progressWaiters;
    if (waiters.length === 0) return;
    this.progressWaiters = [];
    for (const w of waiters) w();
  }

  /** Moves everything queued to the sinks' channels and starts their writes. */
  drain(): void {
    this.scheduled = false;
    const queuedEvents = this.events;
    const toAssemble = this.toAssemble;
    const endedSpans = this.spans;
    if (queuedEvents.length === 0 && toAssemble.length === 0 && endedSpans.length === 0) return;
    const ttls = this.ttls;
    const helperSpanEvents = this.spansQueuedEvents;
    this.events = [];
    this.toAssemble = [];
    this.spans = [];
    this.spansQueuedEvents = 0;
    this.ttls = undefined;
    this.drainSeq += 1;
    const seq = this.drainSeq;

    // The spans' events and records are built here, off the caller's path.
    for (let i = 0; i < queuedEvents.length; i++) {
      const e = queuedEvents[i]!;
      if (e instanceof TelemetrySpan) queuedEvents[i] = e.materializeEvent();
    }
    const events = queuedEvents as TelemetryEvent[];
    const helperSpans: CompletedSpan[] = new Array(endedSpans.length);
    for (let i = 0; i < endedSpans.length; i++) helperSpans[i] = endedSpans[i]!.toCompleted();

    let spans: CompletedSpan[] = helperSpans;
    let spanEvents = helperSpanEvents;
    const assembler = this.assembler;
    if (assembler) {
      const now = Date.now();
      assembler.sweep(now);
      for (let i = 0; i < helperSpans.length; i++) {
        const adopted = assembler.adopt(helperSpans[i]!);
        if (adopted !== helperSpans[i]) {
          spanEvents += adopted.events.length - helperSpans[i]!.events.length;
          helperSpans[i] = adopted;
        }
      }
      if (toAssemble.length > 0) {
        const assembled: CompletedSpan[] = [];
        for (const event of toAssemble) assembler.add(event, ttls?.get(event), now, assembled);
        if (assembled.length > 0) {
          for (const s of assembled) spanEvents += eventCountOf(s);
          spans = helperSpans.length > 0 ? helperSpans.concat(assembled) : assembled;
        }
      }
    }

    for (const ch of this.channels) {
      if (ch.eventPrimary) {
        const withSpans = ch.wantsSpans && spans.length > 0 ? spans : undefined;
        if (events.length > 0 || withSpans) ch.admit(events, withSpans, events.length, seq);
      } else if (spans.length > 0) {
        ch.admit(undefined, spans, spanEvents, seq);
      }
    }
    this.progress();
  }

  /** Resolves when everything accepted before the call is delivered or dropped by every sink. */
  async settle(): Promise<void> {
    this.drain();
    const target = this.drainSeq;
    while (!this.channels.every((ch) => ch.oldestUnfinished() > target)) {
      await new Promise<void>((resolve) => this.progressWaiters.push(resolve));
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

  /**
   * Stops accepting, hands everything queued to the channels, counts what is
   * still held in open spans as dropped (`unfinished_at_shutdown`), and cuts
   * retry backoffs short.
   */
  close(): void {
    if (this.closed) return;
    this.drain();
    this.closed = true;
    this.assembler?.clear('unfinished_at_shutdown');
    if (this.helperHeld > 0) this.dropForSpanSinks(this.helperHeld, 'unfinished_at_shutdown');
    this.helperHeld = 0;
    this.helperOpen = 0;
    for (const ch of this.channels) ch.expedite();
  }

  /** Per sink: waits until everything for it is delivered or dropped, then shuts it down. */
  shutdownSinks(): Promise<void> {
    return Promise.all(
      this.channels.map(async (ch) => {
        await ch.whenIdle();
        await this.shutdownSink(ch);
      }),
    ).then(() => undefined);
  }

  private readonly sinkShutdowns = new Map<SinkChannel, Promise<void>>();

  /** Calls the sink's shutdown once; its failure is reported, never thrown. */
  private shutdownSink(ch: SinkChannel): Promise<void> {
    let done = this.sinkShutdowns.get(ch);
    if (!done) {
      done = (async () => ch.sink.shutdown?.())().then(
        () => undefined,
        (error: unknown) => this.sinkError(ch, error, 0),
      );
      this.sinkShutdowns.set(ch, done);
    }
    return done;
  }

  /**
   * Shutdown's deadline passed: whatever is not delivered yet is counted as
   * dropped (`shutdown_timeout`), each sink's signal is aborted, and sinks
   * that were still busy are told to shut down without being waited for.
   */
  abandon(): void {
    for (const ch of this.channels) {
      ch.abandon('shutdown_timeout');
      void this.shutdownSink(ch);
    }
    this.progress();
  }

  /** Prints the rate-limited drop warning now, and one summary of every loss, if there was any. */
  reportLosses(): void {
    if (this.dropWarnTimer) {
      clearTimeout(this.dropWarnTimer);
      this.dropWarnTimer = undefined;
    }
    this.warnDrops(Date.now());
    const parts: string[] = [];
    let total = 0;
    const refused = Object.entries(this.refused);
    if (refused.length > 0) {
      for (const [, n] of refused) total += n;
      parts.push(`refused ${refused.map(([r, n]) => `${r}: ${n}`).join(', ')}`);
    }
    for (const ch of this.channels) {
      const entries = Object.entries(ch.dropped).filter(([, n]) => n > 0);
      if (entries.length === 0) continue;
      let lost = 0;
      for (const [, n] of entries) lost += n;
      total += lost;
      parts.push(
        `sink "${ch.sink.name}" lost ${lost} (${entries.map(([r, n]) => `${r}: ${n}`).join(', ')}${
          ch.lastError ? `; last error: ${ch.lastError}` : ''
        })`,
      );
    }
    if (total === 0) return;
    this.options.warn(
      `[telemetry] shutdown: not everything was delivered: ${parts.join('; ')}. See stats().`,
    );
  }

  stats(): TelemetryStats {
    const sinks: Record<string, SinkStats> = {};
    const rawQueued = this.events.length;
    const spanQueued = this.toAssemble.length + this.spansQueuedEvents;
    const spanHeld = this.helperHeld + (this.assembler?.held ?? 0);
    for (const ch of this.channels) {
      sinks[ch.sink.name] = {
        delivered: ch.delivered,
        dropped: { ...ch.dropped },
        failed: ch.failed,
        pending: ch.held + (ch.eventPrimary ? rawQueued : spanQueued + spanHeld),
        ...(ch.lastError !== undefined ? { lastError: ch.lastError } : {}),
      };
    }
    return {
      accepted: this.acceptedCount,
      dropped: { ...this.refused },
      queued: this.queued,
      openSpans: this.helperOpen + (this.assembler?.openSpans ?? 0),
      sinks,
    };
  }
}
