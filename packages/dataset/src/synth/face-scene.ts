/**
 * The face before its features: who the person is, how the head sits in the frame, the light, the
 * background, and the base pass that paints background, hair, clothes, neck, ears and the lit face
 * shape. Every random draw happens in the `sample*` steps, in the order `drawFace` calls them.
 */
import { FER_IMAGE, FER_PIXELS } from '@fersweep/contracts';
import type { Random } from '@fersweep/random';
import type { Canvas } from './canvas.js';
import { clamp, type Expression } from './expression.js';

// Bound once per module: see face.ts (jest's vm sandbox makes global lookups costly).
const { abs, cos, exp, hypot, max, min, sin, sqrt, PI } = Math;
const W = FER_IMAGE.width;

/** A person: what stays the same whatever the expression. */
export interface Identity {
  skinTone: number;
  hairTone: number;
  faceWidth: number;
  jawTaper: number;
  hairline: number;
  fringe: boolean;
  longHair: boolean;
  /** Hairline slant (a side parting) and the wave along its edge. */
  hairTilt: number;
  hairWave: number;
  hairFreq: number;
  hairPhase: number;
  /** How far the hair stands out beyond the face, and how tall the crown is. */
  hairVolume: number;
  crown: number;
  clothesTone: number;
  eyeSpacing: number;
  eyeY: number;
  eyeSize: number;
  irisTone: number;
  browY: number;
  browThick: number;
  browAlpha: number;
  noseLength: number;
  mouthY: number;
  mouthWidth: number;
  lipThick: number;
  beard: number;
}

export function sampleIdentity(rng: Random): Identity {
  const darkHair = rng.bool(0.8);
  return {
    skinTone: rng.uniform(0.38, 0.85),
    hairTone: darkHair ? rng.uniform(0.03, 0.28) : rng.uniform(0.4, 0.8),
    faceWidth: rng.uniform(0.92, 1.04),
    jawTaper: rng.uniform(0.12, 0.38),
    hairline: rng.uniform(-1.05, -0.72),
    fringe: rng.bool(0.2),
    longHair: rng.bool(0.4),
    hairTilt: rng.normal(0, 0.12),
    hairWave: rng.bool(0.5) ? rng.uniform(0.01, 0.05) : 0,
    hairFreq: rng.uniform(8, 20),
    hairPhase: rng.uniform(0, 2 * PI),
    hairVolume: rng.uniform(0.06, 0.28),
    crown: rng.uniform(1.32, 1.52),
    clothesTone: rng.uniform(0.05, 0.9),
    eyeSpacing: rng.normal(0, 0.02),
    eyeY: rng.normal(0, 0.02),
    eyeSize: exp(rng.normal(0, 0.08)),
    irisTone: rng.uniform(0.05, 0.3),
    browY: rng.normal(0, 0.02),
    browThick: exp(rng.normal(0, 0.2)),
    browAlpha: rng.uniform(0.5, 0.9),
    noseLength: rng.normal(0, 0.025),
    mouthY: rng.normal(0, 0.025),
    mouthWidth: exp(rng.normal(0, 0.06)),
    lipThick: exp(rng.normal(0, 0.15)),
    beard: rng.bool(0.07) ? rng.uniform(0.2, 0.6) : 0,
  };
}

/** Where the head is and how it is turned. */
export interface Pose {
  /** Pixels per face unit. */
  scale: number;
  /** Turn to the side (radians): features slide sideways by their depth. */
  yaw: number;
}

/** Draws the head's placement and sets it on the canvas: FER2013 crops are roughly registered but far from aligned. */
export function samplePose(c: Canvas, rng: Random): Pose {
  const scale = 19.5 * rng.uniform(0.92, 1.08);
  const roll = clamp(rng.normal(0, 0.08), -0.25, 0.25);
  const yaw = clamp(rng.normal(0, 0.07), -0.18, 0.18);
  c.setPose(24 + rng.normal(0, 1.1), 21.5 + rng.normal(0, 1.1), scale, roll);
  return { scale, yaw };
}

/** A directional light (unit vector) over an ambient floor. */
export interface Light {
  lu: number;
  lv: number;
  lz: number;
  ambient: number;
  /** The shading of a surface facing the camera, which the face's relief is relative to. */
  frontal: number;
}

