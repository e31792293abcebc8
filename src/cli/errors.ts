// Errors the CLI layer turns into one stderr line and an exit status.
// Thrown anywhere below main.ts; only main.ts prints them (STYLE habit 12).

/** A failure with the exit status the matching Mosquitto tool would return. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = 1,
    /** Print the usage hint after the message (bad flags, missing arguments). */
    readonly showUsage = false,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A bad flag or argument: one line naming it, then usage, exit status 1. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 1, true);
    this.name = 'UsageError';
  }
}
