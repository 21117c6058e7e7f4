export { CONSOLE_SINK_DEFAULTS, consoleSink, createConsoleSink } from './console-sink.ts';
export { ConsoleStreamError } from './errors.ts';
export type { EventFormatter, EventFormatterOptions } from './event-formatter.ts';
export { createEventFormatter, EventFormatterOptionsSchema } from './event-formatter.ts';
export type { ConsoleFormat, ConsoleSinkOptions, ConsoleTimeZone, StartLines } from './options.ts';
export { ConsoleSinkOptionsSchema } from './options.ts';
export type { DropReason } from './stream-writer.ts';
