/**
 * The face's features, drawn over the base pass in order: relief, wrinkles, brows, eyes, nose,
 * nose-to-mouth folds, mouth and (now and then) glasses. Positions come from `featureLayout`.
 */
import type { Random } from '@fersweep/random';
import type { Canvas } from './canvas.js';
import { clamp, type Expression } from './expression.js';
import type { Identity, Light } from './face-scene.js';

// Bound once per module: see face.ts (jest's vm sandbox makes global lookups costly).
const { abs, cos, hypot, max, min, pow, sign, sin, sqrt, PI } = Math;

/** Where the features sit, in face units; yaw slides them sideways by their depth in the head. */
export interface FeatureLayout {
  eyeCv: number;
  eyeDu: number;
  eyeShift: number;
  noseU: number;
  noseV: number;
  mouthU: number;
  mouthV: number;
  mouthHalf: number;
  browBase: number;
}

/** Feature positions for this identity, expression and head turn. */
export function featureLayout(id: Identity, e: Expression, yaw: number): FeatureLayout {
  return {
    eyeCv: -0.1 + id.eyeY,
    eyeDu: 0.4 + id.eyeSpacing,
    eyeShift: yaw * 0.6,
    noseU: yaw * 1.0,
    noseV: 0.3 + id.noseLength,
    mouthU: yaw * 0.75,
    mouthV: 0.64 + id.mouthY + 0.06 * e.jawDrop,
    mouthHalf: 0.31 * e.mouthWidth * id.mouthWidth,
    browBase: -0.36 + id.browY,
  };
}

/** Soft shading that gives the face its relief: eye sockets, cheek apples, the shadow under the nose, stubble. */
export function drawRelief(c: Canvas, e: Expression, id: Identity, at: FeatureLayout, light: Light): void {
  const { eyeCv, eyeDu, eyeShift, noseU, noseV, mouthU, mouthV } = at;
  const { lv } = light;
  const skinTone = id.skinTone;
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
}

/** Forehead lines (brows raised) and the vertical furrows between lowered brows. */
export function drawWrinkles(c: Canvas, e: Expression, at: FeatureLayout): void {
  const { eyeShift, browBase } = at;
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
}

/** Brows: inner, middle and outer point per side, tapering outward. */
export function drawBrows(c: Canvas, e: Expression, id: Identity, at: FeatureLayout): void {
  const { eyeShift, browBase } = at;
  const skinTone = id.skinTone;
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
}

/** Eyes, with the lower-lid bulge of a squint or smile and the upper-lid crease; the gaze is drawn from `rng`. */
export function drawEyes(c: Canvas, e: Expression, id: Identity, at: FeatureLayout, yaw: number, rng: Random): void {
  const { eyeCv, eyeDu, eyeShift } = at;
  const skinTone = id.skinTone;
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
}

/** Nose: shadowed side of the bridge, wings, nostrils, and the wrinkles of disgust. */
export function drawNose(c: Canvas, e: Expression, id: Identity, at: FeatureLayout, light: Light): void {
  const { noseU, noseV } = at;
  const { lu } = light;
  const skinTone = id.skinTone;
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
}

/** Nose-to-mouth folds, deepened by a smile or a sneer. */
export function drawNasolabialFolds(c: Canvas, e: Expression, at: FeatureLayout): void {
  const { noseU, noseV, mouthU, mouthV, mouthHalf } = at;
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
}

/** Glasses on 7% of faces: a realistic nuisance that sits on the eyes. */
export function drawGlasses(c: Canvas, at: FeatureLayout, rng: Random): void {
  const { eyeCv, eyeDu, eyeShift } = at;
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
export function drawMouth(
  c: Canvas,
  e: Expression,
  mu: number,
  mv: number,
  halfW: number,
  id: Identity,
  rng: Random,
): void {
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
