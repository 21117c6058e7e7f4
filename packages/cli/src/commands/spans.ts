import type { AttributeFilter, QueryCondition } from '@telemetry/core';
import type { Command } from 'commander';
import { attrArg, repeatArg, wholeNumberArg } from '../args.ts';
import {
  addOutputOptions,
  addStoreOptions,
  examples,
  type OutputFlags,
  paintFor,
  type StoreFlags,
  withStore,
} from '../context.ts';
import { cell, type Io, json, table } from '../output.ts';
import { micros } from '../replay.ts';
import { formatDuration, formatTime } from '../time.ts';

interface SpansFlags extends StoreFlags, OutputFlags {
  attr?: AttributeFilter[];
  attribute?: string[];
  maxDepth?: number;
  limit: number;
  offset: number;
}

export function spansCommand(program: Command, io: Io): void {
  const command = program
    .command('spans')
    .summary('spans of the traces that match attribute filters (Llama Stack querySpans)')
    .description(
      "Lists the spans of every trace that has a span matching all --attr conditions, walked from each trace's root down to --max-depth, in trace start order. With --attribute, only spans that carry those attributes, shown as columns.",
    )
    .option(
      '--attr <key=value>',
      'an attribute condition, repeatable, all on one span: key=value, key!=value, key>n, key<n',
      attrArg,
    )
    .option(
      '--attribute <key>',
      'show this attribute as a column, repeatable (spans without it are left out)',
      repeatArg,
    )
    .option('--max-depth <depth>', 'how deep under each root (1: the root only)', wholeNumberArg(0))
    .option('--limit <count>', 'spans to print', wholeNumberArg(1), 50)
    .option('--offset <count>', 'spans to skip first (paging)', wholeNumberArg(0), 0);
  addOutputOptions(addStoreOptions(command, io.env), 'the spans (Llama Stack Span objects)')
    .addHelpText(
      'after',
      examples([
        'telemetry spans --attr model_id=llama-3.2-3b-instruct',
        'telemetry spans --attribute tool.name --limit 100',
        'telemetry spans --attr demo.run_id=f9c83058eff8 --max-depth 2 --json',
      ]),
    )
    .action(async (flags: SpansFlags) => {
      await withStore(flags, 'read', io, async (store) => {
        const keys = flags.attribute ?? [];
        const spans = await store.querySpans({
          attribute_filters: (flags.attr ?? []) as QueryCondition[],
          ...(keys.length ? { attributes_to_return: keys } : {}),
          ...(flags.maxDepth === undefined ? {} : { max_depth: flags.maxDepth }),
          limit: flags.limit,
          offset: flags.offset,
        });
        if (flags.json) {
          io.stdout.write(json(spans));
          return;
        }
        if (spans.length === 0) {
          io.stderr.write(`No spans match in ${store.location}.\n`);
          return;
        }
        const paint = paintFor(io, flags);
        io.stdout.write(
          table(
            [
              'TRACE ID',
              'SPAN ID',
              'PARENT',
              'START (UTC)',
              'DURATION',
              'NAME',
              ...keys.map((k) => cell(k, 30)),
            ],
            spans.map((s) => [
              s.trace_id,
              s.span_id,
              s.parent_span_id ?? '-',
              formatTime(s.start_time),
              s.end_time === undefined
                ? '-'
                : formatDuration((micros(s.end_time) - micros(s.start_time)) / 1000),
              cell(s.name, 60),
              ...keys.map((k) => cell(s.attributes?.[k], 40)),
            ]),
            paint,
            { align: ['left', 'left', 'left', 'left', 'right', 'left'] },
          ),
        );
        if (spans.length === flags.limit) {
          io.stderr.write(`More may follow: add --offset ${flags.offset + flags.limit}.\n`);
        }
      });
    });
}
