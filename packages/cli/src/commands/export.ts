import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { type QueryCondition, SEARCH_LIMITS } from '@telemetry/core';
import type { Command } from 'commander';
import { choiceArg, repeatArg, wholeNumberArg } from '../args.ts';
import {
  addStoreOptions,
  addTraceFilterOptions,
  examples,
  type StoreFlags,
  type TraceFilterFlags,
  traceSearchParams,
  withStore,
} from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { traceToResourceSpans } from '../otlp-json.ts';
import { type Io, json, Progress } from '../output.ts';
import type { CliStore } from '../store.ts';
import { traceIdArg } from './show.ts';

const FORMATS = ['otlp', 'otlp-lines', 'dataset'] as const;
type Format = (typeof FORMATS)[number];

interface ExportFlags extends StoreFlags, TraceFilterFlags {
  format: Format;
  trace?: string[];
  save?: string[];
  maxDepth?: number;
  output?: string;
  json?: boolean;
}

export function exportCommand(program: Command, io: Io): void {
  const command = program
    .command('export')
    .summary('traces as OTLP JSON (Jaeger, any collector), or a dataset as JSON lines')
    .description(
      [
        'Writes to --output, or to stdout. A progress bar shows on stderr when it is a terminal.',
        '',
        '--format otlp: the matching traces (or those of --trace) as one OTLP/JSON ExportTraceServiceRequest, which Jaeger uploads, a collector receives, and `curl -H "content-type: application/json" --data-binary @traces.json http://localhost:4318/v1/traces` sends to any OTLP/HTTP endpoint. Spans keep their ids, times, attributes, status and logs (as span events); metric events are not part of OTLP traces.',
        '--format otlp-lines: the same, one request per trace per line (the OpenTelemetry Collector file format).',
        "--format dataset: Llama Stack's saveSpansToDataset rows as JSON lines, {trace_id, span_id, parent_span_id, name, start_time, end_time, ...the --save attributes}, for the spans of the traces matching --attr, down to --max-depth.",
      ].join('\n'),
    )
    .option('--format <format>', `${FORMATS.join(', ')}`, choiceArg(FORMATS), 'otlp')
    .option('--trace <trace_id>', 'export this trace (repeatable) instead of searching', repeatArg)
    .option('--save <key>', 'dataset: an attribute to save as a column, repeatable', repeatArg)
    .option('--max-depth <depth>', 'dataset: how deep under each root', wholeNumberArg(0))
    .option('-o, --output <file>', 'write here instead of stdout');
  addTraceFilterOptions(command, io);
  addStoreOptions(command, io.env)
    .option('--json', 'print the summary as JSON (on stdout with --output, else on stderr)')
    .addHelpText(
      'after',
      examples([
        'telemetry export --since 1h -o traces.json',
        'telemetry export --trace 4bf92f3577b34da6a3ce929d0e0e4736 | curl -H "content-type: application/json" --data-binary @- http://localhost:4318/v1/traces',
        'telemetry export --format dataset --attr model_id=llama-3.2-3b-instruct --save model_id --save total_tokens -o rows.jsonl',
      ]),
    )
    .action(async (flags: ExportFlags) => {
      if (flags.format === 'dataset') {
        for (const flag of [
          'since',
          'until',
          'service',
          'name',
          'error',
          'minDuration',
          'maxDuration',
          'trace',
        ] as const) {
          if (flags[flag] !== undefined) {
            throw new UsageError(
              `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} does not apply to --format dataset: a dataset takes --attr, --save and --max-depth.`,
            );
          }
        }
      } else if (flags.save !== undefined || flags.maxDepth !== undefined) {
        throw new UsageError(
          `--${flags.save !== undefined ? 'save' : 'max-depth'} applies to --format dataset only.`,
        );
      }
      const traceIds = flags.trace?.map(traceIdArg);
      await withStore(flags, 'read', io, async (store) => {
        const sink = await openOutput(flags.output, io);
        const progress = new Progress(
          io.stderr,
          io.stderr.isTTY === true && (flags.output !== undefined || io.stdout.isTTY !== true),
          flags.format === 'dataset' ? 'rows' : 'traces',
        );
        let summary: Record<string, unknown>;
        try {
          summary =
            flags.format === 'dataset'
              ? await exportDataset(store, flags, sink, progress)
              : await exportTraces(io, store, flags, traceIds, sink, progress);
        } finally {
          progress.end();
          await sink.close();
        }
        const where = flags.output ?? 'stdout';
        const report = { format: flags.format, output: where, ...summary };
        const text = flags.json
          ? json(report)
          : flags.format === 'dataset'
            ? `Exported ${summary.rows} dataset row(s) to ${where}.\n`
            : `Exported ${summary.traces} trace(s), ${summary.spans} span(s) and ${summary.events} log(s) as ${flags.format} to ${where}.\n`;
        (flags.output !== undefined ? io.stdout : io.stderr).write(text);
      });
    });
}

