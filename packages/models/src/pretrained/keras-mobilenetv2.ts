import * as tf from '@tensorflow/tfjs';
import { kerasLayer, type KerasWeightsFile } from '../io/keras-h5.js';
import type { Layer } from '../variants/common.js';
import { ModelError } from '../variants/errors.js';
import { MOBILENETV2_ALPHAS, mobileNetV2WeightPlan, type MobileNetV2Alpha } from '../variants/mobilenetv2-layout.js';
import type { PretrainedReport } from '../variants/types.js';

const shapeText = (s: readonly (number | null)[]) => `[${s.join(', ')}]`;
const sameShape = (a: readonly (number | null)[], b: readonly (number | null)[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * The first place where `file` differs from keras' MobileNetV2(alpha) base — a missing layer, a missing weight
 * or a shape — as `layer: what`, or undefined when every one of the 104 layers with weights is there with
 * keras' shapes. Extra layers (a classifier, weightless layers) are fine.
 */
export function mobileNetV2Mismatch(file: KerasWeightsFile, alpha: number): string | undefined {
  for (const { layer, weights } of mobileNetV2WeightPlan(alpha)) {
    const found = kerasLayer(file, layer);
    if (found === undefined) return `${layer}: no such layer in the file`;
    for (const { param, shape } of weights) {
      const w = found.weights.find((x) => x.param === param);
      if (w === undefined) {
        return `${layer}: no ${param} weight (the file has ${found.weights.map((x) => x.param).join(', ') || 'none'})`;
      }
      if (!sameShape(w.shape, shape)) {
        return `${layer}: ${param} is ${shapeText(w.shape)} in the file but ${shapeText(shape)} in MobileNetV2 α ${alpha}`;
      }
      if (w.values.length !== shape.reduce((a, b) => a * b, 1)) return `${layer}: ${param} has the wrong value count`;
    }
  }
  return undefined;
}

/**
 * The width multiplier of a keras MobileNetV2 weight file, found from its shapes (every layer must fit). Throws
 * ModelError 'IncompatiblePretrained' naming the first layer that fits no α (judged against the α whose stem,
 * Conv1, matches, else α 1.0).
 */
export function inferMobileNetV2Alpha(file: KerasWeightsFile, source: string): MobileNetV2Alpha {
  const alpha = MOBILENETV2_ALPHAS.find((a) => mobileNetV2Mismatch(file, a) === undefined);
  if (alpha !== undefined) return alpha;
  const stem = kerasLayer(file, 'Conv1')?.weights[0]?.shape;
  const closest =
    MOBILENETV2_ALPHAS.find(
      (a) => stem !== undefined && sameShape(stem, mobileNetV2WeightPlan(a)[0]!.weights[0]!.shape),
    ) ?? 1;
  throw new ModelError(
    'IncompatiblePretrained',
    `${source} is not a keras MobileNetV2 (include_top=False) weight file for any published width multiplier: ` +
      `${mobileNetV2Mismatch(file, closest)}`,
    { artifact: source, field: 'params.pretrained' },
  );
}

/** The parameter part of a layer variable's name (`Conv1/kernel` → `kernel`). */
function paramOf(v: tf.LayerVariable): string {
  return v.originalName.slice(v.originalName.lastIndexOf('/') + 1);
}

/**
 * Copies the base's weights from a keras MobileNetV2 weight file into `layers` by layer name and parameter name,
 * bit for bit. Strict: the file must fit keras' MobileNetV2 at `alpha` in every layer (ModelError
 * 'IncompatiblePretrained' naming the first layer that does not), and every base layer with weights is loaded.
 */
export function loadKerasMobileNetV2Weights(
  layers: readonly Layer[],
  file: KerasWeightsFile,
  alpha: number,
  source: string,
): PretrainedReport {
  const incompatible = (what: string) => {
    const other = MOBILENETV2_ALPHAS.find((a) => a !== alpha && mobileNetV2Mismatch(file, a) === undefined);
    return new ModelError(
      'IncompatiblePretrained',
      `params.pretrained: ${source} does not fit MobileNetV2 α ${alpha}: ${what}` +
        (other === undefined ? '' : ` (it is the file for α ${other}: set params.alpha to ${other} or use that file)`),
      { field: 'params.pretrained', artifact: source },
    );
  };
  const mismatch = mobileNetV2Mismatch(file, alpha);
  if (mismatch !== undefined) throw incompatible(mismatch);
  const report: PretrainedReport = { source, loaded: [], skipped: [], unused: [] };
  const wanted = new Set<string>();
  for (const layer of layers) {
    if (layer.weights.length === 0) continue;
    wanted.add(layer.name);
    const found = kerasLayer(file, layer.name);
    if (found === undefined) throw incompatible(`${layer.name}: no such layer in the file`);
    const values = layer.weights.map((v) => {
      const w = found.weights.find((x) => x.param === paramOf(v));
      if (w === undefined) throw incompatible(`${layer.name}: no ${paramOf(v)} weight`);
      if (!sameShape(w.shape, v.shape)) {
        throw incompatible(
          `${layer.name}: ${paramOf(v)} is ${shapeText(w.shape)} in the file but ${shapeText(v.shape)} here`,
        );
      }
      return w;
    });
    const tensors = values.map((w) => tf.tensor(w.values, w.shape, 'float32'));
    try {
      layer.setWeights(tensors);
    } finally {
      tf.dispose(tensors);
    }
    report.loaded.push(layer.name);
  }
  report.unused = file.layers
    .filter((l) => l.weights.length > 0 && !wanted.has(l.name))
    .map((l) => l.name)
    .sort();
  return report;
}
