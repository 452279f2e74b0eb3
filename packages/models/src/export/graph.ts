import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../variants/errors.js';
import { applyResize } from '../variants/resize.js';
import { ResizeImages } from '../variants/resize-layer.js';

/** A static shape as tfjs reports it (`null` for the batch axis). */
export type Shape = (number | null)[];

/** One weight of a {@link GraphLayer}, with its values copied out of the model. */
export interface GraphWeight {
  /** The weight's name within its layer, e.g. `kernel`, `moving_mean`. */
  name: string;
  shape: number[];
  values: Float32Array;
}

/** One layer of a {@link LayerGraph}: what an exporter needs, read once from the tfjs model. */
export interface GraphLayer {
  name: string;
  className: string;
  /** tfjs' own config (`layer.getConfig()`, camelCase). */
  config: Record<string, unknown>;
  /** Names of the layers that feed this one, in order (every layer has one output). */
  inputs: string[];
  inputShapes: Shape[];
  outputShape: Shape;
  weights: GraphWeight[];
}

/** A single-input, single-output functional model as a topologically ordered list of layers. */
export interface LayerGraph {
  name: string;
  input: GraphLayer;
  output: GraphLayer;
  layers: GraphLayer[];
}

const unsupported = (what: string) =>
  new ModelError('UnsupportedExport', `cannot export this model: ${what}`, { field: 'model' });

function firstShape(shape: Shape | Shape[]): Shape {
  return (Array.isArray(shape[0]) ? shape[0] : shape) as Shape;
}

/**
 * Reads `model` into a {@link LayerGraph}. Every layer must be called exactly once with single-output inputs
 * (all fersweep variants are); otherwise throws ModelError 'UnsupportedExport' naming the layer.
 */
export function layerGraph(model: tf.LayersModel): LayerGraph {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw unsupported(
      `${model.name} has ${model.inputs.length} inputs and ${model.outputs.length} outputs, not 1 and 1`,
    );
  }
  const layers = model.layers.map((layer): GraphLayer => {
    if (layer.inboundNodes.length !== 1) {
      throw unsupported(
        `layer ${layer.name} is used ${layer.inboundNodes.length} times (shared layers are not supported)`,
      );
    }
    const node = layer.inboundNodes[0]!;
    node.tensorIndices.forEach((t, i) => {
      if (t !== 0 || node.nodeIndices[i] !== 0) throw unsupported(`layer ${layer.name} reads a second output`);
    });
    const inputShapes = node.inputShapes;
    // The variables' own values (no copies to dispose); dataSync copies them out.
    const values = layer.getWeights();
    return {
      name: layer.name,
      className: layer.getClassName(),
      config: layer.getConfig() as Record<string, unknown>,
      inputs: node.inboundLayers.map((l) => l.name),
      inputShapes: (Array.isArray(inputShapes[0]) ? inputShapes : [inputShapes]) as Shape[],
      outputShape: firstShape(layer.outputShape as Shape | Shape[]),
      weights: layer.weights.map((w, i) => ({
        name: w.originalName.slice(w.originalName.lastIndexOf('/') + 1),
        shape: w.shape as number[],
        values: values[i]!.dataSync() as Float32Array,
      })),
    };
  });
  const byName = (name: string) => layers.find((l) => l.name === name)!;
  return {
    name: model.name,
    input: byName(model.inputLayers[0]!.name),
    output: byName(model.outputLayers[0]!.name),
    layers,
  };
}

type LayerClass = (new (args: tf.serialization.ConfigDict) => tf.layers.Layer) & {
  fromConfig?: unknown;
};

/** A fresh layer with `layer`'s class and config (tfjs' serialisation registry, as `tf.loadLayersModel` does). */
function cloneLayer(layer: tf.layers.Layer): tf.layers.Layer {
  const className = layer.getClassName();
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (entry === undefined) throw unsupported(`layer class ${className} is not registered with tfjs`);
  const [cls, fromConfig] = entry as unknown as [
    LayerClass,
    (c: LayerClass, cfg: tf.serialization.ConfigDict) => tf.layers.Layer,
  ];
  return fromConfig(cls, layer.getConfig());
}

/**
 * `model` with standard layers only: a model saved before the portable resize (with the legacy `ResizeImages`
 * layer) is rebuilt with {@link applyResize} in its place — the same function — and every other layer copied
 * with its weights. Returns `model` itself when there is nothing to replace. The caller disposes a new model.
 */
export function portableModel(model: tf.LayersModel): tf.LayersModel {
  if (!model.layers.some((l) => l instanceof ResizeImages)) return model;
  const graph = layerGraph(model);
  const outputs = new Map<string, tf.SymbolicTensor>();
  const fresh: tf.layers.Layer[] = [];
  let input: tf.SymbolicTensor | undefined;
  try {
    for (const [i, layer] of model.layers.entries()) {
      const g = graph.layers[i]!;
      if (g.className === 'InputLayer') {
        input = tf.input({ shape: g.outputShape.slice(1) as number[], name: g.name });
        outputs.set(g.name, input);
        continue;
      }
      const from = g.inputs.map((n) => outputs.get(n)!);
      if (layer instanceof ResizeImages) {
        outputs.set(g.name, applyResize(from[0]!, layer.height, layer.width));
        continue;
      }
      const copy = cloneLayer(layer);
      fresh.push(copy);
      outputs.set(g.name, copy.apply(from.length === 1 ? from[0]! : from) as tf.SymbolicTensor);
      tf.tidy(() => copy.setWeights(layer.getWeights()));
    }
    return tf.model({ inputs: input!, outputs: outputs.get(graph.output.name)!, name: model.name });
  } catch (err) {
    for (const layer of fresh) layer.dispose();
    throw err;
  }
}
