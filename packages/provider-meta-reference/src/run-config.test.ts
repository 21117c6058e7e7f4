import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TelemetryConfigError, TelemetryValidationError } from '@telemetry/core';
import { loadRunConfig } from '@telemetry/provider-meta-reference';
import { describe, expect, it } from 'vitest';
import { rejection as failure, scratchDir } from './test-support/scratch.ts';

const env = { HOME: '/home/ada' };
const scratch = scratchDir('provider-run-config-');
const file = scratch.file;

describe('loadRunConfig', () => {
  it("reads the seed's YAML block", async () => {
    const path = await file(
      'seed.yaml',
      `telemetry:
  - provider_id: meta-reference
    provider_type: inline::meta-reference
    config:
      sinks: ['console', 'sqlite', 'otel']
      otel_endpoint: "http://localhost:4318/v1/traces"
      sqlite_db_path: "/path/to/telemetry.db"
`,
    );
    expect(await loadRunConfig(path, { env })).toEqual({
      source: path,
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

  it('reads a Llama Stack run.yaml, leaving the other APIs alone', async () => {
    const path = await file(
      'run.yaml',
      `version: 2
image_name: starter
apis:
- inference
- telemetry
providers:
  inference:
  - provider_id: openai
    provider_type: remote::openai
    config:
      api_key: \${env.OPENAI_API_KEY:=}
  telemetry:
  - provider_id: meta-reference
    provider_type: inline::meta-reference
    config:
      service_name: "\${env.OTEL_SERVICE_NAME:=\\u200B}"
      sinks: \${env.TELEMETRY_SINKS:=console,sqlite}
      sqlite_db_path: \${env.SQLITE_STORE_DIR:=~/.llama/distributions/starter}/trace_store.db
      otel_exporter_otlp_endpoint: \${env.OTEL_EXPORTER_OTLP_ENDPOINT:=}
server:
  port: 8321
`,
    );
    const config = await loadRunConfig(pathToFileURL(path), {
      env: {
        ...env,
        TELEMETRY_SINKS: 'console,otel_trace',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
      },
    });
    expect(config.telemetry).toEqual([
      {
        provider_id: 'meta-reference',
        provider_type: 'inline::meta-reference',
        config: {
          service_name: '\u200B',
          sinks: ['console', 'otel_trace'],
          // The sqlite sink expands the ~ (it owns what the key means).
          sqlite_db_path: '~/.llama/distributions/starter/trace_store.db',
          otel_exporter_otlp_endpoint: 'http://c:4318',
        },
      },
    ]);
  });

  it('reads JSON too', async () => {
    const path = await file(
      'run.json',
      JSON.stringify({
        telemetry: [
          {
            provider_id: 'm',
            provider_type: 'inline::meta-reference',
            config: { sinks: 'sqlite' },
          },
        ],
      }),
    );
    expect((await loadRunConfig(path, { env })).telemetry[0]!.config).toEqual({
      sinks: ['sqlite'],
    });
  });

  it('names the line of every problem in the file', async () => {
    const path = await file(
      'bad.yaml',
      `# telemetry for the chat service
telemetry:
  - provider_id: meta-reference
    provider_type: inline::meta-reference
    config:
      sinks:
        - console
        - sqlight
      otel_endpiont: http://localhost:4318/v1/traces
  - provider_type: remote::kafka
`,
    );
    const error = await failure(loadRunConfig(path, { env }));
    expect(error).toBeInstanceOf(TelemetryValidationError);
    expect(error.message.replace(scratch.path, '<dir>')).toMatchInlineSnapshot(`
      "Invalid telemetry config in <dir>/bad.yaml (4 problems):
        - telemetry[0].config.sinks[1]: unknown sink "sqlight"; expected one of: console, sqlite, postgres, otel, otel_trace, otel_metric (line 8)
        - telemetry[0].config.otel_endpiont: unknown key (did you mean "otel_endpoint"?); expected one of: sinks, sqlite_db_path, postgres_url, service_name, otel_exporter_otlp_endpoint, otel_endpoint, otel_trace_endpoint, otel_metric_endpoint (line 9)
        - telemetry[1].provider_id: required: a name for this provider, such as "meta-reference" (line 10)
        - telemetry[1].provider_type: unknown provider type "remote::kafka"; expected one of: inline::meta-reference (line 10)"
    `);
  });

  it('reports YAML syntax errors with their position', async () => {
    const path = await file('broken.yaml', 'telemetry:\n  - provider_id: [meta-reference\n');
    const error = await failure(loadRunConfig(path, { env }));
    expect(error).toBeInstanceOf(TelemetryConfigError);
    expect(error.message.replace(scratch.path, '<dir>')).toMatchInlineSnapshot(
      `"Cannot parse the telemetry run config <dir>/broken.yaml as YAML: Flow sequence in block collection must be sufficiently indented and end with a ] (line 3, column 1)"`,
    );
  });

  it('says which file is missing', async () => {
    const error = await failure(loadRunConfig(join(scratch.path, 'nope.yaml'), { env }));
    expect(error).toBeInstanceOf(TelemetryConfigError);
    expect((error as TelemetryConfigError).code).toBe('TELEMETRY_CONFIG');
    expect(error.message).toContain(
      `Cannot read the telemetry run config ${join(scratch.path, 'nope.yaml')}: no such file.`,
    );
  });
});
