import { setTimeout as sleep } from 'node:timers/promises';
import {
  autoTrace,
  type CompletedSpan,
  createLogger,
  currentSpan,
  endTrace,
  nowMicros,
  setAttribute,
  startTrace,
  trace,
  traced,
  withSpan,
  withTrace,
} from '@telemetry/core';
import { describe, expect, it } from 'vitest';
import { usePipeline } from './test-support/pipeline.ts';

const pipeline = usePipeline();
const { setup, spans } = pipeline;

const byName = (all: CompletedSpan[], name: string) => {
  const s = all.find((x) => x.name === name);
  if (!s) throw new Error(`no span ${name} in ${all.map((x) => x.name).join(', ')}`);
  return s;
};

describe('withTrace / withSpan', () => {
  it('nests spans through awaits and records attributes, logs and metrics', async () => {
    setup();
    await withTrace('request', async (root) => {
      root.setAttribute('user', 'u1');
      await withSpan('inference', async (s) => {
        // Node's timers count whole milliseconds from a cached loop clock, so
        // sleep(1) can end after less than 1,000 µs; 5 ms cannot.
        await sleep(5);
        s.metric('prompt_tokens', 12, 'tokens', { model: 'llama' });
        s.log('calling model', 'debug');
      });
      setAttribute('after', true);
    });
    const all = await spans();
    const root = byName(all, 'request');
    const child = byName(all, 'inference');
    expect(root.parent_span_id).toBeNull();
    expect(root.attributes).toEqual({ __root__: true, user: 'u1', after: true });
    expect(child.trace_id).toBe(root.trace_id);
    expect(child.parent_span_id).toBe(root.span_id);
    expect(child.events.map((e) => e.type)).toEqual(['metric', 'unstructured_log']);
    expect(child.events[0]).toMatchObject({
      metric: 'prompt_tokens',
      value: 12,
      unit: 'tokens',
      attributes: { model: 'llama' },
    });
    expect(child.status).toBe('ok');
    expect(child.end_time - child.start_time).toBeGreaterThanOrEqual(1000);
  });

  it('ends a span with status error on a throw, records the message, and re-throws', async () => {
    setup();
    const boom = new TypeError('model unavailable');
    await expect(
      withTrace('request', async () => {
        await withSpan('inference', async () => {
          throw boom;
        });
      }),
    ).rejects.toBe(boom);
    expect(() =>
      withTrace('sync', () =>
        withSpan('inner', () => {
          throw new Error('sync fail');
        }),
      ),
    ).toThrow('sync fail');
    const all = await spans();
    const inference = byName(all, 'inference');
    expect(inference.status).toBe('error');
    expect(inference.status_message).toBe('model unavailable');
    expect(inference.attributes).toMatchObject({
      'error.type': 'TypeError',
      'error.message': 'model unavailable',
    });
    expect(byName(all, 'request').status).toBe('error');
    expect(byName(all, 'inner').status_message).toBe('sync fail');
  });

  it('keeps the span open over an async generator and records chunk_count', async () => {
    setup();
    const chunks: string[] = [];
    await withTrace('chat', async () => {
      const stream = withSpan('stream', async function* () {
        for (const word of ['a', 'b', 'c']) {
          await sleep(1);
          // The generator body runs inside its span.
          yield `${word}:${currentSpan()?.name}`;
        }
      });
      for await (const c of stream) chunks.push(c);
    });
    expect(chunks).toEqual(['a:stream', 'b:stream', 'c:stream']);
    const stream = byName(await spans(), 'stream');
    expect(stream.attributes.chunk_count).toBe(3);
    expect(stream.status).toBe('ok');
  });

  it('ends a generator span with error when the stream throws, and when abandoned early', async () => {
    setup();
    await withTrace('chat', async () => {
      const failing = withSpan('failing', async function* () {
        yield 1;
        throw new Error('stream broke');
      });
      await expect(async () => {
        for await (const _ of failing) {
          // consume
        }
      }).rejects.toThrow('stream broke');
      const early = withSpan('early', async function* () {
        yield 1;
        yield 2;
      });
      for await (const _ of early) break;
    });
    const all = await spans();
    expect(byName(all, 'failing')).toMatchObject({
      status: 'error',
      status_message: 'stream broke',
    });
    expect(byName(all, 'failing').attributes.chunk_count).toBe(1);
    expect(byName(all, 'early')).toMatchObject({ status: 'ok' });
  });

  it('records when things happened, not when the queue ran', async () => {
    setup();
    const before = nowMicros();
    withTrace('t', () => {
      const t0 = nowMicros();
      while (nowMicros() - t0 < 2000) {
        // busy 2 ms inside the span
      }
    });
    const after = nowMicros();
    await sleep(20);
    const [span] = await spans();
    expect(span!.start_time).toBeGreaterThanOrEqual(before);
    expect(span!.end_time).toBeLessThanOrEqual(after);
    expect(span!.end_time - span!.start_time).toBeGreaterThanOrEqual(2000);
  });

  it('is a harmless no-op outside a trace', async () => {
    setup();
    expect(
      withSpan('orphan', (s) => {
        s.setAttribute('x', 1);
        s.log('nothing');
        return 7;
      }),
    ).toBe(7);
    setAttribute('x', 1);
    createLogger().error('nowhere');
    expect(currentSpan()).toBeUndefined();
    expect(await spans()).toEqual([]);
    expect(pipeline.telemetry.stats().accepted).toBe(0);
  });

  it('runs callbacks unchanged when no pipeline is registered', async () => {
    setup();
    await pipeline.telemetry.shutdown();
    expect(withTrace('t', () => withSpan('s', () => 5))).toBe(5);
    expect(traced((a: number) => a * 2)(4)).toBe(8);
  });
});

