import * as tf from '@tensorflow/tfjs';

/** Constructor arguments (and serialised config) of {@link ResizeImages}. */
export interface ResizeImagesArgs extends LayerArgs {
  height: number;
  width: number;
}

/** tfjs-layers' base layer arguments (name, trainable, …), which it also hands back when deserialising. */
type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

type Shape = (number | null)[];

/**
 * Legacy: the custom layer MobileNetV2 models saved before the portable resize used (96/128 px). New models resize
 * with standard layers (`applyResize`, variants/resize.ts), which a plain `tf.loadLayersModel` understands; this class stays
 * registered (importing this module, as `loadModel` does, registers it) so that old model.json files still load
 * in fersweep, and `portableArtifacts` rewrites it into the standard layers for export.
 *
 * Resizes images `[n, h, w, c]` to `[n, height, width, c]`, bilinearly with half-pixel centres (TF 2's
 * `tf.image.resize` and Keras' `Resizing`).
 */
export class ResizeImages extends tf.layers.Layer {
  static readonly className = 'ResizeImages';
  readonly height: number;
  readonly width: number;

  constructor(args: ResizeImagesArgs) {
    super(args);
    this.height = args.height;
    this.width = args.width;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [shape[0] ?? null, this.height, this.width, shape[3] ?? null];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    return tf.image.resizeBilinear(x, [this.height, this.width], false, true);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), height: this.height, width: this.width };
  }
}

tf.serialization.registerClass(ResizeImages);
