// `@telemetry/core/testing`: for the tests of a sink (a recording context,
// streams to write to, and the sink-contract check).

export type { ConformanceOptions, ConformanceReport, RecordingContext } from './testing.ts';
export {
  CaptureStream,
  checkSinkConformance,
  recordingContext,
  SinkConformanceError,
  StalledStream,
} from './testing.ts';
