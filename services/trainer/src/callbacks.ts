import type { EarlyStopping, MonitoredMetric, ReduceLrOnPlateau } from '@fersweep/contracts';

export interface EpochMetrics {
  loss: number;
  accuracy: number;
  valLoss: number;
  valAccuracy: number;
}

/** Accuracy-like metrics improve upwards, losses downwards (Keras' mode 'auto'). */
function improved(metric: MonitoredMetric, value: number, best: number | null, minDelta: number): boolean {
  if (best === null) return true;
  return metric.toLowerCase().includes('loss') ? value < best - minDelta : value > best + minDelta;
}

/** Serialisable state of both callbacks, kept in every checkpoint so a resumed trial decides the same. */
export interface CallbackState {
  stopBest: number | null;
  stopBestEpoch: number;
  stopWait: number;
  plateauBest: number | null;
  plateauWait: number;
  cooldown: number;
  learningRate: number;
}

export function initialCallbackState(learningRate: number): CallbackState {
  return {
    stopBest: null,
    stopBestEpoch: 0,
    stopWait: 0,
    plateauBest: null,
    plateauWait: 0,
    cooldown: 0,
    learningRate,
  };
}

/**
 * Keras EarlyStopping + ReduceLROnPlateau after one epoch (1-based `epoch`). Pure: returns the next
 * state, whether to stop, and the learning rate for the next epoch.
 */
export function afterEpoch(
  state: CallbackState,
  epoch: number,
  metrics: EpochMetrics,
  early: EarlyStopping | undefined,
  plateau: ReduceLrOnPlateau | undefined,
): { state: CallbackState; stop: boolean; reducedTo?: number } {
  const next = { ...state };
  let stop = false;
  let reducedTo: number | undefined;
  const monitor = early?.monitor ?? 'valAccuracy';
  const value = metrics[monitor];
  if (improved(monitor, value, next.stopBest, early?.minDelta ?? 0)) {
    next.stopBest = value;
    next.stopBestEpoch = epoch;
    next.stopWait = 0;
  } else {
    next.stopWait++;
    if (early && next.stopWait >= early.patience) stop = true;
  }
  if (plateau) {
    const v = metrics[plateau.monitor];
    if (next.cooldown > 0) next.cooldown--;
    if (improved(plateau.monitor, v, next.plateauBest, plateau.minDelta)) {
      next.plateauBest = v;
      next.plateauWait = 0;
    } else if (next.cooldown === 0) {
      next.plateauWait++;
      if (next.plateauWait >= plateau.patience) {
        const lr = Math.max(next.learningRate * plateau.factor, plateau.minLearningRate);
        if (lr < next.learningRate) {
          next.learningRate = lr;
          reducedTo = lr;
        }
        next.cooldown = plateau.cooldown;
        next.plateauWait = 0;
      }
    }
  }
  return reducedTo === undefined ? { state: next, stop } : { state: next, stop, reducedTo };
}
