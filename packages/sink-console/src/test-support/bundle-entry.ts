// What child processes in process.test.ts import, bundled into plain JavaScript.
export { createTelemetry } from '@telemetry/core';
export { createConsoleSink } from '../index.ts';
