import { Command } from 'commander';

/** `fersweep train --trial FILE|JSON|URL`: the trainer container's command (one trial, then its exit code). */
export function trainCommand(setExitCode: (code: number) => void): Command {
  return new Command('train')
    .description(
      'train one trial (the command a Kubernetes Job or a local child process runs); exit codes: 0 done, 42 bad spec, 43 bad dataset, 75 retryable',
    )
    .requiredOption('--trial <spec>', 'TrialSpec as inline JSON, a file path, or an object-store URL of a spec.json')
    .action(async (flags: { trial: string }) => {
      // Loads TensorFlow.js only when training.
      const { trainerProcess } = await import('@fersweep/trainer');
      setExitCode(await trainerProcess({ trial: flags.trial }));
    });
}
