import type * as tf from '@tensorflow/tfjs';
import { ModelError } from '../variants/errors.js';
import { layerGraph, portableModel } from './graph.js';
import { encodeModel, OnnxGraphBuilder, valueInfo } from './onnx-builder.js';
import { convertLayer, toLayout, type OnnxValue } from './onnx-layers.js';

/** The opset the exported graphs use (Clip with min/max inputs, Softmax over one axis: ≥ 13). */
export const ONNX_OPSET = 13;
/** IR version 7 is the one that goes with opset 13 (onnx 1.8). */
const IR_VERSION = 7;
/** Name of the exported graph's input (NHWC float32, the tfjs model's own input). */
export const ONNX_INPUT = 'image';
/** Name of the exported graph's output (the class probabilities). */
export const ONNX_OUTPUT = 'probabilities';

/** Options of {@link exportOnnx}. */
export interface OnnxExportOptions {
  /** Key/value pairs for the model's metadata_props (e.g. the preprocessing the model expects). */
  metadata?: Record<string, string>;
  /** The model's doc_string. */
  docString?: string;
  /** producer_version (fersweep's version). */
  producerVersion?: string;
}

/**
 * A tfjs LayersModel as an ONNX model (opset {@link ONNX_OPSET}), serialised with onnx-proto. The graph keeps the
 * tfjs model's NHWC input `image` `[batch, h, w, c]` (batch symbolic) and transposes to NCHW once, before the first
 * convolution; output `probabilities` `[batch, classes]`. Conv and pooling 'same' padding become TF's explicit
 * (bottom/right-heavy for stride 2) pads, BatchNormalization stays a node (inference mode: moving statistics),
 * Dropout disappears, Flatten transposes back to NHWC first so the Dense kernel's row order holds. A model with
 * the legacy ResizeImages layer is exported through its portable form. Throws ModelError 'UnsupportedExport'
 * naming the first layer ONNX cannot take.
 */
export function exportOnnx(model: tf.LayersModel, options: OnnxExportOptions = {}): Uint8Array {
  const portable = portableModel(model);
  try {
    const graph = layerGraph(portable);
    const b = new OnnxGraphBuilder();
    const values = new Map<string, OnnxValue>();
    const inputName = b.reserve(ONNX_INPUT);
    const outputName = b.reserve(ONNX_OUTPUT);
    for (const layer of graph.layers) {
      if (layer === graph.input) {
        values.set(layer.name, { name: inputName, layout: 'tf', rank: layer.outputShape.length });
        continue;
      }
      const inputs = layer.inputs.map((n) => values.get(n)!);
      values.set(layer.name, convertLayer(b, layer, inputs));
    }
    const last = toLayout(b, values.get(graph.output.name)!, 'tf');
    b.node('Identity', [last.name], 'output', {}, outputName);
    const encoded = encodeModel({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      producerName: 'fersweep',
      producerVersion: options.producerVersion ?? '',
      docString: options.docString ?? '',
      graph: {
        name: graph.name,
        node: b.nodes,
        initializer: b.initializers,
        input: [valueInfo(inputName, graph.input.outputShape)],
        output: [valueInfo(outputName, graph.output.outputShape)],
      },
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    });
    return encoded;
  } catch (err) {
    if (err instanceof ModelError) throw err;
    throw new ModelError('UnsupportedExport', `ONNX export failed: ${(err as Error).message}`, {}, { cause: err });
  } finally {
    if (portable !== model) portable.dispose();
  }
}
