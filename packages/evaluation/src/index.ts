export { confusionMatrix, rowNormalize, type CountMatrix } from './confusion.js';
export { perClassMetrics, summarize, type EvaluationSummary } from './metrics.js';
export {
  mcnemar,
  pairwiseComparisons,
  holmBonferroni,
  type McNemarOptions,
  type McNemarResult,
  type PairwiseComparison,
} from './mcnemar.js';
export { wilsonInterval, type ProportionInterval } from './interval.js';
export { erfc, chiSquareSurvivalDf1 } from './special.js';
export {
  pairedTTest,
  signTest,
  smallestRankTestP,
  tInterval,
  wilcoxonSignedRank,
  type MeanInterval,
  type PairedTTest,
} from './seeds.js';
