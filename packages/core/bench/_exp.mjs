import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { createMemorySink, createTelemetry } from '@telemetry/core';

const sink = createMemorySink();
const telemetry = createTelemetry({ sinks: [sink], warn: () => {} });
const ctx = trace.setSpan(ROOT_CONTEXT, telemetry.startSpan('request'));
for (const variant of ['startSpan-noattrs', 'startSpan-attrs', 'tracer']) {
  const ours = telemetry.tracerProvider.getTracer('bench');
  const res = [];
  for (let r = 0; r < 30; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 10000; i++) {
      const span =
        variant === 'tracer'
          ? ours.startSpan('inference', undefined, ctx)
          : telemetry.startSpan(
              'inference',
              variant === 'startSpan-attrs'
                ? { parent: ctx, attributes: { a: 1 } }
                : { parent: ctx },
            );
      span.setAttribute('model', 'llama-3');
      span.setAttribute('provider', 'ollama');
      span.setAttribute('prompt_tokens', i);
      span.setAttribute('stream', false);
      span.setAttribute('temperature', 0.7);
      span.end();
    }
    res.push(Number(process.hrtime.bigint() - t0) / 10000);
    await telemetry.flush();
    sink.clear();
  }
  res.sort((a, b) => a - b);
  console.log(variant, res[15].toFixed(0), 'ns');
}
