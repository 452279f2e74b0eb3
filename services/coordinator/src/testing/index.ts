/**
 * `@fersweep/coordinator/testing`: what other workspaces' tests use to run the coordinator against a
 * stand-in trainer (never imported by product code; the layer rule in eslint.config.js enforces it).
 */
import { fileURLToPath } from 'node:url';

export { FAKE_TRAINER_MODELS, FakeTrainerParams } from './fake-trainer-models.js';

/** A stand-in for `fersweep train` (fixtures/fake-trainer.mjs): params in FakeTrainerParams. */
export const FAKE_TRAINER_PATH = fileURLToPath(new URL('../fixtures/fake-trainer.mjs', import.meta.url));

/** A scripted trainer that publishes a given learning curve (fixtures/curve-trainer.mjs). */
export const CURVE_TRAINER_PATH = fileURLToPath(new URL('../fixtures/curve-trainer.mjs', import.meta.url));
