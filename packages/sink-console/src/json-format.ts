import { type LogSeverity, SEVERITY_RANK, toIsoMicros } from '@telemetry/core/sink';
import type { EventFormatter } from './human-format.ts';
import { SpanTracker } from './span-tracker.ts';
import { severityOf } from './text.ts';

export interface JsonFormatOptions {
  readonly minSeverity: LogSeverity;
  readonly attributes: boolean;
}

/**
 * JSON lines: each event as Llama Stack's API writes it (snake_case fields,
 * `timestamp` as ISO-8601 with microseconds, so a line can be fed back to
 * `logEvent`), complete, with no attribute hidden or cut. A `span_end` line also
 * carries the span's `name` and `duration_ms` when its start was seen, so
 * `jq 'select(.duration_ms > 100)'` works without joining lines.
 */
export function createJsonFormatter(options: JsonFormatOptions): EventFormatter {
  const minRank = SEVERITY_RANK[options.minSeverity];
  const tracker = new SpanTracker();

  return (event) => {
    const record: Record<string, unknown> = {
      timestamp: toIsoMicros(event.timestamp),
      type: event.type,
      trace_id: event.trace_id,
      span_id: event.span_id,
    };
    switch (event.type) {
      case 'unstructured_log':
        record.severity = event.severity;
        record.message = event.message;
        break;
      case 'metric':
        record.metric = event.metric;
        record.value = event.value;
        record.unit = event.unit;
        break;
      case 'structured_log': {
        const payload = event.payload;
        record.payload = payload;
        if (payload.type === 'span_start') {
          tracker.start(
            event.span_id,
            payload.parent_span_id,
            payload.name,
            event.timestamp,
            event.attributes,
          );
        } else if (payload.type === 'span_end') {
          const span = tracker.end(event.span_id);
          if (span) {
            record.name = span.name;
            // Microsecond precision, as a number of milliseconds.
            record.duration_ms = (event.timestamp - span.start) / 1000;
          }
        }
        break;
      }
    }
    if (SEVERITY_RANK[severityOf(event)] < minRank) return '';
    if (options.attributes) record.attributes = event.attributes;
    return `${JSON.stringify(record)}\n`;
  };
}
