import { homedir } from 'node:os';
import { join, win32 } from 'node:path';

/** The environment variable that names the store every command uses when `--db` is not given. */
export const DB_ENV_VAR = 'TELEMETRY_DB';
/** The environment variable read when `--url` is not given: read commands then ask that server. */
export const URL_ENV_VAR = 'TELEMETRY_URL';

/**
 * The SQLite file `telemetry serve` writes and every read command reads when
 * neither `--db` nor `--url` is given, so `serve` in one terminal and
 * `traces` in another meet without flags: `$TELEMETRY_DB`, else the user's
 * data directory (`$XDG_DATA_HOME/telemetry/telemetry.db`, by default
 * `~/.local/share/telemetry/telemetry.db`; on macOS
 * `~/Library/Application Support/telemetry/telemetry.db`; on Windows
 * `%LOCALAPPDATA%\telemetry\telemetry.db`).
 */
export function defaultDbPath(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = env.HOME || homedir(),
): string {
  if (env[DB_ENV_VAR]) return env[DB_ENV_VAR];
  if (platform === 'win32') {
    const base = env.LOCALAPPDATA || win32.join(home, 'AppData', 'Local');
    return win32.join(base, 'telemetry', 'telemetry.db');
  }
  if (platform === 'darwin') {
    return join(home, 'Library', 'Application Support', 'telemetry', 'telemetry.db');
  }
  // XDG: a relative XDG_DATA_HOME is invalid and ignored.
  const xdg = env.XDG_DATA_HOME?.startsWith('/')
    ? env.XDG_DATA_HOME
    : join(home, '.local', 'share');
  return join(xdg, 'telemetry', 'telemetry.db');
}
