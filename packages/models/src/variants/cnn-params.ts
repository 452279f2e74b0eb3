/**
 * The CNN's params schema, with no TensorFlow.js import: the coordinator and the CLI validate sweeps
 * against it through `@fersweep/models/params` without loading tfjs.
 */
import { z } from 'zod';

/** Parameters of the classic FER2013 CNN; `{}` is the reference model. */
export const CnnParams = z
  .object({
    /** Multiplies every layer's width (filters 64·2^i and the dense units); 0.125 is a quick-test model. */
    width: z.number().min(0.125).max(2).default(1),
    /** Conv blocks (each halves the image): 4 is the reference; fewer suit small images or quick runs. */
    blocks: z.number().int().min(1).max(4).default(4),
    /**
     * Units of the dense layers between Flatten and the classifier, used as given; when absent,
     * 256 and 512 (the reference) scaled by `width`. A single number means one dense layer.
     */
    denseUnits: z
      .union([z.number().int().min(1).max(8192), z.array(z.number().int().min(1).max(8192)).min(1).max(3)])
      .optional(),
    /** Dropout after each conv block. */
    dropout: z.number().min(0).max(0.9).default(0.25),
    /** Dropout after each dense layer. */
    denseDropout: z.number().min(0).max(0.9).default(0.5),
    /** Adam's learning rate. */
    learningRate: z.number().gt(0).max(1).default(1e-3),
    /** L2 penalty on every conv and dense kernel (Keras `kernel_regularizer=l2(…)`); 0 turns it off. */
    l2: z.number().min(0).max(1).default(0),
    /** BatchNorm momentum of the moving statistics inference uses (Keras' default 0.99). */
    batchNormMomentum: z.number().gt(0).lt(1).default(0.99),
  })
  .strict();
export type CnnParams = z.infer<typeof CnnParams>;
