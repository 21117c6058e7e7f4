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
  readonly #exit: Promise<void>;

  constructor(path: string, options: CheckpointerOptions) {
    this.#worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), {
      workerData: { path, intervalMs: options.intervalMs, busyTimeoutMs: options.busyTimeoutMs },
    });
    // Never keeps the application alive on its own.
    this.#worker.unref();
    let failure: Error | undefined;
    this.#worker.on('message', (message: { type: string; message?: string }) => {
      if (message.type === 'error') options.onError(new Error(`WAL checkpoint failed: ${message.message}`));
    });
    this.#worker.on('error', (error) => {
      failure = error;
    });
    this.#exit = new Promise<void>((resolve) => {
      this.#worker.once('exit', () => {
        this.#exited = true;
        if (!this.#stopping) options.onExit(failure ?? new Error('the WAL checkpoint worker exited'));
        resolve();
      });
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
