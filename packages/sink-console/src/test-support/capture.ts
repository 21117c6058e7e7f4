// The streams and the recording context come from core's testing kit; what
// is particular to this sink's tests stays here.
export { CaptureStream, recordingContext, StalledStream } from '@telemetry/core/testing';

/** Makes ANSI escapes visible in snapshots. */
export function showEscapes(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC is what we show
  return text.replace(/\x1b\[([0-9;]*)m/g, '<$1>');
}
