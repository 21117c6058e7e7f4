import type { PruneResult } from '@telemetry/core';
import type { Command } from 'commander';
import { timeArg, wholeNumberArg } from '../args.ts';
import {
  addOutputOptions,
  addStoreOptions,
  examples,
  type OutputFlags,
  type StoreFlags,
  withStore,
} from '../context.ts';
import { UsageError } from '../errors.ts';
import { type Io, json } from '../output.ts';
import { formatBytes } from '../time.ts';

interface PruneFlags extends StoreFlags, OutputFlags {
  olderThan?: number;
  keepSpans?: number;
  vacuum?: boolean;
}

export function pruneCommand(program: Command, io: Io): void {
  const command = program
    .command('prune')
    .summary('delete old traces, or the oldest spans past a count, then optionally VACUUM')
    .description(
      "Deletes, in this order: every trace whose spans all ended before --older-than (whole traces; one still running across it is kept); then the oldest-written spans past --keep-spans; then, with --vacuum, rebuilds the file so the disk space is given back. Prints exactly what it deleted. Other processes may keep writing meanwhile. Over --url it needs the server's token.",
    )
    .option('--older-than <time>', 'a duration ago (7d, 12h) or an ISO-8601 time', timeArg(io.now))
    .option('--keep-spans <count>', 'then keep at most this many spans', wholeNumberArg(0))
    .option('--vacuum', 'then rebuild the file (needs free disk of about its size)');
  addOutputOptions(addStoreOptions(command, io.env), 'what was deleted')
    .addHelpText(
      'after',
      examples([
        'telemetry prune --older-than 7d',
        'telemetry prune --keep-spans 1000000 --vacuum',
        'telemetry prune --older-than 2026-01-01 --url http://127.0.0.1:8321 --token "$TOKEN" --json',
      ]),
    )
    .action(async (flags: PruneFlags) => {
      if (flags.olderThan === undefined && flags.keepSpans === undefined && !flags.vacuum) {
        throw new UsageError('say what to prune: --older-than, --keep-spans and/or --vacuum.');
      }
      await withStore(flags, 'admin', io, async (store) => {
        const result = await store.prune({
          ...(flags.olderThan === undefined ? {} : { older_than: new Date(flags.olderThan) }),
          ...(flags.keepSpans === undefined ? {} : { keep_spans: flags.keepSpans }),
          ...(flags.vacuum ? { vacuum: true } : {}),
        });
        io.stdout.write(flags.json ? json(result) : pruneSummary(result, store.location));
      });
    });
}

export function pruneSummary(r: PruneResult, location: string): string {
  const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  let text = `Deleted ${plural(r.deleted_traces, 'trace')}, ${plural(r.deleted_spans, 'span')} and ${plural(r.deleted_events, 'log or metric event', 'logs and metric events')} from ${location}.`;
  text += r.vacuumed
    ? ` Vacuumed: ${formatBytes(r.size_bytes_before)} -> ${formatBytes(r.size_bytes_after)}.`
    : ` Size: ${formatBytes(r.size_bytes_after)} (--vacuum gives freed space back to the disk).`;
  return `${text}\n`;
}
