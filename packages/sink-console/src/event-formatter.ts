import {
  issuesFromZod,
  type TelemetryEvent,
  TelemetryValidationError,
  type z,
} from '@telemetry/core/sink';
import { ansi, plain } from './color.ts';
import { createHumanFormatter } from './human-format.ts';
import { ConsoleSinkOptionsSchema } from './options.ts';

/**
 * Options of `createEventFormatter`: the human-format options of the console
 * sink, with the same defaults, except `color`, which is off unless asked
 * for (there is no stream to detect a terminal on).
 */
export const EventFormatterOptionsSchema = ConsoleSinkOptionsSchema.pick({
  minSeverity: true,
  attributes: true,
  startLines: true,
  color: true,
  timeZone: true,
  maxValueLength: true,
});
export type EventFormatterOptions = z.input<typeof EventFormatterOptionsSchema>;

/** Formats one event as lines of text, each ending in `\n` (none for an event it does not show). */
export type EventFormatter = (event: TelemetryEvent) => string;

/**
 * The console sink's human format without a sink or a stream, for tools that
 * print stored telemetry the way the live view printed it (the `telemetry`
 * CLI's `show` and `tail` replay stored spans, logs and metrics through it).
 * Stateful, as the sink's: it follows span starts and ends to indent by depth
 * and to give END lines their name and duration, so feed one formatter every
 * event of what it prints, a span's start before its end. Throws
 * `TelemetryValidationError` for bad options, listing every problem.
 */
export function createEventFormatter(options: EventFormatterOptions = {}): EventFormatter {
  const parsed = EventFormatterOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new TelemetryValidationError(
      'event formatter options',
      issuesFromZod(parsed.error, ['options']),
    );
  }
  const resolved = parsed.data;
  return createHumanFormatter({ ...resolved, paint: resolved.color === true ? ansi : plain });
}
