import { constants } from 'node:os';
import { z } from 'zod';
import { issuesFromZod, TelemetryValidationError } from './errors.ts';
import type { Telemetry } from './telemetry.ts';

/** What the hooks need of a pipeline. */
export type ShutdownTarget = Pick<Telemetry, 'flush' | 'shutdown' | 'stats'>;

export interface ShutdownHookOptions {
  /**
   * Signals on which the pipeline is flushed. When no other listener handles
   * the signal, the pipeline is shut down and the signal raised again, so the
   * process ends as it would have (exit status 128 + signal number). When the
   * application listens too, the pipeline is only flushed and the application
   * decides when to exit.
   * @default ['SIGTERM', 'SIGINT']
   */
  readonly signals?: readonly NodeJS.Signals[];
  /**
   * Shut the pipeline down when the event loop empties (`beforeExit`), so a
   * script that just ends loses nothing.
   * @default true
   */
  readonly beforeExit?: boolean;
  /**
   * How long flushing or shutting down may take before the process goes on.
   * @default 10_000
   */
  readonly timeoutMs?: number;
}

const SIGNALS = Object.keys(constants.signals) as [string, ...string[]];

/** Validates the hooks' options and holds their defaults. */
export const ShutdownHookOptionsSchema = z.strictObject({
  signals: z
    .array(
      z.enum(SIGNALS, {
        error: (issue) =>
          `expected a signal name such as SIGTERM or SIGINT, got ${JSON.stringify(issue.input)}`,
      }),
    )
    .default(['SIGTERM', 'SIGINT']),
  beforeExit: z.boolean({ error: 'expected true or false' }).default(true),
  timeoutMs: z
    .number({ error: 'expected a finite number of milliseconds' })
    .positive({ error: 'expected a number of milliseconds above 0' })
    .default(10_000),
});

interface Entry {
  readonly target: ShutdownTarget;
  readonly signals: ReadonlySet<NodeJS.Signals>;
  readonly beforeExit: boolean;
  readonly timeoutMs: number;
}

interface HookState {
  readonly entries: Map<ShutdownTarget, Entry>;
  readonly signalListeners: Map<NodeJS.Signals, (signal: NodeJS.Signals) => void>;
  beforeExitListener: (() => void) | undefined;
  exitListener: (() => void) | undefined;
  /** Set while a signal's flush runs: a second signal then stops waiting. */
  pending: Promise<unknown> | undefined;
  readonly closedBeforeExit: WeakSet<ShutdownTarget>;
}

// On globalThis, so that a reloaded copy of this module shares the listeners
// instead of adding more. The key is the one provider-meta-reference 0.1 used
// for its copy of these hooks: both copies see one set of listeners (two sets
// would each take the other's listener for the application's, and never let
// the signal end the process).
const STATE_KEY = Symbol.for('@telemetry/provider-meta-reference/shutdown-hooks');
type StateHolder = { [STATE_KEY]?: HookState };

function state(): HookState {
  const holder = globalThis as StateHolder;
  holder[STATE_KEY] ??= {
    entries: new Map(),
    signalListeners: new Map(),
    beforeExitListener: undefined,
    exitListener: undefined,
    pending: undefined,
    closedBeforeExit: new WeakSet(),
  };
  return holder[STATE_KEY];
}

function othersListen(signal: NodeJS.Signals): boolean {
  const ours = state().signalListeners.get(signal);
  return process.listeners(signal).some((listener) => listener !== ours);
}

/** Lets the default action of `signal` (ending the process) happen, as if no hook had been there. */
function raiseAgain(signal: NodeJS.Signals): void {
  const s = state();
  const listener = s.signalListeners.get(signal);
  if (listener) process.removeListener(signal, listener);
  s.signalListeners.delete(signal);
  process.kill(process.pid, signal);
}

function onSignal(signal: NodeJS.Signals): void {
  const s = state();
  if (s.pending) {
    // A second Ctrl-C while flushing: stop waiting.
    if (!othersListen(signal)) raiseAgain(signal);
    return;
  }
  const appHandles = othersListen(signal);
  const targets = [...s.entries.values()].filter((entry) => entry.signals.has(signal));
  s.pending = Promise.allSettled(
    targets.map((entry) =>
      appHandles
        ? entry.target.flush({ timeoutMs: entry.timeoutMs })
        : entry.target.shutdown({ timeoutMs: entry.timeoutMs }),
    ),
  ).then(() => {
    s.pending = undefined;
    if (!othersListen(signal)) raiseAgain(signal);
  });
}