interface Output {
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

/** Writes that wait when the file or pipe is full, so memory follows one trace, not the export. */
async function openOutput(path: string | undefined, io: Io): Promise<Output> {
  if (path === undefined) {
    const stdout = io.stdout as unknown as NodeJS.WritableStream;
    return {
      async write(text) {
        if (!stdout.write(text)) await once(stdout, 'drain');
      },
      close: async () => {},
    };
  }
  let file: WriteStream;
  try {
    file = createWriteStream(path);
    await once(file, 'open');
  } catch (error) {
    throw new CliError(
      'TELEMETRY_CLI_OUTPUT',
      `Cannot write ${path}: ${(error as Error).message}.`,
      1,
      { cause: error },
    );
  }
  return {
    async write(text) {
      if (!file.write(text)) await once(file, 'drain');
    },
    async close() {
      file.end();
      await once(file, 'close');
    },
  };
}

async function matchingTraceIds(store: CliStore, flags: ExportFlags): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.searchTraces({
      ...traceSearchParams(flags),
      limit: SEARCH_LIMITS.traces.max,
      ...(cursor ? { cursor } : {}),
    });
    for (const t of page.traces) ids.push(t.trace_id);
    cursor = page.next_cursor;
  } while (cursor);
  // Oldest first: a file that reads in time order.
  return ids.reverse();
}

async function exportTraces(
  io: Io,
  store: CliStore,
  flags: ExportFlags,
  traceIds: string[] | undefined,
  out: Output,
  progress: Progress,
): Promise<Record<string, unknown>> {
  const ids = traceIds ?? (await matchingTraceIds(store, flags));
  const lines = flags.format === 'otlp-lines';
  let spans = 0;
  let events = 0;
  let first = true;
  if (!lines) await out.write('{"resourceSpans":[');
  for (let i = 0; i < ids.length; i++) {
    progress.update(i, ids.length);
    const detail = await store.getTraceDetail(ids[i]!, {
      limit: SEARCH_LIMITS.detailSpans.max,
      event_limit: SEARCH_LIMITS.detailEvents.max,
    });
    if (detail.spans_truncated || detail.events_truncated) {
      progress.end();
      io.stderr.write(
        `telemetry export: trace ${ids[i]} has more than ${SEARCH_LIMITS.detailSpans.max} spans or ${SEARCH_LIMITS.detailEvents.max} events: the earliest are exported.\n`,
      );
    }
    spans += detail.spans.length;
    events += detail.logs.length;
    const resourceSpans = traceToResourceSpans(detail);
    if (lines) {
      await out.write(`${JSON.stringify({ resourceSpans })}\n`);
    } else {
      for (const rs of resourceSpans) {
        await out.write((first ? '' : ',') + JSON.stringify(rs));
        first = false;
      }
    }
  }
  if (!lines) await out.write(']}\n');
  progress.update(ids.length, ids.length, true);
  return { traces: ids.length, spans, events };
}

async function exportDataset(
  store: CliStore,
  flags: ExportFlags,
  out: Output,
  progress: Progress,
): Promise<Record<string, unknown>> {
  let rows = 0;
  await store.datasetRows(
    {
      attribute_filters: (flags.attr ?? []) as QueryCondition[],
      attributes_to_save: flags.save ?? [],
      ...(flags.maxDepth === undefined ? {} : { max_depth: flags.maxDepth }),
    },
    async (page) => {
      if (page.length === 0) return;
      await out.write(page.map((row) => JSON.stringify(row)).join('\n') + '\n');
      rows += page.length;
      progress.update(rows);
    },
  );
  return { rows };
}
