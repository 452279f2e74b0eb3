export * from './space.js';
export { erf, erfc, ndtr, logNdtr, logGaussMass, truncnormLogPdf, truncnormPpf } from './normal.js';
export { ParzenEstimator, defaultWeights, type ParzenOptions } from './parzen.js';
export { randomPoint, randomValue, gridPoints, gridValues, MAX_GRID_POINTS } from './sample.js';
export { TpeSampler, TpeOptions, defaultGamma, type TpeOptionsInput, type Observation } from './tpe.js';
export { signed, percentile, type EpochEvent, type StopDecision, type Mode } from './stopping/events.js';
export {
  AshaConfig,
  AshaPolicy,
  ashaDecide,
  ashaRungs,
  emptyAshaState,
  type AshaState,
  type AshaConfigInput,
} from './stopping/asha.js';
export {
  MedianConfig,
  medianDecide,
  medianComplete,
  emptyMedianState,
  type MedianState,
  type MedianConfigInput,
} from './stopping/median.js';
export { KeyedRandom } from './rng.js';
export {
  StoppingPolicy,
  stoppingConfig,
  decideStop,
  completeTrial,
  emptyStoppingState,
  type StoppingState,
  type StoppingPolicyInput,
} from './stopping/policy.js';
