import { TelemetryError, TelemetryValidationError } from '@telemetry/core';
import { CONSOLE_SINK_DEFAULTS, consoleSink, createConsoleSink } from '@telemetry/sink-console';
import { describe, expect, it } from 'vitest';

describe('options', () => {
  it('names the sink "console" by default and takes another name', () => {
    expect(createConsoleSink().name).toBe('console');
    expect(createConsoleSink({ name: 'stderr' }).name).toBe('stderr');
  });

  it('implements the sink interface with raw events, not whole spans', () => {
    const sink = createConsoleSink();
    expect(typeof sink.writeEvents).toBe('function');
    expect(sink.writeSpans).toBeUndefined();
    expect(typeof sink.attach).toBe('function');
    expect(typeof sink.forceFlush).toBe('function');
    expect(typeof sink.shutdown).toBe('function');
  });

  it('has its defaults in one place: the options schema', () => {
    expect(CONSOLE_SINK_DEFAULTS).toMatchInlineSnapshot(`
      {
        "attributes": true,
        "format": "human",
        "maxValueLength": 1000,
        "minSeverity": "info",
        "name": "console",
        "startLines": true,
        "timeZone": "utc",
      }
    `);
    expect(Object.isFrozen(CONSOLE_SINK_DEFAULTS)).toBe(true);
    expect(consoleSink.parseOptions({})).toEqual(CONSOLE_SINK_DEFAULTS);
  });

  it('lists every invalid option at once, with what to pass instead, in the format every sink uses', () => {
    let caught: unknown;
    try {
      createConsoleSink({
        // @ts-expect-error invalid on purpose
        format: 'xml',
        // @ts-expect-error invalid on purpose
        minSeverity: 'fatal',
        // @ts-expect-error invalid on purpose
        startLines: 'some',
        // @ts-expect-error invalid on purpose
        timeZone: 'Europe/Paris',
        maxValueLength: 2,
        // An option of earlier versions (the pipeline's sinkCapacity does its job now).
        maxBufferBytes: -1,
        // @ts-expect-error invalid on purpose
        stream: {},
        name: '',
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TelemetryValidationError);
    expect(caught).toBeInstanceOf(TelemetryError);
    expect((caught as TelemetryValidationError).code).toBe('TELEMETRY_INVALID_INPUT');
    expect((caught as Error).message).toMatchInlineSnapshot(`
      "Invalid console sink options (8 problems):
        - options.name: expected a non-empty string
        - options.stream: expected a writable stream (an object with a write() method), such as process.stderr
        - options.format: expected one of "human", "json"
        - options.minSeverity: expected one of "verbose", "debug", "info", "warn", "error", "critical"
        - options.startLines: expected true, false or "all"
        - options.timeZone: expected one of "utc", "local"
        - options.maxValueLength: expected a whole number of at least 3
        - options: unknown option "maxBufferBytes": expected name, stream, format, minSeverity, attributes, startLines, color, timeZone, maxValueLength"
    `);
  });

  it('treats undefined options as left out', () => {
    expect(() =>
      createConsoleSink({ format: undefined, stream: undefined, color: undefined }),
    ).not.toThrow();
  });
});
