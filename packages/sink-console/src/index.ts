export { CONSOLE_SINK_DEFAULTS, consoleSink, createConsoleSink } from './console-sink.ts';
export { ConsoleStreamError } from './errors.ts';
export type { ConsoleFormat, ConsoleSinkOptions, ConsoleTimeZone, StartLines } from './options.ts';
export { ConsoleSinkOptionsSchema } from './options.ts';
export type { DropReason } from './stream-writer.ts';
