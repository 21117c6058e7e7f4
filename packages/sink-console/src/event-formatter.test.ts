import { TelemetryValidationError } from '@telemetry/core';
import { createConsoleSink, createEventFormatter } from '@telemetry/sink-console';
import { describe, expect, it } from 'vitest';
import { CaptureStream } from './test-support/capture.ts';
import { chatTrace } from './test-support/events.ts';

describe('createEventFormatter', () => {
  it('prints exactly what the console sink prints, with the same defaults', () => {
    const stream = new CaptureStream();
    createConsoleSink({ stream, color: false }).writeEvents!(chatTrace());
    const format = createEventFormatter();
    expect(chatTrace().map(format).join('')).toBe(stream.text);
  });

  it('takes the human-format options: attributes, startLines, colour', () => {
    const format = createEventFormatter({ attributes: false, startLines: false, color: true });
    const text = chatTrace().map(format).join('');
    expect(text).not.toContain('START');
    expect(text).not.toContain('source: kb');
    expect(text).toContain('\x1b[1;31mERROR\x1b[0m');
  });

  it('is plain without color: true (no stream to detect a terminal on)', () => {
    expect(chatTrace().map(createEventFormatter()).join('')).not.toContain('\x1b[');
  });

  it('refuses bad and unknown options, listing each', () => {
    let error: unknown;
    try {
      // @ts-expect-error invalid on purpose
      createEventFormatter({ startLines: 'some', stream: process.stdout });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TelemetryValidationError);
    expect((error as Error).message).toMatchInlineSnapshot(`
      "Invalid event formatter options (2 problems):
        - options.startLines: expected true, false or "all"
        - options: Unrecognized key: "stream""
    `);
  });
});
