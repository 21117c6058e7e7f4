import { TelemetryError } from '@telemetry/core/sink';

/** The stream a console sink writes to failed (closed pipe, destroyed stream); the sink stops writing to it. */
export class ConsoleStreamError extends TelemetryError {
  constructor(sinkName: string, options?: { cause?: unknown }) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(
      'TELEMETRY_CONSOLE_STREAM',
      `Console sink '${sinkName}' can no longer write to its stream${reason}. Its further output is dropped and counted as 'stream_error'; make sure the stream stays open (a pipe's reader, such as \`| head\`, may have exited), or pass another stream.`,
      options,
    );
  }
}
