import * as tf from '@tensorflow/tfjs';

/** One optimizer slot as tfjs-core keeps it (tfjs-internal). */
interface Slot {
  originalName: string;
  variable: tf.Variable;
}

/** Adam's per-variable state, indexed by the variable's position in the trained list (tfjs-internal). */
interface AdamSlots {
  accumulatedFirstMoment: (Slot | undefined)[];
  accumulatedSecondMoment: (Slot | undefined)[];
}

/** The variables `fit` trains, fixed at compile time (LayersModel's private `collectedTrainableWeights`). */
function collected(model: tf.LayersModel): tf.LayerVariable[] {
  return (model as unknown as { collectedTrainableWeights?: tf.LayerVariable[] }).collectedTrainableWeights ?? [];
}

/**
 * Recompiles `model` after layers' `trainable` flags changed, keeping its Adam optimizer and that optimizer's
 * state. Both steps are needed in tfjs: `fit` trains the variables collected when the model was compiled (a
 * changed `trainable` flag does nothing until the next compile), and Adam keeps its moments by the variable's
 * *position* in that list, so once the list changes every moment would land on the wrong variable. Here each
 * variable that stays trainable keeps its own moments, a newly trainable one starts from zero moments (as Adam
 * would have started it), and the moments of one that stopped training are disposed. Iteration count and β
 * powers carry on. `learningRate`, when given, replaces Adam's.
 */
export function recompilePreservingOptimizer(model: tf.LayersModel, learningRate?: number): void {
  const optimizer = model.optimizer;
  if (!(optimizer instanceof tf.AdamOptimizer)) {
    throw new Error(`recompilePreservingOptimizer supports Adam only, the model has ${optimizer.getClassName()}`);
  }
  const before = collected(model);
  model.compile({ optimizer, loss: model.loss, metrics: model.metrics });
  const after = collected(model);
  const slots = optimizer as unknown as AdamSlots;
  for (const key of ['accumulatedFirstMoment', 'accumulatedSecondMoment'] as const) {
    const old = slots[key];
    // Adam creates its slots at the first step; before that there is nothing to move.
    if (old.length === 0) continue;
    const suffix = key === 'accumulatedFirstMoment' ? 'm' : 'v';
    const kept = new Set<Slot>();
    slots[key] = after.map((v) => {
      const slot = old[before.indexOf(v)];
      if (slot !== undefined) {
        kept.add(slot);
        return slot;
      }
      // A LayerVariable wraps a tf.Variable; its registered name is what Adam names the slot after.
      const value = v.read() as tf.Variable;
      return { originalName: `${value.name}/${suffix}`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
    });
    tf.dispose(old.filter((s): s is Slot => s !== undefined && !kept.has(s)).map((s) => s.variable));
  }
  if (learningRate !== undefined) (optimizer as unknown as { learningRate: number }).learningRate = learningRate;
}
