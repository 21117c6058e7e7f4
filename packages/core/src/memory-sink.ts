import type { TelemetryEvent } from './schemas.ts';
import type { CompletedSpan, TelemetrySink } from './sink.ts';

export interface MemorySinkOptions {
  /**
   * Name in stats and error messages.
   * @default 'memory'
   */
  readonly name?: string;
  /**
   * Keep raw events, completed spans, or both.
   * @default 'both'
   */
  readonly keep?: 'events' | 'spans' | 'both';
}

/** A sink that keeps everything in arrays: for tests, and a model for sink authors. */
export interface MemorySink extends TelemetrySink {
  /** Every event received, in order (unless `keep` is `'spans'`). */
  readonly events: TelemetryEvent[];
  /** Every completed span received, in the order they ended (unless `keep` is `'events'`). */
  readonly spans: CompletedSpan[];
  /** Empties both arrays. */
  clear(): void;
}

/** Creates a sink that keeps what it receives in memory (`events`, `spans`). */
export function createMemorySink(options: MemorySinkOptions = {}): MemorySink {
  const keep = options.keep ?? 'both';
  const events: TelemetryEvent[] = [];
  const spans: CompletedSpan[] = [];
  const sink: MemorySink = {
    name: options.name ?? 'memory',
    events,
    spans,
    clear() {
      events.length = 0;
      spans.length = 0;
    },
  };
  // Only the methods for what is kept: a sink without writeEvents is counted in spans.
  if (keep !== 'spans') {
    (sink as { writeEvents?: TelemetrySink['writeEvents'] }).writeEvents = (batch) => {
      for (const e of batch) events.push(e);
    };
  }
  if (keep !== 'events') {
    (sink as { writeSpans?: TelemetrySink['writeSpans'] }).writeSpans = (batch) => {
      for (const s of batch) spans.push(s);
    };
  }
  return sink;
}
