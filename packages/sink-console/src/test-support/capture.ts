import { Writable } from 'node:stream';
import type { TelemetrySink } from '@telemetry/core';

type SinkContext = Parameters<NonNullable<TelemetrySink['attach']>>[0];

/** A real Writable that keeps what it is given, as text. */
export class CaptureStream extends Writable {
  readonly chunks: string[] = [];
  constructor(options: { isTTY?: boolean; highWaterMark?: number } = {}) {
    super({ highWaterMark: options.highWaterMark ?? 1024 * 1024 });
    if (options.isTTY) (this as unknown as { isTTY: boolean }).isTTY = true;
  }
  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ) {
    this.chunks.push(chunk.toString('utf8'));
    callback();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

/**
 * A real Writable whose writes never complete until `release()`: a reader that
 * stopped reading. Its `write()` returns false once `highWaterMark` bytes wait.
 */
export class StalledStream extends Writable {
  /** Text that reached the underlying resource (only the first write while stalled). */
  readonly chunks: string[] = [];
  writeCalls = 0;
  private stalled = true;
  private readonly held: (() => void)[] = [];
  constructor(highWaterMark = 1024) {
    super({ highWaterMark });
  }
  // Loose parameters: one signature that matches every overload of Writable.write.
  override write(chunk: any, encoding?: any, callback?: any): boolean {
    this.writeCalls++;
    return super.write(chunk, encoding, callback);
  }
  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ) {
    this.chunks.push(chunk.toString('utf8'));
    if (this.stalled) this.held.push(() => callback());
    else callback();
  }
  /** The reader catches up for good: held writes complete, and so do all later ones. */
  release(): void {
    this.stalled = false;
    for (const done of this.held.splice(0)) done();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

/** A SinkContext that records what the sink reports, as core's dispatcher would count it. */
export function recordingContext(): {
  context: SinkContext;
  dropped: Record<string, number>;
  errors: unknown[];
} {
  const dropped: Record<string, number> = {};
  const errors: unknown[] = [];
  const context: SinkContext = {
    name: 'console',
    signal: new AbortController().signal,
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
