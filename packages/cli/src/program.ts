import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { flagOfPath } from './args.ts';
import { exportCommand } from './commands/export.ts';
import { metricsCommand } from './commands/metrics.ts';
import { pruneCommand } from './commands/prune.ts';
import { serveCommand } from './commands/serve.ts';
import { showCommand } from './commands/show.ts';
import { spansCommand } from './commands/spans.ts';
import { statsCommand } from './commands/stats.ts';
import { tailCommand } from './commands/tail.ts';
import { tracesCommand } from './commands/traces.ts';
import { CliError, EXIT_CODES } from './errors.ts';
import type { Io } from './output.ts';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    return String(pkg.version);
  } catch {
    return 'unknown';
  }
}

/** The `telemetry` command and its subcommands, writing to `io`. */
export function createProgram(io: Io): Command {
  const program = new Command('telemetry');
  program
    .description(
      'Serve, search, show, tail, export and prune a telemetry store: a SQLite file (by default the one `telemetry serve` writes) or a running server (--url).',
    )
    .version(version(), '-v, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Errors are printed once, as one line, by runCli.
      outputError: () => {},
    })
    .showHelpAfterError(false)
    .addHelpText(
      'after',
      `
Every read command takes --db <file> or --url <server> (and --token), --json and --no-color.
Exit codes: 0 done, 1 the store or server could not answer, 2 bad input.
Run \`telemetry <command> --help\` for a command's options and examples.
`,
    );
  serveCommand(program, io);
  tracesCommand(program, io);
  showCommand(program, io);
  spansCommand(program, io);
  metricsCommand(program, io);
  tailCommand(program, io);
  exportCommand(program, io);
  pruneCommand(program, io);
  statsCommand(program, io);
  return program;
}

/** The streams and environment of this process. */
export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, now: Date.now };
}

/**
 * Runs `telemetry` with `argv` (the arguments after the command name) and
 * resolves with its exit code; every failure is one line on stderr.
 */
export async function runCli(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_CODES.ok;
  } catch (error) {
    const { message, exitCode } = describeFailure(error, argv, program);
    if (message) io.stderr.write(`telemetry: ${message}\n`);
    if (io.env.TELEMETRY_DEBUG && error instanceof Error && error.stack) {
      io.stderr.write(`${error.stack}\n`);
    }
    return exitCode;
  }
}

/** One line and an exit code for anything a command throws. */
export function describeFailure(
  error: unknown,
  argv: readonly string[] = [],
  program?: Command,
): { message: string; exitCode: number } {
  if (error instanceof CommanderError) {
    if (
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.exitCode === 0
    ) {
      return { message: '', exitCode: EXIT_CODES.ok };
    }
    if (error.code === 'commander.help' || error.code === 'commander.executeSubCommandAsync') {
      return { message: '', exitCode: EXIT_CODES.usage };
    }
    const text = error.message
      .replace(/^error: /, '')
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .join(' ');
    const name = argv.find((a) => program?.commands.some((c) => c.name() === a));
    return {
      message: `${text} (see \`telemetry${name ? ` ${name}` : ''} --help\`)`,
      exitCode: EXIT_CODES.usage,
    };
  }
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  const e = error as { code?: unknown; message?: unknown; issues?: unknown };
  if (e?.code === 'TELEMETRY_INVALID_INPUT' && Array.isArray(e.issues)) {
    const parts = (e.issues as { path: string; message: string }[]).map(
      (i) => `${flagOfPath(i.path)}: ${i.message}`,
    );
    return { message: parts.join('; '), exitCode: EXIT_CODES.usage };
  }
  if (typeof e?.code === 'string' && e.code.startsWith('TELEMETRY_')) {
    // The store's own errors say what happened and what to do; their first line is enough.
    return { message: String(e.message).split('\n')[0]!, exitCode: EXIT_CODES.failure };
  }
  if ((e as NodeJS.ErrnoException)?.code === 'EPIPE')
    return { message: '', exitCode: EXIT_CODES.ok };
  const message = error instanceof Error ? error.message : String(error);
  return {
    message: `unexpected error: ${message.split('\n')[0]} (TELEMETRY_DEBUG=1 prints the stack)`,
    exitCode: EXIT_CODES.failure,
  };
}
