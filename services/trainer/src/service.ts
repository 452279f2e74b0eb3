/**
 * One trial as a service the lifecycle runner starts: the bus is connected at start; the trial
 * (TensorFlow.js start-up, then runTrial) is the job whose exit code ends the process; drain asks
 * it to checkpoint after the current batch.
 */
import { TRAINER_EXIT, type TrialSpec } from '@fersweep/contracts';
import type { RunningService } from '@fersweep/lifecycle';
import { busFromEnv } from '@fersweep/messaging';
import type { Logger } from '@fersweep/observability';
import type { openStore as OpenStore } from '@fersweep/storage';
import { classify } from './errors.js';
import { initTrainerTf, publishStartupFailure } from './startup.js';
import { runTrial } from './trainer.js';

export interface TrainerServiceDeps {
  spec: TrialSpec;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  openStore: typeof OpenStore;
}

/** Connects the bus and starts the trial; `finished` settles with the trainer's exit code. */
export async function startTrainer(deps: TrainerServiceDeps): Promise<RunningService> {
  const { spec, env, logger, openStore } = deps;
  const bus = await busFromEnv(env, spec.bus, logger);
  const controller = new AbortController();
  const finished = (async () => {
    try {
      const runtime = await initTrainerTf(logger, env).catch(async (err: unknown) => {
        const c = classify(err);
        logger.error(c.reason, { code: c.code, exitCode: c.exitCode });
        await publishStartupFailure({ spec, bus, store: openStore(spec.output), logger }, c);
        throw err;
      });
      logger.info('tensorflow.js ready', {
        backend: runtime.backend,
        device: runtime.device,
        package: runtime.package,
      });
      const result = await runTrial({ spec, openStore, bus, logger, runtime, signal: controller.signal });
      logger.info('trial completed', {
        epochs: result.epochs,
        bestEpoch: result.bestEpoch,
        modelUri: result.modelUri,
        test: result.test,
      });
      return TRAINER_EXIT.ok;
    } catch (err) {
      return classify(err).exitCode;
    }
  })();
  return {
    finished,
    drain: async () => {
      logger.warn(`checkpointing after the current batch, then exiting ${TRAINER_EXIT.retryable}`);
      controller.abort();
      await finished;
    },
    close: () => bus.close().catch(() => undefined),
  };
}
