import type { SinkContext, TelemetryEvent, TelemetrySink } from '@telemetry/core';
import { ansi, detectColor, plain } from './color.ts';
import { ConsoleStreamError } from './errors.ts';
import { createHumanFormatter, type EventFormatter } from './human-format.ts';
import { createJsonFormatter } from './json-format.ts';
import { type ConsoleSinkOptions, resolveOptions } from './options.ts';
import { type Chunk, type DropReason, StreamWriter } from './stream-writer.ts';

/**
 * A sink that prints spans, logs and metrics as they happen: aligned,
 * indented lines for people, or JSON lines for tools.
 *
 * It consumes raw events in order (`writeEvents`), so a span's START line
 * appears when the span starts. Writing never throws and never waits for the
 * stream; what a stalled stream cannot take is buffered up to
 * `maxBufferBytes`, then dropped and counted through the `SinkContext`.
 *
 * @throws TelemetryValidationError when an option is invalid (all problems listed at once).
 */
export function createConsoleSink(options: ConsoleSinkOptions = {}): TelemetrySink {
  const o = resolveOptions(options);
  const color = o.format === 'human' && detectColor(o.stream, o.color);
  const paint = color ? ansi : plain;
  const format: EventFormatter =
    o.format === 'json' ? createJsonFormatter(o) : createHumanFormatter({ ...o, paint });

  let context: SinkContext | undefined;
  let closed = false;

  // Drops are reported a microtask later: core moves them from `delivered`, and
  // the batch being written counts as delivered only once writeEvents returns.
  let unreported: Record<string, number> = {};
  let reportScheduled = false;
  const reportDrops = () => {
    reportScheduled = false;
    const drops = unreported;
    unreported = {};
    for (const reason in drops) {
      try {
        context?.recordDropped(drops[reason]!, reason);
      } catch {
        // A failing context must not turn into a throw on the application's path.
      }
    }
  };
  const recordDropped = (count: number, reason: DropReason) => {
    unreported[reason] = (unreported[reason] ?? 0) + count;
    if (!reportScheduled) {
      reportScheduled = true;
      queueMicrotask(reportDrops);
    }
  };
  const reportError = (error: unknown) => {
    try {
      if (context) context.reportError(error);
      else process.emitWarning(error instanceof Error ? error.message : String(error));
    } catch {
      // As above.
    }
  };

  const writer = new StreamWriter(
    o.stream,
    o.maxBufferBytes,
    {
      dropped: recordDropped,
      failed: (error) => reportError(new ConsoleStreamError(o.name, { cause: error })),
    },
    (count) =>
      o.format === 'json'
        ? `${JSON.stringify({ type: 'console_sink_dropped', dropped: count, reason: 'backpressure' })}\n`
        : `${paint('notice', `... ${count} event${count === 1 ? '' : 's'} not shown: the output stream was too slow`)}\n`,
  );

  return {
    name: o.name,

    attach(ctx: SinkContext): void {
      context = ctx;
    },

    writeEvents(events: readonly TelemetryEvent[]): void {
      if (closed) {
        recordDropped(events.length, 'after_shutdown');
        return;
      }
      const chunks: Chunk[] = [];
      let failed = 0;
      let firstError: unknown;
      for (const event of events) {
        let text: string;
        try {
          text = format(event);
        } catch (error) {
          // Only an event that bypassed validation can get here; count it and go on.
          failed++;
          firstError ??= error;
          continue;
        }
        if (text) chunks.push({ text, events: 1 });
      }
      if (failed > 0) {
        recordDropped(failed, 'format_error');
        reportError(firstError);
      }
      writer.write(chunks);
    },

    forceFlush(): Promise<void> {
      return writer.whenIdle(o.flushTimeoutMs);
    },

    async shutdown(): Promise<void> {
      if (closed) return;
      closed = true;
      await writer.whenIdle(o.flushTimeoutMs);
      writer.close();
    },
  };
}
