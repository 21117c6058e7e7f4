import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type CompletedSpan,
  createMemorySink,
  TelemetryConfigError,
  type TelemetryEvent,
  type TelemetrySink,
  TelemetryStoreRequiredError,
  TelemetryValidationError,
} from '@telemetry/core';
import { CaptureStream } from '@telemetry/core/testing';
import {
  createTelemetryFromConfig,
  loadRunConfig,
  registerProviderType,
  registerSinkType,
  type SinkFactoryContext,
  SinkStartError,
} from '@telemetry/provider-meta-reference';
import { type OtlpReceiver, startOtlpReceiver } from '@telemetry/test-support/otlp-receiver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { rejection } from './test-support/scratch.ts';

let dir: string;
let receiver: OtlpReceiver;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'provider-composition-'));
  receiver = await startOtlpReceiver();
});

afterAll(async () => {
  await receiver?.close();
  await rm(dir, { recursive: true, force: true });
});

const env = () => ({ HOME: dir });

/** A sink that records what it is given and whether it was shut down. */
function recordingSink(name: string) {
  const events: TelemetryEvent[] = [];
  const spans: CompletedSpan[] = [];
  let closed = false;
  const sink: TelemetrySink & {
    events: TelemetryEvent[];
    spans: CompletedSpan[];
    readonly closed: boolean;
  } = {
    name,
    events,
    spans,
    get closed() {
      return closed;
    },
    writeEvents(batch) {
      events.push(...batch);
    },
    writeSpans(batch) {
      spans.push(...batch);
    },
    async shutdown() {
      closed = true;
    },
  };
  return sink;
}

describe('from code', () => {
  it('takes sink instances of your own, besides or instead of configured ones', async () => {
    const mine = createMemorySink({ name: 'mine' });
    const telemetry = await createTelemetryFromConfig({ sinks: [] }, { sinks: [mine], env: env() });
    expect(telemetry.sinks.map((s) => s.name)).toEqual(['mine']);
    telemetry.withTrace('job', () => {});
    await telemetry.flush();
    expect(mine.spans.map((s) => s.name)).toEqual(['job']);
    await telemetry.shutdown();
  });

  it('without a store sink, a query fails saying it needs sqlite', async () => {
    const telemetry = await createTelemetryFromConfig(
      { sinks: 'console' },
      { env: env(), sinkOptions: { console: { stream: new CaptureStream() } } },
    );
    await expect(telemetry.queryTraces()).rejects.toThrow(TelemetryStoreRequiredError);
    await expect(
      telemetry.getSpanTree('0123456789abcdef'),
    ).rejects.toThrowErrorMatchingInlineSnapshot(
      `[TelemetryStoreRequiredError: getSpanTree() needs a queryable sink: add 'sqlite' to your telemetry sinks (or pass a sink that implements TraceStore).]`,
    );
    await telemetry.shutdown();
  });

  it('with sqlite, answers queries', async () => {
    const telemetry = await createTelemetryFromConfig(
      { sinks: 'sqlite', sqlite_db_path: ':memory:' },
      { env: env() },
    );
    const traceId = telemetry.withTrace('stored', (span) => span.trace_id);
    await telemetry.flush();
    expect((await telemetry.queryTraces()).map((t) => t.trace_id)).toEqual([traceId]);
    await telemetry.shutdown();
  });

  it('passes sinkOptions to the configured sinks, over what the config says', async () => {
    const stream = new CaptureStream();
    const telemetry = await createTelemetryFromConfig(
      { sinks: 'console' },
      { env: env(), sinkOptions: { console: { stream, format: 'json', name: 'console-json' } } },
    );
    expect(telemetry.sinks.map((s) => s.name)).toEqual(['console-json']);
    telemetry.withTrace('json-line', () => {});
    await telemetry.shutdown();
    const lines = stream.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((l) => l.payload?.type)).toEqual(['span_start', 'span_end']);
  });

  it('rejects a sink of yours named like a configured one', async () => {
    const error = await rejection(
      createTelemetryFromConfig(
        { sinks: 'sqlite', sqlite_db_path: ':memory:' },
        { env: env(), sinks: [createMemorySink({ name: 'sqlite' })] },
      ),
    );
    expect(error).toBeInstanceOf(TelemetryConfigError);
    expect(error.message).toMatchInlineSnapshot(
      `"Two sinks are named "sqlite": sink names must be unique. Configured sinks are named after their type; give a sink passed in \`sinks\` (or a \`name\` in sinkOptions) another name."`,
    );
  });

  it('passes core options through (capacity, onInvalidEvent, ...) and still validates them', async () => {
    const warnings: string[] = [];
    const telemetry = await createTelemetryFromConfig(
      { sinks: [] },
      { env: env(), onInvalidEvent: 'drop', capacity: 10, warn: (m) => warnings.push(m) },
    );
    telemetry.logEvent({ event: { type: 'nonsense' } } as never);
    expect(telemetry.stats().dropped).toEqual({ invalid: 1 });
    await telemetry.flush();
    expect(warnings.join('\n')).toContain('invalid: 1');
    await telemetry.shutdown();
    const error = await rejection(
      createTelemetryFromConfig({ sinks: [] }, { env: env(), capacity: -1 }),
    );
    expect(error).toBeInstanceOf(TelemetryValidationError);
  });
});

