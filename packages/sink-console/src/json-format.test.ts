import { EventSchema } from '@telemetry/core';
import { createConsoleSink } from '@telemetry/sink-console';
import { describe, expect, it } from 'vitest';
import { CaptureStream } from './test-support/capture.ts';
import { chatTrace, ID, log, spanEnd, spanStart } from './test-support/events.ts';

describe('JSON lines', () => {
  it('writes one JSON object per event, with span names and durations on span_end', () => {
    const stream = new CaptureStream({ isTTY: true }); // JSON is never coloured, even on a TTY
    const sink = createConsoleSink({ stream, format: 'json', minSeverity: 'verbose' });
    const events = chatTrace().slice(0, 5);
    sink.writeEvents!(events);
    expect(stream.text).toMatchInlineSnapshot(`
      "{"timestamp":"2025-01-31T12:00:00.000000Z","type":"structured_log","trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"a000000000000001","payload":{"type":"span_start","name":"chat_completion","parent_span_id":null},"attributes":{"__root__":true,"model":"llama-3"}}
      {"timestamp":"2025-01-31T12:00:00.001000Z","type":"structured_log","trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"a000000000000002","payload":{"type":"span_start","name":"retrieve","parent_span_id":"a000000000000001"},"attributes":{}}
      {"timestamp":"2025-01-31T12:00:00.002500Z","type":"unstructured_log","trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"a000000000000002","severity":"info","message":"fetched 3 documents","attributes":{"source":"kb"}}
      {"timestamp":"2025-01-31T12:00:00.003000Z","type":"metric","trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"a000000000000002","metric":"documents_retrieved","value":3,"unit":"docs","attributes":{"index":"main"}}
      {"timestamp":"2025-01-31T12:00:00.005250Z","type":"structured_log","trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"a000000000000002","payload":{"type":"span_end","status":"ok"},"name":"retrieve","duration_ms":4.25,"attributes":{"query":"weather in Paris","docs.count":3}}
      "
    `);
    expect(stream.text.split('\n').filter(Boolean)).toHaveLength(events.length);
  });

  it('keeps every attribute whole, so each line can be fed back to logEvent', () => {
    const stream = new CaptureStream();
    const sink = createConsoleSink({ stream, format: 'json' });
    const long = 'x'.repeat(5_000);
    const events = [
      spanStart(ID.root, 'work', 0, { attributes: { __autotraced__: true } }),
      log(ID.root, 10, 'info', 'line one\nline two', { long, __class__: 'C' }),
      spanEnd(ID.root, 40, { attributes: { __autotraced__: true, __output__: long } }),
    ];
    sink.writeEvents!(events);
    const lines = stream.text.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const parsed = lines.map((line) => EventSchema.parse(JSON.parse(line)));
    expect(parsed).toEqual(events);
    expect(JSON.parse(lines[2]!)).toMatchObject({ name: 'work', duration_ms: 0.04 });
  });

  it('filters by minSeverity and leaves attributes out when attributes is false', () => {
    const stream = new CaptureStream();
    const sink = createConsoleSink({
      stream,
      format: 'json',
      minSeverity: 'warn',
      attributes: false,
    });
    sink.writeEvents!(chatTrace());
    expect(stream.text).toMatchInlineSnapshot(`
      "{"timestamp":"2025-01-31T12:00:00.007000Z","type":"unstructured_log","trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"a000000000000003","severity":"warn","message":"retrying after 429"}
      {"timestamp":"2025-01-31T12:00:00.041120Z","type":"structured_log","trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"a000000000000003","payload":{"type":"span_end","status":"error","status_message":"model timed out"},"name":"Inference.generate","duration_ms":35.12}
      {"timestamp":"2025-01-31T12:00:00.041500Z","type":"unstructured_log","trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"a000000000000001","severity":"error","message":"request failed"}
      {"timestamp":"2025-01-31T12:00:00.042000Z","type":"structured_log","trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"a000000000000001","payload":{"type":"span_end","status":"error","status_message":"model timed out"},"name":"chat_completion","duration_ms":42}
      "
    `);
  });
});
