/**
 * @fersweep/tfjs-train-wasm — training on TensorFlow.js' wasm backend: correct and fast gradient kernels
 * (registered over tfjs-backend-wasm's own), fused Adam and BatchNorm, backend selection and heap checks.
 * See README.md; the alternative kernel strategies for benchmarks: `@fersweep/tfjs-train-wasm/strategies`.
 */
export {
  BACKEND_CHOICES,
  BACKEND_ENV_VAR,
  initTf,
  selectTfBackend,
  TfBackendError,
  type BackendChoice,
  type InitTfOptions,
  type SelectDeps,
  type TfLogger,
  type TfRuntime,
} from './backend.js';
export {
  describeGpuEnvironment,
  GPU_REQUIREMENTS,
  gpuEnvironment,
  libraryVersion,
  NOT_FOUND,
  type DiagnosticsDeps,
  type GpuEnvironment,
} from './gpu-diagnostics.js';
export {
  registerWasmTrainingKernels,
  SUPPLIED_GRADIENTS,
  SUPPLIED_WASM_KERNELS,
  unregisterWasmTrainingKernels,
} from './kernels/register.js';
export { ADAM_UPDATE, type AdamUpdateAttrs } from './kernels/adam/adam-update.js';
export { BATCH_NORM_BACKPROP, BATCH_NORM_MOVING, BATCH_NORM_STATS } from './kernels/batch-norm/train.js';
export { MASKED_GRAD } from './kernels/activations/masked-grad.js';
export { FusedAdamOptimizer } from './adam.js';
export { changesInPlace, scaleAddInPlace, writeInPlace, type ScaledValues } from './kernels/scale-add/scale-add.js';
export {
  CAPTURE_ENV_VAR,
  captureEnabled,
  CapturedTraining,
  type CaptureOptions,
  type TrainOnBatchResult,
} from './capture/captured-training.js';
export { filterTape, installLinearTapeFilter, TAPE_TFJS_VERSION, uninstallLinearTapeFilter } from './tape.js';
export {
  batchNormBatchStatistics,
  batchNormTraining,
  updateMovingAverages,
  type BatchNormTrainingResult,
} from './batch-norm.js';
export {
  explainOutOfMemory,
  isWasmHeapExhausted,
  WASM_HEAP_LIMIT_BYTES,
  wasmHeapBytes,
  WasmHeapExhaustedError,
  wasmHeapExhaustedMessage,
  type TrainingContext,
} from './memory.js';
export {
  initWasmSimd,
  RELAXED_SIMD_ENV_VAR,
  relaxedSimdSupported,
  setWasmSimdMode,
  wasmSimdMode,
  type WasmSimdMode,
} from './wasm/features.js';
