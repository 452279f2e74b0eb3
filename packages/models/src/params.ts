/**
 * @fersweep/models/params — the model registry's param schemas, without TensorFlow.js.
 *
 * The coordinator and the CLI validate every sweep against these schemas when it is submitted; loading
 * the full package would load TensorFlow.js (~0.8 s and ~55 MiB per process) for a zod check. The
 * registry (`VARIANTS` in `@fersweep/models`) uses these same objects, so a param added to a model is
 * validated at submission without further change.
 */
import type { z } from 'zod';
import { CnnParams } from './variants/cnn-params.js';
import { MobileNetV2Params } from './variants/mobilenetv2-params.js';

export { CnnParams } from './variants/cnn-params.js';
export {
  MOBILENETV2_ALPHAS,
  MOBILENETV2_BASE_LAYERS,
  MOBILENETV2_INPUT_SIZES,
  MobileNetV2Params,
} from './variants/mobilenetv2-params.js';

/** Each registered model's params schema, by the name a sweep's `model` uses. */
export const MODEL_PARAMS = { cnn: CnnParams, mobilenetv2: MobileNetV2Params } as const satisfies Record<
  string,
  z.ZodType
>;

/** A registered model's name. */
export type ModelName = keyof typeof MODEL_PARAMS;
