import type { KeyedRandom } from './rng.js';
import { logGaussMass, truncnormPpf } from './normal.js';
import type { ParamDecl, SearchSpace } from './space.js';

const EPS = 1e-12;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const SIGMA0_MAGNITUDE = 0.2;

/** The estimator's knobs (Optuna `_ParzenEstimatorParameters`); the weights function is Optuna's default. */
export interface ParzenOptions {
  considerPrior: boolean;
  priorWeight: number;
  considerMagicClip: boolean;
  considerEndpoints: boolean;
  multivariate: boolean;
}

/**
 * Optuna's `default_weights`: 1 for the 25 most recent observations, a linear ramp from 1/n up
 * to 1 for older ones (observations are in trial order, oldest first).
 */
export function defaultWeights(n: number): number[] {
  if (n < 25) return new Array<number>(n).fill(1);
  const num = n - 25;
  const ramp = Array.from({ length: num }, (_, i) => (num === 1 ? 1 / n : 1 / n + (i * (1 - 1 / n)) / (num - 1)));
  return [...ramp, ...new Array<number>(25).fill(1)];
}

interface Numerical {
  kind: 'numerical';
  decl: Exclude<ParamDecl, { type: 'categorical' }>;
  low: number;
  high: number;
  q: number | undefined;
  mus: number[];
  sigmas: number[];
  /** Per component: log of its Gaussian's mass inside [low, high] (the truncation's normaliser). */
  logMass: number[];
}
interface Categorical {
  kind: 'categorical';
  decl: Extract<ParamDecl, { type: 'categorical' }>;
  /** One row per component, one column per value; rows sum to 1. */
  weights: number[][];
}

/**
 * A mixture of (truncated, possibly discretised) Gaussians and smoothed categoricals, one
 * component per observation plus the prior — Optuna 3.1's `_ParzenEstimator`, line for line.
 * Observations are internal representations (numbers; category indices), oldest first.
 */
export class ParzenEstimator {
  private readonly weights: number[];
  private readonly params = new Map<string, Numerical | Categorical>();
  private readonly names: string[];

  constructor(
    observations: Record<string, readonly number[]>,
    space: SearchSpace,
    private readonly opts: ParzenOptions,
  ) {
    this.names = Object.keys(space).sort();
    const n = observations[this.names[0]!]!.length;
    const considerPrior = opts.considerPrior || n === 0;
    const w = defaultWeights(n);
    const weights = considerPrior ? [...w, opts.priorWeight] : w;
    const total = weights.reduce((a, b) => a + b, 0);
    this.weights = weights.map((x) => x / total);
    // Scott's rule, as in BOHB; only the multivariate estimator uses one bandwidth for all.
    const sigma0 = opts.multivariate ? SIGMA0_MAGNITUDE * Math.max(n, 1) ** (-1 / (this.names.length + 4)) : undefined;
    for (const name of this.names) {
      const decl = space[name]!;
      const obs = observations[name]!;
      if (decl.type === 'categorical') {
        const k = decl.values.length;
        const rows = considerPrior ? n + 1 : n;
        const fill = opts.priorWeight / rows;
        const table = Array.from({ length: rows }, () => new Array<number>(k).fill(fill));
        obs.forEach((o, i) => (table[i]![o]! += 1));
        for (const row of table) {
          const s = row.reduce((a, b) => a + b, 0);
          for (let j = 0; j < k; j++) row[j]! /= s;
        }
        this.params.set(name, { kind: 'categorical', decl, weights: table });
      } else {
        const { low, high, q } = parzenBounds(decl);
        const transformed = decl.log ? obs.map(Math.log) : [...obs];
        const { mus, sigmas } = numericalParams(transformed, low, high, considerPrior, opts, sigma0);
        const logMass = mus.map((mu, c) => logGaussMass((low - mu) / sigmas[c]!, (high - mu) / sigmas[c]!));
        this.params.set(name, { kind: 'numerical', decl, low, high, q, mus, sigmas, logMass });
      }
    }
  }

  /** `size` draws from the mixture, as internal representations per parameter. */
  sample(rng: KeyedRandom, size: number): Record<string, number[]> {
    const active = Array.from({ length: size }, () => rng.weighted(this.weights));
    const out: Record<string, number[]> = {};
    for (const name of this.names) {
      const p = this.params.get(name)!;
      if (p.kind === 'categorical') {
        out[name] = active.map((c) => {
          const u = rng.next();
          const row = p.weights[c]!;
          // Optuna counts the cumulative probabilities below the quantile.
          let cum = 0;
          let idx = 0;
          for (const x of row) {
            cum += x;
            if (cum < u) idx++;
          }
          return Math.min(idx, row.length - 1);
        });
      } else {
        out[name] = active.map((c) => {
          const mu = p.mus[c]!;
          const sigma = p.sigmas[c]!;
          const x = truncnormPpf(rng.next(), (p.low - mu) / sigma, (p.high - mu) / sigma) * sigma + mu;
          return fromUniform(p.decl, p.q, x);
        });
      }
    }
    return out;
  }

