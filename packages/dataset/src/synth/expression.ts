import { NUM_CLASSES } from '@fersweep/contracts';
import type { Random } from '@fersweep/random';

/**
 * The facial actions the renderer can draw, loosely after FACS action units. Distances are in face
 * units (1 = half the face width, about 17 px at 48×48); for v, up is negative, so a positive
 * `browRaise` moves the brows up the image.
 */
export interface Expression {
  /** Whole brow up (+) or down (−): AU1+2 / AU4. */
  browRaise: number;
  /** Inner brow corner up (+, AU1, sad/fear) or down (−, AU4, angry). */
  browInner: number;
  /** Inner corners pulled toward the midline (AU4's corrugator pull). */
  browTogether: number;
  /** Extra lift of the brow's middle: the high arch of surprise. */
  browArch: number;
  /** Upper-lid height multiplier; 1 is relaxed, 1.5 wide (AU5), 0.6 narrowed. */
  eyeOpen: number;
  /** Lower lid pushed up, 0..1 (AU6/AU7 squint). */
  lidTighten: number;
  /** Mouth half-width multiplier (AU20 stretches, AU23/24 narrows). */
  mouthWidth: number;
  /** Mouth-corner lift in face units: + smile (AU12), − frown (AU15). */
  mouthCorner: number;
  /** Half-height of the lip opening in face units (AU25/26/27). */
  mouthOpen: number;
  /** 0 wide opening, 1 a round "O" (the jaw drop of surprise). */
  mouthRound: number;
  /** 0..1: thin, pressed lips (AU23/24). */
  lipPress: number;
  /** 0..1: upper lip raised, squaring the top of the mouth (AU10). */
  upperLipRaise: number;
  /** 0..1: how much of an open mouth shows teeth. */
  teeth: number;
  /** 0..1: cheeks raised (AU6), bright cheek apples and bags under the eyes. */
  cheekRaise: number;
  /** 0..1: depth of the nose-to-mouth-corner folds. */
  nasolabial: number;
  /** 0..1: wrinkles across the nose bridge (AU9). */
  noseWrinkle: number;
  /** 0..1: horizontal forehead lines from raised brows. */
  foreheadLines: number;
  /** 0..1: vertical furrows between lowered brows. */
  glabella: number;
  /** 0..1: chin boss pushed up, lower lip pouts (AU17). */
  chinRaise: number;
  /** 0..1: jaw dropped (AU26/27), which lengthens the lower face. */
  jawDrop: number;
}

const RELAXED: Expression = {
  browRaise: 0,
  browInner: 0,
  browTogether: 0,
  browArch: 0,
  eyeOpen: 1,
  lidTighten: 0,
  mouthWidth: 1,
  mouthCorner: 0,
  mouthOpen: 0,
  mouthRound: 0,
  lipPress: 0,
  upperLipRaise: 0,
  teeth: 0,
  cheekRaise: 0,
  nasolabial: 0,
  noseWrinkle: 0,
  foreheadLines: 0,
  glabella: 0,
  chinRaise: 0,
  jawDrop: 0,
};

const KEYS = Object.keys(RELAXED) as (keyof Expression)[];

/** Actions of the upper face; the rest belong to the lower face and get their own intensity. */
const UPPER: ReadonlySet<keyof Expression> = new Set([
  'browRaise',
  'browInner',
  'browTogether',
  'browArch',
  'eyeOpen',
  'lidTighten',
  'foreheadLines',
  'glabella',
]);

type Delta = Partial<Expression>;

/** One way to show an emotion at full intensity, as a change from relaxed, with its frequency. */
interface Variant {
  weight: number;
  delta: Delta;
}

/*
 * Apex configurations per label. Real FER2013 faces show each emotion several ways (closed vs
 * toothy smile, pressed lips vs shouting), so each class has variants; the confusable pairs
 * (fear/surprise, angry/disgust, sad/neutral) share most of their actions on purpose.
 */
