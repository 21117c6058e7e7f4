/**
 * Registering as the process-wide pipeline is explicit and idempotent: a
 * notebook cell or a hot-reloading server that creates the pipeline again
 * never doubles the output (in Llama Stack each setup added another span
 * processor, so every span was exported once per setup).
 */
import { trace as otelTrace } from '@opentelemetry/api';
import { createMemorySink, createTelemetry, getGlobalTelemetry, withTrace } from '@telemetry/core';
import { CaptureStream } from '@telemetry/core/testing';
import {
  createTelemetryFromConfig,
  installShutdownHooks,
} from '@telemetry/provider-meta-reference';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { consoleLines } from './test-support/console-lines.ts';

const env = { HOME: '/nonexistent' };

afterEach(async () => {
  await getGlobalTelemetry()?.shutdown();
});

/** A trace through the module-level helper, with a child span made by a library through @opentelemetry/api. */
function request(): void {
  withTrace('request', () => {
    otelTrace.getTracer('db-lib').startActiveSpan('db.query', (span) => span.end());
  });
}

describe('register', () => {
  it('is off unless asked for', async () => {
    const telemetry = await createTelemetryFromConfig({ sinks: [] }, { env });
    expect(getGlobalTelemetry()).toBeUndefined();
    await telemetry.shutdown();
  });

  it('creating the pipeline three times prints every span once', async () => {
    const stream = new CaptureStream();
    const warnings: string[] = [];
    const create = () =>
      createTelemetryFromConfig(
        { sinks: 'console' },
        {
          env,
          register: true,
          sinkOptions: { console: { stream, color: false } },
          warn: (message) => warnings.push(message),
        },
      );
    const first = await create();
    const second = await create();
    const third = await create();
    expect(getGlobalTelemetry()).toBe(third);

    request();
    await third.flush();
    expect(consoleLines(stream)).toMatchInlineSnapshot(`
      [
        "START    request",
        "START      db.query",
        "END        db.query  ok  <ms>",
        "                                   otel.scope.name: db-lib",
        "END      request  ok  <ms>",
      ]
    `);

    // The replaced pipelines were shut down: nothing reaches their sinks any more.
    for (const old of [first, second]) {
      old.logEvent({
        event: {
          type: 'unstructured_log',
          trace_id: '0af7651916cd43dd8448eb211c80319c',
          span_id: 'b7ad6b7169203331',
          timestamp: new Date().toISOString(),
          message: 'too late',
          severity: 'info',
        },
      });
      expect(old.stats().dropped).toEqual({ shutdown: 1 });
    }
    await Promise.all([first.flush(), second.flush()]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('events were logged after shutdown()');
  });

  it('a pipeline replaced before it flushed still delivers what it had', async () => {
    const firstSink = createMemorySink({ name: 'memory' });
    const first = await createTelemetryFromConfig(
      { sinks: [] },
      { env, register: true, sinks: [firstSink] },
    );
    request();
    const secondSink = createMemorySink({ name: 'memory' });
    const second = await createTelemetryFromConfig(
      { sinks: [] },
      { env, register: true, sinks: [secondSink] },
    );
    expect(firstSink.spans.map((s) => s.name).sort()).toEqual(['db.query', 'request']);
    request();
    await second.flush();
    expect(secondSink.spans.map((s) => s.name).sort()).toEqual(['db.query', 'request']);
    expect(firstSink.spans).toHaveLength(2);
    expect(first.stats().sinks.memory).toMatchObject({ pending: 0, dropped: {} });
  });

  it('leaves alone a pipeline that the application registered by hand', async () => {
    const own = createMemorySink({ name: 'own' });
    const handMade = createTelemetry({ sinks: [own] }).register();
    const fromConfig = await createTelemetryFromConfig({ sinks: [] }, { env, register: true });
    expect(getGlobalTelemetry()).toBe(fromConfig);
    handMade.withTrace('still-open-for-business', () => {});
    await handMade.flush();
    expect(own.spans.map((s) => s.name)).toEqual(['still-open-for-business']);
    await handMade.shutdown();
  });

  it('a reloaded copy of the module replaces the pipeline of the first copy', async () => {
    const stream = new CaptureStream();
    const warnings: string[] = [];
    const options = {
      env,
      register: true,
      sinkOptions: { console: { stream, color: false } },
      warn: (message: string) => warnings.push(message),
    };
    const first = await createTelemetryFromConfig({ sinks: 'console' }, options);
    vi.resetModules();
    const reloaded = (await import(
      '@telemetry/provider-meta-reference'
    )) as typeof import('@telemetry/provider-meta-reference');
    expect(reloaded.createTelemetryFromConfig).not.toBe(createTelemetryFromConfig);
    const second = await reloaded.createTelemetryFromConfig({ sinks: 'console' }, options);
    expect(getGlobalTelemetry()).toBe(second);
    request();
    await second.flush();
    expect(consoleLines(stream).filter((line) => line.startsWith('END'))).toEqual([
      'END        db.query  ok  <ms>',
      'END      request  ok  <ms>',
    ]);
    expect(first.stats().dropped).toEqual({});
    first.logEvent({
      event: {
        type: 'metric',
        trace_id: '0af7651916cd43dd8448eb211c80319c',
        span_id: 'b7ad6b7169203331',
        timestamp: new Date().toISOString(),
        metric: 'late',
        value: 1,
        unit: 'count',
      },
    });
    expect(first.stats().dropped).toEqual({ shutdown: 1 });
    await first.flush();
    expect(warnings).toHaveLength(1);
  });

  it('a replaced pipeline takes its shutdown hooks with it', async () => {
    const counts = () => ['SIGTERM', 'SIGINT', 'beforeExit'].map((e) => process.listenerCount(e));
    const before = counts();
    const options = { env, register: true, shutdownHooks: true } as const;
    await createTelemetryFromConfig({ sinks: [] }, options);
    await createTelemetryFromConfig({ sinks: [] }, options);
    const current = await createTelemetryFromConfig({ sinks: [] }, options);
    // One listener per event serves every pipeline; the replaced ones are no longer in it.
    expect(counts().map((n, i) => n - before[i]!)).toEqual([1, 1, 1]);
    installShutdownHooks(current)();
    expect(counts()).toEqual(before);
  });
});
