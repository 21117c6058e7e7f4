import type {
  MetricEvent,
  SpanEndPayload,
  SpanStartPayload,
  StructuredLogEvent,
  TelemetryEvent,
  UnstructuredLogEvent,
} from './schemas.ts';
import type { CompletedSpan } from './sink.ts';

type ChildEvent = UnstructuredLogEvent | MetricEvent;

interface OpenSpan {
  readonly start: StructuredLogEvent;
  readonly events: ChildEvent[];
  readonly openedAt: number;
}

/** Events that arrived before their span's start event. */
interface Waiting {
  readonly events: ChildEvent[];
  end: StructuredLogEvent | undefined;
  endTtl: number | undefined;
  readonly since: number;
}

export interface AssemblerLimits {
  /** Open spans held at most; the oldest is evicted (and counted) beyond it. */
  readonly maxOpenSpans: number;
  /** An open span older than this is evicted (and counted). */
  readonly openSpanTimeoutMs: number;
  /** Events waiting for a span start are counted as dropped after this long. */
  readonly orphanTimeoutMs: number;
}

/** Reports events the assembler gave up on, by reason. */
export type DropReporter = (count: number, reason: string) => void;

const RECENT_LIMIT = 10_000;

/**
 * Builds completed spans from span start/end events and the logs and metrics
 * logged inside them. It runs once per dispatcher, for every sink that wants
 * whole spans, and holds memory only within its limits.
 */
export class SpanAssembler {
  private readonly open = new Map<string, OpenSpan>();
  private readonly waiting = new Map<string, Waiting>();
  /** Span ids completed lately, to tell a late event from an early one. */
  private readonly recent = new Set<string>();
  /** The same ids in completion order, as a ring: Set iteration after many deletes is slow in V8. */
  private readonly recentRing: (string | undefined)[] = new Array(RECENT_LIMIT);
  private recentNext = 0;
  private heldEvents = 0;

  constructor(
    private readonly limits: AssemblerLimits,
    private readonly reportDrop: DropReporter,
  ) {}

  /** Events accepted but not yet part of a completed span. */
  get held(): number {
    return this.heldEvents;
  }

  get openSpans(): number {
    return this.open.size;
  }

  /** Folds one event in; a span that completes is pushed to `out`. */
  add(
    event: TelemetryEvent,
    ttlSeconds: number | undefined,
    now: number,
    out: CompletedSpan[],
  ): void {
    const spanId = event.span_id;
    if (event.type === 'structured_log') {
      const payload = event.payload;
      if (payload.type === 'span_start') {
        if (this.open.has(spanId) || this.recent.has(spanId)) {
          this.reportDrop(1, 'duplicate_span_start');
          return;
        }
        this.heldEvents += 1;
        const span: OpenSpan = { start: event, events: [], openedAt: now };
        this.open.set(spanId, span);
        if (this.open.size > this.limits.maxOpenSpans) this.evictOldest('open_span_limit');
        const early = this.waiting.get(spanId);
        if (early) {
          this.waiting.delete(spanId);
          for (const e of early.events) span.events.push(e);
          if (early.end) this.complete(spanId, span, early.end, early.endTtl, out);
        }
        return;
      }
      if (payload.type === 'span_end') {
        this.heldEvents += 1;
        const span = this.open.get(spanId);
        if (span) {
          this.complete(spanId, span, event, ttlSeconds, out);
          return;
        }
        if (this.recent.has(spanId)) {
          this.heldEvents -= 1;
          this.reportDrop(1, 'duplicate_span_end');
          return;
        }
        const w = this.waitingFor(spanId, now);
        if (w.end) {
          this.heldEvents -= 1;
          this.reportDrop(1, 'duplicate_span_end');
          return;
        }
        w.end = event;
        w.endTtl = ttlSeconds;
        return;
      }
      // A structured payload kind this version does not assemble: nothing to fold.
      this.reportDrop(1, 'unsupported_payload');
      return;
    }
    const span = this.open.get(spanId);
    if (span) {
      span.events.push(event);
      this.heldEvents += 1;
      return;
    }
    if (this.recent.has(spanId)) {
      this.reportDrop(1, 'late_event');
      return;
    }
    this.heldEvents += 1;
    this.waitingFor(spanId, now).events.push(event);
  }

