import { Command } from 'commander';
import { datasetCommand, type Io } from './commands/dataset.js';
import { clusterCommands } from './commands/cluster.js';
import { modelCommands } from './commands/models.js';
import { predictCommand } from './commands/predict.js';
import { runCommands } from './commands/run.js';
import { serveCommand } from './commands/serve.js';
import { trainCommand } from './commands/train.js';
import { reportError } from './errors.js';
import { EXIT_CODES_HELP } from './exit-codes.js';

const VERSION = '0.1.0';

/** Builds the `fersweep` command tree; `io` lets tests capture output. */
export function buildProgram(io: Io, setExitCode: (code: number) => void = () => undefined): Command {
  const program = new Command('fersweep')
    .description(
      'Which face-emotion-recognition model is better, and where? Train, compare and serve FER model variants.',
    )
    .version(VERSION)
    .option('--debug', 'print stack traces on errors')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP)
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();
  program.addCommand(datasetCommand(io));
  program.addCommand(trainCommand(setExitCode));
  program.addCommand(serveCommand(setExitCode));
  for (const c of clusterCommands(io, setExitCode)) program.addCommand(c);
  for (const c of modelCommands(io)) program.addCommand(c);
  program.addCommand(predictCommand(io));
  for (const c of runCommands(io, setExitCode)) program.addCommand(c);
  for (const sub of program.commands) sub.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  for (const sub of program.commands.flatMap((c) => c.commands))
    sub.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  return program;
}

/** Runs the CLI and returns its exit code (never throws). */
export async function run(
  argv: string[],
  io: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) },
): Promise<number> {
  let exitCode = 0;
  const program = buildProgram(io, (code) => (exitCode = code));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    return reportError(err, argv.includes('--debug'), io.err);
  }
}