  /** log density (or mass, for discrete parameters) of each sample under the mixture. */
  logPdf(samples: Record<string, readonly number[]>): number[] {
    const count = samples[this.names[0]!]!.length;
    const logW = this.weights.map(Math.log);
    const out: number[] = [];
    for (let s = 0; s < count; s++) {
      const comp = logW.slice();
      for (const name of this.names) {
        const p = this.params.get(name)!;
        const v = samples[name]![s]!;
        if (p.kind === 'categorical') {
          for (let c = 0; c < comp.length; c++) comp[c]! += Math.log(p.weights[c]![v]!);
          continue;
        }
        const x = p.decl.log ? Math.log(v) : v;
        for (let c = 0; c < comp.length; c++) {
          const mu = p.mus[c]!;
          const sigma = p.sigmas[c]!;
          if (p.q === undefined) {
            const z = (x - mu) / sigma;
            comp[c]! += x < p.low || x > p.high ? -Infinity : -(z * z) / 2 - LOG_SQRT_2PI - p.logMass[c]!;
          } else {
            const upper = Math.min(x + p.q / 2, p.high);
            const lower = Math.max(x - p.q / 2, p.low);
            comp[c]! += logGaussMass((lower - mu) / sigma, (upper - mu) / sigma) - p.logMass[c]!;
          }
        }
      }
      const max = Math.max(...comp);
      out.push(max === -Infinity ? -Infinity : Math.log(comp.reduce((acc, l) => acc + Math.exp(l - max), 0)) + max);
    }
    return out;
  }
}

/** The support in the estimator's (log) space, widened by half a step for discrete parameters. */
function parzenBounds(decl: Exclude<ParamDecl, { type: 'categorical' }>): {
  low: number;
  high: number;
  q: number | undefined;
} {
  if (decl.type === 'float') {
    if (decl.log) return { low: Math.log(decl.min), high: Math.log(decl.max), q: undefined };
    if (decl.step !== undefined)
      return { low: decl.min - 0.5 * decl.step, high: decl.max + 0.5 * decl.step, q: decl.step };
    return { low: decl.min, high: decl.max, q: undefined };
  }
  if (decl.log) return { low: Math.log(decl.min - 0.5), high: Math.log(decl.max + 0.5), q: undefined };
  return { low: decl.min - 0.5 * decl.step, high: decl.max + 0.5 * decl.step, q: decl.step };
}

/** Back from the estimator's space to a value of the declaration (exp, snap to the step, clip). */
function fromUniform(decl: Exclude<ParamDecl, { type: 'categorical' }>, q: number | undefined, x: number): number {
  if (decl.log) return decl.type === 'int' ? clip(Math.round(Math.exp(x)), decl.min, decl.max) : Math.exp(x);
  if (q === undefined) return x;
  return clip(Math.round((x - decl.min) / q) * q + decl.min, decl.min, decl.max);
}

function clip(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/**
 * Component centres and bandwidths (Optuna `_calculate_numerical_params`): univariate bandwidths
 * are the larger gap to a sorted neighbour (the support's ends count as neighbours), clipped to
 * [range / min(100, 1 + n), range] ("magic clip"); the prior sits mid-range with the range as width.
 */
function numericalParams(
  obs: readonly number[],
  low: number,
  high: number,
  considerPrior: boolean,
  opts: ParzenOptions,
  sigma0: number | undefined,
): { mus: number[]; sigmas: number[] } {
  const n = obs.length;
  const mus = considerPrior ? [...obs, 0.5 * (low + high)] : [...obs];
  let sigmas: number[];
  if (sigma0 !== undefined) sigmas = mus.map(() => sigma0 * (high - low));
  else {
    const order = mus.map((_, i) => i).sort((i, j) => mus[i]! - mus[j]! || i - j);
    const ends = [low, ...order.map((i) => mus[i]!), high];
    const sorted = order.map((_, k) => Math.max(ends[k + 1]! - ends[k]!, ends[k + 2]! - ends[k + 1]!));
    if (!opts.considerEndpoints && ends.length >= 4) {
      sorted[0] = ends[2]! - ends[1]!;
      sorted[sorted.length - 1] = ends[ends.length - 2]! - ends[ends.length - 3]!;
    }
    sigmas = new Array<number>(mus.length);
    order.forEach((i, k) => (sigmas[i] = sorted[k]!));
  }
  const maxSigma = high - low;
  const minSigma = opts.considerMagicClip ? (high - low) / Math.min(100, 1 + mus.length) : EPS;
  sigmas = sigmas.map((s) => clip(s, minSigma, maxSigma));
  if (considerPrior) sigmas[n] = high - low;
  return { mus, sigmas };
}
