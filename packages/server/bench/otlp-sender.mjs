// Child process of server-bench.mjs: many instrumented services at once.
// Before the clock starts it records spans with the OpenTelemetry SDK and
// encodes them as the SDK's OTLP/HTTP protobuf exporter does (the SDK's own
// serializer, 512 spans a request); then it posts them to the server with a
// few requests in flight, from its own process, so the figure is the server's.
import { Agent, request } from 'node:http';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

const [url, totalText, concurrencyText] = process.argv.slice(2);
const total = Number(totalText);
const concurrency = Number(concurrencyText ?? 4);
const BATCH = 512;
const MODELS = ['llama', 'gpt', 'claude', 'mistral'];

const memory = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'bench' }),
  spanProcessors: [new SimpleSpanProcessor(memory)],
});
const tracer = provider.getTracer('bench');
const bodies = [];
for (let n = 0; n < total; n += 10) {
  const root = tracer.startSpan('request', {
    kind: SpanKind.SERVER,
    attributes: {
      'http.method': 'GET',
      'customer.id': `c-${n % 5000}`,
      route: '/r',
      user: 'u',
      step: 0,
    },
  });
  const ctx = trace.setSpan(ROOT_CONTEXT, root);
  for (let k = 1; k < 10; k++) {
    tracer
      .startSpan(
        'step',
        {
          attributes: {
            model: MODELS[k % 4],
            tokens: k,
            'http.method': 'GET',
            cached: true,
            step: k,
          },
        },
        ctx,
      )
      .end();
  }
  root.end();
  const finished = memory.getFinishedSpans();
  if (finished.length >= BATCH || n + 10 >= total) {
    bodies.push(ProtobufTraceSerializer.serializeRequest(finished.slice()));
    memory.reset();
  }
}

const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
function post(body) {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v1/traces`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

process.on('message', async (message) => {
  if (message !== 'go') return;
  let next = 0;
  let retried = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      for (;;) {
        const status = await post(body);
        if (status === 200) break;
        if (status !== 503) throw new Error(`the server answered ${status}`);
        retried += 1; // overloaded: back off as exporters do, then send again
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  process.send({ done: true, requests: bodies.length, retried }, () => process.exit(0));
});
process.send({ ready: true });