describe('concurrency', () => {
  it('100 concurrent traces never share a span stack', async () => {
    setup();
    const requests = Array.from({ length: 100 }, (_, i) =>
      withTrace(`request-${i}`, async () => {
        await sleep(Math.random() * 5);
        await withSpan('step-1', async () => {
          await sleep(Math.random() * 5);
          await withSpan('step-2', async () => {
            await new Promise((r) => setTimeout(r, Math.random() * 5));
          });
        });
        await withSpan('step-3', () => sleep(1));
      }),
    );
    await Promise.all(requests);
    const all = await spans();
    expect(all).toHaveLength(400);
    const byId = new Map(all.map((s) => [s.span_id, s]));
    const traceIds = new Set(
      all.filter((s) => s.name.startsWith('request-')).map((s) => s.trace_id),
    );
    expect(traceIds.size).toBe(100);
    for (const s of all) {
      if (s.parent_span_id === null) continue;
      const parent = byId.get(s.parent_span_id)!;
      expect(parent.trace_id).toBe(s.trace_id);
      if (s.name === 'step-2') expect(parent.name).toBe('step-1');
      if (s.name === 'step-1' || s.name === 'step-3') expect(parent.name).toMatch(/^request-/);
    }
  });

  it('startTrace/endTrace in concurrent async functions keep their own traces', async () => {
    setup();
    const handle = async (i: number) => {
      const root = startTrace(`req-${i}`);
      await sleep(Math.random() * 5);
      await withSpan('work', () => sleep(1));
      expect(currentSpan()?.span_id).toBe(root.span_id);
      endTrace();
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => handle(i)));
    const all = await spans();
    const roots = all.filter((s) => s.name.startsWith('req-'));
    expect(new Set(roots.map((r) => r.trace_id)).size).toBe(20);
    for (const w of all.filter((s) => s.name === 'work')) {
      const parent = roots.find((r) => r.span_id === w.parent_span_id)!;
      expect(parent.trace_id).toBe(w.trace_id);
    }
  });
});

