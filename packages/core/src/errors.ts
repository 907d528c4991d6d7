/**
 * Errors with an exit code. `UsageError` / `InputError` mean the caller gave something wrong (exit 2) and carry one
 * line that names the input and the fix; anything else that escapes a command is a failed run (exit 1).
 */
export class ParryError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** A flag, option or plugin name the user gave is wrong. Exit code 2. */
export class UsageError extends ParryError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** A file or data the user pointed at is missing or malformed. Exit code 2. */
export class InputError extends ParryError {
  constructor(message: string) {
    super(message, 2);
  }
}

export function isParryError(e: unknown): e is ParryError {
  return e instanceof ParryError;
}
