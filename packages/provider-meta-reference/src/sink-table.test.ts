/**
 * The provider builds every configured sink from one table of sink
 * definitions: the built-in ones are loaded and validated exactly as a
 * user's own type is. The custom sink below is written only from core's
 * README ("Writing a sink"), importing nothing but published entry points.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CompletedSpan,
  getGlobalTelemetry,
  isTraceSearchStore,
  TelemetryValidationError,
} from '@telemetry/core';
import { defineSink, z } from '@telemetry/core/sink';
import { CaptureStream } from '@telemetry/core/testing';
import {
  BUILTIN_SINKS,
  createTelemetryFromConfig,
  parseTelemetryConfig,
  registerProviderType,
  registerSinkType,
} from '@telemetry/provider-meta-reference';
import { describe, expect, it } from 'vitest';
import { rejection, scratchDir } from './test-support/scratch.ts';

const scratch = scratchDir('provider-sink-table-');

/** Where a line of NDJSON goes; resolves once it got there. */
type Send = (text: string, options: { signal: AbortSignal }) => Promise<void>;

/** A sink of one's own, as core's README shows: spans as lines of JSON, tagged with the service. */
const mySink = defineSink({
  type: 'mysink',
  options: z.strictObject({
    send: z.custom<Send>((value) => typeof value === 'function', {
      error: 'expected a function (text, { signal }) => Promise<void>',
    }),
    /** @default 'unknown' */
    service: z.string().min(1).default('unknown'),
    /** @default 1 */
    concurrency: z.number().int().min(1).max(16).default(1),
  }),
  // What it reads of a Llama Stack config block, and of the environment.
  fromConfig: (config, env) => ({
    service: config.service_name ?? env.MYSINK_SERVICE,
  }),
  create: (options, context) => ({
    delivery: { concurrency: options.concurrency },
    async writeSpans(spans: readonly CompletedSpan[]) {
      const text = spans
        .map((span) => `${JSON.stringify({ service: options.service, name: span.name })}\n`)
        .join('');
      await options.send(text, { signal: context.signal });
    },
  }),
});

describe('a sink type of your own, registered as a definition', () => {
  it('is named in the config next to the built-in ones, reads its keys, gets its options', async () => {
    const lines: string[] = [];
    const unregister = registerSinkType(mySink);
    try {
      const stream = new CaptureStream();
      const telemetry = await createTelemetryFromConfig(
        { sinks: ['console', 'mysink'], service_name: 'billing' },
        {
          env: { HOME: scratch.path },
          sinkOptions: {
            console: { stream },
            mysink: { send: async (text: string) => void lines.push(text) },
          },
        },
      );
      expect(telemetry.sinks.map((s) => s.name)).toEqual(['console', 'mysink']);
      telemetry.withTrace('charge', () => {});
      await telemetry.shutdown();
      expect(lines).toEqual(['{"service":"billing","name":"charge"}\n']);
      expect(stream.text).toContain('charge');
      expect(telemetry.stats().sinks.mysink).toMatchObject({ delivered: 2, pending: 0 });
    } finally {
      unregister();
    }
  });

  it('has its options validated before any sink is made, with every other sink problem at once', async () => {
    const unregister = registerSinkType(mySink);
    const db = join(scratch.path, 'never-created.db');
    try {
      const error = await rejection(
        createTelemetryFromConfig(
          { sinks: 'console,sqlite,mysink', sqlite_db_path: db },
          {
            env: { HOME: scratch.path },
            sinkOptions: {
              console: { format: 'xml' },
              sqlite: { ttlSeconds: -1 },
              mysink: { concurrency: 99 },
            },
          },
        ),
      );
      expect(error).toBeInstanceOf(TelemetryValidationError);
      expect((error as TelemetryValidationError).code).toBe('TELEMETRY_INVALID_INPUT');
      expect(error.message).toMatchInlineSnapshot(`
        "Invalid telemetry sink options (4 problems):
          - console.options.format: expected one of "human", "json"
          - sqlite.options.ttlSeconds: expected a whole number >= 1
          - mysink.options.send: expected a function (text, { signal }) => Promise<void>
          - mysink.options.concurrency: Too big: expected number to be <=16"
      `);
      expect(existsSync(db)).toBe(false);
    } finally {
      unregister();
    }
  });

  it('takes its keys from the environment it is given', async () => {
    const lines: string[] = [];
    const telemetry = await createTelemetryFromConfig(
      { sinks: 'mysink' },
      {
        env: { HOME: scratch.path, MYSINK_SERVICE: 'from-env' },
        sinkTypes: [mySink],
        sinkOptions: { mysink: { send: async (text: string) => void lines.push(text) } },
      },
    );
    telemetry.withTrace('t', () => {});
    await telemetry.shutdown();
    expect(lines).toEqual(['{"service":"from-env","name":"t"}\n']);
  });

  it('cannot replace a built-in type, nor be something else than a definition', () => {
    const sqliteLike = defineSink({
      type: 'sqlite',
      options: z.object({}),
      create: () => ({ writeSpans() {} }),
    });
    expect(() => registerSinkType(sqliteLike)).toThrowErrorMatchingInlineSnapshot(
      `[TelemetryConfigError: Cannot register sink type "sqlite": it is built in. Choose another name, or pass your sink instance with the \`sinks\` option.]`,
    );
    expect(() => registerSinkType({ type: 'half' } as never)).toThrowErrorMatchingInlineSnapshot(
      `[TelemetryConfigError: Cannot register sink type "half": expected a sink definition made with defineSink from @telemetry/core/sink.]`,
    );
    expect(Object.keys(BUILTIN_SINKS)).toEqual([
      'console',
      'sqlite',
      'postgres',
      'otel',
      'otel_trace',
      'otel_metric',
    ]);
  });

  it('is accepted by the config only while registered', () => {
    const unregister = registerSinkType(mySink);
    expect(parseTelemetryConfig({ sinks: 'mysink' }).sinks).toEqual(['mysink']);
    unregister();
    expect(() => parseTelemetryConfig({ sinks: 'mysink' })).toThrow(/unknown sink "mysink"/);
  });
});

