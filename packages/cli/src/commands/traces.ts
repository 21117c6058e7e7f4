import { SEARCH_LIMITS, type TraceSummary } from '@telemetry/core';
import type { Command } from 'commander';
import { wholeNumberArg } from '../args.ts';
import {
  addOutputOptions,
  addStoreOptions,
  addTraceFilterOptions,
  examples,
  type OutputFlags,
  paintFor,
  type StoreFlags,
  type TraceFilterFlags,
  traceSearchParams,
  withStore,
} from '../context.ts';
import { cell, type Io, json, type Paint, table } from '../output.ts';
import { formatDuration, formatTime } from '../time.ts';

interface TracesFlags extends StoreFlags, OutputFlags, TraceFilterFlags {
  limit: number;
  cursor?: string;
}

export function tracesCommand(program: Command, io: Io): void {
  const command = program
    .command('traces')
    .summary('search traces by time, service, name, status, duration and attributes')
    .description(
      'Lists the traces that match every filter, newest first, a page at a time (--cursor gets the next page).',
    );
  addTraceFilterOptions(command, io)
    .option(
      '--limit <count>',
      `traces per page (at most ${SEARCH_LIMITS.traces.max})`,
      wholeNumberArg(1, SEARCH_LIMITS.traces.max),
      20,
    )
    .option('--cursor <cursor>', 'the next page: the cursor the previous page printed');
  addOutputOptions(
    addStoreOptions(command, io.env),
    'the page ({ traces, next_cursor, live_cursor })',
  )
    .addHelpText(
      'after',
      examples([
        'telemetry traces --since 1h',
        'telemetry traces --service gateway --error --min-duration 2s',
        "telemetry traces --attr model_id=llama-3.2-3b-instruct --attr 'tokens>100'",
        'telemetry traces --url http://127.0.0.1:8321 --json | jq -r ".traces[].trace_id"',
      ]),
    )
    .action(async (flags: TracesFlags) => {
      await withStore(flags, 'read', io, async (store) => {
        const page = await store.searchTraces({
          ...traceSearchParams(flags),
          limit: flags.limit,
          ...(flags.cursor === undefined ? {} : { cursor: flags.cursor }),
        });
        if (flags.json) {
          io.stdout.write(json(page));
          return;
        }
        if (page.traces.length === 0) {
          io.stderr.write(`No traces match in ${store.location}.\n`);
          return;
        }
        io.stdout.write(traceTable(page.traces, paintFor(io, flags)));
        if (page.next_cursor) {
          io.stderr.write(
            `More: add --cursor ${page.next_cursor} (same filters) for the next page.\n`,
          );
        }
      });
    });
}

export function traceTable(traces: readonly TraceSummary[], paint: Paint): string {
  return table(
    ['TRACE ID', 'START (UTC)', 'DURATION', 'SPANS', 'ERRORS', 'SERVICE', 'ROOT'],
    traces.map((t) => [
      t.trace_id,
      formatTime(t.start_time),
      formatDuration(t.duration_ms),
      String(t.span_count),
      t.error_count > 0 ? paint('error', String(t.error_count)) : '0',
      cell(t.service_name, 40),
      cell(t.root_name ?? '(running)', 60),
    ]),
    paint,
    { align: ['left', 'left', 'right', 'right', 'right', 'left', 'left'] },
  );
}