  /** Gives up on spans and early events held past their limits. */
  sweep(now: number): void {
    const openDeadline = now - this.limits.openSpanTimeoutMs;
    for (const [spanId, span] of this.open) {
      if (span.openedAt > openDeadline) break; // insertion order: the rest are newer
      this.open.delete(spanId);
      this.giveUp(1 + span.events.length, 'open_span_timeout');
    }
    const orphanDeadline = now - this.limits.orphanTimeoutMs;
    for (const [spanId, w] of this.waiting) {
      if (w.since > orphanDeadline) break;
      this.waiting.delete(spanId);
      this.giveUp(w.events.length + (w.end ? 1 : 0), 'orphan_timeout');
    }
  }

  /** Drops everything still held (at shutdown). */
  clear(reason: string): void {
    for (const span of this.open.values()) this.giveUp(1 + span.events.length, reason);
    for (const w of this.waiting.values()) this.giveUp(w.events.length + (w.end ? 1 : 0), reason);
    this.open.clear();
    this.waiting.clear();
  }

  private waitingFor(spanId: string, now: number): Waiting {
    let w = this.waiting.get(spanId);
    if (!w) {
      w = { events: [], end: undefined, endTtl: undefined, since: now };
      this.waiting.set(spanId, w);
      if (this.waiting.size > this.limits.maxOpenSpans) {
        const [oldestId, oldest] = this.waiting.entries().next().value as [string, Waiting];
        this.waiting.delete(oldestId);
        this.giveUp(oldest.events.length + (oldest.end ? 1 : 0), 'orphan_limit');
      }
    }
    return w;
  }

  private evictOldest(reason: string): void {
    const [spanId, span] = this.open.entries().next().value as [string, OpenSpan];
    this.open.delete(spanId);
    this.giveUp(1 + span.events.length, reason);
  }

  private giveUp(count: number, reason: string): void {
    if (count <= 0) return;
    this.heldEvents -= count;
    this.reportDrop(count, reason);
  }

  private complete(
    spanId: string,
    span: OpenSpan,
    end: StructuredLogEvent,
    ttlSeconds: number | undefined,
    out: CompletedSpan[],
  ): void {
    this.open.delete(spanId);
    const evicted = this.recentRing[this.recentNext];
    if (evicted !== undefined) this.recent.delete(evicted);
    this.recentRing[this.recentNext] = spanId;
    this.recentNext = (this.recentNext + 1) % RECENT_LIMIT;
    this.recent.add(spanId);
    this.heldEvents -= 2 + span.events.length;
    const start = span.start;
    // Only span_start events open spans and only span_end events complete them.
    const startPayload = start.payload as SpanStartPayload;
    const endPayload = end.payload as SpanEndPayload;
    const startAttrs = start.attributes;
    const endAttrs = end.attributes;
    // Spans made by the helpers end with every attribute; only events written by
    // hand may leave start attributes out of the end event, and only then merge.
    let attributes = endAttrs;
    for (const key in startAttrs) {
      if (!(key in endAttrs)) {
        attributes = { ...startAttrs, ...endAttrs };
        break;
      }
    }
    out.push({
      trace_id: start.trace_id,
      span_id: spanId,
      parent_span_id: startPayload.parent_span_id,
      name: endPayload.name ?? startPayload.name,
      kind: startPayload.kind ?? 'internal',
      start_time: start.timestamp,
      end_time: end.timestamp,
      status: endPayload.status,
      status_message: endPayload.status_message,
      attributes,
      events: span.events,
      ttl_seconds: ttlSeconds,
    });
  }
}