const PROTOTYPES: readonly (readonly Variant[])[] = [
  // 0 angry: brows down and together, glare, lips pressed — or shouting with a squared mouth.
  [
    {
      weight: 0.78,
      delta: {
        browRaise: -0.05,
        browInner: -0.06,
        browTogether: 0.06,
        glabella: 1,
        eyeOpen: -0.2,
        lidTighten: 0.5,
        lipPress: 1,
        mouthWidth: -0.1,
        mouthCorner: -0.025,
        chinRaise: 0.4,
        noseWrinkle: 0.35,
        upperLipRaise: 0.2,
        nasolabial: 0.4,
      },
    },
    {
      weight: 0.22,
      delta: {
        browRaise: -0.05,
        browInner: -0.06,
        browTogether: 0.06,
        glabella: 1,
        eyeOpen: -0.1,
        lidTighten: 0.4,
        mouthOpen: 0.09,
        teeth: 0.6,
        upperLipRaise: 0.4,
        mouthCorner: -0.02,
        nasolabial: 0.4,
      },
    },
  ],
  // 1 disgust: nose wrinkle, upper lip raised, brows lowered (less than angry), cheeks up.
  [
    {
      weight: 0.6,
      delta: {
        browRaise: -0.035,
        browInner: -0.035,
        browTogether: 0.035,
        glabella: 0.6,
        eyeOpen: -0.25,
        lidTighten: 0.6,
        noseWrinkle: 1,
        upperLipRaise: 1,
        nasolabial: 0.9,
        cheekRaise: 0.5,
        mouthCorner: -0.035,
        mouthOpen: 0.02,
        teeth: 0.7,
      },
    },
    {
      weight: 0.4,
      delta: {
        browRaise: -0.045,
        browInner: -0.04,
        browTogether: 0.04,
        glabella: 0.7,
        eyeOpen: -0.3,
        lidTighten: 0.7,
        noseWrinkle: 1,
        upperLipRaise: 0.6,
        nasolabial: 0.9,
        cheekRaise: 0.3,
        mouthCorner: -0.04,
        lipPress: 0.6,
        chinRaise: 0.6,
      },
    },
  ],
  // 2 fear: brows up and drawn together (flat), eyes wide, mouth stretched sideways, a little open
  // (or dropped open, which is where it meets surprise).
  [
    {
      weight: 0.55,
      delta: {
        browRaise: 0.06,
        browInner: 0.05,
        browTogether: 0.04,
        browArch: -0.01,
        foreheadLines: 0.7,
        eyeOpen: 0.45,
        mouthWidth: 0.2,
        mouthOpen: 0.05,
        mouthCorner: -0.03,
        lipPress: 0.5,
        teeth: 0.6,
        jawDrop: 0.2,
      },
    },
    {
      weight: 0.25,
      delta: {
        browRaise: 0.07,
        browInner: 0.04,
        browTogether: 0.035,
        foreheadLines: 0.8,
        eyeOpen: 0.5,
        mouthWidth: 0.02,
        mouthOpen: 0.09,
        mouthRound: 0.5,
        mouthCorner: -0.02,
        teeth: 0.3,
        jawDrop: 0.6,
      },
    },
    {
      weight: 0.2,
      delta: {
        browRaise: 0.06,
        browInner: 0.06,
        browTogether: 0.04,
        foreheadLines: 0.6,
        eyeOpen: 0.5,
        mouthWidth: 0.14,
        lipPress: 0.4,
        mouthCorner: -0.03,
        chinRaise: 0.3,
      },
    },
  ],
  // 3 happy: corners up and out, cheeks raised, eyes squeezed from below; closed, toothy or laughing.
  [
    {
      weight: 0.3,
      delta: { mouthCorner: 0.09, mouthWidth: 0.22, cheekRaise: 1, lidTighten: 0.5, eyeOpen: -0.15, nasolabial: 1 },
    },
    {
      weight: 0.5,
      delta: {
        mouthCorner: 0.09,
        mouthWidth: 0.24,
        mouthOpen: 0.07,
        teeth: 1,
        cheekRaise: 1,
        lidTighten: 0.6,
        eyeOpen: -0.2,
        nasolabial: 1,
      },
    },
    {
      weight: 0.2,
      delta: {
        mouthCorner: 0.07,
        mouthWidth: 0.2,
        mouthOpen: 0.13,
        teeth: 0.6,
        cheekRaise: 1,
        lidTighten: 0.8,
        eyeOpen: -0.35,
        nasolabial: 1,
        jawDrop: 0.5,
      },
    },
  ],
  // 4 sad: inner brows up, corners down, lids droop, chin raised; sometimes crying.
  [
    {
      weight: 0.82,
      delta: {
        browInner: 0.065,
        browTogether: 0.03,
        browRaise: -0.01,
        eyeOpen: -0.2,
        mouthCorner: -0.05,
        mouthWidth: -0.05,
        chinRaise: 1,
        lipPress: 0.3,
      },
    },
    {
      weight: 0.18,
      delta: {
        browInner: 0.07,
        browTogether: 0.035,
        eyeOpen: -0.3,
        lidTighten: 0.3,
        mouthCorner: -0.06,
        mouthOpen: 0.045,
        teeth: 0.2,
        nasolabial: 0.5,
        chinRaise: 0.5,
      },
    },
  ],
  // 5 surprise: brows high and arched, eyes wide, jaw dropped into a round open mouth.
  [
    {
      weight: 0.78,
      delta: {
        browRaise: 0.11,
        browArch: 0.035,
        browInner: 0.01,
        foreheadLines: 1,
        eyeOpen: 0.55,
        mouthOpen: 0.13,
        mouthRound: 1,
        mouthWidth: -0.28,
        jawDrop: 1,
        teeth: 0.1,
      },
    },
    {
      weight: 0.22,
      delta: {
        browRaise: 0.1,
        browArch: 0.03,
        foreheadLines: 1,
        eyeOpen: 0.5,
        mouthOpen: 0.05,
        mouthRound: 0.6,
        mouthWidth: -0.1,
        jawDrop: 0.3,
      },
    },
  ],
  // 6 neutral: relaxed.
  [{ weight: 1, delta: {} }],
];

