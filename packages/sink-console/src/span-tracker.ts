import type { Attributes, EpochMicros } from '@telemetry/core/sink';

export interface OpenSpan {
  readonly name: string;
  readonly parentSpanId: string | null;
  /** 0 for a span whose parent this sink has not seen (a root, or a parent in another process). */
  readonly depth: number;
  readonly start: EpochMicros;
  readonly autotraced: boolean;
}

/**
 * Spans that started and have not ended, so that END lines know their name,
 * depth and duration, and logs know how deep to indent. Built from the raw
 * events in order: the sink needs the START line live, before the span ends.
 */
export class SpanTracker {
  private readonly open = new Map<string, OpenSpan>();

  /** Spans that never end (a crashed task, a lost end event) must not grow memory without bound. */
  constructor(private readonly maxOpen = 10_000) {}

  start(
    spanId: string,
    parentSpanId: string | null,
    name: string,
    start: EpochMicros,
    attributes: Readonly<Attributes>,
  ): OpenSpan {
    const parent = parentSpanId === null ? undefined : this.open.get(parentSpanId);
    const span: OpenSpan = {
      name,
      parentSpanId,
      depth: parent ? parent.depth + 1 : 0,
      start,
      autotraced: isAutotraced(attributes),
    };
    if (this.open.size >= this.maxOpen && !this.open.has(spanId)) {
      // Maps iterate in insertion order: the first key is the oldest open span.
      const oldest = this.open.keys().next().value;
      if (oldest !== undefined) this.open.delete(oldest);
    }
    this.open.set(spanId, span);
    return span;
  }

  /** Forgets the span and returns what was known about it, if anything. */
  end(spanId: string): OpenSpan | undefined {
    const span = this.open.get(spanId);
    if (span) this.open.delete(spanId);
    return span;
  }

  /** The open span with this id, if any. */
  get(spanId: string | null): OpenSpan | undefined {
    return spanId === null ? undefined : this.open.get(spanId);
  }

  /** Depth for a line logged inside `spanId`: one deeper than the span, or 0 if it is not open. */
  childDepth(spanId: string): number {
    const span = this.open.get(spanId);
    return span ? span.depth + 1 : 0;
  }

  get size(): number {
    return this.open.size;
  }
}

export function isAutotraced(attributes: Readonly<Attributes> | undefined): boolean {
  return attributes?.__autotraced__ === true;
}
