/** @fersweep/models — FER model variants and the TensorFlow.js runtime they train on. */
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
} from './runtime/backend.js';
export {
  registerWasmTrainingKernels,
  SUPPLIED_GRADIENTS,
  SUPPLIED_WASM_KERNELS,
  unregisterWasmTrainingKernels,
} from './runtime/wasm-kernels/index.js';
