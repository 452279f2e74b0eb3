/**
 * Start-up of a trainer process before the trial itself: the TensorFlow.js backend, with the GPU
 * requirement of GPU trials, and the trial.failed event for a failure there (runTrial publishes
 * its own once it runs).
 */
import { eventId, keys, type TrialEvent, type TrialSpec } from '@fersweep/contracts';
import type { Bus } from '@fersweep/messaging';
import { describeGpuEnvironment, gpuEnvironment, initTf, TfBackendError, type TfRuntime } from '@fersweep/models';
import type { Logger } from '@fersweep/observability';
import type { ObjectStore } from '@fersweep/storage';
import { GpuUnavailableError, type Classified } from './errors.js';

/**
 * initTf, except that a trial that must run on the GPU (FERSWEEP_TF_BACKEND=gpu, which the
 * coordinator sets on every Job with `resources.gpu > 0`) fails with GpuUnavailableError — exit
 * 44, permanent — naming the driver, CUDA and cuDNN versions found and needed, instead of training
 * on the CPU while holding the GPU.
 */
export async function initTrainerTf(
  logger: Logger,
  env: NodeJS.ProcessEnv,
  init: typeof initTf = initTf,
  probe: typeof gpuEnvironment = gpuEnvironment,
): Promise<TfRuntime> {
  try {
    return await init({ logger });
  } catch (err) {
    if (!(err instanceof TfBackendError) || err.backend !== 'gpu') throw err;
    const gpus = env.FERSWEEP_GPUS_REQUESTED ? ` (the trial asked for ${env.FERSWEEP_GPUS_REQUESTED} GPU)` : '';
    const cause = err.cause instanceof Error ? err.cause.message.split('\n')[0] : err.message;
    throw new GpuUnavailableError(
      `the GPU backend is required${gpus} but cannot be used: ${cause}; ${describeGpuEnvironment(await probe())}`,
      { cause: err },
    );
  }
}

/**
 * Publishes trial.failed for a failure before runTrial (the attempt number it would have taken),
 * so the coordinator records the reason. Best effort: a failure here is logged, never thrown.
 */
export async function publishStartupFailure(
  o: { spec: TrialSpec; bus: Bus; store: ObjectStore; logger: Logger },
  c: Classified,
): Promise<void> {
  const { spec } = o;
  try {
    const trialStore = o.store.sub(keys.trialRoot(spec.sweep, spec.trial));
    const prev = await trialStore.get('attempt.json').then(
      (b) => Number((JSON.parse(b.toString('utf8')) as { attempt?: number }).attempt) || 0,
      () => 0,
    );
    const e = {
      type: 'trial.failed' as const,
      reason: c.reason,
      code: c.code,
      retryable: c.retryable,
      exitCode: c.exitCode,
      epoch: 0,
      sweep: spec.sweep,
      trial: spec.trial,
      variant: spec.variant,
      attempt: prev + 1,
      time: new Date().toISOString(),
      ...(spec.launch ? { launch: spec.launch } : {}),
    };
    await o.bus.publish({ ...e, id: eventId(e) } as TrialEvent);
  } catch (err) {
    o.logger.warn('could not publish trial.failed', { error: err instanceof Error ? err.message : String(err) });
  }
}
