import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TelemetryValidationError } from '@telemetry/core';
import { createOtelSink, type OtelSinkOptions, otelSink } from '@telemetry/sink-otel';
import { startOtlpReceiver } from '@telemetry/test-support/otlp-receiver';
import { afterEach, describe, expect, it } from 'vitest';
import { completedSpan } from './test-support/spans.ts';

const sinks: { shutdown(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.shutdown()));
});

/** A sink whose environment is exactly `env`, whatever the machine running the tests has set. */
function make(options: OtelSinkOptions, env: Record<string, string> = {}) {
  const sink = createOtelSink({ env, ...options });
  sinks.push(sink);
  return sink;
}

function validationError(fn: () => unknown): TelemetryValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TelemetryValidationError);
    return error as TelemetryValidationError;
  }
  throw new Error('expected a TelemetryValidationError');
}

describe('where it sends: options, then OTEL_* variables', () => {
  it('takes otel_endpoint as the traces URL and derives the metrics URL from it', () => {
    expect(make({ endpoint: 'http://collector:4318/v1/traces' }).endpoints).toEqual({
      traces: 'http://collector:4318/v1/traces',
      metrics: 'http://collector:4318/v1/metrics',
    });
    expect(make({ endpoint: 'https://x.example/otlp/v1/traces/' }).endpoints.metrics).toBe(
      'https://x.example/otlp/v1/metrics',
    );
    expect(make({ endpoint: 'http://collector:4318/custom', metrics: false }).endpoints).toEqual({
      traces: 'http://collector:4318/custom',
      metrics: undefined,
    });
  });

  it('derives both signal paths from a base endpoint, keeping its own path', () => {
    expect(make({ baseEndpoint: 'http://collector:4318' }).endpoints).toEqual({
      traces: 'http://collector:4318/v1/traces',
      metrics: 'http://collector:4318/v1/metrics',
    });
    expect(make({ baseEndpoint: 'http://gw/otlp/' }).endpoints).toEqual({
      traces: 'http://gw/otlp/v1/traces',
      metrics: 'http://gw/otlp/v1/metrics',
    });
  });

  it('prefers explicit options, then the signal’s variable, then OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env-base:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://env-traces:4318/v1/traces',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://env-metrics:4318/v1/metrics',
    };
    expect(make({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env-base:4318' }).endpoints).toEqual({
      traces: 'http://env-base:4318/v1/traces',
      metrics: 'http://env-base:4318/v1/metrics',
    });
    expect(make({}, env).endpoints).toEqual({
      traces: 'http://env-traces:4318/v1/traces',
      metrics: 'http://env-metrics:4318/v1/metrics',
    });
    // A metrics URL set for metrics wins over one guessed from the traces URL...
    expect(make({ endpoint: 'http://opt:4318/v1/traces' }, env).endpoints).toEqual({
      traces: 'http://opt:4318/v1/traces',
      metrics: 'http://env-metrics:4318/v1/metrics',
    });
    // ...but a guess from the configured traces URL wins over the generic base variable.
    expect(
      make({ endpoint: 'http://opt:4318/v1/traces' }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://b:1' })
        .endpoints.metrics,
    ).toBe('http://opt:4318/v1/metrics');
    expect(
      make(
        {
          endpoint: 'http://a/v1/traces',
          tracesEndpoint: 'http://t/v1/traces',
          baseEndpoint: 'http://base',
          metricsEndpoint: 'http://m/v1/metrics',
        },
        env,
      ).endpoints,
    ).toEqual({ traces: 'http://t/v1/traces', metrics: 'http://m/v1/metrics' });
  });

  it('reads headers, resource and service name from its env; options win key by key', async () => {
    const r = await startOtlpReceiver();
    try {
      const env = {
        OTEL_EXPORTER_OTLP_ENDPOINT: r.url,
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20t0ken,x-tenant=t%201',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=traces',
        OTEL_SERVICE_NAME: 'from-env',
        OTEL_RESOURCE_ATTRIBUTES: 'service.version=1.2.3,team=search',
      };
      const sink = make({ metrics: false }, env);
      expect(sink.name).toBe('otel');
      expect(sink.endpoints.traces).toBe(r.tracesUrl);
      await sink.writeSpans([completedSpan()]);
      expect(r.requests[0]!.headers).toMatchObject({
        authorization: 'Bearer t0ken',
        'x-tenant': 'traces',
      });
      expect(r.traces[0]!.resource).toMatchObject({
        'service.name': 'from-env',
        'service.version': '1.2.3',
        team: 'search',
      });

      const own = make(
        {
          metrics: false,
          name: 'otlp-a',
          serviceName: 'from-config',
          headers: { 'x-tenant': 'mine' },
          resourceAttributes: { team: 'infra' },
        },
        env,
      );
      expect(own.name).toBe('otlp-a');
      await own.writeSpans([completedSpan()]);
      expect(r.requests[1]!.headers).toMatchObject({
        authorization: 'Bearer t0ken',
        'x-tenant': 'mine',
      });
      expect(r.traces[1]!.resource).toMatchObject({
        'service.name': 'from-config',
        'service.version': '1.2.3',
        team: 'infra',
      });
    } finally {
      await r.close();
    }
  });

  it('reads the request timeout and compression from its env', async () => {
    const r = await startOtlpReceiver({ responder: () => ({ status: 200, hang: true }) });
    try {
      const sink = make(
        { endpoint: r.tracesUrl, metrics: false },
        { OTEL_EXPORTER_OTLP_TIMEOUT: '150', OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' },
      );
      await expect(sink.writeSpans([completedSpan()])).rejects.toThrow('no answer within 150 ms');
      expect(r.requests[0]!.headers['content-encoding']).toBe('gzip');
    } finally {
      await r.close();
    }
  });

  it('reads process.env when no env is given', async () => {
    const r = await startOtlpReceiver();
    const saved = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    try {
      process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = r.tracesUrl;
      const sink = createOtelSink({ metrics: false });
      sinks.push(sink);
      expect(sink.endpoints.traces).toBe(r.tracesUrl);
    } finally {
      if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
      else process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = saved;
      await r.close();
    }
  });
});

describe('bad options', () => {
  it('names both fixes when no endpoint is configured, in core’s error format', () => {
    const error = validationError(() => createOtelSink({ env: {} }));
    expect(error.code).toBe('TELEMETRY_INVALID_INPUT');
    expect(error.issues).toEqual([
      {
        path: 'options.endpoint',
        message:
          'no OTLP endpoint is configured: pass `endpoint` (the `otel_endpoint` config key, e.g. http://localhost:4318/v1/traces) or `baseEndpoint` (`otel_exporter_otlp_endpoint`, e.g. http://localhost:4318), or set the environment variable OTEL_EXPORTER_OTLP_ENDPOINT',
      },
    ]);
  });

  it('lists every problem at once, each under options.<key>', () => {
    const error = validationError(() =>
      createOtelSink({
        name: 'otel-prod',
        endpoint: 'collector:4318',
        metricsEndpoint: 'ftp://m/v1/metrics',
        maxExportBatchSize: 0,
        maxConcurrentExports: 2.5,
        timeoutMillis: -1,
        compression: 'br' as never,
        metricKinds: { x: 'summary' as never },
        maxQueueSize: 100,
        env: {},
      } as OtelSinkOptions),
    );
    expect(error.message).toMatchInlineSnapshot(`
      "Invalid otel sink options (8 problems):
        - options.timeoutMillis: expected a number of milliseconds > 0
        - options.compression: expected one of "none", "gzip"
        - options.metricKinds.x: expected one of "counter", "updown", "histogram", "gauge"
        - options.maxExportBatchSize: expected a whole number from 1 to 1,000,000
        - options.maxConcurrentExports: expected a whole number from 1 to 64
        - options: unknown option "maxQueueSize": expected name, endpoint, baseEndpoint, tracesEndpoint, metricsEndpoint, headers, timeoutMillis, compression, serviceName, resourceAttributes, traces, metrics, metricKinds, maxExportBatchSize, maxConcurrentExports, metricExportIntervalMillis, env
        - options.endpoint: "collector:4318" is not an http:// or https:// URL, which OTLP/HTTP needs
        - options.metricsEndpoint: "ftp://m/v1/metrics" is not an http:// or https:// URL, which OTLP/HTTP needs"
    `);
  });

  it('names the environment variable when the bad URL came from it', () => {
    const error = validationError(() =>
      createOtelSink({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' } }),
    );
    expect(error.issues).toEqual([
      {
        path: 'options.env.OTEL_EXPORTER_OTLP_ENDPOINT',
        message:
          '"not a url/v1/traces" is not a URL; expected one such as http://localhost:4318/v1/traces',
      },
    ]);
  });

  it('asks where metrics go when the traces URL does not tell', () => {
    const error = validationError(() =>
      createOtelSink({ endpoint: 'http://c:4318/custom-traces', env: {} }),
    );
    expect(error.issues.map((i) => i.path)).toEqual(['options.metricsEndpoint']);
    expect(error.message).toContain('pass `metricsEndpoint`');
    expect(error.message).toContain('`metrics: false`');
  });

  it('refuses a sink that would export nothing', () => {
    const error = validationError(() =>
      createOtelSink({ baseEndpoint: 'http://c', traces: false, metrics: false, env: {} }),
    );
    expect(error.issues).toEqual([
      {
        path: 'options.traces',
        message:
          'traces and metrics are both off, so this sink would export nothing; enable one or remove the sink',
      },
    ]);
  });
});

describe('otelSink: the definition the provider builds from', () => {
  it('is the `otel` type, with the options schema and its defaults', () => {
    expect(otelSink.type).toBe('otel');
    const options = otelSink.parseOptions({ endpoint: 'http://c:4318/v1/traces' });
    expect(options).toEqual({
      name: 'otel',
      endpoint: 'http://c:4318/v1/traces',
      headers: {},
      resourceAttributes: {},
      traces: true,
      metrics: true,
      metricKinds: {},
      maxExportBatchSize: 2000,
      maxConcurrentExports: 4,
    });
  });

  it('reads the Llama Stack config keys, and the OTEL_* variables of the env it is given', () => {
    const env = { OTEL_EXPORTER_OTLP_HEADERS: 'k=v' };
    expect(
      otelSink.fromConfig(
        {
          sinks: ['console', 'otel_trace'],
          otel_endpoint: 'http://a:4318/v1/traces',
          otel_exporter_otlp_endpoint: 'http://b:4318',
          otel_trace_endpoint: 'http://c:4318/v1/traces',
          otel_metric_endpoint: 'http://d:4318/v1/metrics',
          service_name: 'llama-stack',
          sqlite_db_path: '/tmp/x.db',
        },
        env,
      ),
    ).toEqual({
      endpoint: 'http://a:4318/v1/traces',
      baseEndpoint: 'http://b:4318',
      tracesEndpoint: 'http://c:4318/v1/traces',
      metricsEndpoint: 'http://d:4318/v1/metrics',
      serviceName: 'llama-stack',
      traces: true,
      metrics: false,
      env,
    });
    expect(otelSink.fromConfig({ sinks: ['otel'] }, {})).toEqual({
      traces: true,
      metrics: true,
      env: {},
    });
    expect(otelSink.fromConfig({ sinks: ['otel_metric'] }, {})).toMatchObject({
      traces: false,
      metrics: true,
    });
  });

  it('a config that names only OTEL_EXPORTER_OTLP_ENDPOINT in its env sends there', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318' };
    const sink = otelSink.create(otelSink.fromConfig({ sinks: ['otel'] }, env));
    sinks.push(sink);
    expect(sink.endpoints).toEqual({
      traces: 'http://env:4318/v1/traces',
      metrics: 'http://env:4318/v1/metrics',
    });
  });

  it('with neither config nor env, fails with the fix, as the provider will show it', () => {
    const error = validationError(() =>
      otelSink.parseOptions(otelSink.fromConfig({ sinks: ['otel'] }, {})),
    );
    expect(error.issues.map((i) => i.path)).toEqual(['options.endpoint']);
  });

  it('options the caller passes win over the config’s', () => {
    const sink = otelSink.create({
      ...otelSink.fromConfig({ sinks: ['otel'], otel_endpoint: 'http://cfg:4318/v1/traces' }, {}),
      endpoint: 'http://mine:4318/v1/traces',
      name: 'otel-b',
    });
    sinks.push(sink);
    expect(sink.name).toBe('otel-b');
    expect(sink.endpoints.traces).toBe('http://mine:4318/v1/traces');
  });
});

describe('https', () => {
  const certFile = fileURLToPath(new URL('./test-support/localhost-cert.pem', import.meta.url));
  const keyFile = fileURLToPath(new URL('./test-support/localhost-key.pem', import.meta.url));

  it('trusts the root certificate OTEL_EXPORTER_OTLP_CERTIFICATE names; without it, refuses for good', async () => {
    const r = await startOtlpReceiver({
      tls: { key: readFileSync(keyFile), cert: readFileSync(certFile) },
    });
    try {
      const trusting = make(
        { endpoint: r.tracesUrl, metrics: false },
        { OTEL_EXPORTER_OTLP_CERTIFICATE: certFile },
      );
      await trusting.writeSpans([completedSpan()]);
      expect(r.spanCount()).toBe(1);

      // A certificate nobody vouches for will not pass later either: not retried.
      const doubting = make({ endpoint: r.tracesUrl, metrics: false });
      const error = await doubting.writeSpans([completedSpan()]).then(
        () => undefined,
        (e: unknown) => e as { retryable: boolean; message: string },
      );
      expect(error?.retryable).toBe(false);
      expect(error?.message).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
      expect(r.spanCount()).toBe(1);
    } finally {
      await r.close();
    }
  });

  it('says which variable names a file it cannot read', () => {
    expect(() =>
      make(
        { endpoint: 'https://c:4318/v1/traces', metrics: false },
        { OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: '/nonexistent/ca.pem' },
      ),
    ).toThrow(/Cannot read OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE="\/nonexistent\/ca.pem"/);
  });
});
