import type {
  Attributes,
  LogSeverity,
  MetricEvent,
  StructuredLogEvent,
  TelemetryEvent,
  UnstructuredLogEvent,
} from '@telemetry/core/sink';
import { SEVERITY_RANK } from '@telemetry/core/sink';
import type { Paint, StyleRole } from './color.ts';
import type { ConsoleTimeZone, StartLines } from './options.ts';
import { type OpenSpan, SpanTracker } from './span-tracker.ts';
import { clockTime, cut, durationMs, printableLines, severityOf } from './text.ts';

export interface HumanFormatOptions {
  readonly paint: Paint;
  readonly timeZone: ConsoleTimeZone;
  readonly minSeverity: LogSeverity;
  readonly attributes: boolean;
  readonly startLines: StartLines;
  readonly maxValueLength: number;
}

/** Turns one event into zero or more lines of text (each ending in `\n`). */
export type EventFormatter = (event: TelemetryEvent) => string;

// Layout: `HH:MM:SS.mmm <trace> LABEL    <indent>content`. The trace column holds the
// first 8 hex digits of the trace id, so concurrent requests can be told apart; the
// label column is as wide as the longest label (CRITICAL), so names and messages line
// up whatever the kind.
const TRACE_WIDTH = 8;
const LABEL_WIDTH = 8;
const GUTTER = ' '.repeat('HH:MM:SS.mmm'.length + 1 + TRACE_WIDTH + 1 + LABEL_WIDTH + 1);
const INDENT = '  ';

const LOG_STYLE: Readonly<Record<LogSeverity, { label: StyleRole; text: StyleRole }>> = {
  verbose: { label: 'verbose', text: 'verbose' },
  debug: { label: 'debug', text: 'debug' },
  info: { label: 'info', text: 'infoText' },
  warn: { label: 'warn', text: 'warnText' },
  error: { label: 'errorLabel', text: 'errorText' },
  critical: { label: 'critical', text: 'criticalText' },
};

/**
 * The human format. Stateful: it follows span starts and ends to indent by
 * depth and to give END lines their name and duration, so one formatter must
 * see every event of a sink, in order.
 *
 * Auto-traced spans (with `startLines: true`) hold back their START line until
 * something is printed inside them; one that ends with nothing printed inside
 * is shown as a single SPAN line. So wrapping a whole class costs one line per
 * call, and every END line still has its START above it.
 */
