import { TelemetryConfigError } from '@telemetry/core';
import { createOtelSink, resolveOtlpEndpoints } from '@telemetry/sink-otel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startOtlpReceiver } from './test-support/otlp-receiver.ts';
import { completedSpan } from './test-support/spans.ts';

const OTEL_VARS = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
  'OTEL_EXPORTER_OTLP_METRICS_HEADERS',
  'OTEL_EXPORTER_OTLP_TIMEOUT',
  'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT',
  'OTEL_EXPORTER_OTLP_METRICS_TIMEOUT',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_METRIC_EXPORT_INTERVAL',
];

/** A clean OTel environment, whatever the machine running the tests has set. */
function cleanEnv(vars: Record<string, string> = {}) {
  for (const name of OTEL_VARS) vi.stubEnv(name, vars[name] ?? '');
}

afterEach(() => {
  vi.unstubAllEnvs();
});

function configError(fn: () => unknown): TelemetryConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TelemetryConfigError);
    return error as TelemetryConfigError;
  }
  throw new Error('expected a TelemetryConfigError');
}

describe('resolveOtlpEndpoints', () => {
  it('takes the seed’s otel_endpoint as the traces URL and derives the metrics URL from it', () => {
    expect(resolveOtlpEndpoints({ endpoint: 'http://collector:4318/v1/traces' }, {})).toMatchObject(
      {
        tracesUrl: 'http://collector:4318/v1/traces',
        metricsUrl: 'http://collector:4318/v1/metrics',
        tracesSource: 'endpoint',
        metricsSource: 'endpoint',
        tracesTimeoutMillis: 10_000,
      },
    );
    expect(
      resolveOtlpEndpoints({ endpoint: 'https://x.example/otlp/v1/traces/' }, {}).metricsUrl,
    ).toBe('https://x.example/otlp/v1/metrics');
    expect(
      resolveOtlpEndpoints({ endpoint: 'http://collector:4318/custom' }, {}).metricsUrl,
    ).toBeUndefined();
  });

  it('derives both signal paths from a base endpoint, keeping its own path', () => {
    expect(resolveOtlpEndpoints({ baseEndpoint: 'http://collector:4318' }, {})).toMatchObject({
      tracesUrl: 'http://collector:4318/v1/traces',
      metricsUrl: 'http://collector:4318/v1/metrics',
    });
    expect(resolveOtlpEndpoints({ baseEndpoint: 'http://gw/otlp/' }, {})).toMatchObject({
      tracesUrl: 'http://gw/otlp/v1/traces',
      metricsUrl: 'http://gw/otlp/v1/metrics',
    });
  });

  it('prefers explicit options, then the signal’s variable, then OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env-base:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://env-traces:4318/v1/traces',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://env-metrics:4318/v1/metrics',
    };
    expect(
      resolveOtlpEndpoints({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env-base:4318' }),
    ).toMatchObject({
      tracesUrl: 'http://env-base:4318/v1/traces',
      metricsUrl: 'http://env-base:4318/v1/metrics',
      tracesSource: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    });
    expect(resolveOtlpEndpoints({}, env)).toMatchObject({
      tracesUrl: 'http://env-traces:4318/v1/traces',
      metricsUrl: 'http://env-metrics:4318/v1/metrics',
    });
    expect(resolveOtlpEndpoints({ endpoint: 'http://opt:4318/v1/traces' }, env)).toMatchObject({
      tracesUrl: 'http://opt:4318/v1/traces',
      // A metrics URL set for metrics wins over one guessed from the traces URL.
      metricsUrl: 'http://env-metrics:4318/v1/metrics',
    });
    // ...but a guess from the configured traces URL wins over the generic base variable.
    expect(
      resolveOtlpEndpoints(
        { endpoint: 'http://opt:4318/v1/traces' },
        { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://b:1' },
      ).metricsUrl,
    ).toBe('http://opt:4318/v1/metrics');
    expect(
      resolveOtlpEndpoints(
        {
          endpoint: 'http://a/v1/traces',
          tracesEndpoint: 'http://t/v1/traces',
          baseEndpoint: 'http://base',
          metricsEndpoint: 'http://m/v1/metrics',
        },
        env,
      ),
    ).toMatchObject({
      tracesUrl: 'http://t/v1/traces',
      tracesSource: 'tracesEndpoint',
      metricsUrl: 'http://m/v1/metrics',
      metricsSource: 'metricsEndpoint',
    });
  });

  it('reads headers and timeouts from the environment; options win key by key', () => {
    const env = {
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=abc,x-tenant=t%201',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'api-key=traces-key',
      OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
      OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '4000',
    };
    expect(resolveOtlpEndpoints({ baseEndpoint: 'http://c' }, env)).toMatchObject({
      tracesHeaders: { 'api-key': 'traces-key', 'x-tenant': 't 1' },
      metricsHeaders: { 'api-key': 'abc', 'x-tenant': 't 1' },
      tracesTimeoutMillis: 2500,
      metricsTimeoutMillis: 4000,
    });
    expect(
      resolveOtlpEndpoints(
        { baseEndpoint: 'http://c', headers: { a: 'b' }, timeoutMillis: 700 },
        env,
      ),
    ).toMatchObject({
      tracesHeaders: { a: 'b' },
      metricsHeaders: { a: 'b' },
      tracesTimeoutMillis: 700,
      metricsTimeoutMillis: 700,
    });
  });
});

describe('createOtelSink configuration', () => {
  it('throws a TelemetryConfigError that names both fixes when no endpoint is configured', () => {
    cleanEnv();
    const error = configError(() => createOtelSink());
    expect(error.code).toBe('TELEMETRY_CONFIG');
    expect(error.message).toMatchInlineSnapshot(`
      "Cannot create the OTLP sink "otel" (1 problem):
        - no OTLP endpoint is configured: pass \`endpoint\` (the \`otel_endpoint\` config key, e.g. http://localhost:4318/v1/traces) or \`baseEndpoint\` (\`otel_exporter_otlp_endpoint\`, e.g. http://localhost:4318), or set the environment variable OTEL_EXPORTER_OTLP_ENDPOINT"
    `);
  });

  it('lists every problem of a bad configuration at once', () => {
    cleanEnv();
    const error = configError(() =>
      createOtelSink({
        name: 'otel-prod',
        endpoint: 'collector:4318',
        metricsEndpoint: 'ftp://m/v1/metrics',
        maxQueueSize: 0,
        timeoutMillis: -1,
        metricKinds: { x: 'summary' as never },
      }),
    );
    expect(error.message).toMatchInlineSnapshot(`
      "Cannot create the OTLP sink "otel-prod" (5 problems):
        - endpoint is "collector:4318"; OTLP/HTTP needs an http:// or https:// URL
        - metricsEndpoint is "ftp://m/v1/metrics"; OTLP/HTTP needs an http:// or https:// URL
        - timeoutMillis is -1; expected a positive number
        - maxQueueSize is 0; expected a positive whole number
        - metricKinds["x"] is "summary"; expected one of counter, updown, histogram, gauge"
    `);
  });

  it('asks where metrics go when the traces URL does not tell', () => {
    cleanEnv();
    const error = configError(() => createOtelSink({ endpoint: 'http://c:4318/custom-traces' }));
    expect(error.message).toContain('pass `metricsEndpoint`');
    expect(error.message).toContain('`metrics: false`');
    const sink = createOtelSink({ endpoint: 'http://c:4318/custom-traces', metrics: false });
    expect(sink.endpoints).toEqual({ traces: 'http://c:4318/custom-traces', metrics: undefined });
    void sink.shutdown();
  });

  it('refuses a sink that would export nothing', () => {
    cleanEnv();
    const error = configError(() =>
      createOtelSink({ baseEndpoint: 'http://c', traces: false, metrics: false }),
    );
    expect(error.message).toContain('traces and metrics are both off');
  });

  it('uses the OTEL_* environment when the options say nothing', async () => {
    const r = await startOtlpReceiver();
    try {
      cleanEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: r.url,
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20t0ken',
        OTEL_SERVICE_NAME: 'from-env',
        OTEL_RESOURCE_ATTRIBUTES: 'service.version=1.2.3,team=search',
      });
      const sink = createOtelSink({ metrics: false });
      expect(sink.name).toBe('otel');
      expect(sink.endpoints.traces).toBe(r.tracesUrl);
      sink.writeSpans([completedSpan()]);
      await sink.shutdown();
      expect(r.requests[0]!.headers.authorization).toBe('Bearer t0ken');
      expect(r.traces[0]!.resource).toMatchObject({
        'service.name': 'from-env',
        'service.version': '1.2.3',
        team: 'search',
      });
    } finally {
      await r.close();
    }
  });

  it('lets the serviceName option win over OTEL_SERVICE_NAME', async () => {
    const r = await startOtlpReceiver();
    try {
      cleanEnv({ OTEL_SERVICE_NAME: 'from-env' });
      const sink = createOtelSink({
        endpoint: r.tracesUrl,
        serviceName: 'from-config',
        metrics: false,
        name: 'otlp-a',
      });
      expect(sink.name).toBe('otlp-a');
      sink.writeSpans([completedSpan()]);
      await sink.shutdown();
      expect(r.traces[0]!.resource['service.name']).toBe('from-config');
    } finally {
      await r.close();
    }
  });
});
