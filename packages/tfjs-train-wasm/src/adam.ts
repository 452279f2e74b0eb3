import * as tf from '@tensorflow/tfjs';
import { ADAM_UPDATE, adamUpdateInPlace, canRenewBufferIds, ownsAdamBuffers } from './kernels/adam/adam-update.js';
import type { WasmBackend } from './kernels/kernel-utils.js';

/** tfjs-core AdamOptimizer internals the fused step uses (protected in its typings; tfjs 4.22). */
interface AdamInternals {
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  incrementIterations(): void;
}

/**
 * Keras/tfjs Adam whose step runs on wasm as one generated SIMD loop per variable that writes the variable and
 * its moments in place (`adamUpdateInPlace`; where another tensor shares one of those buffers, the
 * `FersweepAdamUpdate` kernel into new buffers), instead of tfjs-core's ~14 kernels per variable; on other
 * backends it is tfjs-core's AdamOptimizer. Same class name ('Adam'), same state (moments, β powers, iterations)
 * and the same getWeights/setWeights, so checkpoints and `recompilePreservingOptimizer` are unchanged. Registered
 * for deserialisation under 'Adam', so a model loaded with its training config (a checkpoint) gets it too.
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (tf.getBackend() !== 'wasm' || tf.getKernel(ADAM_UPDATE, 'wasm') === undefined) {
      super.applyGradients(variableGradients);
      return;
    }
    const self = this as unknown as AdamInternals;
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((v) => v.name)
      : Object.keys(variableGradients);
    tf.tidy(() => {
      const accBeta1 = self.accBeta1.dataSync()[0] as number;
      const accBeta2 = self.accBeta2.dataSync()[0] as number;
      // tfjs-core computes 1 − β^t in float32.
      const attrs = {
        learningRate: this.learningRate,
        beta1: this.beta1,
        beta2: this.beta2,
        epsilon: this.epsilon,
        c1: Math.fround(1 - accBeta1),
        c2: Math.fround(1 - accBeta2),
      };
      const backend = tf.backend() as unknown as WasmBackend;
      const inPlace: Parameters<typeof adamUpdateInPlace>[1] = [];
      const canUpdateInPlace = canRenewBufferIds(backend);
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        if (value === undefined) throw new Error(`Adam: variable ${name} is not registered`);
        const slot = (key: 'accumulatedFirstMoment' | 'accumulatedSecondMoment', suffix: string): tf.Variable => {
          let s = self[key][i];
          if (s === undefined) {
            s = { originalName: `${name}/${suffix}`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
            self[key][i] = s;
          }
          return s.variable;
        };
        const m = slot('accumulatedFirstMoment', 'm');
        const v = slot('accumulatedSecondMoment', 'v');
        const gradient = Array.isArray(variableGradients) ? variableGradients[i]?.tensor : variableGradients[name];
        if (gradient == null) return;
        if (canUpdateInPlace && ownsAdamBuffers(backend, value, m, v, gradient)) {
          inPlace.push({ x: value, m, v, g: gradient });
          return;
        }
        // A buffer another tensor holds (a clone of the variable, say): new buffers, assigned.
        const [x1, m1, v1] = tf
          .engine()
          .runKernel(ADAM_UPDATE, { x: value, m, v, g: gradient }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        m.assign(m1 as tf.Tensor);
        v.assign(v1 as tf.Tensor);
        value.assign(x1 as tf.Tensor);
      });
      if (inPlace.length > 0) adamUpdateInPlace(backend, inPlace, attrs);
      self.accBeta1.assign(tf.mul(self.accBeta1, this.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, this.beta2));
    });
    self.incrementIterations();
  }
}

// Models loaded with a training config (checkpoints) deserialise their 'Adam' through this registry: make it ours.
tf.serialization.registerClass(FusedAdamOptimizer);
