export { runTrial, TRAINER_VERSION, type TrainerDeps, type TrialResult } from './trainer.js';
export { trainerProcess, readTrialSpec, type TrainerProcessOptions } from './main.js';
export { loadConfig, TrainerConfig } from './config.js';
export { startTrainer, type TrainerServiceDeps } from './service.js';
export { classify, InterruptedError, SpecError, type Classified } from './errors.js';
export { CheckpointStore, CheckpointState, checkpointName } from './checkpoint.js';
export { afterEpoch, initialCallbackState, type CallbackState } from './callbacks.js';
export { predictSplit, type SplitPredictions } from './predict.js';