export function createHumanFormatter(options: HumanFormatOptions): EventFormatter {
  const { paint, timeZone, attributes, startLines, maxValueLength } = options;
  const minRank = SEVERITY_RANK[options.minSeverity];
  const tracker = new SpanTracker();
  /** Spans whose START line is held back, with their trace id; weak, so what the tracker forgets goes too. */
  const heldStarts = new WeakMap<OpenSpan, string>();

  function head(
    time: number,
    traceId: string,
    role: StyleRole,
    label: string,
    depth: number,
  ): string {
    return `${paint('time', clockTime(time, timeZone))} ${paint('time', shortTraceId(traceId))} ${paint(role, label)}${' '.repeat(LABEL_WIDTH - label.length)} ${INDENT.repeat(depth)}`;
  }

  function startLine(span: OpenSpan, traceId: string): string {
    const name = printableLines(span.name).join(' ');
    return `${head(span.start, traceId, 'spanLabel', 'START', span.depth)}${paint('spanName', name)}\n`;
  }

  /**
   * The held-back START lines of `spanId` and of its held-back ancestors,
   * outermost first: printed just before the first line inside that span.
   */
  function releaseStarts(spanId: string | null): string {
    const chain: OpenSpan[] = [];
    for (let span = tracker.get(spanId); span && heldStarts.has(span); ) {
      chain.push(span);
      span = tracker.get(span.parentSpanId);
    }
    let out = '';
    for (let i = chain.length - 1; i >= 0; i--) {
      const span = chain[i]!;
      out += startLine(span, heldStarts.get(span)!);
      heldStarts.delete(span);
    }
    return out;
  }

  /** Lines of `text` after the first, aligned under it, each painted on its own (pagers reset colour per line). */
  function continuation(lines: readonly string[], depth: number, role: StyleRole): string {
    let out = '';
    for (let i = 1; i < lines.length; i++) {
      out += `${GUTTER}${INDENT.repeat(depth)}${paint(role, lines[i]!)}\n`;
    }
    return out;
  }

  function attributeLines(attrs: Readonly<Attributes>, depth: number): string {
    if (!attributes) return '';
    let out = '';
    for (const key in attrs) {
      if (key.startsWith('__')) continue;
      const lines = printableLines(cut(String(attrs[key]), maxValueLength));
      // Keys are caller data too: escape them like values, on one line.
      const shownKey = printableLines(key).join('\\n');
      out += `${GUTTER}${INDENT.repeat(depth)}${paint('key', `${shownKey}:`)} ${lines[0]}\n`;
      out += continuation(lines, depth + 1, 'infoText');
    }
    return out;
  }

  function spanEvent(event: StructuredLogEvent, show: boolean): string {
    const payload = event.payload;
    if (payload.type === 'span_start') {
      const span = tracker.start(
        event.span_id,
        payload.parent_span_id,
        payload.name,
        event.timestamp,
        event.attributes,
      );
      if (!show || startLines === false) return '';
      if (span.autotraced && startLines !== 'all') {
        heldStarts.set(span, event.trace_id);
        return '';
      }
      return releaseStarts(payload.parent_span_id) + startLine(span, event.trace_id);
    }
    if (payload.type === 'span_end') {
      const span = tracker.end(event.span_id);
      if (!show) return '';
      const depth = span?.depth ?? 0;
      // A held-back START that nothing released: the whole span fits on one line.
      const whole = span !== undefined && heldStarts.has(span);
      const prefix = span ? releaseStarts(span.parentSpanId) : '';
      // Without its start event (the sink attached mid-span) only the id is known.
      const name = span ? printableLines(span.name).join(' ') : `span ${event.span_id}`;
      let line = `${prefix}${head(event.timestamp, event.trace_id, 'spanLabel', whole ? 'SPAN' : 'END', depth)}${paint('spanName', name)}  `;
      line += payload.status === 'error' ? paint('error', 'ERROR') : paint('ok', 'ok');
      if (span) line += `  ${paint('duration', durationMs(span.start, event.timestamp))}`;
      if (payload.status_message) {
        const message = printableLines(cut(payload.status_message, maxValueLength)).join(' ');
        line += `  ${paint(payload.status === 'error' ? 'errorMessage' : 'infoText', message)}`;
      }
      return `${line}\n${attributeLines(event.attributes, depth + 1)}`;
    }
    // Payload kinds added later have nothing to show here yet.
    return '';
  }

  function logEvent(event: UnstructuredLogEvent): string {
    const depth = tracker.childDepth(event.span_id);
    const style = LOG_STYLE[event.severity];
    const lines = printableLines(event.message);
    let out = `${releaseStarts(event.span_id)}${head(event.timestamp, event.trace_id, style.label, event.severity.toUpperCase(), depth)}${paint(style.text, lines[0]!)}\n`;
    out += continuation(lines, depth, style.text);
    return out + attributeLines(event.attributes, depth + 1);
  }

  function metricEvent(event: MetricEvent): string {
    const depth = tracker.childDepth(event.span_id);
    let labels = '';
    if (attributes) {
      // Prometheus-like `name{label="value"}`: one line per point, labels where people look for them.
      const parts: string[] = [];
      for (const key in event.attributes) {
        if (key.startsWith('__')) continue;
        const value = event.attributes[key];
        const shown =
          typeof value === 'string' ? JSON.stringify(cut(value, maxValueLength)) : String(value);
        parts.push(`${key}=${shown}`);
      }
      if (parts.length > 0) labels = `{${printableLines(parts.join(', ')).join(' ')}}`;
    }
    const name = printableLines(event.metric).join(' ');
    const unit = event.unit ? ` ${paint('unit', printableLines(event.unit).join(' '))}` : '';
    return `${releaseStarts(event.span_id)}${head(event.timestamp, event.trace_id, 'metric', 'METRIC', depth)}${name}${labels} ${paint('metricValue', String(event.value))}${unit}\n`;
  }

  return (event) => {
    const show = SEVERITY_RANK[severityOf(event)] >= minRank;
    switch (event.type) {
      case 'structured_log':
        // Span events are followed even when filtered out: depths and durations depend on them.
        return spanEvent(event, show);
      case 'unstructured_log':
        return show ? logEvent(event) : '';
      case 'metric':
        return show ? metricEvent(event) : '';
      default:
        return '';
    }
  };
}

/** The first 8 hex digits of a trace id: enough to tell concurrent traces apart on screen. */
function shortTraceId(traceId: string): string {
  // Events that skipped validation may carry anything: keep the column printable and aligned.
  return printableLines(String(traceId ?? '').slice(0, TRACE_WIDTH))
    .join(' ')
    .slice(0, TRACE_WIDTH)
    .padEnd(TRACE_WIDTH);
}
