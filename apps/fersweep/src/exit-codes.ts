import type { CommanderError } from 'commander';

/** fersweep's exit codes, the same for every verb (documented in `fersweep --help`). */
export const EXIT = {
  ok: 0,
  /** Something failed while running: the coordinator is unreachable, a sweep failed, data is corrupt. */
  failure: 1,
  /** The command line is wrong: unknown command or option, a missing or invalid argument, an unreadable input. */
  usage: 2,
  /** Interrupted by Ctrl-C (128 + SIGINT); `fersweep run` resumes when run again. */
  interrupted: 130,
} as const;

export const EXIT_CODES_HELP = `
Output:
  Read verbs (status, submit, report, models list, dataset inspect, predict) take
  -o json|yaml|table (kubectl's convention; --json is -o json). JSON and YAML use
  the API's field names. Progress bars go to stderr, and only on a terminal.
  Nothing is coloured, so NO_COLOR and a pipe get the same text.

Exit codes:
  ${EXIT.ok}    success
  ${EXIT.failure}    runtime failure (coordinator unreachable, sweep failed, corrupt data…)
  ${EXIT.usage}    usage error (unknown command or option, bad or missing argument, unreadable input)
  ${EXIT.interrupted}  interrupted (Ctrl-C)
`;

/** Commander's own errors: --help and --version succeed, every parsing error is a usage error. */
export function commanderExitCode(err: CommanderError): number {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
  if (err.code === 'commander.executeSubCommandAsync') return err.exitCode;
  return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
}
