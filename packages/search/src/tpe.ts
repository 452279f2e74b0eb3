import { KeyedRandom } from './rng.js';
import { z } from 'zod';
import { ParzenEstimator, type ParzenOptions } from './parzen.js';
import { randomPoint, STREAM_TPE } from './sample.js';
import { paramNames, toExternal, toInternal, type Point, type SearchSpace } from './space.js';

/**
 * The sampler's settings: Optuna 3.1 `TPESampler`'s arguments and defaults (gamma and the
 * observation weights are Optuna's default functions). Plain JSON, so a coordinator can store it.
 */
export const TpeOptions = z
  .object({
    seed: z.number().int(),
    direction: z.enum(['minimize', 'maximize']),
    nStartupTrials: z.number().int().min(0).max(10_000).default(10),
    nEiCandidates: z.number().int().min(1).max(10_000).default(24),
    considerPrior: z.boolean().default(true),
    priorWeight: z.number().positive().default(1),
    considerMagicClip: z.boolean().default(true),
    considerEndpoints: z.boolean().default(false),
    multivariate: z.boolean().default(false),
    /** Pending trials count as the worst observations at their suggested points (Optuna `constant_liar`). */
    constantLiar: z.boolean().default(false),
  })
  .strict();
export type TpeOptions = z.infer<typeof TpeOptions>;
export type TpeOptionsInput = z.input<typeof TpeOptions>;

/**
 * One trial as the sampler sees it. `complete`: finished with `value` (its objective);
 * `pruned`: stopped early, `value` its last reported metric at `step` (e.g. the epoch); `running`:
 * suggested, no result yet; `failed`: ignored. Plain JSON.
 */
export interface Observation {
  trial: number;
  params: Point;
  state: 'complete' | 'pruned' | 'running' | 'failed';
  value?: number;
  step?: number;
}

/** Optuna's default gamma: how many of n observations form the "good" set. */
export function defaultGamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

/**
 * Tree-structured Parzen Estimator (Bergstra et al. 2011) as Optuna 3.1 implements it: the first
 * `nStartupTrials` suggestions are random; after that, observations are split into the best
 * gamma(n) and the rest, a Parzen estimator l(x) is fitted to the first and g(x) to the second, and
 * of `nEiCandidates` draws from l the one maximising l(x)/g(x) is suggested. Univariate by default
 * (one estimator pair per parameter), jointly with `multivariate`.
 *
 * Stateless and deterministic: {@link TpeSampler.suggest}(k, history) depends only on the options
 * (seed included), k and the history, with every random draw taken from a stream keyed by
 * (seed, k, …). A coordinator therefore needs to store nothing beyond what it stores anyway — the
 * options and each trial's point, state and result — and, given the history as it stood when trial
 * k was suggested, recomputes the same suggestion after a restart.
 */
export class TpeSampler {
  readonly options: TpeOptions;
  private readonly names: string[];
  private readonly parzen: ParzenOptions;

  constructor(
    readonly space: SearchSpace,
    options: TpeOptionsInput,
  ) {
    this.options = TpeOptions.parse(options);
    this.names = paramNames(space);
    const o = this.options;
    this.parzen = {
      considerPrior: o.considerPrior,
      priorWeight: o.priorWeight,
      considerMagicClip: o.considerMagicClip,
      considerEndpoints: o.considerEndpoints,
      multivariate: o.multivariate,
    };
  }

  /**
   * The point for trial `k` given the other trials (any order; trial k itself and later-numbered
   * trials are ignored, so a full log can be replayed as is).
   */
  suggest(k: number, history: readonly Observation[]): Point {
    const { direction, constantLiar, nStartupTrials, seed } = this.options;
    const sign = direction === 'minimize' ? 1 : -1;
    const trials = history
      .filter((o) => o.trial < k)
      .filter((o) => o.state === 'complete' || o.state === 'pruned' || (constantLiar && o.state === 'running'))
      .filter((o) => o.state !== 'complete' || Number.isFinite(o.value))
      .sort((a, b) => a.trial - b.trial);
    const scores = trials.map((o): [number, number] => score(o, sign));
    const n = trials.filter((o) => o.state !== 'running').length;
    if (n < nStartupTrials) return randomPoint(this.space, seed, k);

    const { below, above } = split(scores, defaultGamma(n));
    const internal = (o: Observation, name: string) => toInternal(this.space[name]!, o.params[name]!, name);
    const groups = this.options.multivariate ? [this.names] : this.names.map((n) => [n]);
    const point: Point = {};
    groups.forEach((names, g) => {
      const sub: SearchSpace = Object.fromEntries(names.map((n) => [n, this.space[n]!]));
      const obs = (idx: number[]) => Object.fromEntries(names.map((n) => [n, idx.map((i) => internal(trials[i]!, n))]));
      const l = new ParzenEstimator(obs(below), sub, this.parzen);
      const gEst = new ParzenEstimator(obs(above), sub, this.parzen);
      const samples = l.sample(KeyedRandom.keyed(seed, k, STREAM_TPE, g), this.options.nEiCandidates);
      const ll = l.logPdf(samples);
      const lg = gEst.logPdf(samples);
      let best = 0;
      for (let i = 1; i < ll.length; i++) if (ll[i]! - lg[i]! > ll[best]! - lg[best]!) best = i;
      for (const n of names) point[n] = toExternal(this.space[n]!, samples[n]![best]!);
    });
    return point;
  }
}

/**
 * Optuna's ranking key (`_get_observation_pairs`), sorted ascending: complete trials first by
 * signed value, then pruned ones by the furthest step reached and their value there, then running ones.
 */
function score(o: Observation, sign: number): [number, number] {
  if (o.state === 'complete') return [-Infinity, sign * o.value!];
  if (o.state === 'running') return [Infinity, Infinity];
  if (o.step === undefined || o.value === undefined) return [1, 0];
  return [-o.step, Number.isNaN(o.value) ? Infinity : sign * o.value];
}

/** The `nBelow` best indices and the rest, each in trial order (`_split_observation_pairs`, stable sort). */
function split(scores: readonly [number, number][], nBelow: number): { below: number[]; above: number[] } {
  const order = scores
    .map((_, i) => i)
    .sort((i, j) => cmp(scores[i]![0], scores[j]![0]) || cmp(scores[i]![1], scores[j]![1]) || i - j);
  return {
    below: order.slice(0, nBelow).sort((a, b) => a - b),
    above: order.slice(nBelow).sort((a, b) => a - b),
  };
}

function cmp(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
