/**
 * Synthetic FER2013-style faces: procedural 48×48 grayscale faces whose seven expressions differ
 * the way real ones do (FACS-like actions), with per-image intensity, pose, lighting, noise and
 * occlusion, so confusable pairs overlap like in FER2013. Used where real FER2013 is unavailable.
 */
export { renderFace, renderExpression } from './face.js';
export { sampleExpression, sampleIntensity, type Expression, type Intensity } from './expression.js';
export {
  allocate,
  allocateByClass,
  imageRandom,
  synthesize,
  FER2013_USAGE_FRACTIONS,
  FER_USAGES,
  type FerUsage,
  type SynthesizeOptions,
  type SyntheticImage,
  type UsageFractions,
} from './synthesize.js';
