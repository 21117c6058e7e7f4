// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Llama Stack ${env.NAME} references, on purpose.
import { TelemetryValidationError } from '@telemetry/core';
import {
  createMetaReferenceConfigSchema,
  type MetaReferenceConfig,
  parseRunConfig,
  parseTelemetryConfig,
  registerSinkType,
} from '@telemetry/provider-meta-reference';
import { sqliteSink } from '@telemetry/sink-sqlite';
import { describe, expect, it } from 'vitest';

/** A fixed environment, so no test depends on the machine's. */
const env = { HOME: '/home/ada' };

/** Where the sqlite sink puts the store of a validated config block (it owns the key's meaning). */
const storeOf = (config: MetaReferenceConfig, vars: Record<string, string> = env) =>
  sqliteSink.fromConfig(config, vars).path;

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TelemetryValidationError);
    return (error as Error).message;
  }
  throw new Error('expected a TelemetryValidationError');
}

describe('the seed block', () => {
  it('is accepted exactly as written in the design', () => {
    const config = parseRunConfig(
      {
        telemetry: [
          {
            provider_id: 'meta-reference',
            provider_type: 'inline::meta-reference',
            config: {
              sinks: ['console', 'sqlite', 'otel'],
              otel_endpoint: 'http://localhost:4318/v1/traces',
              sqlite_db_path: '/path/to/telemetry.db',
            },
          },
        ],
      },
      { env },
    );
    expect(config).toEqual({
      telemetry: [
        {
          provider_id: 'meta-reference',
          provider_type: 'inline::meta-reference',
          config: {
            sinks: ['console', 'sqlite', 'otel_trace', 'otel_metric'],
            otel_endpoint: 'http://localhost:4318/v1/traces',
            sqlite_db_path: '/path/to/telemetry.db',
          },
        },
      ],
    });
  });

  it('gives parse results that parse again to themselves', () => {
    const once = parseTelemetryConfig(
      { sinks: 'otel,console', otel_exporter_otlp_endpoint: 'http://collector:4318' },
      { env },
    );
    expect(parseTelemetryConfig(once, { env })).toEqual(once);
  });
});

describe('defaults', () => {
  it('are the reference ones: console and sqlite, the store under ~/.llama/runtime', () => {
    const config = parseTelemetryConfig({}, { env });
    expect(config).toEqual({ sinks: ['console', 'sqlite'] });
    expect(storeOf(config)).toBe('/home/ada/.llama/runtime/trace_store.db');
    expect(parseTelemetryConfig(undefined, { env })).toEqual(config);
  });

  it('put the store under LLAMA_STACK_CONFIG_DIR when it is set, as Llama Stack does', () => {
    const vars = { ...env, LLAMA_STACK_CONFIG_DIR: '/srv/llama' };
    expect(storeOf(parseTelemetryConfig({}, { env: vars }), vars)).toBe(
      '/srv/llama/runtime/trace_store.db',
    );
  });

  it('treat a key left empty in YAML (null) as not set', () => {
    expect(
      parseTelemetryConfig(
        { sinks: null, sqlite_db_path: null, service_name: null, otel_endpoint: null },
        { env },
      ),
    ).toEqual({ sinks: ['console', 'sqlite'] });
  });

  it('expand ~ in sqlite_db_path', () => {
    expect(storeOf(parseTelemetryConfig({ sqlite_db_path: '~/traces/t.db' }, { env }))).toBe(
      '/home/ada/traces/t.db',
    );
  });
});

