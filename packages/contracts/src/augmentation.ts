import { z } from 'zod';

/** How points outside the image are filled, as scipy.ndimage (and so Keras' ImageDataGenerator) names them. */
export const FillMode = z.enum(['nearest', 'constant', 'reflect', 'wrap']);
export type FillMode = z.infer<typeof FillMode>;

/** A shift range: 0 disables; below 1 it is a fraction of the image side, from 1 up it is pixels (as Keras). */
const ShiftRange = z.number().min(0);

/**
 * Random training-time augmentation with Keras `ImageDataGenerator` semantics (rotation, shifts, zoom,
 * horizontal flip, bilinear resampling, scipy fill modes), followed by `rescale`. Every field is
 * optional; `{}` means no augmentation, only the default rescale to [0, 1]. Unknown keys are rejected
 * so that a misspelt option (`rotation_range`) fails loudly instead of silently training without it.
 */
export const AugmentationConfig = z
  .object({
    /** Maximum rotation in degrees; the angle is drawn uniformly from [−r, r). */
    rotationRange: z.number().min(0).default(0),
    /** Horizontal shift range: < 1 is a fraction of the width, ≥ 1 is pixels. */
    widthShiftRange: ShiftRange.default(0),
    /** Vertical shift range: < 1 is a fraction of the height, ≥ 1 is pixels. */
    heightShiftRange: ShiftRange.default(0),
    /**
     * Zoom factor range: a number z means [1 − z, 1 + z], or an explicit [lo, hi]. The row and column
     * factors are drawn independently. A factor above 1 zooms *out* (the face gets smaller), as in Keras.
     */
    zoomRange: z
      .union([
        z.number().min(0).lt(1, 'a single zoomRange must be below 1 so that 1 − zoomRange stays positive'),
        z
          .tuple([z.number().positive(), z.number().positive()])
          .refine(([lo, hi]) => lo <= hi, 'zoomRange [lo, hi] needs lo ≤ hi'),
      ])
      .default(0),
    /** Mirror left–right with probability 0.5. */
    horizontalFlip: z.boolean().default(false),
    /** How points that fall outside the input are filled. */
    fillMode: FillMode.default('nearest'),
    /** Fill value for `fillMode: 'constant'`, in input pixel units (0–255), so before `rescale`. */
    cval: z.number().min(0).max(255).default(0),
    /** Multiplies every output pixel after the transform; 1/255 maps 0–255 to [0, 1]. Use 1 to keep 0–255. */
    rescale: z
      .number()
      .positive()
      .default(1 / 255),
  })
  .strict();
export type AugmentationConfig = z.infer<typeof AugmentationConfig>;
/** What a spec may contain before defaults are applied. */
export type AugmentationConfigInput = z.input<typeof AugmentationConfig>;
