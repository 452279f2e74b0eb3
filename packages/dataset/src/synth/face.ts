import { FER_IMAGE, FER_PIXELS, NUM_CLASSES } from '@fersweep/contracts';
import type { Random } from '../random.js';
import { Canvas } from './canvas.js';
import { clamp, sampleExpression, type Expression } from './expression.js';

// Math's functions are bound once per module: under jest's vm sandbox every global lookup
// (Math, Infinity) goes through an interceptor and costs ~100× a module binding, which made
// rendering 25× slower in tests than in plain Node.
const { abs, cos, exp, hypot, max, min, pow, sign, sin, sqrt, PI } = Math;

// One scratch canvas for the module: rendering is synchronous, so reuse is safe, and it saves
// ~40 KB of typed-array allocation per face at thousands of faces per second.
const canvas = new Canvas();
const W = FER_IMAGE.width;

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

/** A person: what stays the same whatever the expression. */
interface Identity {
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

function sampleIdentity(rng: Random): Identity {
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

/** Draws the lit-but-unfinished face into `c` and returns its skin tone (for occluding hands). */
function drawFace(c: Canvas, e: Expression, rng: Random): number {
  const id = sampleIdentity(rng);
  // Pose: FER2013 crops are roughly registered but far from aligned.
  const scale = 19.5 * rng.uniform(0.92, 1.08);
  const roll = clamp(rng.normal(0, 0.08), -0.25, 0.25);
  const yaw = clamp(rng.normal(0, 0.07), -0.18, 0.18);
  c.setPose(24 + rng.normal(0, 1.1), 21.5 + rng.normal(0, 1.1), scale, roll);

  // Light: mostly frontal and from above, sometimes hard from the side.
  let lu = rng.normal(0, 0.5);
  let lv = rng.uniform(-0.7, 0.15);
  let lz = 1;
  const ln = hypot(lu, lv, lz);
  lu /= ln;
  lv /= ln;
  lz /= ln;
  const ambient = rng.uniform(0.3, 0.65);
  const frontal = ambient + (1 - ambient) * lz;

  const skinTone = id.skinTone;
  const bg = rng.uniform(0.05, 0.95);
  const bgGu = rng.normal(0, 0.15);
  const bgGv = rng.normal(0, 0.15);
  // Low-frequency clutter so backgrounds are not all flat studio walls.
  const bgA = rng.uniform(0, 0.12);
  const bgFu = rng.uniform(1, 4);
  const bgFv = rng.uniform(1, 4);
  const bgPu = rng.uniform(0, 2 * PI);
  const bgPv = rng.uniform(0, 2 * PI);
  const jawDrop = e.jawDrop;
  const faceA = id.faceWidth;
  const faceTop = 1.32;
  const faceBottom = 1.22 + 0.1 * jawDrop;
  const faceCv = 0.06;
  const hairline = id.hairline;
  const fringeLine = id.fringe ? rng.uniform(-0.62, -0.45) : hairline;
  const neckTone = skinTone * 0.62;
  const hairSide = id.longHair ? rng.uniform(0.05, 0.2) : 0;

  // The background does not move with the head, so it is laid out in pixels, separably.
  const bgCol = new Float64Array(W);
  const bgRow = new Float64Array(W);
  for (let k = 0; k < W; k++) {
    const t = (k + 0.5) / W - 0.5;
    bgCol[k] = sin(t * bgFu * 6 + bgPu);
    bgRow[k] = cos(t * bgFv * 6 + bgPv);
  }
  const bgSlopeX = (bgGu * 2) / W;
  const bgSlopeY = (bgGv * 2) / W;

  // Base pass: background, hair, ears, neck and the lit face shape.
  const { img, u: U, v: V, skin, light } = c;
  const px = scale;
  const { hairTone, hairTilt, hairWave, hairFreq, hairPhase, longHair, jawTaper, clothesTone } = id;
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
    light[i] = lit;
  }

  // Feature positions; yaw slides features sideways by their depth in the head.
  const eyeCv = -0.1 + id.eyeY;
  const eyeDu = 0.4 + id.eyeSpacing;
  const eyeShift = yaw * 0.6;
  const noseU = yaw * 1.0;
  const noseV = 0.3 + id.noseLength;
  const mouthU = yaw * 0.75;
  const mouthV = 0.64 + id.mouthY + 0.06 * jawDrop;
  const mouthHalf = 0.31 * e.mouthWidth * id.mouthWidth;
  const browBase = -0.36 + id.browY;

  // Soft shading that gives the face its relief.
  const socketAlpha = clamp(0.18 + 0.25 * max(0, -lv) + 3 * max(0, -e.browRaise - 0.5 * e.browInner), 0, 0.7);
  for (let side = -1; side <= 1; side += 2) {
    const cu = side * eyeDu + eyeShift;
    c.ellipse(cu, eyeCv - 0.03, 0.27, 0.17, 0, 0, socketAlpha, 4, true);
    // Cheek apples catch light when raised.
    c.ellipse(
      side * 0.42 + eyeShift,
      0.25 - 0.05 * e.cheekRaise,
      0.2,
      0.14,
      0,
      min(1, skinTone * 1.3),
      0.35 * e.cheekRaise,
      5,
      true,
    );
  }
  // Shadow under the nose, stronger with light from above; stubble, now and then.
  const topLight = clamp(-lv * 1.5, 0, 1);
  c.ellipse(noseU, noseV + 0.1, 0.13, 0.05, 0, 0, 0.15 + 0.2 * topLight, 3, true);
  if (id.beard > 0) c.ellipse(mouthU, mouthV + 0.22, 0.62, 0.42, 0, id.hairTone, id.beard, 6, true);

  // Forehead lines (brows raised) and the vertical furrows between lowered brows.
  if (e.foreheadLines > 0.05) {
    for (let j = 0; j < 3; j++) {
      const lv0 = browBase - 0.2 - 0.1 * j - 0.4 * e.browRaise;
      const mid = lv0 - 0.02 - 0.8 * max(0, e.browInner);
      c.stroke(
        [-0.42, lv0 + 0.03, -0.15, mid + 0.005, 0.15, mid + 0.005, 0.42, lv0 + 0.03],
        0.012,
        0.012,
        0,
        0.35 * e.foreheadLines,
        1.3,
        true,
      );
    }
  }
  if (e.glabella > 0.05) {
    for (let side = -1; side <= 1; side += 2) {
      c.stroke(
        [side * 0.04 + eyeShift, browBase - 0.06, side * 0.055 + eyeShift, browBase + 0.12],
        0.014,
        0.01,
        0,
        0.45 * e.glabella,
        1.2,
        true,
      );
    }
  }

  // Brows: inner, middle and outer point per side, tapering outward.
  const browTone = id.hairTone * 0.8 + skinTone * 0.15;
  for (let side = -1; side <= 1; side += 2) {
    const innerU = side * max(0.06, 0.14 - e.browTogether) + eyeShift;
    const innerV = browBase - e.browRaise - e.browInner;
    const midU = side * 0.37 + eyeShift;
    const midV = browBase - 0.05 - e.browRaise - e.browArch - 0.3 * e.browInner;
    const outerU = side * 0.63 + eyeShift;
    const outerV = browBase - 0.005 - 0.75 * e.browRaise - 0.4 * e.browArch;
    c.stroke(
      [innerU, innerV, midU, midV, outerU, outerV],
      0.05 * id.browThick,
      0.022 * id.browThick,
      browTone,
      id.browAlpha,
      1,
      true,
    );
  }

  // Eyes.
  const sclera = min(0.95, skinTone * 0.75 + 0.3);
  const gazeU = rng.normal(0, 0.025);
  const gazeV = rng.normal(0, 0.01);
  for (let side = -1; side <= 1; side += 2) {
    const cu = side * eyeDu + eyeShift;
    // The eye on the side the head turns away from is foreshortened.
    const halfW = 0.16 * id.eyeSize * (1 - side * yaw * 0.8);
    const upH = 0.075 * e.eyeOpen * id.eyeSize;
    const loH = 0.05 * (1 - 0.6 * e.lidTighten) * id.eyeSize * max(0.8, min(1.3, e.eyeOpen));
    const irisR = 0.07 * id.eyeSize;
    const iu = cu + gazeU;
    const iv = eyeCv + gazeV - 0.005;
    drawEye(c, cu, eyeCv, halfW, upH, loH, iu, iv, irisR, sclera, id.irisTone);
    // Lower-lid bulge of a squint or a Duchenne smile.
    const bag = 0.3 * e.cheekRaise + 0.25 * e.lidTighten;
    c.stroke(
      [cu - halfW * 0.9, eyeCv + loH + 0.04, cu, eyeCv + loH + 0.07, cu + halfW * 0.9, eyeCv + loH + 0.04],
      0.014,
      0.014,
      0,
      bag,
      1.5,
      true,
    );
    // Upper-lid crease, which disappears as the brow comes down onto it.
    const crease = clamp(0.25 + 2 * (e.browRaise + 0.5 * e.browInner), 0, 0.45);
    c.stroke(
      [cu - halfW, eyeCv - upH * 0.6, cu, eyeCv - upH - 0.05, cu + halfW, eyeCv - upH * 0.6],
      0.012,
      0.012,
      0,
      crease,
      1.4,
      true,
    );
  }

  // Nose: shadowed side of the bridge, wings, nostrils, and the wrinkles of disgust.
  const shadowSide = lu >= 0 ? -1 : 1;
  c.stroke(
    [shadowSide * 0.08 + noseU * 0.5, -0.1, shadowSide * 0.1 + noseU, noseV - 0.05],
    0.03,
    0.05,
    0,
    0.1 + 0.3 * abs(lu),
    3,
    true,
  );
  const flare = 1 + 0.35 * e.noseWrinkle;
  const nostrilV = noseV + 0.035 - 0.035 * e.upperLipRaise;
  for (let side = -1; side <= 1; side += 2) {
    c.ellipse(
      noseU + side * 0.075 * flare,
      nostrilV,
      0.042 * flare,
      0.022,
      side * 0.35,
      skinTone * 0.15,
      0.75,
      1.2,
      true,
    );
    c.stroke(
      [
        noseU + side * 0.11 * flare,
        nostrilV - 0.1,
        noseU + side * 0.15 * flare,
        nostrilV - 0.04,
        noseU + side * 0.12 * flare,
        nostrilV + 0.015,
      ],
      0.013,
      0.013,
      0,
      0.3,
      1.4,
      true,
    );
  }
  if (e.noseWrinkle > 0.05) {
    for (let j = 0; j < 2; j++) {
      const wv = -0.04 + 0.07 * j;
      c.stroke(
        [noseU * 0.7 - 0.1, wv + 0.015, noseU * 0.7, wv - 0.01, noseU * 0.7 + 0.1, wv + 0.015],
        0.013,
        0.013,
        0,
        0.45 * e.noseWrinkle,
        1.2,
        true,
      );
    }
    for (let side = -1; side <= 1; side += 2) {
      c.stroke(
        [noseU * 0.7 + side * 0.1, -0.06, noseU * 0.8 + side * 0.17, 0.06],
        0.013,
        0.01,
        0,
        0.4 * e.noseWrinkle,
        1.2,
        true,
      );
    }
  }

  // Nose-to-mouth folds, deepened by a smile or a sneer.
  const lift = e.mouthCorner;
  for (let side = -1; side <= 1; side += 2) {
    c.stroke(
      [
        noseU + side * 0.17,
        noseV - 0.01,
        mouthU + side * (mouthHalf * 0.8 + 0.1),
        (noseV + mouthV) / 2 + 0.02 - 0.3 * lift,
        mouthU + side * (mouthHalf + 0.07),
        mouthV + 0.12 - lift,
      ],
      0.02,
      0.01,
      0,
      0.08 + 0.4 * e.nasolabial,
      1.8,
      true,
    );
  }

  drawMouth(c, e, mouthU, mouthV, mouthHalf, id, rng);

  // Glasses, now and then: a realistic nuisance that sits on the eyes.
  if (rng.bool(0.07)) {
    const frame = rng.uniform(0.02, 0.3);
    const dark = rng.bool(0.25);
    for (let side = -1; side <= 1; side += 2) {
      const cu = side * eyeDu + eyeShift;
      if (dark) c.ellipse(cu, eyeCv, 0.25, 0.19, 0, frame * 0.5, 0.9, 1, false);
      const ring: number[] = [];
      for (let k = 0; k <= 16; k++) {
        const t = (k / 16) * 2 * PI;
        ring.push(cu + 0.25 * cos(t), eyeCv + 0.19 * sin(t));
      }
      c.stroke(ring, 0.022, 0.022, frame, 0.9, 1, false);
    }
    c.stroke(
      [-eyeDu + eyeShift + 0.25, eyeCv - 0.03, eyeShift, eyeCv - 0.06, eyeDu + eyeShift - 0.25, eyeCv - 0.03],
      0.02,
      0.02,
      frame,
      0.9,
      1,
      false,
    );
  }
  return skinTone;
}

/** An almond eye: lid-bounded opening, sclera, iris and a dark upper-lid line. */
function drawEye(
  c: Canvas,
  cu: number,
  cv: number,
  halfW: number,
  upH: number,
  loH: number,
  iu: number,
  iv: number,
  irisR: number,
  sclera: number,
  irisTone: number,
): void {
  const px = c.scale;
  const lash = 0.028;
  c.shade(
    cu - halfW - 0.05,
    cv - upH - lash - 0.05,
    cu + halfW + 0.05,
    cv + loH + 0.05,
    (u, v, cur) => {
      const t = (u - cu) / halfW;
      const at = abs(t);
      if (at > 1.2) return cur;
      const f = at < 1 ? 1 - t * t : 0;
      const g = sqrt(f);
      // The inner corner sits a little lower than the outer one in most faces.
      const top = cv - upH * g;
      const bot = cv + loH * g;
      const dEnd = (at - 1) * halfW;
      const dOpen = max(top - v, v - bot, dEnd);
      const open = clamp(0.5 - dOpen * px, 0, 1);
      let val = cur;
      if (open > 0) {
        const di = hypot(u - iu, v - iv) - irisR;
        const iris = clamp(0.5 - di * px, 0, 1);
        const inner = sclera + (irisTone - sclera) * iris;
        val += (inner - val) * open;
      }
      const dl = max(abs(v - (top - lash * 0.5)) - lash * 0.5, dEnd - 0.01);
      const lid = clamp(0.5 - dl * px, 0, 1) * (0.55 + 0.3 * clamp(t * sign(cu), 0, 1));
      return val + (0.04 - val) * lid;
    },
    1,
    true,
  );
}

/** Lips, their seam or opening, teeth and dark interior, and the shadows around them. */
function drawMouth(c: Canvas, e: Expression, mu: number, mv: number, halfW: number, id: Identity, rng: Random): void {
  const px = c.scale;
  const lift = e.mouthCorner;
  const open = e.mouthOpen;
  const smile = clamp(lift / 0.09, 0, 1);
  // Smiles open downward (a D shape); a raised upper lip opens the top.
  const ku = clamp(0.85 - 0.5 * smile + 0.4 * e.upperLipRaise, 0.25, 1.4);
  const kl = clamp(1.05 + 0.3 * smile - 0.3 * e.upperLipRaise, 0.5, 1.5);
  // Round mouths are elliptical, stretched and shouting ones boxier.
  const pe = 0.5 - 0.25 * (1 - e.mouthRound) * clamp(open / 0.05, 0, 1);
  const press = clamp(e.lipPress, 0, 1);
  const tu = 0.045 * (1 - 0.65 * press) * id.lipThick * (1 - 0.4 * e.upperLipRaise);
  const tl = 0.062 * (1 - 0.6 * press) * id.lipThick * (1 + 0.25 * e.chinRaise);
  const skinTone = id.skinTone;
  const lipTone = skinTone * rng.uniform(0.55, 0.8);
  const interior = rng.uniform(0.02, 0.12);
  const teethTone = min(0.97, rng.uniform(0.6, 0.95));
  const teethH = e.teeth * min(open * 0.9, 0.055);
  const lowTeethH = e.teeth * (open > 0.06 && e.mouthRound < 0.5 ? 0.03 : 0);
  // A sneer raises one side more than the other.
  const sneer = e.upperLipRaise * 0.03 * (rng.bool() ? 1 : -1);
  const seam = 0.008;

  const centre = (tt: number): number => mv - lift * tt * tt;
  c.shade(
    mu - halfW * 1.25,
    mv - abs(lift) - open * ku - tu - 0.08,
    mu + halfW * 1.25,
    mv + abs(lift) + open * kl + tl + 0.08,
    (u, v, cur) => {
      const t = (u - mu) / halfW;
      const at = abs(t);
      if (at > 1.2) return cur;
      const tt = at < 1 ? at : 1;
      const f = 1 - tt * tt;
      const gO = pow(f, pe);
      const gL = sqrt(f);
      const cl = centre(tt);
      const top = cl - open * ku * gO - seam - sneer * t * gL;
      const bot = cl + open * kl * gO + seam;
      const dEnd = (at - 1) * halfW;
      let val = cur;
      const dLip = max(top - tu * gL - v, v - bot - tl * gL, dEnd - 0.005);
      const lip = clamp(0.5 - dLip * px * 0.8, 0, 1);
      val += (lipTone - val) * lip * 0.9;
      const dOpen = max(top - v, v - bot, dEnd);
      const opening = clamp(0.5 - dOpen * px, 0, 1);
      if (opening > 0) {
        let inner = interior;
        if (teethH > 0) inner += (teethTone - inner) * clamp(0.5 - (v - top - teethH * gO) * px, 0, 1);
        if (lowTeethH > 0) inner += (teethTone * 0.85 - inner) * clamp(0.5 - (bot - lowTeethH * gO - v) * px, 0, 1);
        val += (inner - val) * opening;
      }
      return val;
    },
    1,
    true,
  );

  const cornerV = mv - lift;
  for (let side = -1; side <= 1; side += 2) {
    const cu = mu + side * halfW;
    c.ellipse(cu, cornerV, 0.035, 0.03, 0, 0, 0.35, 1.5, true);
    // Corners pulled down leave short folds below them.
    const down = clamp(-lift / 0.05, 0, 1);
    if (down > 0.05)
      c.stroke([cu, cornerV + 0.01, cu + side * 0.04, cornerV + 0.12], 0.013, 0.01, 0, 0.4 * down, 1.4, true);
  }
  // Shadow under the lower lip; a raised chin bunches it up.
  c.ellipse(mu, mv + open * kl + tl + 0.06, halfW * 0.55, 0.035, 0, 0, 0.15 + 0.3 * e.chinRaise, 2.5, true);
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
