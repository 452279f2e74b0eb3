export { renderChartPng } from './chart-png.js';
export {
  chartTrials,
  confusionChartId,
  confusionOption,
  f1BarsOption,
  learningCurvesOption,
  PALETTE,
  renderFigures,
  reportCharts,
  type ChartSpec,
} from './figures.js';
export {
  echartsBundle,
  echartsBundlePath,
  escapeHtml,
  renderReportHtml,
  scriptJson,
  type EchartsSource,
} from './html.js';
export { formatP, metricValue, parseMetric, type MetricField } from './rank-metric.js';
export { searchHistoryOption, seedStripOption, validationCurvesOption, variantCharts } from './variant-figures.js';