/** Light: mostly frontal and from above, sometimes hard from the side. */
export function sampleLight(rng: Random): Light {
  let lu = rng.normal(0, 0.5);
  let lv = rng.uniform(-0.7, 0.15);
  let lz = 1;
  const ln = hypot(lu, lv, lz);
  lu /= ln;
  lv /= ln;
  lz /= ln;
  const ambient = rng.uniform(0.3, 0.65);
  return { lu, lv, lz, ambient, frontal: ambient + (1 - ambient) * lz };
}

/** A background: a level, a gradient, and low-frequency clutter. */
export interface Background {
  level: number;
  gradientU: number;
  gradientV: number;
  clutter: number;
  freqU: number;
  freqV: number;
  phaseU: number;
  phaseV: number;
}

/** Backgrounds with low-frequency clutter, so they are not all flat studio walls. */
export function sampleBackground(rng: Random): Background {
  return {
    level: rng.uniform(0.05, 0.95),
    gradientU: rng.normal(0, 0.15),
    gradientV: rng.normal(0, 0.15),
    clutter: rng.uniform(0, 0.12),
    freqU: rng.uniform(1, 4),
    freqV: rng.uniform(1, 4),
    phaseU: rng.uniform(0, 2 * PI),
    phaseV: rng.uniform(0, 2 * PI),
  };
}

/** The outline of head and hair for this identity and expression. */
export interface HeadShape {
  /** Half-width of the face ellipse, its half-heights above and below its centre, and that centre. */
  faceA: number;
  faceTop: number;
  faceBottom: number;
  faceCv: number;
  /** Where the hair starts over the forehead (the fringe's edge when there is one). */
  fringeLine: number;
  /** Extra width of long hair down the sides. */
  hairSide: number;
}

/** The head's outline: the jaw drops with the mouth; a fringe and long hair are drawn when the identity has them. */
export function sampleHeadShape(id: Identity, e: Expression, rng: Random): HeadShape {
  return {
    faceA: id.faceWidth,
    faceTop: 1.32,
    faceBottom: 1.22 + 0.1 * e.jawDrop,
    faceCv: 0.06,
    fringeLine: id.fringe ? rng.uniform(-0.62, -0.45) : id.hairline,
    hairSide: id.longHair ? rng.uniform(0.05, 0.2) : 0,
  };
}

/**
 * Base pass: background, hair, clothes, neck, ears and the lit face shape, one pass over the pixels
 * (values into `c.img`, skin coverage into `c.skin`, relative lighting into `c.light`).
 */
