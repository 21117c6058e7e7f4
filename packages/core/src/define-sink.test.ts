import { createMemorySink, createTelemetry, TelemetryValidationError } from '@telemetry/core';
import { defineSink, type SinkContext, TelemetryConfigError, z } from '@telemetry/core/sink';
import {
  checkSinkConformance,
  recordingContext,
  SinkConformanceError,
} from '@telemetry/core/testing';
import { describe, expect, it, vi } from 'vitest';

const lines = defineSink({
  type: 'lines',
  options: z.strictObject({
    /** Where lines go. */
    out: z.array(z.string(), { error: 'expected an array to push lines into' }),
    /** Prefix of every line. */
    prefix: z.string({ error: 'expected a string' }).default('> '),
    /** Writes in flight. */
    concurrency: z.number().int().min(1, { error: 'expected at least 1' }).default(1),
  }),
  fromConfig: (config, env) => ({
    out: [],
    ...(typeof config.service_name === 'string' ? { prefix: `${config.service_name}: ` } : {}),
    ...(env.LINES_PREFIX ? { prefix: env.LINES_PREFIX } : {}),
  }),
  create: (options, context) => ({
    delivery: { concurrency: options.concurrency },
    context,
    options,
    writeSpans(spans) {
      for (const span of spans) options.out.push(`${options.prefix}${span.name}`);
    },
  }),
});

