import { Command, InvalidArgumentError } from 'commander';
import { resolveServedDataset, trainerCommand } from '../wiring.js';

const portArg = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`--port must be an integer 0–65535, got '${v}'`);
  return n;
};

/**
 * `fersweep serve coordinator|evaluator`: the services' container commands. Each runs its service's
 * process function, which starts it through the shared lifecycle runner (@fersweep/lifecycle:
 * SIGTERM/SIGINT → readiness fails → drain → close within FERSWEEP_SHUTDOWN_TIMEOUT_MS) and
 * resolves with the exit code.
 */
export function serveCommand(setExitCode: (code: number) => void): Command {
  const serve = new Command('serve').description(
    'run a fersweep service (configuration from the environment: see README)',
  );
  serve
    .command('coordinator')
    .description(
      'the sweeps API and scheduler (FERSWEEP_PORT, FERSWEEP_STORE, NATS_URL, FERSWEEP_LAUNCHER, FERSWEEP_API_TOKENS, …)',
    )
    .option('--port <port>', 'listen port (default FERSWEEP_PORT or 8080)', portArg)
    .option(
      '--host <host>',
      'listen address (default FERSWEEP_HOST; else all interfaces with FERSWEEP_API_TOKENS set, 127.0.0.1 without)',
    )
    .action(async (flags: { port?: number; host?: string }) => {
      const { coordinatorProcess } = await import('@fersweep/coordinator');
      setExitCode(
        await coordinatorProcess({
          ...(flags.port !== undefined ? { port: flags.port } : {}),
          ...(flags.host !== undefined ? { host: flags.host } : {}),
          trainerCommand: trainerCommand(),
          resolveDataset: resolveServedDataset,
        }),
      );
    });
  serve
    .command('evaluator')
    .description(
      'the evaluator: consumes trial events, serves reports and metrics (FERSWEEP_PORT default 8081, NATS_URL, FERSWEEP_STORE, FERSWEEP_API_TOKENS, …)',
    )
    .option('--port <port>', 'listen port (default FERSWEEP_PORT or 8081)', portArg)
    .option(
      '--host <host>',
      'listen address (default FERSWEEP_HOST; else all interfaces with FERSWEEP_API_TOKENS set, 127.0.0.1 without)',
    )
    .action(async (flags: { port?: number; host?: string }) => {
      const { evaluatorProcess } = await import('@fersweep/evaluator');
      setExitCode(
        await evaluatorProcess({
          ...process.env,
          ...(flags.port !== undefined ? { FERSWEEP_PORT: String(flags.port) } : {}),
          ...(flags.host !== undefined ? { FERSWEEP_HOST: flags.host } : {}),
        }),
      );
    });
  return serve;
}
