import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { KeyedRandom } from './rng.js';
import { logGaussMass, logNdtr, truncnormPpf } from './normal.js';
import { defaultWeights, ParzenEstimator } from './parzen.js';
import { parseSpace, toInternal } from './space.js';

interface Fixture {
  space: unknown;
  cases: {
    multivariate: boolean;
    considerEndpoints: boolean;
    observations: Record<string, number[]>;
    probe: Record<string, number[]>;
    logPdf: number[];
  }[];
  logNdtr: { x: number[]; y: number[] };
  logGaussMass: [number, number, number][];
  ppf: [number, number, number, number][];
  weights: Record<string, number[]>;
}

// Written by Optuna 3.1 itself: testing/optuna-parity.py.
const fixture = JSON.parse(readFileSync(new URL('./testing/optuna-parity.json', import.meta.url), 'utf8')) as Fixture;

const close = (a: number, b: number, rel = 1e-9) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));

describe('the Parzen estimator against Optuna 3.1', () => {
  it('computes log Φ like Optuna from −30 to 30 (far tails included)', () => {
    fixture.logNdtr.x.forEach((x, i) => expect(close(logNdtr(x), fixture.logNdtr.y[i]!, 1e-12)).toBe(true));
  });

  it('computes Gaussian interval masses and truncated-normal quantiles like Optuna', () => {
    for (const [a, b, want] of fixture.logGaussMass) expect(close(logGaussMass(a, b), want, 1e-12)).toBe(true);
    for (const [q, a, b, want] of fixture.ppf) expect(close(truncnormPpf(q, a, b), want, 1e-9)).toBe(true);
  });

  it("weights observations with Optuna's default ramp", () => {
    for (const [n, w] of Object.entries(fixture.weights)) {
      const got = defaultWeights(Number(n));
      expect(got).toHaveLength(w.length);
      got.forEach((x, i) => expect(close(x, w[i]!, 1e-12)).toBe(true));
    }
  });

  it('gives the same log density as Optuna for float/log/int/stepped/categorical parameters, uni- and multivariate', () => {
    const space = parseSpace(fixture.space);
    for (const c of fixture.cases) {
      const est = new ParzenEstimator(c.observations, space, {
        considerPrior: true,
        priorWeight: 1,
        considerMagicClip: true,
        considerEndpoints: c.considerEndpoints,
        multivariate: c.multivariate,
      });
      // Beyond 25 observations older ones weigh less, so which of two tied values (ints, categories)
      // gets which bandwidth matters a little: numpy's argsort is an unstable quicksort there, ours
      // is stable. Everywhere else the two agree to rounding.
      const rel = !c.multivariate && c.observations.lr!.length > 25 ? 1e-4 : 1e-9;
      const got = est.logPdf(c.probe);
      got.forEach((x, i) => expect(close(x, c.logPdf[i]!, rel)).toBe(true));
    }
  });

  it('samples only values its declarations allow', () => {
    const space = parseSpace(fixture.space);
    const c = fixture.cases[fixture.cases.length - 1]!;
    const opts = {
      considerPrior: true,
      priorWeight: 1,
      considerMagicClip: true,
      considerEndpoints: false,
      multivariate: false,
    };
    const samples = new ParzenEstimator(c.observations, space, opts).sample(KeyedRandom.keyed(1), 500);
    for (const [name, values] of Object.entries(samples)) {
      for (const v of values)
        expect(() => toInternal(space[name]!, name === 'opt' ? ['adam', 'sgd', 'rmsprop'][v]! : v, name)).not.toThrow();
    }
    expect(samples.width!.every(Number.isInteger)).toBe(true);
    expect(samples.batch!.every((b) => b % 16 === 0)).toBe(true);
  });
});
