import { FER_PIXELS, NUM_CLASSES } from '@fersweep/contracts';
import type { Random } from '@fersweep/random';
import { Canvas } from './canvas.js';
import { sampleExpression, type Expression } from './expression.js';
import {
  drawBrows,
  drawEyes,
  drawGlasses,
  drawMouth,
  drawNasolabialFolds,
  drawNose,
  drawRelief,
  drawWrinkles,
  featureLayout,
} from './face-features.js';
import { paintBase, sampleBackground, sampleHeadShape, sampleIdentity, sampleLight, samplePose } from './face-scene.js';

// Math's functions are bound once per module: under jest's vm sandbox every global lookup
// (Math, Infinity) goes through an interceptor and costs ~100× a module binding, which made
// rendering 25× slower in tests than in plain Node.
const { cos, exp, sin, PI } = Math;

// One scratch canvas for the module: rendering is synchronous, so reuse is safe, and it saves
// ~40 KB of typed-array allocation per face at thousands of faces per second.
const canvas = new Canvas();

/**
 * Renders one synthetic FER2013-style face showing emotion `label` (0 angry … 6 neutral): 48×48
 * grayscale, row-major, 0–255. Everything random (identity, pose, lighting, expression intensity,
 * noise, occlusion) comes from `rng`, so the same generator state gives the same bytes.
 * Writes into `out` when given (it must hold 2304 bytes) and returns it.
 */
export function renderFace(label: number, rng: Random, out?: Uint8Array): Uint8Array {
  if (!Number.isInteger(label) || label < 0 || label >= NUM_CLASSES) {
    throw new RangeError(`renderFace: label ${label} is not an integer in 0..${NUM_CLASSES - 1}`);
  }
  return renderExpression(sampleExpression(label, rng), rng, out);
}

/**
 * Renders a face showing a given `expression` (see `sampleExpression`), with identity, pose,
 * lighting and nuisances drawn from `rng`: for intensity sweeps and for looking at one action at
 * a time. Writes into `out` when given (2304 bytes) and returns it.
 */
export function renderExpression(expression: Expression, rng: Random, out?: Uint8Array): Uint8Array {
  if (out !== undefined && out.length !== FER_PIXELS) {
    throw new RangeError(`renderExpression: out holds ${out.length} bytes, a 48×48 face needs ${FER_PIXELS}`);
  }
  const pixels = out ?? new Uint8Array(FER_PIXELS);
  const skinTone = drawFace(canvas, expression, rng);
  finish(canvas, rng, skinTone, pixels);
  return pixels;
}

/**
 * Draws the lit-but-unfinished face into `c` and returns its skin tone (for occluding hands). The
 * steps draw from `rng` in this order, so the same generator state gives the same face.
 */
function drawFace(c: Canvas, e: Expression, rng: Random): number {
  const id = sampleIdentity(rng);
  const pose = samplePose(c, rng);
  const light = sampleLight(rng);
  const background = sampleBackground(rng);
  const head = sampleHeadShape(id, e, rng);
  paintBase(c, pose, id, head, light, background);

  const at = featureLayout(id, e, pose.yaw);
  drawRelief(c, e, id, at, light);
  drawWrinkles(c, e, at);
  drawBrows(c, e, id, at);
  drawEyes(c, e, id, at, pose.yaw, rng);
  drawNose(c, e, id, at, light);
  drawNasolabialFolds(c, e, at);
  drawMouth(c, e, at.mouthU, at.mouthV, at.mouthHalf, id, rng);
  drawGlasses(c, at, rng);
  return id.skinTone;
}

/** Lighting, occlusion, camera contrast, blur, sensor noise, and 8-bit quantisation. */
function finish(c: Canvas, rng: Random, skinTone: number, out: Uint8Array): void {
  c.applyLight();

  // Occluders (hand, bar, patch) in about one image in ten, as in FER2013.
  if (rng.bool(0.1)) {
    const kind = rng.weighted([0.45, 0.3, 0.25]);
    if (kind === 0) {
      // A hand over the mouth, chin or cheek: a palm with four fingers, in the person's skin tone.
      const hu = rng.uniform(-0.8, 0.8);
      const hv = rng.uniform(0.35, 1.1);
      const ang = rng.uniform(-0.6, 0.6) + (rng.bool() ? PI / 2 : 0);
      const tone = skinTone * rng.uniform(0.85, 1.1);
      const ca = cos(ang);
      const sa = sin(ang);
      c.ellipse(hu, hv, 0.32, 0.26, ang, tone, 1, 1.5, false);
      for (let k = 0; k < 4; k++) {
        const off = (k - 1.5) * 0.12;
        const bu = hu - sa * off + ca * 0.2;
        const bv = hv + ca * off + sa * 0.2;
        const len = 0.32 + 0.06 * (k === 1 || k === 2 ? 1 : 0);
        c.stroke([bu, bv, bu + ca * len, bv + sa * len], 0.06, 0.05, tone, 1, 1.2, false);
        if (k > 0)
          c.stroke(
            [bu - sa * 0.06, bv + ca * 0.06, bu - sa * 0.06 + ca * len * 0.9, bv + ca * 0.06 + sa * len * 0.9],
            0.008,
            0.008,
            tone * 0.6,
            0.6,
            1,
            false,
          );
      }
    } else if (kind === 1) {
      c.rect(
        rng.uniform(-0.5, 0.5),
        rng.uniform(-0.6, 1.1),
        2,
        rng.uniform(0.05, 0.16),
        rng.normal(0, 0.2),
        rng.bool() ? rng.uniform(0, 0.15) : rng.uniform(0.85, 1),
        rng.uniform(0.6, 1),
      );
    } else {
      c.rect(
        rng.uniform(-0.9, 0.9),
        rng.uniform(-0.9, 1.1),
        rng.uniform(0.15, 0.4),
        rng.uniform(0.15, 0.4),
        rng.normal(0, 0.3),
        rng.next(),
        1,
      );
    }
  }

  const contrast = exp(rng.normal(0, 0.18));
  const brightness = rng.normal(0, 0.07);
  const blur = rng.bool(0.5) ? rng.uniform(0.2, 1) : 0;
  c.blur(blur);
  if (rng.bool(0.15)) c.blur(1);
  const sigma = rng.bool(0.85) ? rng.uniform(0, 0.02) : rng.uniform(0.02, 0.05);

  // Sensor noise from a local xorshift: a Random draw per pixel would be most of the render time.
  // The four bytes of one draw, summed, are near-gaussian (Irwin–Hall, n = 4).
  let s = rng.uint32() | 1;
  const img = c.img;
  const gain = contrast * 255;
  const offset = (0.5 + brightness - 0.5 * contrast) * 255 + 0.5;
  // The byte sum's standard deviation is √(4·(256²−1)/12) ≈ 147.8.
  const noise = (sigma * 255 * contrast) / 147.8;
  for (let i = 0; i < FER_PIXELS; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const bytes = (s & 255) + ((s >>> 8) & 255) + ((s >>> 16) & 255) + ((s >>> 24) & 255);
    const val = img[i]! * gain + offset + (bytes - 510) * noise;
    // `offset` carries +0.5, so truncation rounds.
    out[i] = val <= 0 ? 0 : val >= 255 ? 255 : val | 0;
  }
}
