import { createTelemetry } from '@telemetry/core';
import { checkSinkConformance } from '@telemetry/core/testing';
import { createConsoleSink } from '@telemetry/sink-console';
import { describe, expect, it } from 'vitest';
import { CaptureStream, StalledStream } from './test-support/capture.ts';

/** Real clocks and random trace ids: times, durations and ids vary, the layout must not. */
function normalise(text: string): string {
  return text
    .replace(/^\d\d:\d\d:\d\d\.\d{3} [0-9a-f]{8}/gm, 'HH:MM:SS.mmm tttttttt')
    .replace(/\d+\.\d\dms/g, 'N.NNms');
}

class Inference {
  async generate(prompt: string): Promise<string> {
    if (prompt === 'boom') throw new TypeError('model timed out');
    return `echo ${prompt}`;
  }
}

describe('through createTelemetry, as an application uses it', () => {
  it('prints what the tracing helpers, logger and metrics record', async () => {
    const stream = new CaptureStream();
    const telemetry = createTelemetry({ sinks: [createConsoleSink({ stream, color: false })] });
    const logger = telemetry.createLogger('app');
    const inference = telemetry.autoTrace(new Inference());

    await telemetry
      .withTrace('chat_completion', async (root) => {
        root.setAttribute('model', 'llama-3');
        await telemetry.withSpan('retrieve', async (span) => {
          logger.info('fetched 3 documents', { source: 'kb' });
          span.metric('documents_retrieved', 3, 'docs');
        });
        await inference.generate('hello');
        logger.debug('not shown: below the default minimum severity');
        await inference.generate('boom');
      })
      .catch(() => {});
    expect(await telemetry.flush()).toBe(true);

    expect(normalise(stream.text)).toMatchInlineSnapshot(`
      "HH:MM:SS.mmm tttttttt START    chat_completion
      HH:MM:SS.mmm tttttttt START      retrieve
      HH:MM:SS.mmm tttttttt INFO         fetched 3 documents
                                           source: kb
                                           logger.name: app
      HH:MM:SS.mmm tttttttt METRIC       documents_retrieved 3 docs
      HH:MM:SS.mmm tttttttt END        retrieve  ok  N.NNms
      HH:MM:SS.mmm tttttttt SPAN       Inference.generate  ok  N.NNms
      HH:MM:SS.mmm tttttttt SPAN       Inference.generate  ERROR  N.NNms  model timed out
                                         error.type: TypeError
                                         error.message: model timed out
      HH:MM:SS.mmm tttttttt END      chat_completion  ERROR  N.NNms  model timed out
                                       model: llama-3
                                       error.type: TypeError
                                       error.message: model timed out
      "
    `);
    const stats = telemetry.stats();
    expect(stats.sinks.console).toEqual({
      delivered: stats.accepted,
      dropped: {},
      failed: 0,
      pending: 0,
    });
    await telemetry.shutdown();
  });

  it('does not block the application on a stalled stream, and its drops show in stats()', async () => {
    const stream = new StalledStream(512);
    const telemetry = createTelemetry({
      batchSize: 100,
      sinkCapacity: 300,
      sinks: [createConsoleSink({ stream, color: false })],
      warn: () => {},
    });
    const logger = telemetry.createLogger();
    const total = 1_000;
    // Every call returns at once; the stream never completes a write.
    telemetry.withTrace('burst', () => {
      for (let i = 0; i < total; i++) logger.info(`event ${i}`);
    });
    // flush returns too, at its deadline.
    expect(await telemetry.flush({ timeoutMs: 100 })).toBe(false);

    const sum = (counts: Readonly<Record<string, number>>) =>
      Object.values(counts).reduce((a, b) => a + b, 0);
    const { accepted, sinks } = telemetry.stats();
    expect(accepted).toBe(total + 2);
    expect(sinks.console!.dropped.sink_backlog).toBeGreaterThan(0);
    expect(sinks.console!.delivered + sum(sinks.console!.dropped) + sinks.console!.pending).toBe(
      accepted,
    );

    await telemetry.shutdown({ timeoutMs: 50 });
    stream.release();
    await new Promise((resolve) => setImmediate(resolve));
    // Each event the stream took is on it (its START, END or log line); every other one is counted.
    const printed = stream.text.split('\n').filter((line) => /(START|END|INFO) /.test(line)).length;
    const final = telemetry.stats().sinks.console!;
    expect(final.pending).toBe(0);
    expect(printed + sum(final.dropped)).toBe(accepted);
  });

  it("keeps the sink contract (core's conformance check), in both formats", async () => {
    for (const format of ['human', 'json'] as const) {
      const stream = new CaptureStream();
      const report = await checkSinkConformance(() =>
        createConsoleSink({ stream, color: false, format }),
      );
      expect(report.delivered).toBe(report.accepted);
      expect(stream.text.split('\n').length).toBeGreaterThan(600);
    }
  });
});
