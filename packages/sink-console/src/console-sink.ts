import {
  defineSink,
  type SinkContext,
  type TelemetryEvent,
  type TelemetrySink,
} from '@telemetry/core/sink';
import { ansi, detectColor, plain } from './color.ts';
import { ConsoleStreamError } from './errors.ts';
import { createHumanFormatter, type EventFormatter } from './human-format.ts';
import { createJsonFormatter } from './json-format.ts';
import {
  type ConsoleSinkOptions,
  ConsoleSinkOptionsSchema,
  type ResolvedOptions,
} from './options.ts';
import { StreamWriter } from './stream-writer.ts';

function createConsole(
  options: ResolvedOptions,
  context: SinkContext,
): Omit<TelemetrySink, 'name'> {
  const stream = options.stream ?? process.stdout;
  const color = options.format === 'human' && detectColor(stream, options.color);
  const paint = color ? ansi : plain;
  const format: EventFormatter =
    options.format === 'json'
      ? createJsonFormatter(options)
      : createHumanFormatter({ ...options, paint });
  const writer = new StreamWriter(stream, {
    dropped: (count, reason) => context.recordDropped(count, reason),
    failed: (error) => context.reportError(new ConsoleStreamError(options.name, { cause: error })),
  });
  let closed = false;

  return {
    writeEvents(events: readonly TelemetryEvent[]): undefined | Promise<void> {
      if (closed) {
        context.recordDropped(events.length, 'after_shutdown');
        return undefined;
      }
      let text = '';
      let failed = 0;
      let firstError: unknown;
      for (const event of events) {
        try {
          text += format(event);
        } catch (error) {
          // Only an event that bypassed validation can get here; count it and go on.
          failed++;
          firstError ??= error;
        }
      }
      if (failed > 0) {
        context.recordDropped(failed, 'format_error');
        context.reportError(firstError);
      }
      // Resolves when the stream took it and can take more: that is the backpressure.
      return text ? writer.write(text, events.length - failed) : undefined;
    },

    /** Where the dispatcher dropped events for this sink (its backlog was full): say so, in order. */
    onGap(count: number, reason: string): void {
      writer.note(
        options.format === 'json'
          ? `${JSON.stringify({ type: 'console_sink_dropped', dropped: count, reason })}\n`
          : `${paint('notice', `... ${count} event${count === 1 ? '' : 's'} not shown: ${reason === 'sink_backlog' ? 'the output stream was too slow' : reason}`)}\n`,
      );
    },

    async forceFlush(): Promise<void> {
      // Nothing is held here (what waits for a slow stream waits in the dispatcher), but
      // what the stream took may still be in its buffer: wait until it is written out.
      await writer.whenWritten(context.signal);
    },

    async shutdown(): Promise<void> {
      closed = true;
      // A process often ends right after shutdown (a signal re-raised by the shutdown
      // hooks, process.exit()): the stream's buffer must be out by then. The pipeline's
      // deadline aborts the signal for a stream that never writes.
      await writer.whenWritten(context.signal);
      writer.close();
    },
  };
}

/**
 * The console sink's definition: options schema, Llama Stack config (it reads
 * none: `sinks: [console]` is all), and how to create it.
 */
export const consoleSink = defineSink({
  type: 'console',
  options: ConsoleSinkOptionsSchema,
  create: createConsole,
});

/**
 * A sink that prints spans, logs and metrics as they happen: aligned,
 * indented lines for people, or JSON lines for tools.
 *
 * It consumes raw events in order (`writeEvents`), so a span's START line
 * appears when the span starts. Writing never throws into the application and
 * never blocks it: a write resolves once the stream can take more, and what
 * comes meanwhile waits in core's bounded backlog for this sink.
 *
 * @throws TelemetryValidationError when an option is invalid (all problems listed at once).
 */
export function createConsoleSink(options: ConsoleSinkOptions = {}): TelemetrySink {
  return consoleSink.create(options);
}

/** Defaults of every option but `stream` (`process.stdout`) and `color` (detected), from the schema. */
export const CONSOLE_SINK_DEFAULTS: Readonly<Omit<ResolvedOptions, 'stream' | 'color'>> =
  Object.freeze(consoleSink.parseOptions({}));