describe('config sources', () => {
  it('takes a path, or what loadRunConfig returned', async () => {
    const path = join(dir, 'sources.yaml');
    await writeFile(
      path,
      `telemetry:\n  - provider_id: store\n    provider_type: inline::meta-reference\n    config:\n      sinks: sqlite\n      sqlite_db_path: ':memory:'\n`,
    );
    const loaded = await loadRunConfig(path, { env: env() });
    for (const source of [path, pathToFileURL(path), loaded]) {
      const telemetry = await createTelemetryFromConfig(source, { env: env() });
      expect(telemetry.sinks.map((s) => s.name)).toEqual(['sqlite']);
      expect(telemetry.store).toBeDefined();
      await telemetry.shutdown();
    }
  });

  it('takes one provider entry, or a list of them', async () => {
    const entry = {
      provider_id: 'x',
      provider_type: 'inline::meta-reference',
      config: { sinks: [] },
    };
    for (const source of [entry, [entry]]) {
      const telemetry = await createTelemetryFromConfig(source, { env: env() });
      expect(telemetry.sinks).toEqual([]);
      await telemetry.shutdown();
    }
  });
});

describe('registered sink types', () => {
  it('are created with their context and receive events', async () => {
    const made: SinkFactoryContext[] = [];
    const sink = recordingSink('audit');
    const unregister = registerSinkType('audit', (context) => {
      made.push(context);
      return sink;
    });
    try {
      const telemetry = await createTelemetryFromConfig(
        { sinks: 'audit', service_name: 'billing' },
        { env: env(), sinkOptions: { audit: { level: 'all' } } },
      );
      telemetry.withTrace('charge', (span) => span.log('charged', 'info'));
      await telemetry.shutdown();
      expect(made).toEqual([
        {
          name: 'audit',
          type: 'audit',
          providerId: 'meta-reference',
          config: { sinks: ['audit'], service_name: 'billing' },
          options: { level: 'all' },
          env: env(),
        },
      ]);
      expect(sink.events.map((e) => e.type)).toEqual([
        'structured_log',
        'unstructured_log',
        'structured_log',
      ]);
      expect(sink.spans.map((s) => s.name)).toEqual(['charge']);
      expect(sink.closed).toBe(true);
    } finally {
      unregister();
    }
  });

  it('may be given for one call, and an async factory is awaited', async () => {
    const sink = recordingSink('later');
    const telemetry = await createTelemetryFromConfig(
      { sinks: ['later'] },
      { env: env(), sinkTypes: { later: async () => sink } },
    );
    telemetry.withTrace('t', () => {});
    await telemetry.shutdown();
    expect(sink.spans).toHaveLength(1);
  });

  it('cannot take a built-in name or one a comma list cannot hold', () => {
    expect(() =>
      registerSinkType('sqlite', () => recordingSink('x')),
    ).toThrowErrorMatchingInlineSnapshot(
      `[TelemetryConfigError: Cannot register sink type "sqlite": it is built in. Choose another name, or pass your sink instance with the \`sinks\` option.]`,
    );
    expect(() =>
      registerSinkType('a,b', () => recordingSink('x')),
    ).toThrowErrorMatchingInlineSnapshot(
      `[TelemetryConfigError: Cannot register sink type "a,b": use letters, digits, "_", "-" or "." (it must fit in a comma-separated sinks string).]`,
    );
  });

  it('a factory that throws stops the start, names the sink, and closes the sinks made before it', async () => {
    const first = recordingSink('first');
    const error = await rejection(
      createTelemetryFromConfig(
        { sinks: 'first,broken' },
        {
          env: env(),
          sinkTypes: {
            first: () => first,
            broken: () => {
              throw new Error('disk full');
            },
          },
        },
      ),
    );
    expect(error).toBeInstanceOf(SinkStartError);
    expect((error as SinkStartError).code).toBe('TELEMETRY_SINK_START_FAILED');
    expect(error.message).toMatchInlineSnapshot(
      `"Telemetry provider "meta-reference" could not start sink "broken": disk full"`,
    );
    expect(first.closed).toBe(true);
  });

  it('a factory that returns something else than a sink is reported', async () => {
    const error = await rejection(
      createTelemetryFromConfig(
        { sinks: 'odd' },
        { env: env(), sinkTypes: { odd: () => ({ name: 'odd' }) as TelemetrySink } },
      ),
    );
    expect(error.message).toMatchInlineSnapshot(
      `"Telemetry provider "meta-reference" could not start sink "odd": its factory returned an object that is not a TelemetrySink (expected a non-empty \`name\` and a writeEvents or writeSpans method)"`,
    );
  });
});

