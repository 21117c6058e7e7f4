import type { TelemetryEvent } from '@telemetry/core';
import { type ConsoleSinkOptions, createConsoleSink } from '@telemetry/sink-console';
import { describe, expect, it } from 'vitest';
import { CaptureStream, recordingContext } from './test-support/capture.ts';
import { chatTrace, ID, log, metric, spanEnd, spanStart } from './test-support/events.ts';

function render(events: TelemetryEvent[], options: ConsoleSinkOptions = {}): string {
  const stream = new CaptureStream();
  const sink = createConsoleSink({ stream, color: false, ...options });
  sink.writeEvents!(events);
  return stream.text;
}

describe('human format', () => {
  it('prints START and END lines, nested by depth, with logs, metrics and a failing span', () => {
    expect(render(chatTrace())).toMatchInlineSnapshot(`
      "12:00:00.000 0af76519 START    chat_completion
      12:00:00.001 0af76519 START      retrieve
      12:00:00.002 0af76519 INFO         fetched 3 documents
                                           source: kb
      12:00:00.003 0af76519 METRIC       documents_retrieved{index="main"} 3 docs
      12:00:00.005 0af76519 END        retrieve  ok  4.25ms
                                         query: weather in Paris
                                         docs.count: 3
      12:00:00.006 0af76519 START      Inference.generate
      12:00:00.007 0af76519 WARN         retrying after 429
      12:00:00.041 0af76519 END        Inference.generate  ERROR  35.12ms  model timed out
                                         error.type: TimeoutError
                                         error.message: model timed out
      12:00:00.041 0af76519 ERROR      request failed
      12:00:00.042 0af76519 END      chat_completion  ERROR  42.00ms  model timed out
                                       model: llama-3
      "
    `);
  });

  it('with startLines "all", prints the START of auto-traced spans as they start', () => {
    expect(render(chatTrace(), { startLines: 'all', attributes: false })).toMatchInlineSnapshot(`
      "12:00:00.000 0af76519 START    chat_completion
      12:00:00.001 0af76519 START      retrieve
      12:00:00.002 0af76519 INFO         fetched 3 documents
      12:00:00.003 0af76519 METRIC       documents_retrieved 3 docs
      12:00:00.005 0af76519 END        retrieve  ok  4.25ms
      12:00:00.006 0af76519 START      Inference.generate
      12:00:00.007 0af76519 WARN         retrying after 429
      12:00:00.041 0af76519 END        Inference.generate  ERROR  35.12ms  model timed out
      12:00:00.041 0af76519 ERROR      request failed
      12:00:00.042 0af76519 END      chat_completion  ERROR  42.00ms  model timed out
      "
    `);
  });

  it('prints no START lines when startLines is false, and no attributes when attributes is false', () => {
    expect(render(chatTrace(), { startLines: false, attributes: false })).toMatchInlineSnapshot(`
      "12:00:00.002 0af76519 INFO         fetched 3 documents
      12:00:00.003 0af76519 METRIC       documents_retrieved 3 docs
      12:00:00.005 0af76519 END        retrieve  ok  4.25ms
      12:00:00.007 0af76519 WARN         retrying after 429
      12:00:00.041 0af76519 END        Inference.generate  ERROR  35.12ms  model timed out
      12:00:00.041 0af76519 ERROR      request failed
      12:00:00.042 0af76519 END      chat_completion  ERROR  42.00ms  model timed out
      "
    `);
  });

  it('starts each line with the first 8 hex digits of its trace id, so interleaved traces can be told apart', () => {
    const other = 'f00dbabe00000000000000000000cafe';
    const inOther = (event: TelemetryEvent) => ({ ...event, trace_id: other });
    const out = render([
      spanStart(ID.root, 'chat_turn', 0),
      inOther(spanStart(ID.retrieve, 'chat_turn', 100)),
      log(ID.root, 200, 'info', 'turn 1 started'),
      inOther(log(ID.retrieve, 300, 'info', 'turn 2 started')),
      inOther(spanEnd(ID.retrieve, 1_100)),
      spanEnd(ID.root, 2_000),
    ]);
    expect(out).toMatchInlineSnapshot(`
      "12:00:00.000 0af76519 START    chat_turn
      12:00:00.000 f00dbabe START    chat_turn
      12:00:00.000 0af76519 INFO       turn 1 started
      12:00:00.000 f00dbabe INFO       turn 2 started
      12:00:00.001 f00dbabe END      chat_turn  ok  1.00ms
      12:00:00.002 0af76519 END      chat_turn  ok  2.00ms
      "
    `);
  });

  it('holds back the START of an auto-traced span until a line inside it, ancestors first; one with nothing inside is a single SPAN line', () => {
    const auto = { __autotraced__: true };
    const [a, b, c, d, e] = [
      'b00000000000000a',
      'b00000000000000b',
      'b00000000000000c',
      'b00000000000000d',
      'b00000000000000e',
    ];
    const out = render([
      spanStart(ID.root, 'chat_turn', 0),
      spanStart(a!, 'Client.complete', 1_000, { parent: ID.root, attributes: auto }),
      spanStart(b!, 'Client.tokenize', 2_000, { parent: a, attributes: auto }),
      metric(b!, 3_000, 'tokens', 12, 'tokens'),
      spanEnd(b!, 4_000, { attributes: auto }),
      spanEnd(a!, 5_000, { attributes: auto }),
      spanStart(c!, 'Client.ping', 6_000, { parent: ID.root, attributes: auto }),
      spanEnd(c!, 7_000, { attributes: { ...auto, 'http.status': 204 } }),
      spanStart(d!, 'Client.stream', 8_000, { parent: ID.root, attributes: auto }),
      spanStart(e!, 'Client.next', 9_000, { parent: d, attributes: auto }),
      spanEnd(e!, 10_000, { status: 'error', message: 'closed', attributes: auto }),
      spanEnd(d!, 11_000, { attributes: auto }),
      spanEnd(ID.root, 12_000),
    ]);
    expect(out).toMatchInlineSnapshot(`
      "12:00:00.000 0af76519 START    chat_turn
      12:00:00.001 0af76519 START      Client.complete
      12:00:00.002 0af76519 START        Client.tokenize
      12:00:00.003 0af76519 METRIC         tokens 12 tokens
      12:00:00.004 0af76519 END          Client.tokenize  ok  2.00ms
      12:00:00.005 0af76519 END        Client.complete  ok  4.00ms
      12:00:00.007 0af76519 SPAN       Client.ping  ok  1.00ms
                                         http.status: 204
      12:00:00.008 0af76519 START      Client.stream
      12:00:00.010 0af76519 SPAN         Client.next  ERROR  1.00ms  closed
      12:00:00.011 0af76519 END        Client.stream  ok  3.00ms
      12:00:00.012 0af76519 END      chat_turn  ok  12.00ms
      "
    `);
  });

  it('prints a held-back START of a span in another trace with that trace id', () => {
    const other = 'f00dbabe00000000000000000000cafe';
    const out = render([
      {
        ...spanStart(ID.generate, 'Client.complete', 0, { attributes: { __autotraced__: true } }),
        trace_id: other,
      },
      log(ID.root, 500, 'info', 'elsewhere'),
      { ...log(ID.generate, 1_000, 'warn', 'slow'), trace_id: other },
      { ...spanEnd(ID.generate, 2_000), trace_id: other },
    ]);
    expect(out).toMatchInlineSnapshot(`
      "12:00:00.000 0af76519 INFO     elsewhere
      12:00:00.000 f00dbabe START    Client.complete
      12:00:00.001 f00dbabe WARN       slow
      12:00:00.002 f00dbabe END      Client.complete  ok  2.00ms
      "
    `);
  });

  it('hides attribute keys that start with __', () => {
    const out = render([
      spanStart(ID.root, 'work', 0),
      spanEnd(ID.root, 1_000, {
        attributes: { __root__: true, __args__: '[1,2]', visible: 'yes', _single: 1, 'a.__b': 2 },
      }),
    ]);
    expect(out).toMatchInlineSnapshot(`
      "12:00:00.000 0af76519 START    work
      12:00:00.001 0af76519 END      work  ok  1.00ms
                                       visible: yes
                                       _single: 1
                                       a.__b: 2
      "
    `);
  });

  it('cuts values longer than 1,000 characters to 1,000, ending in ...', () => {
    const long = 'a'.repeat(1_200);
    const exact = 'b'.repeat(1_000);
    const out = render([
      spanStart(ID.root, 'work', 0),
      spanEnd(ID.root, 1_000, { attributes: { long, exact } }),
    ]);
    const lines = out.split('\n');
    expect(lines[2]!.endsWith(`long: ${'a'.repeat(997)}...`)).toBe(true);
    expect(lines[3]!.endsWith(`exact: ${exact}`)).toBe(true);
    expect(out.replace(/a{997}/, '<997 a>').replace(/b{1000}/, '<1000 b>')).toMatchInlineSnapshot(`
      "12:00:00.000 0af76519 START    work
      12:00:00.001 0af76519 END      work  ok  1.00ms
                                       long: <997 a>...
                                       exact: <1000 b>
      "
    `);
  });

  it('honours maxValueLength', () => {
    const out = render(
      [
        spanStart(ID.root, 'work', 0),
        spanEnd(ID.root, 1_000, { attributes: { text: 'abcdefghijkl' } }),
      ],
      { maxValueLength: 8 },
    );
    expect(out).toMatchInlineSnapshot(`
      "12:00:00.000 0af76519 START    work
      12:00:00.001 0af76519 END      work  ok  1.00ms
                                       text: abcde...
      "
    `);
  });

  it('prints every severity, filtered by minSeverity', () => {
    const levels = ['verbose', 'debug', 'info', 'warn', 'error', 'critical'] as const;
    const events = levels.map((level, i) => log(ID.root, i * 1_000, level, `a ${level} message`));
    expect(render(events, { minSeverity: 'verbose' })).toMatchInlineSnapshot(`
      "12:00:00.000 0af76519 VERBOSE  a verbose message
      12:00:00.001 0af76519 DEBUG    a debug message
      12:00:00.002 0af76519 INFO     a info message
      12:00:00.003 0af76519 WARN     a warn message
      12:00:00.004 0af76519 ERROR    a error message
      12:00:00.005 0af76519 CRITICAL a critical message
      "
    `);
    expect(render(events)).toMatchInlineSnapshot(`
      "12:00:00.002 0af76519 INFO     a info message
      12:00:00.003 0af76519 WARN     a warn message
      12:00:00.004 0af76519 ERROR    a error message
      12:00:00.005 0af76519 CRITICAL a critical message
      "
    `);
    expect(render(events, { minSeverity: 'error' })).toMatchInlineSnapshot(`
      "12:00:00.004 0af76519 ERROR    a error message
      12:00:00.005 0af76519 CRITICAL a critical message
      "
    `);
  });

  it('with minSeverity warn, shows failed spans but not successful ones, and keeps their depth', () => {
    expect(render(chatTrace(), { minSeverity: 'warn', attributes: false })).toMatchInlineSnapshot(`
      "12:00:00.007 0af76519 WARN         retrying after 429
      12:00:00.041 0af76519 END        Inference.generate  ERROR  35.12ms  model timed out
      12:00:00.041 0af76519 ERROR      request failed
      12:00:00.042 0af76519 END      chat_completion  ERROR  42.00ms  model timed out
      "
    `);
  });

  it('prints metrics with value, unit and labels', () => {
    const out = render([
      metric(ID.root, 0, 'tokens', 42, 'tokens', { model: 'llama-3', stream: true, __hidden: 'x' }),
      metric(ID.root, 1, 'latency', 0.125, 's'),
      metric(ID.root, 2, 'queue_depth', -3, ''),
    ]);
    expect(out).toMatchInlineSnapshot(`
      "12:00:00.000 0af76519 METRIC   tokens{model="llama-3", stream=true} 42 tokens
      12:00:00.000 0af76519 METRIC   latency 0.125 s
      12:00:00.000 0af76519 METRIC   queue_depth -3
      "
    `);
  });

  it('keeps multi-line messages aligned and shows control characters instead of obeying them', () => {
    const out = render([
      spanStart(ID.root, 'work', 0),
      log(ID.root, 10, 'info', 'first line\nsecond line\r\nthird \x1b[2J line\rX'),
      spanEnd(ID.root, 1_000, {
        attributes: { sql: 'SELECT *\nFROM t', 'evil\x1b[2J\rkey\nx': 1 },
      }),
    ]);
    expect(out).toMatchInlineSnapshot(`
      "12:00:00.000 0af76519 START    work
      12:00:00.000 0af76519 INFO       first line
                                       second line
                                       third \\u001b[2J line\\u000dX
      12:00:00.001 0af76519 END      work  ok  1.00ms
                                       sql: SELECT *
                                         FROM t
                                       evil\\u001b[2J\\u000dkey\\nx: 1
      "
    `);
  });

  it('prints the END of a span whose start it never saw by its id, without a duration', () => {
    const out = render([
      spanEnd(ID.tool, 500, { attributes: { k: 'v' } }),
      log(ID.tool, 600, 'info', 'late'),
    ]);
    expect(out).toMatchInlineSnapshot(`
      "12:00:00.000 0af76519 END      span a000000000000004  ok
                                       k: v
      12:00:00.000 0af76519 INFO     late
      "
    `);
  });

  it('shows clock times in local time when asked (TZ decides)', () => {
    const previous = process.env.TZ;
    process.env.TZ = 'Asia/Kolkata'; // UTC+05:30, no daylight saving
    try {
      expect(
        render([log(ID.root, 123_456, 'info', 'hello')], { timeZone: 'local' }),
      ).toMatchInlineSnapshot(`
        "17:30:00.123 0af76519 INFO     hello
        "
      `);
      expect(render([log(ID.root, 123_456, 'info', 'hello')])).toMatchInlineSnapshot(`
        "12:00:00.123 0af76519 INFO     hello
        "
      `);
    } finally {
      if (previous === undefined) delete process.env.TZ;
      else process.env.TZ = previous;
    }
  });

  it('keeps state across batches: a span started in one write ends in a later one', () => {
    const stream = new CaptureStream();
    const sink = createConsoleSink({ stream, color: false });
    const events = chatTrace();
    for (const event of events) sink.writeEvents!([event]);
    expect(stream.text).toBe(render(chatTrace()));
    expect(stream.chunks.length).toBe(events.length - 1); // the auto-traced START prints nothing
  });
});

