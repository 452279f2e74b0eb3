/**
 * MobileNetV2's params schema and the constants it uses, with no TensorFlow.js import: the coordinator
 * and the CLI validate sweeps against it through `@fersweep/models/params` without loading tfjs.
 */
import { z } from 'zod';
import { MOBILENETV2_ALPHAS } from './mobilenetv2-layout.js';

export { MOBILENETV2_ALPHAS };
/** Sizes the grayscale image is resized to before the base (48 is FER2013's own). */
export const MOBILENETV2_INPUT_SIZES = [48, 96, 128] as const;
/**
 * Layers of the base, `Conv1` … `out_relu`: keras' `MobileNetV2(include_top=False).layers[1:]` (153) less the
 * four weightless `block_{1,3,6,13}_pad` layers, whose padding the stride-2 depthwise convs do themselves.
 */
export const MOBILENETV2_BASE_LAYERS = 149;

const oneOf = (values: readonly number[]) => `must be one of ${values.join(', ')}`;

/** Parameters of MobileNetV2; `{}` trains α 1.0 at 48×48 from scratch. */
export const MobileNetV2Params = z
  .object({
    /** Width multiplier (keras' `alpha`): scales every layer's channels, rounded to multiples of 8. */
    alpha: z.literal(MOBILENETV2_ALPHAS, { error: oneOf(MOBILENETV2_ALPHAS) }).default(1),
    /** Side the image is resized to (bilinear) before the base; 96 or 128 upsample FER's 48 px. */
    inputSize: z.literal(MOBILENETV2_INPUT_SIZES, { error: oneOf(MOBILENETV2_INPUT_SIZES) }).default(48),
    /**
     * Pretrained base weights, loaded by keras layer name (the head always starts fresh):
     * - `imagenet`: keras.applications' ImageNet weights for `alpha` and `inputSize` (48 takes the 96 px file),
     *   read from the object store's `pretrained/keras/` (`fersweep models import-keras`) or downloaded from
     *   keras' bucket and cached there;
     * - a keras HDF5 weight file (`….h5`): `https://…`, `s3://…`, `file://…` or a path;
     * - any other URL: a tfjs LayersModel (folder with model.json, or the model.json) with keras layer names,
     *   e.g. one converted with tensorflowjs_converter; layers whose name and shapes match are loaded.
     */
    pretrained: z.string().min(1).max(2048).optional(),
    /** Train only the head: the base's weights and BatchNorm statistics stay as loaded. */
    freezeBase: z.boolean().default(false),
    /**
     * After `epoch` epochs, unfreeze the top `layers` layers of the base (ReLU and Add layers count too, as in
     * keras; 149 in all, see MOBILENETV2_BASE_LAYERS: the TF transfer-learning guide's `fine_tune_at = 100`,
     * from block_11_expand_relu up, is `layers: 53`), optionally switching Adam to `learningRate`.
     */
    fineTuneAt: z
      .object({
        epoch: z.number().int().min(1),
        layers: z.number().int().min(1).max(MOBILENETV2_BASE_LAYERS),
        learningRate: z.number().gt(0).max(1).optional(),
      })
      .strict()
      .optional(),
    /**
     * Hidden dense layers (ReLU) of the head, between global average pooling and the classifier, e.g. `[1024]`
     * or `[256, 128]`; `[]` (the default) classifies the pooled features directly.
     */
    head: z.array(z.number().int().min(1).max(4096)).max(4).default([]),
    /** Dropout before the classifier, and after each hidden dense layer of the head. */
    dropout: z.number().min(0).max(0.9).default(0.2),
    /** Adam's learning rate. */
    learningRate: z.number().gt(0).max(1).default(1e-3),
    /**
     * BatchNorm momentum. keras.applications uses 0.999, whose moving statistics need thousands of steps to
     * settle — validation on a short from-scratch run would be meaningless — so the default is Keras' 0.99.
     */
    batchNormMomentum: z.number().gt(0).lt(1).default(0.99),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.freezeBase && p.pretrained === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['freezeBase'],
        message:
          'freezing a randomly initialised base trains only the head: set params.pretrained or freezeBase: false',
      });
    }
    if (p.fineTuneAt !== undefined && !p.freezeBase) {
      ctx.addIssue({
        code: 'custom',
        path: ['fineTuneAt'],
        message:
          'fine-tuning unfreezes a frozen base, but the base already trains: set freezeBase: true or drop fineTuneAt',
      });
    }
  });
export type MobileNetV2Params = z.infer<typeof MobileNetV2Params>;
