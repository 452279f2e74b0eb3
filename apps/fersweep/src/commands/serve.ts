import { Command, InvalidArgumentError } from 'commander';

const portArg = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`--port must be an integer 0–65535, got '${v}'`);
  return n;
};

/** Runs a service until SIGTERM/SIGINT, then its shutdown sequence. */
async function serveUntilSignal(stop: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await stop();
}

/** `fersweep serve coordinator|evaluator`: the services' container commands. */
export function serveCommand(): Command {
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
      const { startCoordinator } = await import('@fersweep/coordinator');
      const c = await startCoordinator({
        ...(flags.port !== undefined ? { port: flags.port } : {}),
        ...(flags.host !== undefined ? { host: flags.host } : {}),
      });
      await serveUntilSignal(() => c.stop());
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
      const { loadConfig, startEvaluatorService } = await import('@fersweep/evaluator');
      const config = loadConfig({
        ...process.env,
        ...(flags.port !== undefined ? { FERSWEEP_PORT: String(flags.port) } : {}),
        ...(flags.host !== undefined ? { FERSWEEP_HOST: flags.host } : {}),
      });
      const service = await startEvaluatorService(config);
      await serveUntilSignal(() => service.shutdown());
    });
  return serve;
}
