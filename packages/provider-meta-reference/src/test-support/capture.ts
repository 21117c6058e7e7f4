import { Writable } from 'node:stream';

/** A real Writable that keeps what it is given, as text: the console sink's stream in tests. */
export class CaptureStream extends Writable {
  private readonly chunks: string[] = [];
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
  /** Lines with the clock time (HH:MM:SS.mmm) and the short trace id cut off, so they can be compared exactly. */
  get lines(): string[] {
    return this.text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) =>
        line.replace(/^\d\d:\d\d:\d\d\.\d{3} [0-9a-f]{8} /, '').replace(/\d+\.\d+ms/, '<ms>'),
      );
  }
}
