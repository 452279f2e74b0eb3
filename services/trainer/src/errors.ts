import { TRAINER_EXIT } from '@fersweep/contracts';
import { DatasetError } from '@fersweep/dataset';
import { MessagingError } from '@fersweep/messaging';
import { ModelError, TfBackendError } from '@fersweep/models';
import { StoreError } from '@fersweep/storage';
import { ZodError } from 'zod';

/** The trainer stopped on purpose (SIGTERM) after writing a checkpoint: retry and resume. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  readonly code = 'Interrupted';
}

/**
 * The trial asked for a GPU (FERSWEEP_TF_BACKEND=gpu, set on GPU Jobs) and the GPU backend cannot
 * load or sees no GPU. The message says what was found (driver, CUDA, cuDNN) and what is needed.
 */
export class GpuUnavailableError extends Error {
  override readonly name = 'GpuUnavailableError';
  readonly code = 'GpuUnavailable';
}

/** A TrialSpec that does not parse: names the field. */
export class SpecError extends Error {
  override readonly name = 'SpecError';
  readonly code = 'InvalidSpec';
}

export interface Classified {
  exitCode: number;
  /** Stable code for trial.failed. */
  code: string;
  retryable: boolean;
  reason: string;
}

/**
 * Maps any failure to the trainer's exit code and a one-line reason. Permanent: a spec, model or
 * dataset problem that a retry cannot fix. Retryable: infrastructure that may come back, and SIGTERM.
 */
export function classify(err: unknown): Classified {
  const reason = err instanceof Error ? err.message : String(err);
  const permanent = (code: string, exitCode: number = TRAINER_EXIT.invalidSpec): Classified => ({
    exitCode,
    code,
    retryable: false,
    reason,
  });
  const retry = (code: string): Classified => ({ exitCode: TRAINER_EXIT.retryable, code, retryable: true, reason });
  if (err instanceof GpuUnavailableError) return permanent('GpuUnavailable', TRAINER_EXIT.gpuUnavailable);
  if (err instanceof SpecError) return permanent('InvalidSpec');
  if (err instanceof ZodError) return permanent('InvalidSpec');
  if (err instanceof ModelError) return permanent(err.code);
  if (err instanceof DatasetError) {
    return err.code === 'InvalidArgument' ? permanent('InvalidSpec') : permanent(err.code, TRAINER_EXIT.invalidData);
  }
  if (err instanceof StoreError) {
    if (err.code === 'Unavailable' || err.code === 'Internal') return retry(`Store${err.code}`);
    if (err.code === 'NoSuchBucket') return permanent('StoreNoSuchBucket', TRAINER_EXIT.invalidData);
    return permanent(`Store${err.code}`);
  }
  if (err instanceof MessagingError) {
    return err.code === 'InvalidEvent'
      ? { exitCode: TRAINER_EXIT.crashed, code: 'InvalidEvent', retryable: true, reason }
      : retry(`Bus${err.code}`);
  }
  if (err instanceof InterruptedError) return retry('Interrupted');
  // A forced backend that cannot load (a bad FERSWEEP_TF_BACKEND): the same on every retry.
  if (err instanceof TfBackendError) return permanent('TfBackendUnavailable');
  if (err instanceof RangeError && /memory|allocation/i.test(reason)) return retry('OutOfMemory');
  return { exitCode: TRAINER_EXIT.crashed, code: 'Crashed', retryable: true, reason };
}
