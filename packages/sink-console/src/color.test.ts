import type { TelemetryEvent } from '@telemetry/core';
import { type ConsoleSinkOptions, createConsoleSink } from '@telemetry/sink-console';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CaptureStream, showEscapes } from './test-support/capture.ts';
import { chatTrace, ID, log } from './test-support/events.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for ESC
const ESC = /\x1b\[/;

function render(stream: CaptureStream, events: TelemetryEvent[], options: ConsoleSinkOptions = {}) {
  createConsoleSink({ stream, minSeverity: 'verbose', ...options }).writeEvents!(events);
  return stream.text;
}

const everySeverity = (['verbose', 'debug', 'info', 'warn', 'error', 'critical'] as const).map(
  (level, i) => log(ID.root, i * 1_000, level, level),
);

describe('colour', () => {
  beforeEach(() => {
    // Start from a neutral environment whatever the test runner or CI sets.
    vi.stubEnv('FORCE_COLOR', undefined);
    vi.stubEnv('NO_COLOR', undefined);
    vi.stubEnv('NODE_DISABLE_COLORS', undefined);
    vi.stubEnv('TERM', 'xterm-256color');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('is on for a TTY: by severity for logs, by status for spans', () => {
    const out = render(new CaptureStream({ isTTY: true }), [...everySeverity, ...chatTrace()]);
    expect(showEscapes(out)).toMatchInlineSnapshot(`
      "<2>12:00:00.000<0> <2>0af76519<0> <90>VERBOSE<0>  <90>verbose<0>
      <2>12:00:00.001<0> <2>0af76519<0> <2>DEBUG<0>    <2>debug<0>
      <2>12:00:00.002<0> <2>0af76519<0> <36>INFO<0>     info
      <2>12:00:00.003<0> <2>0af76519<0> <1;33>WARN<0>     <33>warn<0>
      <2>12:00:00.004<0> <2>0af76519<0> <1;31>ERROR<0>    <31>error<0>
      <2>12:00:00.005<0> <2>0af76519<0> <1;97;41>CRITICAL<0> <1;31>critical<0>
      <2>12:00:00.000<0> <2>0af76519<0> <35>START<0>    <1>chat_completion<0>
      <2>12:00:00.001<0> <2>0af76519<0> <35>START<0>      <1>retrieve<0>
      <2>12:00:00.002<0> <2>0af76519<0> <36>INFO<0>         fetched 3 documents
                                           <2>source:<0> kb
      <2>12:00:00.003<0> <2>0af76519<0> <34>METRIC<0>       documents_retrieved{index="main"} <1>3<0> <2>docs<0>
      <2>12:00:00.005<0> <2>0af76519<0> <35>END<0>        <1>retrieve<0>  <32>ok<0>  <2>4.25ms<0>
                                         <2>query:<0> weather in Paris
                                         <2>docs.count:<0> 3
      <2>12:00:00.006<0> <2>0af76519<0> <35>START<0>      <1>Inference.generate<0>
      <2>12:00:00.007<0> <2>0af76519<0> <1;33>WARN<0>         <33>retrying after 429<0>
      <2>12:00:00.041<0> <2>0af76519<0> <35>END<0>        <1>Inference.generate<0>  <1;31>ERROR<0>  <2>35.12ms<0>  <31>model timed out<0>
                                         <2>error.type:<0> TimeoutError
                                         <2>error.message:<0> model timed out
      <2>12:00:00.041<0> <2>0af76519<0> <1;31>ERROR<0>      <31>request failed<0>
      <2>12:00:00.042<0> <2>0af76519<0> <35>END<0>      <1>chat_completion<0>  <1;31>ERROR<0>  <2>42.00ms<0>  <31>model timed out<0>
                                       <2>model:<0> llama-3
      "
    `);
  });

  it('is off when the stream is not a TTY', () => {
    const out = render(new CaptureStream(), chatTrace());
    expect(out).not.toMatch(ESC);
    expect(out).toContain('ERROR');
  });

  it('is off on a TTY when NO_COLOR is set', () => {
    vi.stubEnv('NO_COLOR', '1');
    expect(render(new CaptureStream({ isTTY: true }), chatTrace())).not.toMatch(ESC);
  });

  it('ignores an empty NO_COLOR, as no-color.org says', () => {
    vi.stubEnv('NO_COLOR', '');
    expect(render(new CaptureStream({ isTTY: true }), chatTrace())).toMatch(ESC);
  });

  it('is off on a TTY when TERM is dumb or NODE_DISABLE_COLORS is set', () => {
    vi.stubEnv('TERM', 'dumb');
    expect(render(new CaptureStream({ isTTY: true }), chatTrace())).not.toMatch(ESC);
    vi.stubEnv('TERM', 'xterm');
    vi.stubEnv('NODE_DISABLE_COLORS', '1');
    expect(render(new CaptureStream({ isTTY: true }), chatTrace())).not.toMatch(ESC);
  });

  it('is on for a pipe when FORCE_COLOR is set, even with NO_COLOR (as in Node)', () => {
    const tty = render(new CaptureStream({ isTTY: true }), chatTrace());
    vi.stubEnv('FORCE_COLOR', '1');
    const forced = render(new CaptureStream(), chatTrace());
    expect(forced).toMatch(ESC);
    expect(forced).toBe(tty);
    vi.stubEnv('NO_COLOR', '1');
    expect(render(new CaptureStream(), chatTrace())).toMatch(ESC);
    vi.stubEnv('FORCE_COLOR', '');
    expect(render(new CaptureStream(), chatTrace())).toMatch(ESC);
  });

  it('is off on a TTY when FORCE_COLOR is 0 or false', () => {
    vi.stubEnv('FORCE_COLOR', '0');
    expect(render(new CaptureStream({ isTTY: true }), chatTrace())).not.toMatch(ESC);
    vi.stubEnv('FORCE_COLOR', 'false');
    expect(render(new CaptureStream({ isTTY: true }), chatTrace())).not.toMatch(ESC);
  });

  it('follows the color option over the environment', () => {
    vi.stubEnv('NO_COLOR', '1');
    expect(render(new CaptureStream(), chatTrace(), { color: true })).toMatch(ESC);
    vi.stubEnv('FORCE_COLOR', '1');
    expect(render(new CaptureStream({ isTTY: true }), chatTrace(), { color: false })).not.toMatch(
      ESC,
    );
  });

  it('never colours JSON lines', () => {
    vi.stubEnv('FORCE_COLOR', '1');
    const out = render(new CaptureStream({ isTTY: true }), chatTrace(), { format: 'json' });
    expect(out).not.toMatch(ESC);
  });
});
