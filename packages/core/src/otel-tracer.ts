import {
  type Context,
  type Span as OtelSpan,
  SpanKind as OtelSpanKind,
  context as otelContext,
  propagation as otelPropagation,
  type SpanOptions,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { contextManager } from './context.ts';
import { globalSlot, registeredPipeline } from './global.ts';
import { W3CTraceContextPropagator } from './propagation.ts';
import type { SpanKind } from './schemas.ts';
import { timeInputToMicros } from './span.ts';
import type { SpanFactory } from './span-factory.ts';

const KIND_FROM_OTEL: Record<number, SpanKind> = {
  [OtelSpanKind.INTERNAL]: 'internal',
  [OtelSpanKind.SERVER]: 'server',
  [OtelSpanKind.CLIENT]: 'client',
  [OtelSpanKind.PRODUCER]: 'producer',
  [OtelSpanKind.CONSUMER]: 'consumer',
};

/** Implements `@opentelemetry/api`'s Tracer over a pipeline's span factory. */
export class TelemetryTracer implements Tracer {
  constructor(
    private readonly factory: SpanFactory,
    private readonly scope: string,
  ) {}

  startSpan(
    name: string,
    options: SpanOptions = {},
    context: Context = contextManager.active(),
  ): OtelSpan {
    const parentContext = options.root ? trace.deleteSpan(context) : context;
    const span = this.factory.createSpan(
      name,
      parentContext,
      options.attributes,
      options.kind === undefined ? undefined : KIND_FROM_OTEL[options.kind],
      options.startTime === undefined ? undefined : timeInputToMicros(options.startTime),
    );
    // Set after the start, so it travels only with the end event.
    if (this.scope) span.setAttribute('otel.scope.name', this.scope);
    return span;
  }

  startActiveSpan<F extends (span: OtelSpan) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: OtelSpan) => unknown>(
    name: string,
    options: SpanOptions,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: OtelSpan) => unknown>(
    name: string,
    options: SpanOptions,
    context: Context,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: OtelSpan) => unknown>(
    name: string,
    a?: SpanOptions | F,
    b?: Context | F,
    c?: F,
  ): ReturnType<F> {
    let options: SpanOptions = {};
    let ctx: Context = contextManager.active();
    let fn: F;
    if (typeof a === 'function') fn = a;
    else if (typeof b === 'function') {
      options = a ?? {};
      fn = b;
    } else {
      options = a ?? {};
      ctx = b ?? ctx;
      fn = c as F;
    }
    const span = this.startSpan(name, options, ctx);
    return contextManager.with(
      trace.setSpan(ctx, span),
      fn as (span: OtelSpan) => ReturnType<F>,
      undefined,
      span,
    );
  }
}

const INVALID = { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 };

/** A TracerProvider that always routes to the currently registered pipeline. */
const globalTracerProvider: TracerProvider = {
  getTracer(name: string): Tracer {
    return {
      startSpan(spanName, options, context) {
        const t = registeredPipeline();
        if (t) return t.tracerProvider.getTracer(name).startSpan(spanName, options, context);
        return trace.wrapSpanContext(
          trace.getSpanContext(context ?? contextManager.active()) ?? INVALID,
        );
      },
      startActiveSpan(spanName: string, ...rest: unknown[]) {
        const t = registeredPipeline();
        const tracer = t ? t.tracerProvider.getTracer(name) : undefined;
        if (tracer)
          return (tracer.startActiveSpan as (...a: unknown[]) => unknown)(spanName, ...rest);
        const fn = rest[rest.length - 1] as (span: OtelSpan) => unknown;
        return fn(trace.wrapSpanContext(trace.getSpanContext(contextManager.active()) ?? INVALID));
      },
    } as Tracer;
  },
};

/**
 * Installs the toolkit as `@opentelemetry/api`'s global context manager,
 * tracer provider and W3C propagator, once per process; warns when another
 * SDK already owns them.
 */
export function installOtelGlobals(): void {
  if (globalSlot.otelInstalled) return;
  globalSlot.otelInstalled = true;
  const okContext = otelContext.setGlobalContextManager(contextManager);
  const okTrace = trace.setGlobalTracerProvider(globalTracerProvider);
  const okPropagation = otelPropagation.setGlobalPropagator(new W3CTraceContextPropagator());
  if (!okContext || !okTrace || !okPropagation) {
    const taken = [
      !okContext && 'context manager',
      !okTrace && 'tracer provider',
      !okPropagation && 'propagator',
    ]
      .filter(Boolean)
      .join(', ');
    console.warn(
      `[telemetry] @opentelemetry/api already has a global ${taken}; spans created through @opentelemetry/api may not reach the toolkit. Call register() before other OpenTelemetry SDKs start.`,
    );
  }
}
