/**
 * @fersweep/models — FER model variants, their registry, pretrained weights, artifacts and exports. The
 * TensorFlow.js runtime they train on is @fersweep/tfjs-train-wasm; its API is re-exported here unchanged.
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
} from '@fersweep/tfjs-train-wasm';
export {
  describeGpuEnvironment,
  GPU_REQUIREMENTS,
  gpuEnvironment,
  libraryVersion,
  NOT_FOUND,
  type DiagnosticsDeps,
  type GpuEnvironment,
} from '@fersweep/tfjs-train-wasm';
export {
  registerWasmTrainingKernels,
  SUPPLIED_GRADIENTS,
  SUPPLIED_WASM_KERNELS,
  unregisterWasmTrainingKernels,
} from '@fersweep/tfjs-train-wasm';
export { ModelError, type ModelErrorCode } from './variants/errors.js';
export { isWasmHeapExhausted, WASM_HEAP_LIMIT_BYTES, wasmHeapBytes } from '@fersweep/tfjs-train-wasm';
export { changesInPlace, scaleAddInPlace, writeInPlace, type ScaledValues } from '@fersweep/tfjs-train-wasm';
export {
  CAPTURE_ENV_VAR,
  captureEnabled,
  CapturedTraining,
  type CaptureOptions,
  type TrainOnBatchResult,
} from '@fersweep/tfjs-train-wasm';
export { explainOutOfMemory } from './variants/out-of-memory.js';
export {
  checkInputBasics,
  type BuildOptions,
  type BuiltModel,
  type ModelInput,
  type ModelVariant,
  type PretrainedReport,
} from './variants/types.js';
export {
  buildModel,
  formatParamsIssues,
  getVariant,
  parseParams,
  VARIANT_NAMES,
  VARIANTS,
  type VariantName,
  type VariantParams,
} from './variants/registry.js';
export { MODEL_PARAMS, type ModelName } from './params.js';
export { cnn, cnnDenseUnits, CnnParams } from './variants/cnn.js';
export {
  applyFineTuning,
  makeDivisible,
  MOBILENETV2_ALPHAS,
  MOBILENETV2_BASE_LAYERS,
  MOBILENETV2_INPUT_SIZES,
  mobilenetv2,
  mobileNetV2BaseLayers,
  MobileNetV2Params,
} from './variants/mobilenetv2.js';
export { compileClassifier, disposeModel, labelTensor, LOSS, METRICS, adaptLayers } from './variants/common.js';
export {
  batchNormMoments,
  BatchNormPool,
  estimateBatchNormStatistics,
  type BatchNormEstimate,
  type BatchNormMoments,
} from './variants/batch-norm-statistics.js';
export { countFlops } from './variants/flops.js';
export { ResizeImages, type ResizeImagesArgs } from './variants/resize-layer.js';
export { applyResize, bilinearResizeMatrix, isResizeKernel, RESIZE_LAYERS } from './variants/resize.js';
export { loadPretrainedWeights, splitModelUrl } from './variants/pretrained.js';
export { recompilePreservingOptimizer } from './variants/recompile.js';
export { artifactsFromModel, modelFromArtifacts, type SaveModelOptions } from './io/artifacts.js';
export {
  loadModel,
  MODEL_JSON,
  modelFolderFiles,
  readArtifacts,
  saveModel,
  WEIGHTS_BIN,
  type SavedFile,
  type SavedModel,
} from './io/store.js';
export { exportOnnx, ONNX_INPUT, ONNX_OPSET, ONNX_OUTPUT, type OnnxExportOptions } from './export/onnx.js';
export { exportKerasH5, KERAS_H5_VERSION, kerasModelConfig } from './export/keras-h5.js';
export { layerGraph, portableModel, type GraphLayer, type LayerGraph } from './export/graph.js';
export {
  describePreprocessing,
  EXPORT_FILES,
  EXPORT_FORMATS,
  exportModel,
  type ExportFormat,
  type ExportMetadata,
  type ExportResult,
} from './export/formats.js';
export {
  FACE_DETECTORS,
  faceModelDir,
  loadFaceDetector,
  type DetectedFace,
  type FaceDetector,
  type FaceDetectorKind,
  type FaceDetectorOptions,
  type RgbImage,
} from './faces/detector.js';
export {
  isHdf5,
  kerasLayer,
  kerasParamName,
  readKerasWeights,
  type KerasLayerWeights,
  type KerasWeight,
  type KerasWeightsFile,
} from './io/keras-h5.js';
export {
  blockPrefix,
  kerasMobileNetV2FileName,
  mobileNetV2WeightPlan,
  parseKerasMobileNetV2FileName,
  type LayerWeightsPlan,
  type MobileNetV2Alpha,
} from './variants/mobilenetv2-layout.js';
export {
  inferMobileNetV2Alpha,
  loadKerasMobileNetV2Weights,
  mobileNetV2Mismatch,
} from './pretrained/keras-mobilenetv2.js';
export {
  findStoredKerasWeights,
  KerasWeightsIndexEntry,
  KerasWeightsName,
  storeKerasWeights,
} from './pretrained/keras-store.js';
export {
  imagenetWeightsFor,
  isKerasWeightsRef,
  KERAS_WEIGHTS_PUBLIC_URL,
  KERAS_WEIGHTS_URL_ENV,
  resolveKerasWeights,
  type KerasSourceOptions,
  type ResolvedKerasWeights,
} from './pretrained/keras-source.js';