if (PROTOTYPES.length !== NUM_CLASSES) throw new Error('one prototype list per FER2013 label');

/** How strongly this face shows its label, upper and lower face separately. */
export interface Intensity {
  upper: number;
  lower: number;
}

/**
 * Draws the apex intensity of one image. Real FER2013 mixes posed apex faces with subtle ones;
 * the subtle tail is what makes sad/neutral and the other close pairs overlap.
 */
export function sampleIntensity(rng: Random): Intensity {
  const base = 0.12 + 0.88 * Math.pow(rng.next(), 0.75);
  // Upper and lower face often disagree (a smile without the eyes, brows without the mouth).
  return {
    upper: clamp(base * rng.uniform(0.65, 1.3), 0, 1.15),
    lower: clamp(base * rng.uniform(0.65, 1.3), 0, 1.15),
  };
}

/**
 * A random expression for `label`: relaxed + intensity × a variant's apex delta, plus the person's
 * resting idiosyncrasies (some people look sad or amused at rest), so classes overlap like real ones.
 */
export function sampleExpression(label: number, rng: Random, intensity: Intensity = sampleIntensity(rng)): Expression {
  const variants = PROTOTYPES[label];
  if (variants === undefined) throw new RangeError(`label ${label} is not one of 0..${NUM_CLASSES - 1}`);
  const pick = variants[rng.weighted(variants.map((v) => v.weight))]!;
  const e: Expression = { ...RELAXED };
  for (const key of KEYS) {
    const d = pick.delta[key];
    if (d !== undefined) e[key] += d * (UPPER.has(key) ? intensity.upper : intensity.lower);
  }
  // Resting idiosyncrasies and per-image jitter, in the same units as the deltas.
  e.browRaise += rng.normal(0, 0.015);
  e.browInner += rng.normal(0, 0.014);
  e.browTogether += rng.normal(0, 0.01);
  e.browArch += rng.normal(0, 0.01);
  e.eyeOpen *= Math.exp(rng.normal(0, 0.1));
  e.mouthCorner += rng.normal(0, 0.014);
  e.mouthWidth *= Math.exp(rng.normal(0, 0.05));
  e.mouthOpen = Math.max(0, e.mouthOpen + (rng.bool(0.12) ? rng.uniform(0, 0.03) : 0));
  e.lidTighten = clamp(e.lidTighten + rng.normal(0, 0.1), 0, 1);
  e.lipPress = clamp(e.lipPress + rng.normal(0, 0.1), 0, 1);
  e.nasolabial = clamp(e.nasolabial + rng.uniform(0, 0.25), 0, 1.2);
  e.cheekRaise = clamp(e.cheekRaise + rng.normal(0, 0.08), 0, 1.2);
  e.teeth = clamp(e.teeth, 0, 1);
  return e;
}

/** `x` limited to [lo, hi]. */
export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
