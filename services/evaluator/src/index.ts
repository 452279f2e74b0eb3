export {
  ACCURACY_CONFIDENCE,
  SweepAggregator,
  slotOf,
  splitReport,
  type ApplyResult,
  type PairedPredictions,
  type PlannedTrial,
  type SweepSnapshot,
} from './aggregator.js';
export { EventConsumer, type ConsumerSettings, type EventConsumerOptions } from './consumer.js';
export {
  createEvaluatorMetrics,
  dropLintFailingMetrics,
  type EvaluatorMetrics,
  type MetricsSource,
} from './metrics.js';
export { SweepStates, evaluatorKeys, type SweepEntry, type SweepStatesOptions } from './sweeps.js';
export { buildReport, compareTrials, sampleGrid, verdictOf, type ReportOptions } from './report/build.js';
// The page and its figures live in @fersweep/report; re-exported for the evaluator's existing users.
export {
  confusionOption,
  echartsBundle,
  echartsBundlePath,
  escapeHtml,
  f1BarsOption,
  formatP,
  learningCurvesOption,
  metricValue,
  parseMetric,
  renderFigures,
  renderReportHtml,
  reportCharts,
  type ChartSpec,
  type EchartsSource,
} from '@fersweep/report';
export { writeReportArtifacts } from './report/publish.js';
export {
  attachSampleImages,
  createSampleImageSource,
  pngDataUri,
  type SampleImageSource,
  type SampleImageSourceOptions,
} from './report/samples.js';
export { EVALUATOR_ERRORS, EvaluatorError, type EvaluatorErrorCode } from './errors.js';
export {
  createEvaluator,
  parseSweepId,
  type Evaluator,
  type EvaluatorOptions,
  type SweepSummary,
} from './evaluator.js';
export { createApp, ECHARTS_ASSET, type AppDeps } from './app.js';
export { EvaluatorConfig, loadConfig } from './config.js';
export { startEvaluatorService, type EvaluatorService, type ServiceOverrides, type ServiceState } from './service.js';
export { evaluatorProcess, type EvaluatorProcessOptions } from './main.js';