describe('defineSink', () => {
  it('validates options with the schema: defaults filled, every problem at once, paths under options.', () => {
    const out: string[] = [];
    const sink = lines.create({ out });
    expect(sink.name).toBe('lines');
    expect(sink.options).toEqual({ out, prefix: '> ', concurrency: 1, name: 'lines' });
    expect(lines.create({ out, name: 'second' }).name).toBe('second');
    let error: unknown;
    try {
      lines.create({ out: 'nope', prefix: 5, concurrency: 0, name: '', colour: 'red' } as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TelemetryValidationError);
    expect((error as TelemetryValidationError).code).toBe('TELEMETRY_INVALID_INPUT');
    expect((error as Error).message).toMatchInlineSnapshot(`
      "Invalid lines sink options (5 problems):
        - options.out: expected an array to push lines into
        - options.prefix: expected a string
        - options.concurrency: expected at least 1
        - options.name: expected a non-empty string
        - options: unknown option "colour": expected out, prefix, concurrency, name"
    `);
  });

  it('reads a Llama Stack config block and the environment into options', () => {
    expect(lines.fromConfig({ service_name: 'chat' }, {})).toEqual({ out: [], prefix: 'chat: ' });
    expect(lines.fromConfig({}, { LINES_PREFIX: '# ' })).toEqual({ out: [], prefix: '# ' });
    const parsed = lines.parseOptions({
      ...lines.fromConfig({ service_name: 'chat' }, {}),
      name: 'x',
    });
    expect(parsed.prefix).toBe('chat: ');
  });

  it('gives create a context that works at once and forwards to the pipeline the sink joins', async () => {
    const warning = vi.fn();
    process.on('warning', warning);
    try {
      const sink = lines.create({ out: [] });
      const context: SinkContext = sink.context;
      expect(context.name).toBe('lines');
      // Before a pipeline: a process warning (at most one per code a minute), never a throw.
      context.reportError(new TelemetryConfigError('early trouble'));
      context.reportError(new TelemetryConfigError('early trouble again'));
      context.recordDropped(3, 'nothing to count against yet');
      await new Promise((r) => setImmediate(r));
      expect(warning).toHaveBeenCalledTimes(1);
      expect((warning.mock.calls[0]![0] as Error).message).toBe('early trouble');

      const warnings: string[] = [];
      const t = createTelemetry({ sinks: [sink], warn: (m) => warnings.push(m) });
      context.reportError(new Error('later trouble'));
      expect(warnings).toEqual([
        '[telemetry] sink "lines" failed: later trouble. See stats().sinks["lines"].',
      ]);
      expect(t.stats().sinks.lines!.lastError).toBe('later trouble');
      expect(context.signal.aborted).toBe(false);
      await t.shutdown();
    } finally {
      process.off('warning', warning);
    }
  });

  it('the context the sink got at creation is aborted when shutdown gives up on the sink', async () => {
    const stuck = defineSink({
      type: 'stuck',
      options: z.object({}),
      create: (_options, context) => ({
        context,
        writeEvents: () => new Promise<void>(() => {}),
      }),
    });
    const sink = stuck.create();
    const t = createTelemetry({ sinks: [sink], shutdownTimeoutMs: 50, warn: () => {} });
    t.withTrace('x', () => {});
    await t.shutdown();
    expect(sink.context.signal.aborted).toBe(true);
    expect(t.stats().sinks.stuck!.dropped).toEqual({ shutdown_timeout: 2 });
  });

  it('refuses a definition that cannot work, and a create that returns no sink', () => {
    expect(() =>
      defineSink({
        type: 'no spaces',
        options: z.object({}),
        create: () => ({ writeEvents() {} }),
      }),
    ).toThrow(TelemetryConfigError);
    expect(() =>
      defineSink({ type: 'x', options: z.string() as never, create: () => ({ writeEvents() {} }) }),
    ).toThrow(/must be a zod object schema/);
    const empty = defineSink({ type: 'empty', options: z.object({}), create: () => ({}) as never });
    expect(() => empty.create()).toThrow(
      /create\(\) must return an object with writeEvents or writeSpans/,
    );
    const misnamed = defineSink({
      type: 'misnamed',
      options: z.object({}),
      create: () => ({ name: 'other', writeEvents() {} }),
    });
    expect(() => misnamed.create()).toThrow(/named "other" for options.name "misnamed"/);
  });
});

describe('the testing kit', () => {
  it('recordingContext records drops and errors, and can be aborted', () => {
    const recorded = recordingContext('under-test');
    const sink = lines.create({ out: [] });
    sink.attach!(recorded.context);
    sink.context.recordDropped(2, 'malformed');
    sink.context.reportError(new Error('x'));
    expect(recorded.dropped).toEqual({ malformed: 2 });
    expect(recorded.errors).toHaveLength(1);
    recorded.abort('done');
    expect(sink.context.signal.aborted).toBe(true);
  });

  it('checkSinkConformance passes a conforming sink and reports what it saw', async () => {
    let sink: ReturnType<typeof lines.create> | undefined;
    const report = await checkSinkConformance(
      () => {
        sink = lines.create({ out: [], concurrency: 3 });
        return sink;
      },
      { traces: 50 },
    );
    expect(report).toMatchObject({ sinkName: 'lines', delivered: 300, accepted: 300 });
    expect(report.maxConcurrentWrites).toBeLessThanOrEqual(3);
    expect(sink!.options.out).toHaveLength(100);
    await checkSinkConformance(() => createMemorySink({ name: 'memory' }));
  });

  it('checkSinkConformance lists every way a sink breaks the contract', async () => {
    const bad = {
      name: 'bad',
      writeSpans(spans: readonly { attributes: Record<string, unknown> }[]) {
        // Mutates what it is given, which other sinks share.
        (spans[0]!.attributes as Record<string, unknown>).seen = true;
      },
      forceFlush: () => Promise.reject(new Error('cannot flush')),
    };
    let error: unknown;
    try {
      await checkSinkConformance(() => bad as never, { traces: 5, timeoutMs: 500 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SinkConformanceError);
    const problems = (error as SinkConformanceError).problems;
    expect(problems).toEqual([
      "flush() did not finish within 500 ms, or the sink's forceFlush answered false or failed",
      '1 write(s) failed (first error: Cannot add property seen, object is not extensible)',
      'it dropped events: sink_error: 30',
      "a write after shutdown() threw synchronously: TypeError: Cannot read properties of undefined (reading 'attributes')",
    ]);
  });
});