describe('wrappers, decorators and auto-tracing', () => {
  it('traced() wraps functions and keeps this and arguments', async () => {
    setup();
    const obj = {
      factor: 3,
      mul: traced(function mul(this: { factor: number }, x: number) {
        return x * this.factor;
      }),
    };
    expect(withTrace('t', () => obj.mul(2))).toBe(6);
    expect(byName(await spans(), 'mul').parent_span_id).not.toBeNull();
  });

  it('@trace() decorates methods (TypeScript experimentalDecorators syntax)', async () => {
    setup();
    class Agent {
      prefix = 'hi ';
      @trace()
      async greet(name: string) {
        await sleep(1);
        return this.prefix + name;
      }
      @trace({ name: 'custom.name' })
      fail() {
        throw new Error('no');
      }
    }
    const agent = new Agent();
    await withTrace('t', async () => {
      expect(await agent.greet('bob')).toBe('hi bob');
      expect(() => agent.fail()).toThrow('no');
    });
    const all = await spans();
    expect(byName(all, 'Agent.greet').status).toBe('ok');
    expect(byName(all, 'custom.name').status).toBe('error');
  });

  it('trace() also works as a standard TC39 method decorator', async () => {
    setup();
    class Svc {
      run(x: number) {
        return x + 1;
      }
    }
    // What a TC39 decorator transform emits for `@trace() run(...)`.
    const context = {
      kind: 'method',
      name: 'run',
      static: false,
      private: false,
    } as ClassMethodDecoratorContext;
    Svc.prototype.run = trace()(Svc.prototype.run, context);
    expect(withTrace('t', () => new Svc().run(1))).toBe(2);
    expect(byName(await spans(), 'Svc.run').parent_span_id).not.toBeNull();
  });

  it('autoTrace traces public methods like trace_protocol, leaving _private ones alone', async () => {
    setup();
    class Inference {
      async chat(model: string, messages: string[]) {
        return { model, reply: this._format(messages) };
      }
      _format(messages: string[]) {
        return messages.join('|');
      }
      async *stream(n: number) {
        for (let i = 0; i < n; i++) yield i;
      }
      broken() {
        throw new RangeError('bad range');
      }
    }
    autoTrace(Inference);
    const api = new Inference();
    await withTrace('request', async () => {
      await api.chat('llama', ['a', 'b']);
      for await (const _ of api.stream(4)) {
        // drain
      }
      expect(() => api.broken()).toThrow('bad range');
    });
    const all = await spans();
    expect(all.map((s) => s.name).sort()).toEqual([
      'Inference.broken',
      'Inference.chat',
      'Inference.stream',
      'request',
    ]);
    expect(byName(all, 'Inference.chat').attributes).toEqual({
      __autotraced__: true,
      __class__: 'Inference',
      __method__: 'chat',
      __type__: 'async',
      __args__: '["llama",["a","b"]]',
      __output__: '{"model":"llama","reply":"a|b"}',
    });
    expect(byName(all, 'Inference.stream').attributes).toMatchObject({
      __type__: 'async_generator',
      chunk_count: 4,
    });
    expect(byName(all, 'Inference.broken')).toMatchObject({
      status: 'error',
      status_message: 'bad range',
    });
  });

  it('autoTrace and @trace applied before any pipeline is registered trace once one is', async () => {
    await pipeline.telemetry?.shutdown(); // nothing registered now, as at import time
    class Early {
      run() {
        return 'ran';
      }
    }
    autoTrace(Early);
    const decorated = { go: () => 'went' };
    const descriptor = trace()(
      decorated,
      'go',
      Object.getOwnPropertyDescriptor(decorated, 'go')!,
    ) as PropertyDescriptor;
    Object.defineProperty(decorated, 'go', descriptor);
    expect(withTrace('t', () => new Early().run())).toBe('ran'); // no pipeline: runs untraced
    setup();
    withTrace('t', () => {
      new Early().run();
      decorated.go();
    });
    expect((await spans()).map((s) => s.name).sort()).toEqual(['Early.run', 'Object.go', 't']);
  });

  it('autoTrace works on plain objects and is idempotent', async () => {
    setup();
    const tools = { search: (q: string) => `results for ${q}`, _secret: () => 1 };
    autoTrace(autoTrace(tools, { name: 'Tools' }), { name: 'Tools' });
    withTrace('t', () => {
      tools.search('cats');
      tools._secret();
    });
    const all = await spans();
    expect(all.map((s) => s.name)).toEqual(['Tools.search', 't']);
    expect(byName(all, 'Tools.search').attributes.__output__).toBe('"results for cats"');
  });

  it('serializes awkward arguments without throwing', async () => {
    setup();
    const cyclic: Record<string, unknown> = { big: 10n };
    cyclic.self = cyclic;
    const svc = autoTrace({ take: (_x: unknown) => 1 }, { name: 'Svc' });
    withTrace('t', () => svc.take(cyclic));
    expect(byName(await spans(), 'Svc.take').attributes.__args__).toBe(
      '[{"big":"10","self":"[Circular]"}]',
    );
  });
});

describe('logging bridge', () => {
  it('turns log calls inside a span into logs of that span with mapped severity', async () => {
    setup();
    const log = createLogger('app');
    withTrace('t', () => {
      log.info('starting', { step: 1 });
      log.log('warning', 'careful');
      log.log(60, 'pino fatal');
      log.log(Symbol('weird'), { not: 'a string' });
      log.critical(new Error('kaput'));
    });
    const [span] = await spans();
    expect(
      span!.events.map((e) => (e.type === 'unstructured_log' ? [e.severity, e.message] : [])),
    ).toEqual([
      ['info', 'starting'],
      ['warn', 'careful'],
      ['critical', 'pino fatal'],
      ['info', '{"not":"a string"}'],
      ['critical', 'kaput'],
    ]);
    expect(span!.events[0]!.attributes).toEqual({ step: 1, 'logger.name': 'app' });
  });

  it('respects minSeverity and never throws', async () => {
    setup();
    const log = pipeline.telemetry.createLogger({ minSeverity: 'warn' });
    const nasty = {
      toJSON() {
        throw new Error('x');
      },
      toString() {
        throw new Error('y');
      },
    };
    withTrace('t', () => {
      log.debug('hidden');
      log.warn('shown');
      expect(() => log.error(nasty)).not.toThrow();
    });
    const [span] = await spans();
    expect(span!.events.map((e) => (e.type === 'unstructured_log' ? e.message : ''))).toContain(
      'shown',
    );
    expect(span!.events.some((e) => e.type === 'unstructured_log' && e.message === 'hidden')).toBe(
      false,
    );
  });
});