describe('the built-in sinks come from the same table', () => {
  it("refuse a NUL byte in sqlite_db_path with the sqlite sink's own message, and create no file", async () => {
    const path = join(scratch.path, 'traces.db\0.bak');
    const error = await rejection(
      createTelemetryFromConfig(
        { sinks: ['sqlite'], sqlite_db_path: path },
        { env: { HOME: scratch.path } },
      ),
    );
    expect(error).toBeInstanceOf(TelemetryValidationError);
    expect((error as TelemetryValidationError).issues).toEqual([
      {
        path: 'sqlite.options.path',
        message: `expected a file path without NUL bytes (SQLite would open the file named up to the first one), got ${JSON.stringify(path)}`,
      },
    ]);
    expect(existsSync(join(scratch.path, 'traces.db'))).toBe(false);
  });

  it('leave the OTLP endpoint rules to the otel sink: no endpoint, or not a URL, in its own words', async () => {
    const noEndpoint = await rejection(
      createTelemetryFromConfig({ sinks: ['console', 'otel'] }, { env: { HOME: scratch.path } }),
    );
    expect(noEndpoint).toBeInstanceOf(TelemetryValidationError);
    expect(noEndpoint.message).toMatchInlineSnapshot(`
      "Invalid telemetry sink options (1 problem):
        - otel.options.endpoint: no OTLP endpoint is configured: pass \`endpoint\` (the \`otel_endpoint\` config key, e.g. http://localhost:4318/v1/traces) or \`baseEndpoint\` (\`otel_exporter_otlp_endpoint\`, e.g. http://localhost:4318), or set the environment variable OTEL_EXPORTER_OTLP_ENDPOINT"
    `);
    const notUrl = await rejection(
      createTelemetryFromConfig(
        { sinks: 'otel_trace', otel_exporter_otlp_endpoint: 'localhost:4318' },
        { env: { HOME: scratch.path } },
      ),
    );
    expect(notUrl.message).toMatchInlineSnapshot(`
      "Invalid telemetry sink options (1 problem):
        - otel.options.baseEndpoint: "localhost:4318/v1/traces" is not an http:// or https:// URL, which OTLP/HTTP needs"
    `);
    // The environment the call gives is where the otel sink looks too.
    const telemetry = await createTelemetryFromConfig(
      { sinks: ['otel'] },
      { env: { HOME: scratch.path, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' } },
    );
    expect(telemetry.sinks.map((s) => s.name)).toEqual(['otel']);
    await telemetry.shutdown({ timeoutMs: 100 });
  });

  it('put the store where Llama Stack does when the config names none', async () => {
    const home = join(scratch.path, 'home');
    for (const [env, file] of [
      [{ HOME: home }, join(home, '.llama', 'runtime', 'trace_store.db')],
      [
        { HOME: home, LLAMA_STACK_CONFIG_DIR: join(scratch.path, 'llama') },
        join(scratch.path, 'llama', 'runtime', 'trace_store.db'),
      ],
    ] as const) {
      const telemetry = await createTelemetryFromConfig({ sinks: 'sqlite' }, { env });
      telemetry.withTrace('stored', () => {});
      await telemetry.shutdown();
      expect(existsSync(file)).toBe(true);
    }
  });

  it('name sinks after their provider when there are several, for every sink of the table', async () => {
    const telemetry = await createTelemetryFromConfig(
      {
        telemetry: [
          {
            provider_id: 'a',
            provider_type: 'inline::meta-reference',
            config: { sinks: 'mysink' },
          },
          {
            provider_id: 'b',
            provider_type: 'inline::meta-reference',
            config: { sinks: 'mysink' },
          },
        ],
      },
      {
        env: { HOME: scratch.path },
        sinkTypes: [mySink],
        sinkOptions: { mysink: { send: async () => {} } },
      },
    );
    expect(telemetry.sinks.map((s) => s.name)).toEqual(['a/mysink', 'b/mysink']);
    await telemetry.shutdown();
    expect(getGlobalTelemetry()).toBeUndefined();
  });

  it('serve a provider type of your own that lists sinks of the table, as meta-reference does', async () => {
    const unregister = registerProviderType('remote::relay', () => [], {
      // Built for each parse from the sink names known then.
      schema: ({ sinkNames }) =>
        z.object({ forward: z.array(z.enum([...sinkNames.keys()] as [string, ...string[]])) }),
      sinks: (config) => config.forward,
    });
    try {
      const lines: string[] = [];
      const telemetry = await createTelemetryFromConfig(
        {
          telemetry: [
            {
              provider_id: 'relay',
              provider_type: 'remote::relay',
              config: { forward: ['mysink'] },
            },
          ],
        },
        {
          env: { HOME: scratch.path },
          sinkTypes: [mySink],
          sinkOptions: { mysink: { send: async (text: string) => void lines.push(text) } },
        },
      );
      expect(telemetry.sinks.map((s) => s.name)).toEqual(['mysink']);
      telemetry.withTrace('relayed', () => {});
      await telemetry.shutdown();
      expect(lines).toEqual(['{"service":"unknown","name":"relayed"}\n']);
      await expect(
        createTelemetryFromConfig(
          {
            telemetry: [
              { provider_id: 'r', provider_type: 'remote::relay', config: { forward: ['kafka'] } },
            ],
          },
          { env: { HOME: scratch.path } },
        ),
      ).rejects.toThrow(/telemetry\[0\]\.config\.forward\[0\]/);
    } finally {
      unregister();
    }
  });
});

/** A Llama Stack `${env.NAME}` reference, written as the config file has it. */
const envRef = (name: string) => `\${env.${name}}`;

describe('the postgres sink, a row of the table like the others', () => {
  it('reads postgres_url (with an env reference) and is validated with the rest of the config', async () => {
    const error = await rejection(
      createTelemetryFromConfig(
        { sinks: 'console,postgres', postgres_url: envRef('TELEMETRY_POSTGRES_URL') },
        { env: { TELEMETRY_POSTGRES_URL: 'mysql://app:secret@db/telemetry' } },
      ),
    );
    expect(error.message).toMatchInlineSnapshot(`
      "Invalid telemetry sink options (1 problem):
        - postgres.options.connectionString: expected a connection string starting with postgres:// or postgresql://, got "mysql://***@db/telemetry""
    `);
    const missing = await rejection(createTelemetryFromConfig({ sinks: 'postgres' }, { env: {} }));
    expect((missing as TelemetryValidationError).issues.map((i) => i.path)).toEqual([
      'postgres.options.connectionString',
    ]);
    // Nothing listens on port 9: the sink is made, and connects when a write comes (retrying).
    const telemetry = await createTelemetryFromConfig(
      { sinks: ['postgres'], postgres_url: envRef('TELEMETRY_POSTGRES_URL'), service_name: 'api' },
      {
        env: { TELEMETRY_POSTGRES_URL: 'postgres://app@127.0.0.1:9/telemetry' },
        sinkOptions: { postgres: { connectTimeoutMs: 200, retentionIntervalMs: 0 } },
      },
    );
    expect(Object.keys(telemetry.stats().sinks)).toEqual(['postgres']);
    expect(isTraceSearchStore(telemetry.store)).toBe(true);
    await telemetry.shutdown();
  });
});
