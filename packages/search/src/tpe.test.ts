import { describe, expect, it } from '@jest/globals';
import { randomPoint } from './sample.js';
import { parseSpace, type Point, type SearchSpace } from './space.js';
import { TpeSampler, type Observation, type TpeOptionsInput } from './tpe.js';

const space1d = parseSpace({ x: { type: 'float', min: -5, max: 5 } });
const space2d = parseSpace({
  lr: { type: 'float', min: 1e-5, max: 1, log: true },
  width: { type: 'int', min: 8, max: 512, log: true },
});
/** Minimum 0 at lr = 1e-2, width = 128. */
const f2d = (p: Point) => (Math.log10(p.lr as number) + 2) ** 2 + (Math.log2(p.width as number) - 7) ** 2 / 4;

/** A sequential optimisation loop: trial k is suggested from trials 0..k-1, then evaluated. */
function optimise(space: SearchSpace, f: (p: Point) => number, opts: TpeOptionsInput, n: number, random = false) {
  const sampler = new TpeSampler(space, opts);
  const history: Observation[] = [];
  for (let k = 0; k < n; k++) {
    const params = random ? randomPoint(space, opts.seed, k) : sampler.suggest(k, history);
    history.push({ trial: k, params, state: 'complete', value: f(params) });
  }
  return history;
}

const best = (h: Observation[]) => Math.min(...h.map((o) => o.value!));

