/**
 * Why a console sink dropped events; the reasons under which core's `stats()`
 * counts them for this sink.
 * - `backpressure`: the stream was not draining and `maxBufferBytes` was full.
 * - `stream_error`: the stream failed (closed pipe, destroyed stream).
 * - `shutdown`: still buffered for a stalled stream when `shutdown()` gave up waiting.
 * - `format_error`: an event that could not be formatted (only one that skipped validation).
 * - `after_shutdown`: written after `shutdown()`.
 */
export type DropReason =
  | 'backpressure'
  | 'stream_error'
  | 'shutdown'
  | 'format_error'
  | 'after_shutdown';

export interface StreamWriterHooks {
  dropped(events: number, reason: DropReason): void;
  /** The stream failed; called once, after which every write is dropped as `stream_error`. */
  failed(error: unknown): void;
}

/** One event's output. */
export interface Chunk {
  readonly text: string;
  readonly events: number;
}

// Writes after a drain are joined up to this size: few syscalls, and no
// megabyte-long string built from a full buffer at once.
const DRAIN_WRITE_BYTES = 64 * 1024;

/**
 * Writes to a stream without ever waiting for it. While the stream is not
 * draining (its `write()` returned `false`), output waits here, up to
 * `maxBufferBytes`; beyond that, events are dropped and counted, and once the
 * stream drains a line says how many were lost.
 */
export class StreamWriter {
  private readonly queue: {
    readonly text: string;
    readonly events: number;
    readonly bytes: number;
  }[] = [];
  private queuedBytes = 0;
  private queuedEvents = 0;
  private waitingForDrain = false;
  private hasFailed = false;
  /** Dropped since the last notice line, to tell the reader of the stream. */
  private unannounced = 0;
  private listening = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly maxBufferBytes: number,
    private readonly hooks: StreamWriterHooks,
    private readonly dropNotice: (count: number) => string,
  ) {}

  /** Hands the chunks to the stream now, or queues them, or drops them; never throws, never waits. */
  write(chunks: readonly Chunk[]): void {
    if (chunks.length === 0) return;
    if (this.hasFailed) {
      this.hooks.dropped(countEvents(chunks), 'stream_error');
      return;
    }
    this.listen();
    // Another writer (console.log on the same stdout) may have filled the stream.
    if (
      !this.waitingForDrain &&
      (this.stream as { writableNeedDrain?: boolean }).writableNeedDrain
    ) {
      this.waitingForDrain = true;
    }
    if (!this.waitingForDrain) {
      let text = '';
      for (const chunk of chunks) text += chunk.text;
      this.send(text);
      return;
    }
    let dropped = 0;
    for (const chunk of chunks) {
      const bytes = Buffer.byteLength(chunk.text);
      if (this.queuedBytes + bytes > this.maxBufferBytes) {
        dropped += chunk.events;
        continue;
      }
      this.queue.push({ text: chunk.text, events: chunk.events, bytes });
      this.queuedBytes += bytes;
      this.queuedEvents += chunk.events;
    }
    if (dropped > 0) {
      this.unannounced += dropped;
      this.hooks.dropped(dropped, 'backpressure');
    }
  }

  /** True when nothing waits here and the stream is not asking to be drained. */
  get idle(): boolean {
    return this.queue.length === 0 && !this.waitingForDrain;
  }

  /** Resolves once idle, or after `timeoutMs` (a stalled stream must not hang shutdown). */
  whenIdle(timeoutMs: number): Promise<void> {
    if (this.idle || this.hasFailed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      timer.unref?.();
      const waiters = this.idleWaiters;
      function done() {
        clearTimeout(timer);
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        resolve();
      }
      waiters.push(done);
    });
  }

  /** Drops what is still queued (counted as `shutdown`) and stops listening to the stream. */
  close(): void {
    if (this.queuedEvents > 0) this.hooks.dropped(this.queuedEvents, 'shutdown');
    this.clearQueue();
    this.wakeIdleWaiters();
    if (!this.listening) return;
    this.stream.removeListener('drain', this.onDrain);
    const pending = (this.stream as { writableLength?: number }).writableLength ?? 0;
    // Output already handed over may still fail (EPIPE): keep catching that until it is out.
    if (pending > 0 && !this.hasFailed) {
      this.stream.once('drain', () => this.stream.removeListener('error', this.onError));
    } else {
      this.stream.removeListener('error', this.onError);
    }
    this.listening = false;
  }

  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    this.stream.on('drain', this.onDrain);
    // Without an 'error' listener, a closed pipe (EPIPE) would crash the application.
    this.stream.on('error', this.onError);
  }

  private send(text: string): void {
    let ok: boolean;
    try {
      ok = this.stream.write(text, this.onWriteDone);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (!ok) this.waitingForDrain = true;
  }

  private readonly onWriteDone = (error?: Error | null): void => {
    if (error) this.fail(error);
  };

  private readonly onError = (error: unknown): void => {
    this.fail(error);
  };

  private readonly onDrain = (): void => {
    if (this.hasFailed) return;
    this.waitingForDrain = false;
    while (this.queue.length > 0 && !this.waitingForDrain && !this.hasFailed) {
      let text = '';
      let bytes = 0;
      let events = 0;
      let taken = 0;
      while (taken < this.queue.length && (taken === 0 || bytes < DRAIN_WRITE_BYTES)) {
        const chunk = this.queue[taken]!;
        text += chunk.text;
        bytes += chunk.bytes;
        events += chunk.events;
        taken++;
      }
      this.queue.splice(0, taken);
      this.queuedBytes -= bytes;
      this.queuedEvents -= events;
      this.send(text);
    }
    if (
      this.queue.length === 0 &&
      this.unannounced > 0 &&
      !this.waitingForDrain &&
      !this.hasFailed
    ) {
      // What was queued came before the drops, so the notice goes right after it.
      const count = this.unannounced;
      this.unannounced = 0;
      this.send(this.dropNotice(count));
    }
    if (this.idle) this.wakeIdleWaiters();
  };

  private fail(error: unknown): void {
    if (this.hasFailed) return;
    this.hasFailed = true;
    if (this.queuedEvents > 0) this.hooks.dropped(this.queuedEvents, 'stream_error');
    this.clearQueue();
    this.hooks.failed(error);
    this.wakeIdleWaiters();
  }

  private clearQueue(): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.queuedEvents = 0;
  }

  private wakeIdleWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

function countEvents(chunks: readonly Chunk[]): number {
  let n = 0;
  for (const chunk of chunks) n += chunk.events;
  return n;
}
