import { Writable } from 'node:stream';
import type { SinkContext } from '@telemetry/core';

/** A real Writable that keeps what it is given, as text. */
export class CaptureStream extends Writable {
  readonly chunks: string[] = [];
  constructor(options: { isTTY?: boolean; highWaterMark?: number } = {}) {
    super({ highWaterMark: options.highWaterMark ?? 1024 * 1024 });
    if (options.isTTY) (this as unknown as { isTTY: boolean }).isTTY = true;
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void) {
    this.chunks.push(chunk.toString('utf8'));
    callback();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

/** A real Writable that accepts writes but never completes one: a reader that stopped reading. */
export class StalledStream extends Writable {
  written = 0;
  private readonly held: (() => void)[] = [];
  constructor(highWaterMark = 1024) {
    super({ highWaterMark });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void) {
    this.written += chunk.length;
    this.held.push(() => callback());
  }
  /** Lets the reader catch up: completes every held write (and so emits 'drain'). */
  release(): void {
    // After a release, writes complete at once: the reader caught up for good.
    (this as unknown as { _write: Writable['_write'] })._write = (chunk, _enc, cb) => {
      this.written += chunk.length;
      cb();
    };
    for (const done of this.held.splice(0)) done();
  }
}

/** A SinkContext that records what the sink reports, as core's dispatcher would count it. */
export function recordingContext() {
  const dropped: Record<string, number> = {};
  const errors: unknown[] = [];
  const context: SinkContext = {
    recordDropped(count, reason) {
      dropped[reason] = (dropped[reason] ?? 0) + count;
    },
    reportError(error) {
      errors.push(error);
    },
  };
  return { context, dropped, errors };
}

/** Makes ANSI escapes visible in snapshots. */
export function showEscapes(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC is what we show
  return text.replace(/\x1b\[([0-9;]*)m/g, '<$1>');
}