describe('sinks', () => {
  it('accepts a comma-separated string, trimming spaces and ignoring empty entries', () => {
    expect(
      parseTelemetryConfig(
        { sinks: 'console, sqlite,,otel_trace ,' },
        {
          env: { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' },
        },
      ).sinks,
    ).toEqual(['console', 'sqlite', 'otel_trace']);
    expect(parseTelemetryConfig({ sinks: 'sqlite' }, { env }).sinks).toEqual(['sqlite']);
  });

  it('accepts an empty list or string: no configured sink', () => {
    expect(parseTelemetryConfig({ sinks: [] }, { env }).sinks).toEqual([]);
    expect(parseTelemetryConfig({ sinks: '' }, { env }).sinks).toEqual([]);
  });

  it.each([
    ['console', ['console']],
    ['sqlite', ['sqlite']],
    ['otel', ['otel_trace', 'otel_metric']],
    ['otel_trace', ['otel_trace']],
    ['otel_metric', ['otel_metric']],
    ['otel_metric,otel_trace', ['otel_metric', 'otel_trace']],
    ['otel,otel_trace,console,console', ['otel_trace', 'otel_metric', 'console']],
  ])('maps %j to %j', (sinks, expected) => {
    const withEndpoint = { sinks, otel_exporter_otlp_endpoint: 'http://localhost:4318' };
    expect(parseTelemetryConfig(withEndpoint, { env }).sinks).toEqual(expected);
    expect(
      parseTelemetryConfig({ ...withEndpoint, sinks: sinks.split(',') }, { env }).sinks,
    ).toEqual(expected);
  });

  it('accepts a registered sink type, and only while it is registered', () => {
    const unregister = registerSinkType('audit-log', ({ name }) => ({ name, writeEvents() {} }));
    expect(parseTelemetryConfig({ sinks: 'console,audit-log' }, { env }).sinks).toEqual([
      'console',
      'audit-log',
    ]);
    unregister();
    expect(problem(() => parseTelemetryConfig({ sinks: 'audit-log' }, { env }))).toContain(
      'unknown sink "audit-log"',
    );
  });

  it('accepts a sink type given for one call', () => {
    const sinkTypes = { memory: () => ({ name: 'memory', writeEvents() {} }) };
    expect(parseTelemetryConfig({ sinks: ['memory'] }, { env, sinkTypes }).sinks).toEqual([
      'memory',
    ]);
  });
});

describe('Llama Stack keys', () => {
  it('accepts service_name, otel_exporter_otlp_endpoint and the 0.1.x per-signal endpoints', () => {
    expect(
      parseTelemetryConfig(
        {
          service_name: 'chat-api',
          sinks: ['otel_trace', 'otel_metric', 'sqlite'],
          otel_exporter_otlp_endpoint: 'http://collector:4318',
          otel_trace_endpoint: 'https://traces.example.com/v1/traces',
          otel_metric_endpoint: 'https://metrics.example.com/v1/metrics',
          sqlite_db_path: ':memory:',
        },
        { env },
      ),
    ).toEqual({
      service_name: 'chat-api',
      sinks: ['otel_trace', 'otel_metric', 'sqlite'],
      otel_exporter_otlp_endpoint: 'http://collector:4318',
      otel_trace_endpoint: 'https://traces.example.com/v1/traces',
      otel_metric_endpoint: 'https://metrics.example.com/v1/metrics',
      sqlite_db_path: ':memory:',
    });
  });

  it("accepts the block of Llama Stack's starter run.yaml as it is", () => {
    const block = {
      service_name: '${env.OTEL_SERVICE_NAME:=\u200B}',
      sinks: '${env.TELEMETRY_SINKS:=console,sqlite}',
      sqlite_db_path: '${env.SQLITE_STORE_DIR:=~/.llama/distributions/starter}/trace_store.db',
      otel_exporter_otlp_endpoint: '${env.OTEL_EXPORTER_OTLP_ENDPOINT:=}',
    };
    const starter = parseTelemetryConfig(block, { env });
    expect(starter).toEqual({
      service_name: '\u200B',
      sinks: ['console', 'sqlite'],
      sqlite_db_path: '~/.llama/distributions/starter/trace_store.db',
    });
    expect(storeOf(starter)).toBe('/home/ada/.llama/distributions/starter/trace_store.db');
    expect(
      parseTelemetryConfig(block, {
        env: {
          ...env,
          OTEL_SERVICE_NAME: 'chat-api',
          TELEMETRY_SINKS: 'otel_trace,sqlite',
          SQLITE_STORE_DIR: '/var/lib/llama',
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        },
      }),
    ).toEqual({
      service_name: 'chat-api',
      sinks: ['otel_trace', 'sqlite'],
      sqlite_db_path: '/var/lib/llama/trace_store.db',
      otel_exporter_otlp_endpoint: 'http://collector:4318',
    });
  });
});

describe('${env.…} substitution', () => {
  const parse = (block: Record<string, unknown>, vars: Record<string, string>) =>
    parseTelemetryConfig(block, { env: { ...env, ...vars } });

  it('${env.NAME} takes the variable', () => {
    expect(parse({ sinks: '${env.SINKS}' }, { SINKS: 'sqlite' }).sinks).toEqual(['sqlite']);
  });

  it('${env.NAME} without the variable is an error at its path', () => {
    expect(problem(() => parse({ sinks: '${env.SINKS}' }, {}))).toMatchInlineSnapshot(`
      "Invalid telemetry config (1 problem):
        - sinks: environment variable SINKS is not set: set it, or give a default with \${env.SINKS:=default}"
    `);
    // Set but empty counts as not set, as in Llama Stack.
    expect(problem(() => parse({ sinks: '${env.SINKS}' }, { SINKS: '' }))).toContain(
      'environment variable SINKS is not set',
    );
  });

  it('${env.NAME:=default} takes the variable, else the default', () => {
    const block = { sinks: '${env.SINKS:=console,sqlite}' };
    expect(parse(block, {}).sinks).toEqual(['console', 'sqlite']);
    expect(parse(block, { SINKS: '' }).sinks).toEqual(['console', 'sqlite']);
    expect(parse(block, { SINKS: 'sqlite' }).sinks).toEqual(['sqlite']);
  });

  it('${env.NAME:=} with no variable leaves the key unset, so its default applies', () => {
    const config = parse({ sqlite_db_path: '${env.DB:=}', service_name: '${env.SVC:=}' }, {});
    expect(config).toEqual({ sinks: ['console', 'sqlite'] });
    expect(storeOf(config)).toBe('/home/ada/.llama/runtime/trace_store.db');
  });

  it('${env.NAME:+value} is the value only when the variable is set', () => {
    const block = { sinks: 'console,${env.WITH_STORE:+sqlite}' };
    expect(parse(block, {}).sinks).toEqual(['console']);
    expect(parse(block, { WITH_STORE: '1' }).sinks).toEqual(['console', 'sqlite']);
  });

  it('the older ${env.NAME:default} form still works', () => {
    expect(parse({ sinks: '${env.SINKS:sqlite}' }, {}).sinks).toEqual(['sqlite']);
  });

  it('substitutes inside a string, several times; the sqlite sink expands the ~ it leaves', () => {
    const config = parse(
      { sqlite_db_path: '${env.ROOT:=~/data}/${env.NAME:=traces}.db' },
      { NAME: 'prod' },
    );
    expect(config.sqlite_db_path).toBe('~/data/prod.db');
    expect(storeOf(config)).toBe('/home/ada/data/prod.db');
  });

  it('substitutes in lists and leaves text without references alone', () => {
    expect(parse({ sinks: ['console', '${env.STORE:=sqlite}'] }, {}).sinks).toEqual([
      'console',
      'sqlite',
    ]);
    expect(parse({ service_name: '$env.X {env.Y}' }, {}).service_name).toBe('$env.X {env.Y}');
  });

  it('applies to the whole run config, as Llama Stack does, before validation', () => {
    const config = parseRunConfig(
      {
        version: 2,
        image_name: '${env.IMAGE:=starter}',
        providers: {
          inference: [{ provider_id: 'ollama', provider_type: 'remote::ollama', config: {} }],
          telemetry: [
            {
              provider_id: '${env.TELEMETRY_ID:=meta-reference}',
              provider_type: 'inline::meta-reference',
              config: { sinks: '${env.TELEMETRY_SINKS:=console,sqlite}' },
            },
          ],
        },
      },
      { env: { ...env, TELEMETRY_ID: 'telemetry-main' } },
    );
    expect(config.telemetry).toEqual([
      {
        provider_id: 'telemetry-main',
        provider_type: 'inline::meta-reference',
        config: { sinks: ['console', 'sqlite'] },
      },
    ]);
  });
});

describe('malformed configs: one error listing every problem, with its path and what was expected', () => {
  const parse = (value: unknown, vars: Record<string, string> = {}) =>
    problem(() => parseRunConfig(value, { env: { ...env, ...vars } }));
  const entry = (config: unknown) => ({
    telemetry: [{ provider_id: 'meta-reference', provider_type: 'inline::meta-reference', config }],
  });

  it('1. an unknown sink names the allowed ones (and the likely one)', () => {
    expect(parse(entry({ sinks: ['console', 'sqlit'] }))).toMatchInlineSnapshot(`
      "Invalid telemetry config (1 problem):
        - telemetry[0].config.sinks[1]: unknown sink "sqlit" (did you mean "sqlite"?); expected one of: console, sqlite, postgres, otel, otel_trace, otel_metric"
    `);
  });

  it('2. sinks of the wrong type', () => {
    expect(parse(entry({ sinks: 42 }))).toMatchInlineSnapshot(`
      "Invalid telemetry config (1 problem):
        - telemetry[0].config.sinks: expected a list of sink names or a comma-separated string such as "console,sqlite", got 42"
    `);
  });

  it('3. a sink name that is not a string', () => {
    expect(parse(entry({ sinks: ['console', { name: 'sqlite' }] }))).toMatchInlineSnapshot(`
      "Invalid telemetry config (1 problem):
        - telemetry[0].config.sinks[1]: expected a sink name (one of: console, sqlite, postgres, otel, otel_trace, otel_metric), got a mapping"
    `);
  });

  it('4. an unknown key names the allowed keys', () => {
    expect(
      parse(entry({ sinks: 'otel', otel_endpiont: 'http://localhost:4318/v1/traces' })),
    ).toMatchInlineSnapshot(`
      "Invalid telemetry config (1 problem):
        - telemetry[0].config.otel_endpiont: unknown key (did you mean "otel_endpoint"?); expected one of: sinks, sqlite_db_path, postgres_url, service_name, otel_exporter_otlp_endpoint, otel_endpoint, otel_trace_endpoint, otel_metric_endpoint"
    `);
  });

  it('5. an endpoint that is not a string (the otel sink checks it is a URL: sink-table.test.ts)', () => {
    expect(
      parse(entry({ sinks: 'otel', otel_exporter_otlp_endpoint: 4318 })),
    ).toMatchInlineSnapshot(`
      "Invalid telemetry config (1 problem):
        - telemetry[0].config.otel_exporter_otlp_endpoint: expected a URL such as http://localhost:4318, got 4318"
    `);
  });

  it('6. the otel sink with no endpoint is left to the sink, which reads the endpoint rules (see sink-table.test.ts)', () => {
    expect(
      parseRunConfig(entry({ sinks: ['console', 'otel'] }), { env }).telemetry[0]!.config,
    ).toEqual({ sinks: ['console', 'otel_trace', 'otel_metric'] });
  });

  it('7. a config block that is not a mapping', () => {
    expect(parse(entry('console,sqlite'))).toMatchInlineSnapshot(`
      "Invalid telemetry config (1 problem):
        - telemetry[0].config: expected a mapping of config keys (sinks, sqlite_db_path, postgres_url, service_name, otel_exporter_otlp_endpoint, otel_endpoint, otel_trace_endpoint, otel_metric_endpoint), got "console,sqlite""
    `);
  });

  it('8. an unknown provider_type', () => {
    expect(
      parse({
        telemetry: [{ provider_id: 'm', provider_type: 'inline::meta_reference', config: {} }],
      }),
    ).toMatchInlineSnapshot(`
      "Invalid telemetry config (1 problem):
        - telemetry[0].provider_type: unknown provider type "inline::meta_reference" (did you mean "inline::meta-reference"?); expected one of: inline::meta-reference"
    `);
  });

  it('9. a provider without provider_id and provider_type, and with a misspelt key', () => {
    expect(
      parse({ telemetry: [{ providor_type: 'inline::meta-reference' }] }),
    ).toMatchInlineSnapshot(`
      "Invalid telemetry config (3 problems):
        - telemetry[0].provider_id: required: a name for this provider, such as "meta-reference"
        - telemetry[0].provider_type: required: the provider type, such as "inline::meta-reference"
        - telemetry[0].providor_type: unknown key (did you mean "provider_type"?); expected one of: provider_id, provider_type, config"
    `);
  });

  it('10. two providers with the same provider_id', () => {
    const provider = { provider_id: 'tm', provider_type: 'inline::meta-reference', config: {} };
    expect(parse({ telemetry: [provider, provider] })).toMatchInlineSnapshot(`
      "Invalid telemetry config (1 problem):
        - telemetry[1].provider_id: provider_id "tm" is already used by entry [0]; give each provider its own"
    `);
  });

  it('11. telemetry that is not a list', () => {
    expect(parse({ telemetry: { provider_id: 'x' } })).toMatchInlineSnapshot(`
      "Invalid telemetry config (1 problem):
        - telemetry: expected a list of providers, each with provider_id, provider_type and config, got a mapping"
    `);
  });

  it('12. a run config without telemetry providers', () => {
    expect(
      parse({ version: 2, providers: { inference: [] }, telemtry: [] }),
    ).toMatchInlineSnapshot(`
      "Invalid telemetry config (1 problem):
        - (root): no telemetry providers: add a "telemetry:" list (or "providers: { telemetry: [...] }" as in a Llama Stack run.yaml)"
    `);
  });

  it('13. a database path of the wrong type, and an empty one', () => {
    expect(parse(entry({ sqlite_db_path: 123 }))).toMatchInlineSnapshot(`
      "Invalid telemetry config (1 problem):
        - telemetry[0].config.sqlite_db_path: expected a file path or ":memory:", got 123"
    `);
    expect(parse(entry({ sqlite_db_path: '' }))).toMatchInlineSnapshot(`
      "Invalid telemetry config (1 problem):
        - telemetry[0].config.sqlite_db_path: expected a file path or ":memory:", got an empty string"
    `);
  });

  it('14. providers both at the top level and under providers', () => {
    const list = [{ provider_id: 'a', provider_type: 'inline::meta-reference' }];
    expect(parse({ telemetry: list, providers: { telemetry: list } })).toMatchInlineSnapshot(`
      "Invalid telemetry config (1 problem):
        - telemetry: telemetry providers are given twice, here and at providers.telemetry; keep one list"
    `);
  });

  it('15. five mistakes in two providers are five lines of one error', () => {
    const message = parse(
      {
        providers: {
          telemetry: [
            {
              provider_id: 'meta-reference',
              provider_type: 'inline::meta-reference',
              config: {
                sinks: '${env.TELEMETRY_SINKS}',
                service_name: 7,
                sqlite_path: '/tmp/t.db',
              },
            },
            {
              provider_id: 'exporter',
              provider_type: 'inline::meta-reference',
              config: { sinks: 'otel,consol', color: true },
            },
          ],
        },
      },
      {},
    );
    expect(message).toMatchInlineSnapshot(`
      "Invalid telemetry config (5 problems):
        - providers.telemetry[0].config.sinks: environment variable TELEMETRY_SINKS is not set: set it, or give a default with \${env.TELEMETRY_SINKS:=default}
        - providers.telemetry[0].config.service_name: expected a service name, got 7
        - providers.telemetry[0].config.sqlite_path: unknown key (did you mean "sqlite_db_path"?); expected one of: sinks, sqlite_db_path, postgres_url, service_name, otel_exporter_otlp_endpoint, otel_endpoint, otel_trace_endpoint, otel_metric_endpoint
        - providers.telemetry[1].config.sinks[1]: unknown sink "consol" (did you mean "console"?); expected one of: console, sqlite, postgres, otel, otel_trace, otel_metric
        - providers.telemetry[1].config.color: unknown key; expected one of: sinks, sqlite_db_path, postgres_url, service_name, otel_exporter_otlp_endpoint, otel_endpoint, otel_trace_endpoint, otel_metric_endpoint"
    `);
  });

  it('16. a value that is neither a run config nor a config block', () => {
    expect(parse('console,sqlite')).toMatchInlineSnapshot(`
      "Invalid telemetry config (1 problem):
        - (root): expected a run config (a mapping with a "telemetry:" list of providers) or a provider's config block, got "console,sqlite""
    `);
  });

  it('lists problems in the issues array too, for programs', () => {
    try {
      parseRunConfig(entry({ sinks: 'consol', service_name: false }), { env });
      expect.unreachable();
    } catch (error) {
      expect((error as TelemetryValidationError).code).toBe('TELEMETRY_INVALID_INPUT');
      expect((error as TelemetryValidationError).issues.map((i) => i.path)).toEqual([
        'telemetry[0].config.sinks[0]',
        'telemetry[0].config.service_name',
      ]);
    }
  });
});

describe('the exported schema', () => {
  it('validates a block with zod, without substituting the environment', () => {
    const schema = createMetaReferenceConfigSchema();
    expect(schema.parse({ sinks: 'sqlite' })).toEqual({ sinks: ['sqlite'] });
    const result = schema.safeParse({ sinks: 'kafka', color: true });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      [
        'sinks.0',
        'unknown sink "kafka"; expected one of: console, sqlite, postgres, otel, otel_trace, otel_metric',
      ],
      [
        'color',
        'unknown key; expected one of: sinks, sqlite_db_path, postgres_url, service_name, otel_exporter_otlp_endpoint, otel_endpoint, otel_trace_endpoint, otel_metric_endpoint',
      ],
    ]);
  });
});
