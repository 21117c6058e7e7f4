import type { AnyFunction, SpanFactory, TracedOptions } from './span-factory.ts';
import { globalFactory } from './tracing.ts';

export interface AutoTraceOptions {
  /** Class name in span names (`Class.method`). @default the class's or object's constructor name */
  readonly name?: string;
}

const AUTO_TRACED = Symbol('@telemetry/core auto-traced');

/** A decorator usable as a TC39 standard method decorator and as a legacy one. */
export type MethodDecoratorOfBothKinds = MethodDecorator &
  (<F extends AnyFunction>(method: F, context: ClassMethodDecoratorContext) => F);

/**
 * Builds the method decorator (standard TC39 decorators, or TypeScript's
 * `experimentalDecorators`); `resolve` finds the pipeline's span factory at
 * each call, so decorating at import time works before a pipeline exists.
 */
export function traceDecoratorWith(
  options: TracedOptions,
  resolve: () => SpanFactory | undefined,
): MethodDecoratorOfBothKinds {
  const run = (name: string, method: AnyFunction, thisArg: unknown, args: unknown[]) => {
    const factory = resolve();
    if (!factory) return method.apply(thisArg, args);
    return factory.runTraced(options.name ?? name, method, thisArg, args, options, undefined);
  };
  return ((...args: unknown[]) => {
    if (args.length === 2 && typeof args[0] === 'function') {
      const [method, context] = args as [AnyFunction, ClassMethodDecoratorContext];
      const methodName = String(context.name);
      return function (this: any, ...callArgs: unknown[]) {
        return run(`${this?.constructor?.name ?? 'Object'}.${methodName}`, method, this, callArgs);
      };
    }
    const [target, key, descriptor] = args as [object, PropertyKey, PropertyDescriptor];
    const method = descriptor.value as AnyFunction;
    const className = typeof target === 'function' ? target.name : target.constructor.name;
    descriptor.value = function (this: unknown, ...callArgs: unknown[]) {
      return run(`${className}.${String(key)}`, method, this, callArgs);
    };
    return descriptor;
  }) as MethodDecoratorOfBothKinds;
}

/**
 * Wraps every public method of a class (its prototype chain) or object so that
 * each call runs through `resolve()`'s pipeline, looked up per call: a class
 * auto-traced at import time works once a pipeline is registered later.
 */
export function autoTraceWith<T extends object>(
  target: T,
  options: AutoTraceOptions,
  resolve: () => SpanFactory | undefined,
): T {
  const isClass = typeof target === 'function' && (target as AnyFunction).prototype !== undefined;
  const holder: Record<string, unknown> = isClass
    ? (target as AnyFunction).prototype
    : (target as Record<string, unknown>);
  const ctor = (target as object).constructor;
  const className =
    options.name ??
    (isClass ? (target as AnyFunction).name : ctor?.name && ctor !== Object ? ctor.name : 'Object');
  const seen = new Set<string>();
  let proto: object | null = holder;
  while (proto && proto !== Object.prototype && proto !== Function.prototype) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === 'constructor' || key.startsWith('_') || seen.has(key)) continue;
      seen.add(key);
      const descriptor = Object.getOwnPropertyDescriptor(proto, key);
      if (
        !descriptor ||
        typeof descriptor.value !== 'function' ||
        descriptor.get ||
        descriptor.set
      ) {
        continue;
      }
      const method = descriptor.value as AnyFunction & { [AUTO_TRACED]?: true };
      if (method[AUTO_TRACED]) continue;
      const spanName = `${className}.${key}`;
      const auto = { className, method: key };
      const wrapped = function (this: unknown, ...args: unknown[]) {
        const factory = resolve();
        if (!factory) return method.apply(this, args);
        return factory.runTraced(spanName, method, this, args, {}, auto);
      };
      Object.defineProperty(wrapped, 'name', { value: key });
      Object.defineProperty(wrapped, AUTO_TRACED, { value: true });
      Object.defineProperty(holder, key, { ...descriptor, value: wrapped });
    }
    // For a plain object, only its own methods; for classes and instances, inherited ones too.
    proto =
      isClass || Object.getPrototypeOf(proto) !== Object.prototype
        ? Object.getPrototypeOf(proto)
        : null;
  }
  return target;
}

// Module-level forms: the pipeline registered at call time.

/**
 * A method decorator (TC39 standard, or TypeScript's `experimentalDecorators`):
 * each call runs in a span named `Class.method` (or `options.name`) of the
 * pipeline registered at call time, so decorating at import time works before
 * `register()`.
 */
export function trace(options: TracedOptions = {}): MethodDecoratorOfBothKinds {
  return traceDecoratorWith(options, globalFactory);
}

/**
 * Traces every public method of a class or object, like Llama Stack's
 * `trace_protocol`, through the pipeline registered at call time.
 */
export function autoTrace<T extends object>(target: T, options: AutoTraceOptions = {}): T {
  return autoTraceWith(target, options, globalFactory);
}
