// Runs WAL checkpoints on a worker thread, with its own connection.
//
// A checkpoint copies the write-ahead log into the database file and fsyncs
// it: tens of milliseconds. SQLite's automatic checkpoint would do that inside
// whichever commit crosses the threshold, on the application's event loop; the
// sink turns it down and this thread does the work instead. PASSIVE never
// waits for (or blocks) readers and writers.
//
// Plain JavaScript on purpose: it is loaded by file from src/ (tests) and dist/.
import { parentPort, workerData } from 'node:worker_threads';
import Sqlite from 'better-sqlite3';

const { path, intervalMs, busyTimeoutMs } = workerData;
const db = new Sqlite(path);
db.pragma(`busy_timeout = ${busyTimeoutMs}`);

function checkpoint() {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort?.postMessage({ type: 'error', message: String(error?.message ?? error) });
  }
}

const timer = setInterval(checkpoint, intervalMs);

parentPort?.on('message', (message) => {
  if (message === 'checkpoint') {
    checkpoint();
    parentPort?.postMessage({ type: 'checkpointed' });
  } else if (message === 'stop') {
    clearInterval(timer);
    db.close();
    parentPort?.close();
  }
});
