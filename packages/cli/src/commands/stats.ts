import type { StoreStats } from '@telemetry/core';
import type { Command } from 'commander';
import {
  addOutputOptions,
  addStoreOptions,
  examples,
  type OutputFlags,
  paintFor,
  type StoreFlags,
  withStore,
} from '../context.ts';
import { cell, type Io, json, type Paint, table } from '../output.ts';
import { formatBytes, formatTime } from '../time.ts';

interface StatsFlags extends StoreFlags, OutputFlags {}

export function statsCommand(program: Command, io: Io): void {
  const command = program
    .command('stats')
    .summary('what the store holds: counts, size, oldest and newest, per service')
    .description(
      'Counts traces, spans, logs and metric points, the size on disk (the file and its WAL), the oldest and newest trace, and the same per service (the busiest first).',
    );
  addOutputOptions(addStoreOptions(command, io.env), 'the statistics')
    .addHelpText('after', examples(['telemetry stats', 'telemetry stats --db ./traces.db --json']))
    .action(async (flags: StatsFlags) => {
      await withStore(flags, 'read', io, async (store) => {
        const stats = await store.storeStats();
        io.stdout.write(
          flags.json ? json(stats) : renderStats(stats, store.location, paintFor(io, flags)),
        );
      });
    });
}

export function renderStats(s: StoreStats, location: string, paint: Paint): string {
  const time = (t: string | null) => (t === null ? '-' : `${formatTime(t)} UTC`);
  let out = `${paint('head', 'Store')}    ${location} (${formatBytes(s.size_bytes)})\n`;
  out += `Traces   ${s.traces}\nSpans    ${s.spans}\nLogs     ${s.logs}\n`;
  out += `Metrics  ${s.metric_points} point(s) in ${s.metric_series} series\n`;
  out += `Oldest   ${time(s.oldest)}\nNewest   ${time(s.newest)}\n`;
  if (s.services.length > 0) {
    out += `\n${table(
      ['SERVICE', 'TRACES', 'SPANS', 'ERROR TRACES', 'OLDEST (UTC)', 'NEWEST (UTC)'],
      s.services.map((v) => [
        cell(v.service_name, 40),
        String(v.traces),
        String(v.spans),
        v.error_traces > 0 ? paint('error', String(v.error_traces)) : '0',
        formatTime(v.oldest),
        formatTime(v.newest),
      ]),
      paint,
      { align: ['left', 'right', 'right', 'right', 'left', 'left'] },
    )}`;
    if (s.services_truncated) out += `(more services than the ${s.services.length} listed)\n`;
  }
  return out;
}
