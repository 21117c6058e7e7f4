export { createConsoleSink } from './console-sink.ts';
export { ConsoleStreamError } from './errors.ts';
export type { ConsoleFormat, ConsoleSinkOptions, ConsoleTimeZone, StartLines } from './options.ts';
export { CONSOLE_SINK_DEFAULTS } from './options.ts';
export type { DropReason } from './stream-writer.ts';
