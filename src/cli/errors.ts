/** The command line was wrong (unknown command or flag, bad flag value): exit 2. */
export class UsageError extends Error {
  /** The command path whose --help would have helped, e.g. "sigil entry create". */
  readonly commandPath: string;

  constructor(message: string, commandPath = 'sigil') {
    super(message);
    this.name = 'UsageError';
    this.commandPath = commandPath;
  }
}

/** The operation failed (server error, cannot connect, not found, bad config file): exit 1. */
export class CommandFailure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CommandFailure';
  }
}

/** The server answered with an error body {"error":{"code","message"}}. */
export class ApiError extends CommandFailure {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export const exitCodes = { ok: 0, failure: 1, usage: 2 } as const;
