import { type LogSeverity, SEARCH_LIMITS, type TraceDetail } from '@telemetry/core';
import { createEventFormatter } from '@telemetry/sink-console';
import type { Command } from 'commander';
import { choiceArg, wholeNumberArg } from '../args.ts';
import {
  addOutputOptions,
  addStoreOptions,
  examples,
  type OutputFlags,
  type StoreFlags,
  withStore,
} from '../context.ts';
import { CliError, EXIT_CODES, UsageError } from '../errors.ts';
import { cell, type Io, json, type Paint, painter, wantsColor } from '../output.ts';
import { traceEvents } from '../replay.ts';
import { formatDuration, formatTime } from '../time.ts';

const SEVERITIES = ['verbose', 'debug', 'info', 'warn', 'error', 'critical'] as const;

interface ShowFlags extends StoreFlags, OutputFlags {
  limit: number;
  attributes: boolean;
  minSeverity: LogSeverity;
}

/** A trace id as stores take it: 32 hex digits, lower case. */
export function traceIdArg(text: string): string {
  const id = text.trim().toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(id)) {
    throw new UsageError(
      `${JSON.stringify(text)} is not a trace id: expected 32 hex digits, as \`telemetry traces\` prints them.`,
    );
  }
  return id;
}

export function showCommand(program: Command, io: Io): void {
  const command = program
    .command('show')
    .summary('a trace as a tree: spans with durations, status, attributes and their logs')
    .description(
      "Prints one trace as the live console view printed it, in tree order: each span's START, its logs and metric events and its child spans, then its END with the status, the duration and the attributes.",
    )
    .argument('<trace_id>', 'the trace (32 hex digits)')
    .option(
      '--limit <count>',
      `spans to show, the earliest first (at most ${SEARCH_LIMITS.detailSpans.max})`,
      wholeNumberArg(1, SEARCH_LIMITS.detailSpans.max),
      SEARCH_LIMITS.detailSpans.default,
    )
    .option('--no-attributes', 'leave out span and log attributes')
    .option(
      '--min-severity <level>',
      `hide logs below this level (${SEVERITIES.join(', ')})`,
      choiceArg(SEVERITIES),
      'verbose',
    );
  addOutputOptions(addStoreOptions(command, io.env), 'the trace, its spans, logs and metric events')
    .addHelpText(
      'after',
      examples([
        'telemetry show 4bf92f3577b34da6a3ce929d0e0e4736',
        'telemetry show 4bf92f3577b34da6a3ce929d0e0e4736 --no-attributes --min-severity warn',
        'telemetry show 4bf92f3577b34da6a3ce929d0e0e4736 --json | jq ".spans[] | select(.status == \\"error\\")"',
      ]),
    )
    .action(async (rawId: string, flags: ShowFlags) => {
      const traceId = traceIdArg(rawId);
      await withStore(flags, 'read', io, async (store) => {
        const detail = await store
          .getTraceDetail(traceId, { limit: flags.limit })
          .catch((error) => {
            const code = (error as { code?: unknown }).code;
            if (code === 'TELEMETRY_NOT_FOUND' || code === 'TELEMETRY_CLI_NOT_FOUND') {
              throw new CliError(
                'TELEMETRY_CLI_NOT_FOUND',
                `Trace ${traceId} not found in ${store.location}: \`telemetry traces\` lists the trace ids there.`,
                EXIT_CODES.failure,
                { cause: error },
              );
            }
            throw error;
          });
        if (flags.json) {
          io.stdout.write(json(detail));
          return;
        }
        const color = wantsColor(io.stdout, io.env, flags.color !== false);
        io.stdout.write(renderTrace(detail, flags, painter(color), color));
      });
    });
}

export function renderTrace(
  detail: TraceDetail,
  flags: { attributes: boolean; minSeverity: LogSeverity },
  paint: Paint,
  color: boolean,
): string {
  const t = detail.trace;
  const errors =
    t.error_count === 0
      ? '0 errors'
      : paint('error', `${t.error_count} error${t.error_count === 1 ? '' : 's'}`);
  let out = `${paint('head', `Trace ${t.trace_id}`)}  ${cell(t.root_name ?? '(root not ended)')}  ${paint('dim', `service ${cell(t.service_name)}`)}\n`;
  out += `${formatTime(t.start_time)} UTC, ${formatDuration(t.duration_ms)}, ${t.span_count} span${t.span_count === 1 ? '' : 's'}, ${errors}\n\n`;
  const format = createEventFormatter({
    color,
    attributes: flags.attributes,
    minSeverity: flags.minSeverity,
  });
  for (const event of traceEvents(detail)) out += format(event);
  if (detail.spans_truncated) {
    out += paint(
      'warn',
      `\n(showing the earliest ${detail.spans.length} of ${t.span_count} spans: raise --limit to see more)\n`,
    );
  }
  if (detail.events_truncated) {
    out += paint('warn', '\n(the spans have more logs and metric events than are shown)\n');
  }
  return out;
}
