import { Worker } from 'node:worker_threads';

export interface CheckpointerOptions {
  readonly intervalMs: number;
  readonly busyTimeoutMs: number;
  /** A checkpoint failed; the worker goes on. */
  readonly onError: (error: Error) => void;
  /** The worker could not start or died: the caller should checkpoint itself again. */
  readonly onExit: (error: Error | undefined) => void;
}

/** Checkpoints the WAL from a worker thread (see checkpoint-worker.js). */
export class Checkpointer {
  readonly #worker: Worker;
  #exited = false;
  #stopping = false;
  readonly #waiting: (() => void)[] = [];
  readonly #exit: Promise<void>;

  constructor(path: string, options: CheckpointerOptions) {
    this.#worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), {
      workerData: { path, intervalMs: options.intervalMs, busyTimeoutMs: options.busyTimeoutMs },
    });
    // Never keeps the application alive on its own.
    this.#worker.unref();
    let failure: Error | undefined;
    this.#worker.on('message', (message: { type: string; message?: string }) => {
      if (message.type === 'error') {
        options.onError(new Error(`WAL checkpoint failed: ${message.message}`));
      } else if (message.type === 'checkpointed') {
        this.#waiting.shift()?.();
      }
    });
    this.#worker.on('error', (error) => {
      failure = error;
    });
    this.#exit = new Promise<void>((resolve) => {
      this.#worker.once('exit', () => {
        this.#exited = true;
        for (const resolve of this.#waiting.splice(0)) resolve();
        if (!this.#stopping)
          options.onExit(failure ?? new Error('the WAL checkpoint worker exited'));
        resolve();
      });
    });
  }

  /**
   * Checkpoints now and resolves when done. A writer that waits for this
   * between its transactions lets the WAL start over from its beginning (SQLite
   * restarts the log only when a write begins with every frame checkpointed),
   * so under sustained writes the WAL stays small and the writer's own
   * connection never has to checkpoint.
   */
  checkpoint(): Promise<void> {
    if (this.#exited || this.#stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#waiting.push(resolve);
      this.#worker.postMessage('checkpoint');
    });
  }

  stop(): Promise<void> {
    if (!this.#stopping && !this.#exited) {
      this.#stopping = true;
      // Someone awaits the exit now: keep the process alive until it happens.
      this.#worker.ref();
      this.#worker.postMessage('stop');
    }
    this.#stopping = true;
    return this.#exit;
  }
}
