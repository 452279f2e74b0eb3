/**
 * What only the app knows about this installation, handed to the services it starts: where its own
 * `fersweep` command is (the trainer the local launcher runs) and the working directory that
 * relative dataset URLs mean.
 */
import { fileURLToPath } from 'node:url';
import { TRAINER_NODE_OPTIONS } from '@fersweep/contracts';

/** `node <trainer options> <this installation>/bin/fersweep.js train`: the trainer command of the local launcher. */
export function trainerCommand(): string[] {
  return [
    process.execPath,
    ...TRAINER_NODE_OPTIONS,
    fileURLToPath(new URL('../../../bin/fersweep.js', import.meta.url)),
    'train',
  ];
}

/**
 * The coordinator's dataset URLs: `file://./x` and `file://../x` are relative to the directory
 * `fersweep serve coordinator` was started in (trainers run elsewhere and need an absolute one).
 */
export function resolveServedDataset(url: string): string {
  return url.startsWith('file://./') || url.startsWith('file://../') ? `file://${process.cwd()}/${url.slice(7)}` : url;
}
