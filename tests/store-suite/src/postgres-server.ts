/**
 * A throwaway PostgreSQL server for tests and benchmarks: `initdb` into a
 * temporary directory and `pg_ctl start` on a free port of 127.0.0.1 (as the
 * `postgres` user when running as root: the server refuses root). It never
 * skips: without server binaries it fails with what to install.
 */
import { execFile } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  readonly port: number;
  /** A URL of another database of this server (created by `createDatabase`). */
  urlOf(database: string): string;
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl stop`: `immediate` is a crash (no checkpoint), as a killed server. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts the same cluster again after `stop`. */
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
}

/** Where initdb and pg_ctl are: `TELEMETRY_TEST_POSTGRES_BIN`, else Debian's newest. */
export function postgresBinDir(): string {
  const given = process.env.TELEMETRY_TEST_POSTGRES_BIN;
  if (given) return given;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      'No PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin: install them with ' +
        '`apt-get install -y postgresql` (scripts/test.sh does when run as root), set TELEMETRY_TEST_POSTGRES_BIN ' +
        'to their directory, or point TELEMETRY_TEST_POSTGRES_URL at a server to use.',
    );
  }
  return join(root, versions[0]!, 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

const asRoot = process.getuid?.() === 0;

/** Runs a server binary, as the postgres user when we are root. */
async function pgBin(bin: string, args: readonly string[]): Promise<void> {
  const file = join(postgresBinDir(), bin);
  try {
    if (asRoot) await run('runuser', ['-u', 'postgres', '--', file, ...args]);
    else await run(file, [...args]);
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${bin} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

export interface StartOptions {
  /** Extra `-c name=value` server settings. */
  readonly settings?: Readonly<Record<string, string | number>>;
  /** Data safety off (fsync, full-page writes): faster, and a killed server still recovers (only an OS crash would lose data). */
  readonly fast?: boolean;
}

export async function startPostgres(options: StartOptions = {}): Promise<PostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), 'telemetry-pg-'));
  if (asRoot) {
    try {
      chownSync(dir, Number((await run('id', ['-u', 'postgres'])).stdout.trim()), -1);
    } catch (error) {
      throw new Error(
        `Cannot hand ${dir} to the postgres user (PostgreSQL refuses to run as root): ${(error as Error).message}`,
      );
    }
  }
  const data = join(dir, 'data');
  const log = join(dir, 'log');
  await pgBin('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    max_connections: 200,
    ...(options.fast !== false ? { fsync: 'off', full_page_writes: 'off' } : {}),
    ...options.settings,
  };
  const serverArgs = (port: number) =>
    [`-p ${port}`, `-k ${dir}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(
      ' ',
    );
  /** Starts the server on `port`; 'port taken' when another socket holds it. */
  const startOn = async (port: number): Promise<'started' | 'port taken'> => {
    const logFrom = existsSync(log) ? statSync(log).size : 0;
    try {
      await pgBin('pg_ctl', [
        '-D',
        data,
        '-o',
        serverArgs(port),
        '-l',
        log,
        '-w',
        '-t',
        '60',
        'start',
      ]);
      return 'started';
    } catch (error) {
      const thisTry = existsSync(log) ? readFileSync(log).subarray(logFrom).toString('utf8') : '';
      if (thisTry.includes('Address already in use')) return 'port taken';
      const tail = thisTry.split('\n').slice(-15).join('\n');
      throw new Error(`${(error as Error).message}\n${tail}`);
    }
  };
  // A free port is only free until someone else binds it: another one, then.
  let port = await freePort();
  for (let attempt = 1; (await startOn(port)) === 'port taken'; attempt++) {
    if (attempt === 5)
      throw new Error(`PostgreSQL found ${attempt} free ports taken in turn: see ${log}`);
    port = await freePort();
  }
  /** A restart keeps the port: wait while something holds it for a moment. */
  const restart = async () => {
    for (let attempt = 1; (await startOn(port)) === 'port taken'; attempt++) {
      if (attempt === 50) throw new Error(`PostgreSQL cannot get port ${port} back: see ${log}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const urlOf = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  let running = true;
  const server: PostgresServer = {
    url: urlOf('postgres'),
    port,
    urlOf,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: urlOf('postgres') });
      await client.connect();
      try {
        await client.query(`create database ${name}`);
      } finally {
        await client.end();
      }
      return urlOf(name);
    },
    async stop(mode = 'fast') {
      await pgBin('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
      running = false;
    },
    async start() {
      await restart();
      running = true;
    },
    async destroy() {
      if (running) await server.stop('immediate').catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}
