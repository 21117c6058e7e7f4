import { appendFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type DatasetWriter, TelemetryValidationError } from '@telemetry/core';

/** Options of `createJsonlDatasetWriter`. */
export interface JsonlDatasetWriterOptions {
  /** Folder of the dataset files (`<dataset_id>.jsonl`); created when missing. */
  directory: string;
}

/** A dataset id is a file name here: letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
const DATASET_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/**
 * A `DatasetWriter` that appends each row as one JSON line to
 * `<directory>/<dataset_id>.jsonl`. Appends to one file are serialized, so
 * concurrent saves never interleave within a line.
 */
export function createJsonlDatasetWriter(options: JsonlDatasetWriterOptions): DatasetWriter {
  if (!options || typeof options.directory !== 'string' || options.directory === '') {
    throw new TelemetryValidationError('JSON-lines dataset writer options', [
      { path: 'directory', message: 'expected the path of a folder for the dataset files' },
    ]);
  }
  const directory = resolve(options.directory);
  const queues = new Map<string, Promise<void>>();
  return {
    async appendRows(datasetId: string, rows: readonly Record<string, unknown>[]): Promise<void> {
      if (typeof datasetId !== 'string' || !DATASET_ID_RE.test(datasetId)) {
        throw new TelemetryValidationError('dataset id', [
          {
            path: 'dataset_id',
            message: `expected 1-200 letters, digits, '.', '_' or '-' starting with a letter or digit (it names a file), got ${JSON.stringify(datasetId)}`,
          },
        ]);
      }
      const file = join(directory, `${datasetId}.jsonl`);
      const text = rows.map((row) => `${JSON.stringify(row)}\n`).join('');
      const previous = queues.get(file) ?? Promise.resolve();
      const next = previous.then(async () => {
        if (text === '') return;
        await mkdir(directory, { recursive: true });
        await appendFile(file, text, 'utf8');
      });
      // The chain continues after a failure; this caller still sees it.
      const settled = next.catch(() => {});
      queues.set(file, settled);
      void settled.then(() => {
        if (queues.get(file) === settled) queues.delete(file);
      });
      return next;
    },
  };
}
