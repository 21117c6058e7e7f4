import { setTimeout as sleep } from 'node:timers/promises';
import { SEARCH_LIMITS, type SpanDetail } from '@telemetry/core';
import { createEventFormatter } from '@telemetry/sink-console';
import type { Command } from 'commander';
import { durationArg, wholeNumberArg } from '../args.ts';
import {
  addOutputOptions,
  addStoreOptions,
  examples,
  type OutputFlags,
  type StoreFlags,
  untilStopped,
  withStore,
} from '../context.ts';
import { type Io, wantsColor } from '../output.ts';
import { spanEndEvent, spanStartEvent } from '../replay.ts';

interface TailFlags extends StoreFlags, OutputFlags {
  last: number;
  follow: boolean;
  interval: number;
  service?: string;
  name?: string;
  error?: boolean;
  attributes: boolean;
}

export function tailCommand(program: Command, io: Io): void {
  const command = program
    .command('tail')
    .summary('follow spans as they are written, by any process, into the store')
    .description(
      'Prints spans in the order they are written (each span when it ends), as the console view prints a span END line: the newest --last first, then each new one within --interval, until Ctrl-C. Spans written by other processes into the same file, or sent to the server of --url, show up too.',
    )
    .option(
      '--last <count>',
      `start with the newest spans already stored (at most ${SEARCH_LIMITS.tail.max})`,
      wholeNumberArg(0, SEARCH_LIMITS.tail.max),
      10,
    )
    .option('--no-follow', 'print the --last spans and stop')
    .option('--interval <duration>', 'how often to look for new spans', durationArg(), 250)
    .option('--service <name>', "only spans of this service (the span's service.name)")
    .option('--name <name>', 'only spans of this name')
    .option('--error', 'only failed spans')
    .option('--no-attributes', 'leave out span attributes');
  addOutputOptions(addStoreOptions(command, io.env), 'one span per line (JSON lines)')
    .addHelpText(
      'after',
      examples([
        'telemetry tail',
        'telemetry tail --error --no-attributes',
        'telemetry tail --url http://127.0.0.1:8321 --json | jq -c "{name, duration_ms}"',
        'telemetry tail --last 100 --no-follow',
      ]),
    )
    .action(async (flags: TailFlags) => {
      const format = createEventFormatter({
        color: wantsColor(io.stdout, io.env, flags.color !== false),
        attributes: flags.attributes,
        startLines: false,
      });
      const wanted = (s: SpanDetail) =>
        (flags.service === undefined || s.service_name === flags.service) &&
        (flags.name === undefined || s.name === flags.name) &&
        (!flags.error || s.status === 'error');
      const print = (spans: readonly SpanDetail[]) => {
        let out = '';
        for (const span of spans) {
          if (!wanted(span)) continue;
          out += flags.json
            ? `${JSON.stringify(span)}\n`
            : format(spanStartEvent(span)) + format(spanEndEvent(span));
        }
        if (out) io.stdout.write(out);
      };
      await withStore(flags, 'read', io, async (store) => {
        const first = await store.tailSpans({ limit: flags.last });
        print(first.spans);
        if (!flags.follow) return;
        const stop = untilStopped(io);
        const abort = new AbortController();
        let stopped = false;
        void stop.stopped.then(() => {
          stopped = true;
          abort.abort();
        });
        try {
          let cursor = first.cursor;
          while (!stopped) {
            const next = await store.tailSpans({ cursor, limit: SEARCH_LIMITS.tail.max });
            print(next.spans);
            cursor = next.cursor;
            if (!next.more) {
              await sleep(flags.interval, undefined, { signal: abort.signal }).catch(() => {});
            }
          }
        } finally {
          stop.dispose();
        }
      });
    });
}