describe('TpeSampler', () => {
  it('suggests the same points for the same seed, k and history — whatever order the history comes in', () => {
    const a = optimise(space2d, f2d, { seed: 5, direction: 'minimize' }, 30);
    const b = optimise(space2d, f2d, { seed: 5, direction: 'minimize' }, 30);
    expect(b).toEqual(a);
    const sampler = new TpeSampler(space2d, { seed: 5, direction: 'minimize' });
    const shuffled = [...a.slice(0, 20)].reverse();
    expect(sampler.suggest(20, shuffled)).toEqual(a[20]!.params);
    // A replayed full log: trial 20 and everything after it is ignored.
    expect(sampler.suggest(20, a)).toEqual(a[20]!.params);
    // The options are plain JSON: a restarted coordinator rebuilds the same sampler from its stored copy.
    const restored = new TpeSampler(space2d, JSON.parse(JSON.stringify(sampler.options)));
    expect(restored.suggest(25, a)).toEqual(a[25]!.params);
  });

  it('suggests exactly the stored golden points (a change here breaks replays of stored sweeps)', () => {
    const space = parseSpace({
      lr: { type: 'float', min: 1e-5, max: 1, log: true },
      width: { type: 'int', min: 8, max: 512, log: true },
      opt: ['adam', 'sgd'],
    });
    const h: Observation[] = Array.from({ length: 12 }, (_, k) => {
      const params = randomPoint(space, 99, k);
      const value = Math.abs(Math.log10(params.lr as number) + 2) + (params.opt === 'sgd' ? 0.5 : 0);
      return { trial: k, params, state: 'complete', value };
    });
    expect(h[0]!.params).toEqual({ lr: 0.8711278939436168, opt: 'sgd', width: 157 });
    const sampler = new TpeSampler(space, { seed: 99, direction: 'minimize' });
    expect(sampler.suggest(12, h)).toEqual({ lr: 0.003661420220362961, opt: 'adam', width: 43 });
  });

  it('suggests differently for another seed', () => {
    const a = optimise(space2d, f2d, { seed: 5, direction: 'minimize' }, 15);
    const b = optimise(space2d, f2d, { seed: 6, direction: 'minimize' }, 15);
    expect(b.map((o) => o.params)).not.toEqual(a.map((o) => o.params));
  });

  it('samples at random for the first nStartupTrials finished trials, not counting running ones', () => {
    const h = optimise(space1d, (p) => (p.x as number) ** 2, { seed: 1, direction: 'minimize' }, 9);
    const running: Observation[] = [9, 10, 11].map((t) => ({ trial: t, params: { x: 0 }, state: 'running' }));
    const sampler = new TpeSampler(space1d, { seed: 1, direction: 'minimize', constantLiar: true });
    expect(sampler.suggest(12, [...h, ...running])).toEqual(randomPoint(space1d, 1, 12));
    h.forEach((o, k) => expect(o.params).toEqual(randomPoint(space1d, 1, k)));
  });

  it('finds better points than random search on a 2-D log-scale function, over fixed seeds', () => {
    let wins = 0;
    let tpeSum = 0;
    let randSum = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const t = best(optimise(space2d, f2d, { seed, direction: 'minimize' }, 40));
      const r = best(optimise(space2d, f2d, { seed, direction: 'minimize' }, 40, true));
      if (t < r) wins++;
      tpeSum += t;
      randSum += r;
    }
    expect(wins).toBeGreaterThanOrEqual(8);
    expect(tpeSum).toBeLessThan(randSum / 2);
  });

  it('multivariate: samples the parameters jointly, deterministically, and beats random search too', () => {
    let wins = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const opts = { seed, direction: 'minimize', multivariate: true } as const;
      const h = optimise(space2d, f2d, opts, 30);
      expect(optimise(space2d, f2d, opts, 30)).toEqual(h);
      if (best(h) < best(optimise(space2d, f2d, opts, 30, true))) wins++;
    }
    expect(wins).toBeGreaterThanOrEqual(5);
  });

  it('concentrates its suggestions near the optimum of a 1-D function, maximising as well', () => {
    const h = optimise(space1d, (p) => -(((p.x as number) - 1.5) ** 2), { seed: 3, direction: 'maximize' }, 60);
    const late = h.slice(40).map((o) => Math.abs((o.params.x as number) - 1.5));
    const early = h.slice(0, 10).map((o) => Math.abs((o.params.x as number) - 1.5));
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(mean(late)).toBeLessThan(mean(early) / 3);
    expect(late.filter((d) => d < 1).length).toBeGreaterThanOrEqual(15);
  });

  it('prefers the best category and keeps ints integral', () => {
    const space = parseSpace({ opt: ['sgd', 'adam', 'rmsprop'], layers: { type: 'int', min: 1, max: 10 } });
    const f = (p: Point) => (p.opt === 'adam' ? 0 : 1) + Math.abs((p.layers as number) - 4) / 10;
    const h = optimise(space, f, { seed: 2, direction: 'minimize' }, 50);
    expect(h.slice(30).filter((o) => o.params.opt === 'adam').length).toBeGreaterThanOrEqual(14);
    expect(h.every((o) => Number.isInteger(o.params.layers))).toBe(true);
  });

  it('with constant liar, steers parallel suggestions away from the points still running', () => {
    const h = optimise(space1d, (p) => ((p.x as number) - 2) ** 2, { seed: 4, direction: 'minimize' }, 20);
    const plain = new TpeSampler(space1d, { seed: 4, direction: 'minimize' });
    const liar = new TpeSampler(space1d, { seed: 4, direction: 'minimize', constantLiar: true });
    // Five trials are running where the plain sampler goes next; the liar counts them as the worst
    // results there, so its next suggestions should mostly look elsewhere.
    const hot = plain.suggest(20, h).x as number;
    const running: Observation[] = [20, 21, 22, 23, 24].map((t) => ({
      trial: t,
      params: { x: hot },
      state: 'running',
    }));
    const near = (s: TpeSampler) => {
      let count = 0;
      for (let k = 25; k < 55; k++) if (Math.abs((s.suggest(k, [...h, ...running]).x as number) - hot) < 0.5) count++;
      return count;
    };
    const withLiar = near(liar);
    const without = near(plain);
    expect(without).toBeGreaterThanOrEqual(10);
    expect(withLiar).toBeLessThan(without / 2);
    // Without the liar, running trials are ignored altogether.
    expect(plain.suggest(25, [...h, ...running])).toEqual(plain.suggest(25, h));
  });

  it('ranks a pruned trial below every complete one, and ignores failed ones', () => {
    const sampler = new TpeSampler(space1d, { seed: 9, direction: 'minimize', nStartupTrials: 2 });
    const h: Observation[] = [
      { trial: 0, params: { x: 1 }, state: 'complete', value: 5 },
      { trial: 1, params: { x: -4 }, state: 'pruned', value: 0, step: 3 },
      { trial: 2, params: { x: 3 }, state: 'failed' },
    ];
    // gamma(2) = 1: the complete trial (x = 1) is the good set, so suggestions lean towards it.
    const xs = Array.from({ length: 20 }, (_, i) => sampler.suggest(10 + i, h).x as number);
    expect(xs.filter((x) => x > -1.5).length).toBeGreaterThan(14);
  });

  it('rejects bad options with the field named', () => {
    expect(() => new TpeSampler(space1d, { seed: 1.5, direction: 'minimize' })).toThrow(/seed/);
    expect(() => new TpeSampler(space1d, { seed: 1, direction: 'up' as 'minimize' })).toThrow(/direction/);
  });
});
