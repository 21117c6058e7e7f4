// What child-process tests import: the sink and the pipeline, with one copy of core.
export { createTelemetry } from '@telemetry/core';
export { createPostgresSink } from '../index.ts';
