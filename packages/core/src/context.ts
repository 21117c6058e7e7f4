import { AsyncLocalStorage } from 'node:async_hooks';
import { type Context, type ContextManager, ROOT_CONTEXT } from '@opentelemetry/api';

/**
 * An OpenTelemetry ContextManager on AsyncLocalStorage. One instance per
 * process, shared by every Telemetry instance: the active span lives in the
 * OpenTelemetry `Context`, so our helpers and any `@opentelemetry/api` caller
 * see the same current span.
 */
class AsyncContextManager implements ContextManager {
  readonly storage = new AsyncLocalStorage<Context>();

  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(context, fn.bind(thisArg as ThisParameterType<F>) as F, ...args);
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const manager = this;
    const fn = target as unknown as (...args: unknown[]) => unknown;
    return function bound(this: unknown, ...args: unknown[]) {
      return manager.with(context, () => fn.apply(this, args));
    } as unknown as T;
  }

  /** Makes `context` active for the rest of the current synchronous run and what it schedules. */
  enter(context: Context): void {
    this.storage.enterWith(context);
  }

  enable(): this {
    return this;
  }

  disable(): this {
    // Shared across instances: disabling would break every other user of it.
    return this;
  }
}

const GLOBAL_KEY = Symbol.for('@telemetry/core/context-manager');
type GlobalSlot = { [GLOBAL_KEY]?: AsyncContextManager };

/** The process-wide context manager (shared even if two copies of core are loaded). */
const slot = globalThis as GlobalSlot;
if (!slot[GLOBAL_KEY]) slot[GLOBAL_KEY] = new AsyncContextManager();
export const contextManager: AsyncContextManager = slot[GLOBAL_KEY];
