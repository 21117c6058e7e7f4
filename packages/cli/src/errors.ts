/**
 * What the command exits with, and the errors that carry it. Every failure
 * reaches the user as one line on stderr (`telemetry: <message>`) and one of
 * these codes, never as a stack trace.
 */
export const EXIT_CODES = Object.freeze({
  /** Done. */
  ok: 0,
  /** The store or the server could not answer: a missing or corrupt file, an unknown trace, a server that is down or refuses the token. */
  failure: 1,
  /** Bad input: an unknown command or flag, a bad value (duration, matcher, filter). */
  usage: 2,
});

/** A failure with a stable code and a message that says what to do. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: string;
  readonly exitCode: number;
  constructor(
    code: string,
    message: string,
    exitCode: number = EXIT_CODES.failure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Bad input on the command line (exit code 2). */
export class UsageError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TELEMETRY_CLI_USAGE', message, EXIT_CODES.usage, options);
  }
}