describe('the built-in sinks', () => {
  it("report their own start errors, wrapped with the provider's name", async () => {
    // A directory where the database file should be: sink-sqlite cannot open it.
    const error = await rejection(
      createTelemetryFromConfig({ sinks: 'console,sqlite', sqlite_db_path: dir }, { env: env() }),
    );
    expect(error).toBeInstanceOf(SinkStartError);
    expect(error.message).toContain(
      'Telemetry provider "meta-reference" could not start sink "sqlite": Cannot open the SQLite telemetry store',
    );
    expect((error as SinkStartError).cause).toBeInstanceOf(TelemetryConfigError);
  });

  it('the otel sink finds its endpoint in the env option, and sends service_name', async () => {
    const telemetry = await createTelemetryFromConfig(
      { sinks: 'otel_trace', service_name: 'env-found' },
      { env: { HOME: dir, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } },
    );
    const traceId = telemetry.withTrace('from-env', (span) => span.trace_id);
    await telemetry.shutdown();
    await receiver.waitFor(() => receiver.traces.some((s) => s.traceId === traceId));
    const span = receiver.traces.find((s) => s.traceId === traceId)!;
    expect([span.name, span.resource['service.name']]).toEqual(['from-env', 'env-found']);
  });
});

describe('several providers', () => {
  it('fan every event out to the sinks of all of them', async () => {
    const audit = recordingSink('audit/events');
    const unregister = registerProviderType(
      'remote::audit',
      ({ config, sinkName }) => {
        expect(sinkName('events')).toBe('audit/events');
        expect(config).toEqual({ level: 'all' });
        return [audit];
      },
      { schema: z.object({ level: z.enum(['all', 'errors']) }) },
    );
    try {
      const stream = new CaptureStream();
      const telemetry = await createTelemetryFromConfig(
        {
          telemetry: [
            {
              provider_id: 'local',
              provider_type: 'inline::meta-reference',
              config: { sinks: 'console,sqlite', sqlite_db_path: ':memory:' },
            },
            {
              provider_id: 'export',
              provider_type: 'inline::meta-reference',
              config: { sinks: ['otel_trace'], otel_exporter_otlp_endpoint: receiver.url },
            },
            { provider_id: 'audit', provider_type: 'remote::audit', config: { level: 'all' } },
          ],
        },
        { env: env(), sinkOptions: { console: { stream } } },
      );
      expect(telemetry.sinks.map((s) => s.name)).toEqual([
        'local/console',
        'local/sqlite',
        'export/otel',
        'audit/events',
      ]);
      const traceId = telemetry.withTrace('fan-out', (span) => span.trace_id);
      await telemetry.flush();
      expect(stream.text).toContain('END      fan-out  ok');
      expect((await telemetry.getTrace(traceId)).trace_id).toBe(traceId);
      await receiver.waitFor(() => receiver.traces.some((s) => s.traceId === traceId));
      expect(audit.spans.map((s) => s.trace_id)).toEqual([traceId]);
      await telemetry.shutdown();
      for (const stats of Object.values(telemetry.stats().sinks)) {
        expect(stats).toMatchObject({ delivered: 2, failed: 0, pending: 0 });
      }
    } finally {
      unregister();
    }
  });

  it("validate a registered provider type's config with the rest", async () => {
    const unregister = registerProviderType('remote::audit', () => [], {
      schema: z.object({ level: z.enum(['all', 'errors']) }),
    });
    try {
      const error = await rejection(
        createTelemetryFromConfig(
          {
            telemetry: [
              { provider_id: 'a', provider_type: 'remote::audit', config: { level: 'some' } },
              {
                provider_id: 'b',
                provider_type: 'inline::meta-reference',
                config: { sinks: 'sql' },
              },
            ],
          },
          { env: env() },
        ),
      );
      expect(error.message).toMatchInlineSnapshot(`
        "Invalid telemetry config (2 problems):
          - telemetry[0].config.level: Invalid option: expected one of "all"|"errors"
          - telemetry[1].config.sinks[0]: unknown sink "sql"; expected one of: console, sqlite, postgres, otel, otel_trace, otel_metric"
      `);
    } finally {
      unregister();
    }
  });
});
