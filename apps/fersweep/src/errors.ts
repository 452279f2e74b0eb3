import { CommanderError } from 'commander';
import { commanderExitCode } from './exit-codes.js';

/** An error the user caused and can fix: printed as one line, exit code 2 (usage) or 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Turns any failure into one line on stderr and an exit code; the stack only with --debug.
 * Errors from fersweep's packages carry a stable `code` and a message that says what and where.
 */
export function reportError(
  err: unknown,
  debug: boolean,
  write: (s: string) => void = (s) => process.stderr.write(s),
): number {
  if (err instanceof CommanderError) return commanderExitCode(err); // commander already printed it
  const e = err instanceof Error ? err : new Error(String(err));
  const known = 'code' in e && typeof (e as { code: unknown }).code === 'string' && e.name !== 'Error';
  const line =
    known || e instanceof UsageError ? e.message : `${e.message} (unexpected ${e.name}; run with --debug for details)`;
  write(`fersweep: error: ${line}\n`);
  if (debug) write(`${e.stack ?? ''}\n${e.cause ? `cause: ${(e.cause as Error).stack ?? String(e.cause)}\n` : ''}`);
  return e instanceof UsageError ? 2 : 1;
}

/** "cannot read <what>: no such file" (or the system's reason) as a UsageError. */
export function cannotRead(what: string, err: unknown, missing = 'no such file'): UsageError {
  const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? missing : (err as Error).message;
  return new UsageError(`cannot read ${what}: ${reason}`, { cause: err });
}
