import type { EpochMicros, LogSeverity, TelemetryEvent } from '@telemetry/core/sink';
import type { ConsoleTimeZone } from './options.ts';

/** The severity an event is filtered by: logs their own, a failed span's end `error`, everything else `info`. */
export function severityOf(event: TelemetryEvent): LogSeverity {
  if (event.type === 'unstructured_log') return event.severity;
  if (event.type === 'structured_log' && event.payload.type === 'span_end') {
    return event.payload.status === 'error' ? 'error' : 'info';
  }
  return 'info';
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function pad3(n: number): string {
  return n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n);
}

/** `HH:MM:SS.mmm` of an epoch-microsecond time. */
export function clockTime(micros: EpochMicros, timeZone: ConsoleTimeZone): string {
  const date = new Date(Math.floor(micros / 1000));
  if (timeZone === 'utc') {
    return `${pad2(date.getUTCHours())}:${pad2(date.getUTCMinutes())}:${pad2(date.getUTCSeconds())}.${pad3(date.getUTCMilliseconds())}`;
  }
  return `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}.${pad3(date.getMilliseconds())}`;
}

/** Milliseconds with two decimals, from a span's start and end in microseconds. */
export function durationMs(start: EpochMicros, end: EpochMicros): string {
  return `${((end - start) / 1000).toFixed(2)}ms`;
}

/** Cuts `text` to `max` characters ending in `...`, without splitting a surrogate pair. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 3;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}...`;
}

// C0 controls but tab and newline, DEL and C1 controls: an ESC or CR in a logged
// string must not repaint the developer's terminal or hide earlier lines.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

function escapeControl(ch: string): string {
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** Splits text into printable lines: control characters shown as `\uXXXX`, `\r\n` and `\n` as line breaks. */
export function printableLines(text: string): string[] {
  return text.split(/\r?\n/).map((line) => line.replace(CONTROL, escapeControl));
}
