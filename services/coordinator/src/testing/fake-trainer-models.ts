import { z } from 'zod';
import type { ModelParamSchemas } from '@fersweep/contracts';

/** The params `fixtures/fake-trainer.mjs` acts on (it stands in for `fersweep train` in scheduler tests). */
export const FakeTrainerParams = z
  .object({
    stateDir: z.string().min(1),
    sleepMs: z.number().int().min(0).optional(),
    exitCodes: z.array(z.number().int()).optional(),
    /** Run until the test writes <stateDir>/<sweep>-<trial>.go. */
    waitFile: z.boolean().optional(),
    /** Write the spec it was given to <stateDir>/<sweep>-<trial>.spec.json. */
    dumpSpec: z.boolean().optional(),
    /** Ignored by the trainer: a searchable param (e.g. to expand one variant into several trials). */
    tag: z.number().optional(),
    /** Ignored by the trainer: makes params as large as a test needs. */
    blob: z.string().optional(),
  })
  .strict();

/** A model registry for sweeps run by the fake trainer: `cnn` and `mobilenetv2` both take its params. */
export const FAKE_TRAINER_MODELS: ModelParamSchemas = { cnn: FakeTrainerParams, mobilenetv2: FakeTrainerParams };