export function paintBase(c: Canvas, pose: Pose, id: Identity, head: HeadShape, light: Light, back: Background): void {
  // The background does not move with the head, so it is laid out in pixels, separably.
  const bg = back.level;
  const bgA = back.clutter;
  const bgCol = new Float64Array(W);
  const bgRow = new Float64Array(W);
  for (let k = 0; k < W; k++) {
    const t = (k + 0.5) / W - 0.5;
    bgCol[k] = sin(t * back.freqU * 6 + back.phaseU);
    bgRow[k] = cos(t * back.freqV * 6 + back.phaseV);
  }
  const bgSlopeX = (back.gradientU * 2) / W;
  const bgSlopeY = (back.gradientV * 2) / W;

  const { img, u: U, v: V, skin, light: lightMap } = c;
  const px = pose.scale;
  const { lu, lv, lz, ambient, frontal } = light;
  const { faceA, faceTop, faceBottom, faceCv, fringeLine, hairSide } = head;
  const { skinTone, hairTone, hairTilt, hairWave, hairFreq, hairPhase, longHair, jawTaper, clothesTone } = id;
  const neckTone = skinTone * 0.62;
  const hairRu = faceA + id.hairVolume + hairSide;
  const hairRv = id.crown;
  const earTone = skinTone * 0.85;
  // Below this, no hairline shape reaches the face: skip its sine.
  const lineLowest = fringeLine + abs(hairTilt) + 0.28 + hairWave + (longHair ? 0.1 : 0) + 2 / px;
  for (let i = 0; i < FER_PIXELS; i++) {
    const u = U[i]!;
    const v = V[i]!;
    const x = i % W;
    const y = (i - x) / W;
    let val = bg + bgSlopeX * (x - W / 2) + bgSlopeY * (y - W / 2) + bgA * bgCol[x]! * bgRow[y]!;
    let lit = 1;
    let skinCov = 0;

    // Head of hair behind the face (and long hair down the sides).
    const hu = u / hairRu;
    const hv = (v + 0.12) / hairRv;
    let hairCov = clamp(0.5 - (sqrt(hu * hu + hv * hv) - 1) * px * 1.2, 0, 1);
    if (!longHair && v > 0.2) hairCov *= clamp(1 - (v - 0.2) * 4, 0, 1);
    if (hairCov > 0) {
      val += (hairTone * (1 + 0.4 * u * lu) - val) * hairCov;
    }

    // Shoulders and clothes at the bottom corners.
    if (v > 1.1) {
      const clothesCov = clamp(0.5 - (abs(u) - 0.55 - (v - 1.1) * 2.2) * px, 0, 1) * clamp((v - 1.1) * px * 0.5, 0, 1);
      val += (clothesTone - val) * clothesCov;
    }

    // Neck, in the face's shadow.
    if (v > 0.6) {
      const neckHalf = 0.5 + max(0, v - 1.3) * 0.8;
      const neckCov = clamp(0.5 - (abs(u) - neckHalf) * px, 0, 1);
      if (neckCov > 0) val += (neckTone - val) * neckCov;
    }

    // Ears.
    const au = abs(u);
    if (v > -0.2 && v < 0.36 && au > faceA - 0.15 && au < faceA + 0.2) {
      const eu = (au - faceA - 0.02) / 0.11;
      const ev = (v - 0.08) / 0.2;
      const earCov =
        clamp(0.5 - (sqrt(eu * eu + ev * ev) - 1) * 0.11 * px, 0, 1) * (1 - hairCov * (longHair ? 1 : 0.3));
      if (earCov > 0) val += (earTone - val) * earCov;
    }

    // Face: an ellipse whose lower half narrows toward the chin.
    const fv = v - faceCv;
    const b = fv > 0 ? faceBottom : faceTop;
    const taper = fv > 0 ? 1 - jawTaper * min(1, (fv / b) * (fv / b)) : 1;
    const a = faceA * taper;
    const qu = u / a;
    const qv = fv / b;
    const k0 = sqrt(qu * qu + qv * qv);
    const k1 = sqrt((qu / a) * (qu / a) + (qv / b) * (qv / b));
    const faceD = k1 > 1e-9 ? (k0 * (k0 - 1)) / k1 : -1;
    const faceCov = clamp(0.5 - faceD * px, 0, 1);
    if (faceCov > 0) {
      val += (skinTone - val) * faceCov;
      // Ellipsoid normal for Lambert shading; the face is flatter than a sphere, hence 0.8.
      const nz2 = 1 - 0.8 * (qu * qu + qv * qv);
      const nz = nz2 > 0 ? sqrt(nz2) : 0;
      const lambert = max(0, qu * lu * 0.9 + qv * lv * 0.9 + nz * lz);
      lit += ((ambient + (1 - ambient) * lambert) / frontal - 1) * faceCov;
      skinCov = faceCov;
    }

    // Hair over the forehead: hairline or fringe, slanted by a parting, wavy, down at the temples.
    if (v < lineLowest && (hairCov > 0 || faceCov > 0)) {
      const line =
        fringeLine +
        hairTilt * u +
        0.28 * u * u +
        hairWave * sin(u * hairFreq + hairPhase) +
        (longHair ? 0.25 * max(0, au - 0.7) : 0);
      const fringeCov = clamp(0.5 - (v - line) * px * 0.8, 0, 1) * max(hairCov, faceCov);
      if (fringeCov > 0) {
        val += (hairTone * (1 + 0.3 * u * lu) - val) * fringeCov;
        skinCov *= 1 - fringeCov;
      }
    }
    img[i] = val;
    skin[i] = skinCov;
    lightMap[i] = lit;
  }
}