describe('open spans', () => {
  it('forgets the oldest of more than 10,000 spans that never end, so memory stays bounded', () => {
    const stream = new CaptureStream();
    const sink = createConsoleSink({ stream, color: false, startLines: false });
    const id = (i: number) => (0xb000000000000000n + BigInt(i)).toString(16);
    const starts = Array.from({ length: 10_001 }, (_, i) => spanStart(id(i), `s${i}`, i));
    sink.writeEvents!(starts);
    sink.writeEvents!([spanEnd(id(0), 20_000), spanEnd(id(1), 20_000)]);
    expect(stream.text).toMatchInlineSnapshot(`
      "12:00:00.020 0af76519 END      span b000000000000000  ok
      12:00:00.020 0af76519 END      s1  ok  20.00ms
      "
    `);
  });
});

describe('an event that skipped validation', () => {
  it('is counted as format_error and reported, and the rest of the batch still prints', async () => {
    const stream = new CaptureStream();
    const { context, dropped, errors } = recordingContext();
    const sink = createConsoleSink({ stream, color: false });
    sink.attach!(context);
    const broken = {
      ...log(ID.root, 1, 'info', 'x'),
      message: undefined,
    } as unknown as TelemetryEvent;
    expect(() =>
      sink.writeEvents!([
        log(ID.root, 0, 'info', 'before'),
        broken,
        log(ID.root, 2, 'info', 'after'),
      ]),
    ).not.toThrow();
    await new Promise((resolve) => setImmediate(resolve));
    expect(dropped).toEqual({ format_error: 1 });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TypeError);
    expect(stream.text).toMatchInlineSnapshot(`
      "12:00:00.000 0af76519 INFO     before
      12:00:00.000 0af76519 INFO     after
      "
    `);
  });
});
