import type { CaptureStream } from '@telemetry/core/testing';

/** The console sink's lines with the clock time (HH:MM:SS.mmm), the short trace id and durations cut, so they compare exactly. */
export function consoleLines(stream: CaptureStream): string[] {
  return stream.lines.map((line) =>
    line.replace(/^\d\d:\d\d:\d\d\.\d{3} [0-9a-f]{8} /, '').replace(/\d+\.\d+ms/, '<ms>'),
  );
}
