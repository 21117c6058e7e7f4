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

/** The raw events of one span that are not part of a completed span yet. */
function heldIn(w: Waiting): number {
  return w.events.length + (w.end ? 1 : 0);
}

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
  /** Open spans held at most; a new one beyond it is refused (and counted), so open roots stay whole. */
  readonly maxOpenSpans: number;
  /** An open span older than this is evicted (and counted). */
  readonly openSpanTimeoutMs: number;
  /** Events waiting for a span start are counted as dropped after this long. */
  readonly orphanTimeoutMs: number;
}

/** Reports events the assembler gave up on, by reason. */
export type DropReporter = (count: number, reason: string) => void;

const RECENT_LIMIT = 10_000;

/** A set of the last `limit` ids added, as a ring: Set iteration after many deletes is slow in V8. */
class RecentIds {
  private readonly ids = new Set<string>();
  private readonly ring: (string | undefined)[];
  private next = 0;

  constructor(private readonly limit: number) {
    this.ring = new Array(limit);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    const evicted = this.ring[this.next];
    if (evicted !== undefined) this.ids.delete(evicted);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.limit;
    this.ids.add(id);
  }
}

/**
 * Builds completed spans from raw span start/end events (written through
 * `logEvent`) and the logs and metrics logged inside them. It runs once per
 * dispatcher, for every sink that wants whole spans, and holds memory only
 * within its limits. Spans of the tracing helpers complete themselves and
 * are only noted here, so that raw events naming them are sorted correctly.
 */
export class SpanAssembler {
  private readonly open = new Map<string, OpenSpan>();
  private readonly waiting = new Map<string, Waiting>();
  /** Span ids completed lately, to tell a late event from an early one. */
  private readonly recent = new RecentIds(RECENT_LIMIT);
  /** Span ids refused lately (`open_span_limit`): their later events are refused alike. */
  private readonly refused = new RecentIds(RECENT_LIMIT);
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
        const early = this.waiting.get(spanId);
        if (this.open.size >= this.limits.maxOpenSpans) {
          // Refuse the newest: the open spans are older, and roots open first.
          this.refused.add(spanId);
          this.reportDrop(1, 'open_span_limit');
          if (early) {
            this.waiting.delete(spanId);
            this.giveUp(heldIn(early), 'open_span_limit');
          }
          return;
        }
        this.heldEvents += 1;
        const span: OpenSpan = { start: event, events: [], openedAt: now };
        this.open.set(spanId, span);
        if (early) {
          this.waiting.delete(spanId);
          for (const e of early.events) span.events.push(e);
          if (early.end) this.complete(spanId, span, early.end, early.endTtl, out);
        }
        return;
      }
      if (payload.type === 'span_end') {
        if (this.refused.has(spanId)) {
          this.reportDrop(1, 'open_span_limit');
          return;
        }
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
        if (!w) {
          this.heldEvents -= 1;
          this.reportDrop(1, 'orphan_limit');
          return;
        }
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
    if (this.refused.has(spanId)) {
      this.reportDrop(1, 'open_span_limit');
      return;
    }
    const w = this.waitingFor(spanId, now);
    if (!w) {
      this.reportDrop(1, 'orphan_limit');
      return;
    }
    this.heldEvents += 1;
    w.events.push(event);
  }

  /**
   * A span that completed itself (a tracing helper's): remembered, so that a
   * raw event naming it later counts as late; raw logs that arrived for it
   * before it ended are folded in.
   */
  adopt(span: CompletedSpan): CompletedSpan {
    this.recent.add(span.span_id);
    if (this.waiting.size === 0) return span;
    const w = this.waiting.get(span.span_id);
    if (!w) return span;
    this.waiting.delete(span.span_id);
    if (w.end) {
      this.heldEvents -= 1;
      this.reportDrop(1, 'duplicate_span_end');
    }
    if (w.events.length === 0) return span;
    this.heldEvents -= w.events.length;
    return { ...span, events: [...span.events, ...w.events] };
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
      this.giveUp(heldIn(w), 'orphan_timeout');
    }
  }

  /** Drops everything still held (at shutdown). */
  clear(reason: string): void {
    for (const span of this.open.values()) this.giveUp(1 + span.events.length, reason);
    for (const w of this.waiting.values()) this.giveUp(heldIn(w), reason);
    this.open.clear();
    this.waiting.clear();
  }

  /** The waiting room for events of a span not started yet; `undefined` when it is full. */
  private waitingFor(spanId: string, now: number): Waiting | undefined {
    let w = this.waiting.get(spanId);
    if (!w) {
      // Full: refuse the newest, as for open spans.
      if (this.waiting.size >= this.limits.maxOpenSpans) return undefined;
      w = { events: [], end: undefined, endTtl: undefined, since: now };
      this.waiting.set(spanId, w);
    }
    return w;
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
    for (const key of Object.keys(startAttrs)) {
      // Own keys only: `constructor` or `toString` are attributes like any other.
      if (!Object.hasOwn(endAttrs, key)) {
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
