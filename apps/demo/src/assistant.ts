/**
 * A small AI assistant, instrumented the way a user of the toolkit would: a
 * trace per chat turn, an auto-traced inference client with token metrics, a
 * streamed answer, a tool call whose HTTP client is instrumented with plain
 * `@opentelemetry/api`, a flaky retrieval step that is retried, and logs at
 * several severities through the logging bridge. Nothing here talks to a real
 * model: latencies and tokens are simulated.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { autoTrace, createLogger, currentSpan, withSpan, withTrace } from '@telemetry/core';

const log = createLogger('assistant');

/** The attribute (on each turn's root span) and token metric label that names the demo run. */
export const RUN_ID_LABEL = 'demo.run_id';

export interface ChatRequest {
  readonly id: string;
  readonly runId: string;
  readonly question: string;
  readonly model: string;
  readonly provider: string;
  /** The W3C traceparent of the caller (an API gateway), if any. */
  readonly traceparent?: string | undefined;
  /** Make the first retrieval attempt fail (it is retried). */
  readonly flakyRetrieval?: boolean;
}

export interface ChatResult {
  readonly traceId: string;
  readonly rootSpanId: string;
  readonly answer: string;
}

/** Random but repeatable enough latencies, so a run takes a second, not a minute. */
const latency = (min: number, max: number) => sleep(min + Math.random() * (max - min));

const words = (text: string) => text.split(/\s+/).filter(Boolean).length;

/** An inference client; `autoTrace` below turns each public method into a span `InferenceClient.<method>`. */
export class InferenceClient {
  constructor(
    readonly model: string,
    readonly provider: string,
    /** Labels added to every token metric, such as the deployment or run this client serves. */
    readonly metricLabels: Readonly<Record<string, string>> = {},
  ) {}

  async complete(prompt: string): Promise<string> {
    await latency(20, 60);
    const completion = `Plan: look up the weather, then answer "${prompt.slice(0, 24)}".`;
    this._recordTokens(words(prompt) * 4, words(completion) * 4);
    return completion;
  }

  async *stream(prompt: string): AsyncGenerator<string> {
    const answer = `It is sunny in Paris today, 21 degrees. You asked: ${prompt}`.split(' ');
    for (const word of answer) {
      await latency(1, 4);
      yield `${word} `;
    }
    this._recordTokens(words(prompt) * 4, answer.length * 4);
  }

  /** Llama Stack records token usage as metric events on the inference span. */
  _recordTokens(prompt: number, completion: number): void {
    const labels = { model_id: this.model, provider_id: this.provider, ...this.metricLabels };
    const span = currentSpan();
    span?.metric('prompt_tokens', prompt, 'tokens', labels);
    span?.metric('completion_tokens', completion, 'tokens', labels);
    span?.metric('total_tokens', prompt + completion, 'tokens', labels);
  }
}
autoTrace(InferenceClient);

/**
 * A weather tool with an HTTP client instrumented through `@opentelemetry/api`
 * only, as `@opentelemetry/instrumentation-http` or an LLM SDK would do it.
 */
async function getWeather(city: string): Promise<{ city: string; celsius: number }> {
  const tracer = trace.getTracer('demo-http-client', '1.0.0');
  return tracer.startActiveSpan(
    'GET /v1/forecast',
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': 'GET',
        'url.full': `https://weather.example/v1/forecast?city=${city}`,
      },
    },
    async (span) => {
      await latency(10, 30);
      span.setAttribute('http.response.status_code', 200);
      span.setStatus({ code: SpanStatusCode.OK });
      span.end();
      return { city, celsius: 21 };
    },
  );
}

class RetrievalTimeout extends Error {
  override name = 'RetrievalTimeout';
}

async function retrieveDocuments(
  question: string,
  attempt: number,
  failThisAttempt: boolean,
): Promise<string[]> {
  return withSpan(
    'retrieve_documents',
    async (span) => {
      await latency(5, 20);
      if (failThisAttempt) {
        log.error('vector store timed out', { 'vector_db.id': 'kb-main' });
        throw new RetrievalTimeout('vector store did not answer within 15 ms');
      }
      span.setAttribute('documents.count', 2);
      return [`doc about ${question.split(' ')[0]}`, 'doc about weather'];
    },
    { attributes: { attempt, 'vector_db.id': 'kb-main' } },
  );
}

/** Retries a failing step once, logging each failure as a warning. */
async function withRetry<T>(step: (attempt: number) => Promise<T>, attempts = 2): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step(attempt);
    } catch (error) {
      if (attempt >= attempts) throw error;
      log.warn(`attempt ${attempt} failed, retrying`, {
        'error.message': (error as Error).message,
      });
    }
  }
}

/** One chat turn: the root span of a trace, continuing the caller's trace when it sent a traceparent. */
export async function handleChatTurn(request: ChatRequest): Promise<ChatResult> {
  // The run id labels the token metrics too, so the report reads back this run's tokens only.
  const client = new InferenceClient(request.model, request.provider, {
    [RUN_ID_LABEL]: request.runId,
  });
  return withTrace(
    'chat_turn',
    async (root) => {
      log.info('turn started', { 'request.id': request.id });
      log.debug('routing to model', { model_id: request.model });
      let failNext = request.flakyRetrieval === true;
      const documents = await withRetry((attempt) => {
        const fail = failNext;
        failNext = false;
        return retrieveDocuments(request.question, attempt, fail);
      });
      const plan = await client.complete(`${request.question}\n${documents.join('\n')}`);
      const weather = await withSpan(
        'tool_call',
        async (span) => {
          log.info('calling tool get_weather');
          const result = await getWeather('Paris');
          span.setAttribute('tool.result', JSON.stringify(result));
          return result;
        },
        { attributes: { 'tool.name': 'get_weather', 'tool.arguments': '{"city":"Paris"}' } },
      );
      const answer = await withSpan('stream_response', async (span) => {
        let text = '';
        for await (const chunk of client.stream(
          `${request.question} (${plan.length} chars of plan, ${weather.celsius}°C)`,
        )) {
          text += chunk;
        }
        span.setAttribute('response.length', text.length);
        return text.trim();
      });
      return { traceId: root.trace_id, rootSpanId: root.span_id, answer };
    },
    {
      traceparent: request.traceparent,
      attributes: {
        'request.id': request.id,
        [RUN_ID_LABEL]: request.runId,
        model_id: request.model,
        provider_id: request.provider,
      },
      kind: 'server',
    },
  );
}
