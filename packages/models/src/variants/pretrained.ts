import * as tf from '@tensorflow/tfjs';
import { StoreError, openStore as defaultOpenStore, type ObjectStore } from '@fersweep/storage';
import { MODEL_JSON, readArtifacts } from '../io/store.js';
import type { Layer } from './common.js';
import { ModelError } from './errors.js';
import type { PretrainedReport } from './types.js';

/**
 * Splits a pretrained URL into the store to open and the model.json key in it: a URL ending in `.json` names
 * the file itself, anything else the folder that holds `model.json`.
 */
export function splitModelUrl(url: string): { storeUrl: string; key: string } {
  const trimmed = url.trim().replace(/\/+$/, '');
  if (!trimmed.toLowerCase().endsWith('.json')) return { storeUrl: trimmed, key: MODEL_JSON };
  const slash = trimmed.lastIndexOf('/');
  return { storeUrl: trimmed.slice(0, slash), key: trimmed.slice(slash + 1) };
}

/** `layer/param` from a weight name, whatever scopes precede it (`mobilenetv2_1.00_224/Conv1/kernel` → `Conv1/kernel`). */
function layerAndParam(name: string): string {
  return name.split('/').slice(-2).join('/');
}

/** The parameter part of a layer variable's name (`Conv1/kernel` → `kernel`). */
function paramOf(v: tf.LayerVariable): string {
  return v.originalName.slice(v.originalName.lastIndexOf('/') + 1);
}

/**
 * Copies pretrained weights into `layers` by layer name: a layer is loaded when the source has every one of its
 * weights (`<layer>/<param>`, e.g. `block_1_expand_BN/moving_mean`) with the same shape, and skipped otherwise,
 * with the reason. Quantized weights (uint8/uint16/float16 manifests) are dequantized. Reads the source from an
 * object store: a tfjs LayersModel folder as tensorflowjs_converter or `saveModel` writes it.
 * Throws ModelError 'InvalidParams' (field params.pretrained) when nothing is at the URL, and
 * 'IncompatiblePretrained' when fewer than half of the layers match.
 */
export async function loadPretrainedWeights(
  layers: readonly Layer[],
  url: string,
  openStore: (url: string) => ObjectStore = defaultOpenStore,
): Promise<PretrainedReport> {
  const { storeUrl, key } = splitModelUrl(url);
  let artifacts: tf.io.ModelArtifacts;
  try {
    artifacts = await readArtifacts(openStore(storeUrl), key);
  } catch (err) {
    if (err instanceof StoreError && err.code === 'NotFound') {
      throw new ModelError(
        'InvalidParams',
        `params.pretrained: no tfjs LayersModel at ${url} (${err.message}): point it at a folder with model.json or at the model.json`,
        { field: 'params.pretrained', artifact: url },
        { cause: err },
      );
    }
    throw err;
  }
  const specs = (artifacts.weightSpecs ?? []).filter((s) => s.group !== 'optimizer');
  const data = artifacts.weightData;
  if (data === undefined) {
    throw new ModelError('InvalidArtifacts', `${url} has no weights`, { artifact: url });
  }
  const byName = new Map(specs.map((s) => [layerAndParam(s.name), s]));
  const report: PretrainedReport = { source: url, loaded: [], skipped: [], unused: [] };
  // Every spec, in order: decodeWeights finds each tensor's bytes by walking the specs from the start.
  const decoded = tf.io.decodeWeights(data, artifacts.weightSpecs ?? []);
  try {
    const wanted = new Set<string>();
    for (const layer of layers) {
      const weights = layer.weights;
      if (weights.length === 0) continue;
      wanted.add(layer.name);
      const values: tf.Tensor[] = [];
      let reason: string | undefined;
      for (const w of weights) {
        const spec = byName.get(`${layer.name}/${paramOf(w)}`);
        if (spec === undefined) {
          reason = `the source has no ${layer.name}/${paramOf(w)}`;
          break;
        }
        if (spec.shape.length !== w.shape.length || spec.shape.some((d, i) => d !== w.shape[i])) {
          reason = `${paramOf(w)} is [${w.shape.join(', ')}] here but [${spec.shape.join(', ')}] in the source`;
          break;
        }
        const value = decoded[spec.name];
        if (value === undefined) throw new ModelError('InvalidArtifacts', `${url}: ${spec.name} did not decode`);
        values.push(value);
      }
      if (reason !== undefined) {
        report.skipped.push({ layer: layer.name, reason });
        continue;
      }
      layer.setWeights(values);
      report.loaded.push(layer.name);
    }
    const sourceLayers = new Set([...byName.keys()].map((k) => k.slice(0, k.indexOf('/'))));
    report.unused = [...sourceLayers].filter((l) => !wanted.has(l)).sort();
  } finally {
    tf.dispose(Object.values(decoded));
  }
  // A partial match is reported, not refused, but a source that fits fewer than half of the layers is another
  // model (typically another width multiplier, whose 1280-channel top still matches) and would leave the base
  // mostly random.
  const total = report.loaded.length + report.skipped.length;
  if (report.loaded.length * 2 < total) {
    const first = report.skipped[0];
    throw new ModelError(
      'IncompatiblePretrained',
      `params.pretrained: only ${report.loaded.length} of the ${total} layers with weights matched ${url} by name ` +
        `and shape (${first?.layer}: ${first?.reason}): is it this model family with the same width multiplier?`,
      { field: 'params.pretrained', artifact: url },
    );
  }
  return report;
}
