/**
 * Why a console sink dropped events; the reasons under which core's `stats()`
 * counts them for this sink (besides the dispatcher's own, such as
 * `sink_backlog` when the stream is slower than events arrive).
 * - `stream_error`: the stream failed (closed pipe, destroyed stream).
 * - `format_error`: an event that could not be formatted (only one that skipped validation).
 * - `after_shutdown`: written after `shutdown()`.
 */
export type DropReason = 'stream_error' | 'format_error' | 'after_shutdown';

export interface StreamWriterHooks {
  /** Events of a write that could not be handed to the stream after all. */
  dropped(events: number, reason: DropReason): void;
  /** The stream failed; called once, after which every write is dropped as `stream_error`. */
  failed(error: unknown): void;
}

/**
 * Hands text to a stream, one batch at a time, and holds nothing itself:
 * while the stream is not draining (its `write()` returned `false`, or
 * another writer such as `console.log` filled it), the next `write()` waits
 * for the drain, and core's dispatcher keeps what comes meanwhile in the
 * sink's bounded backlog. The stream's own buffer holds at most one batch
 * beyond its high-water mark.
 */
export class StreamWriter {
  private hasFailed = false;
  private closed = false;
  private needDrain = false;
  private listening = false;
  private drained: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Writes handed to the stream whose callback has not come yet (text still in its buffer). */
  private unwritten = 0;
  private writtenWaiters: (() => void)[] = [];

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly hooks: StreamWriterHooks,
  ) {}

  get failed(): boolean {
    return this.hasFailed;
  }

  /**
   * Writes `text` (standing for `events` events). When the stream takes it,
   * that is delivery: returns nothing. When the stream asked to be drained
   * (our last write, or another writer, filled it), waits for the drain
   * first and returns a promise that resolves once the text is handed over,
   * so that a write the pipeline gives up on at shutdown is one whose text
   * never reached the stream. Never throws, never rejects.
   */
  write(text: string, events: number): undefined | Promise<void> {
    if (this.hasFailed) {
      this.hooks.dropped(events, 'stream_error');
      return undefined;
    }
    this.listen();
    if (this.mustWait()) {
      return this.whenDrained().then(() => {
        if (this.hasFailed || this.closed) {
          this.hooks.dropped(events, this.hasFailed ? 'stream_error' : 'after_shutdown');
          return undefined;
        }
        return this.write(text, events);
      });
    }
    if (!this.send(text)) this.needDrain = true;
    return undefined;
  }

  /** The stream is over its high-water mark: by our last write, or another writer's. */
  private mustWait(): boolean {
    if ((this.stream as { writableNeedDrain?: boolean }).writableNeedDrain === false) {
      this.needDrain = false;
    }
    return (
      this.needDrain || (this.stream as { writableNeedDrain?: boolean }).writableNeedDrain === true
    );
  }

  /** Writes a line outside of any batch (a notice), without waiting. */
  note(text: string): void {
    if (this.hasFailed || this.closed) return;
    this.listen();
    this.send(text);
  }

  /**
   * Resolves once the stream has written out everything handed to it (each
   * write's callback came), or it failed, or `signal` aborts. A stream takes
   * text into a buffer of its own first (a file stream writes from a thread);
   * a process that ends right after shutdown, by a signal or `process.exit()`,
   * would lose what is still there.
   */
  whenWritten(signal?: AbortSignal): Promise<void> {
    if (this.unwritten === 0 || this.hasFailed || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.writtenWaiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Stops listening to the stream; a write waiting for a drain stops waiting. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
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

  private whenDrained(): Promise<void> {
    this.drained ??= new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    return this.drained;
  }

  private release(): void {
    const wake = this.wake;
    this.drained = undefined;
    this.wake = undefined;
    wake?.();
  }

  private listen(): void {
    if (this.listening || this.closed) return;
    this.listening = true;
    this.stream.on('drain', this.onDrain);
    // Without an 'error' listener, a closed pipe (EPIPE) would crash the application.
    this.stream.on('error', this.onError);
  }

  /** True when the stream can take more at once. */
  private send(text: string): boolean {
    this.unwritten += 1;
    try {
      return this.stream.write(text, this.onWriteDone);
    } catch (error) {
      // A write() that throws never calls back.
      this.unwritten -= 1;
      this.fail(error);
      return false;
    }
  }

  private readonly onWriteDone = (error?: Error | null): void => {
    this.unwritten -= 1;
    if (error) this.fail(error);
    if (this.unwritten === 0) this.wakeWritten();
  };

  private wakeWritten(): void {
    const waiters = this.writtenWaiters;
    this.writtenWaiters = [];
    for (const done of waiters) done();
  }

  private readonly onError = (error: unknown): void => {
    this.fail(error);
  };

  private readonly onDrain = (): void => {
    this.needDrain = false;
    this.release();
  };

  private fail(error: unknown): void {
    if (this.hasFailed) return;
    this.hasFailed = true;
    this.hooks.failed(error);
    this.release();
    this.wakeWritten();
  }
}