function onBeforeExit(): void {
  const s = state();
  for (const entry of s.entries.values()) {
    if (!entry.beforeExit || s.closedBeforeExit.has(entry.target)) continue;
    // Once only: the shutdown keeps the loop alive, and beforeExit comes again when it is done.
    s.closedBeforeExit.add(entry.target);
    void entry.target.shutdown({ timeoutMs: entry.timeoutMs });
  }
}

/** `process.exit()` cannot wait: say what it cost, since it is lost otherwise without a trace. */
function onExit(): void {
  let pending = 0;
  for (const entry of state().entries.values()) {
    try {
      const stats = entry.target.stats();
      // A sink's pending count includes the shared queue: the slowest sink says what is lost.
      pending += Math.max(stats.queued, ...Object.values(stats.sinks).map((sink) => sink.pending));
    } catch {
      // A pipeline that cannot report is not worth a crash at exit.
    }
  }
  if (pending > 0) {
    process.stderr.write(
      `[telemetry] the process exited with ${pending} telemetry event${pending === 1 ? '' : 's'} not yet delivered to the sinks: await telemetry.shutdown() before calling process.exit().\n`,
    );
  }
}

function sync(): void {
  const s = state();
  const wanted = new Set<NodeJS.Signals>();
  let beforeExit = false;
  for (const entry of s.entries.values()) {
    for (const signal of entry.signals) wanted.add(signal);
    beforeExit ||= entry.beforeExit;
  }
  for (const [signal, listener] of s.signalListeners) {
    if (!wanted.has(signal)) {
      process.removeListener(signal, listener);
      s.signalListeners.delete(signal);
    }
  }
  for (const signal of wanted) {
    if (s.signalListeners.has(signal)) continue;
    const listener = (received: NodeJS.Signals) => onSignal(received);
    s.signalListeners.set(signal, listener);
    process.on(signal, listener);
  }
  if (beforeExit && !s.beforeExitListener) {
    s.beforeExitListener = onBeforeExit;
    process.on('beforeExit', onBeforeExit);
  } else if (!beforeExit && s.beforeExitListener) {
    process.removeListener('beforeExit', s.beforeExitListener);
    s.beforeExitListener = undefined;
  }
  if (s.entries.size > 0 && !s.exitListener) {
    s.exitListener = onExit;
    process.on('exit', onExit);
  } else if (s.entries.size === 0 && s.exitListener) {
    process.removeListener('exit', s.exitListener);
    s.exitListener = undefined;
  }
}

/**
 * Flushes (and, unless the application handles the signal itself, shuts
 * down) the pipeline on SIGTERM and SIGINT, then lets the signal end the
 * process as it would have; shuts it down when the event loop empties; and
 * warns on stderr if `process.exit()` leaves events undelivered. A second
 * signal during the flush stops waiting. One set of listeners serves every
 * pipeline; installing again for the same pipeline replaces its options.
 * Returns a function that removes the hooks of this pipeline.
 * @throws TelemetryValidationError for invalid options (an unknown signal, a timeout that is not above 0).
 */
export function installShutdownHooks(
  telemetry: ShutdownTarget,
  options: ShutdownHookOptions = {},
): () => void {
  const parsed = ShutdownHookOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new TelemetryValidationError(
      'shutdown hook options',
      issuesFromZod(parsed.error, ['options']),
    );
  }
  const o = parsed.data;
  const s = state();
  s.entries.set(telemetry, {
    target: telemetry,
    signals: new Set(o.signals as NodeJS.Signals[]),
    beforeExit: o.beforeExit,
    timeoutMs: o.timeoutMs,
  });
  sync();
  return () => uninstallShutdownHooks(telemetry);
}

/** Removes the hooks of one pipeline (if it has any). */
export function uninstallShutdownHooks(telemetry: ShutdownTarget): void {
  const s = state();
  if (s.entries.delete(telemetry)) sync();
}
