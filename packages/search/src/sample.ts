import { KeyedRandom } from './rng.js';
import { paramNames, type ParamDecl, type ParamValue, type Point, type SearchSpace } from './space.js';

/** Streams of one suggestion: every draw for trial k comes from keyed(seed, k, stream, …). */
export const STREAM_RANDOM = 0;
export const STREAM_TPE = 1;

/**
 * One value drawn uniformly from a declaration, as Optuna's RandomSampler does: uniform in
 * [min, max] (in log space with `log`), integers and stepped floats from the range widened by half
 * a step and snapped back, so each grid value gets the same mass.
 */
export function randomValue(decl: ParamDecl, rng: KeyedRandom): ParamValue {
  if (decl.type === 'categorical') return decl.values[rng.int(decl.values.length)]!;
  if (decl.type === 'float') {
    if (decl.log) return Math.exp(rng.uniform(Math.log(decl.min), Math.log(decl.max)));
    if (decl.step === undefined) return rng.uniform(decl.min, decl.max);
    const x = rng.uniform(decl.min - decl.step / 2, decl.max + decl.step / 2);
    return snap(decl.min, decl.max, decl.step, x);
  }
  if (decl.log) {
    const x = Math.round(Math.exp(rng.uniform(Math.log(decl.min - 0.5), Math.log(decl.max + 0.5))));
    return Math.min(decl.max, Math.max(decl.min, x));
  }
  return snap(decl.min, decl.max, decl.step, rng.uniform(decl.min - decl.step / 2, decl.max + decl.step / 2));
}

function snap(min: number, max: number, step: number, x: number): number {
  return Math.min(max, Math.max(min, Math.round((x - min) / step) * step + min));
}

/**
 * Random search's k-th point: a pure function of (seed, k), so a sweep's random trials are the same
 * whatever order they are asked for in, and after a restart.
 */
export function randomPoint(space: SearchSpace, seed: number, k: number): Point {
  const point: Point = {};
  paramNames(space).forEach((name, i) => {
    point[name] = randomValue(space[name]!, KeyedRandom.keyed(seed, k, STREAM_RANDOM, i));
  });
  return point;
}

/** The largest grid {@link gridPoints} expands. */
export const MAX_GRID_POINTS = 100_000;

/** The values a grid tries for one parameter; a continuous float has none (it needs `step`). */
export function gridValues(decl: ParamDecl, name = 'parameter'): ParamValue[] {
  if (decl.type === 'categorical') return [...decl.values];
  const step = decl.step;
  if (step === undefined)
    throw new RangeError(
      `${name}: grid search needs a finite set of values: give the float range a step, list the values, or use method random or tpe`,
    );
  const count = Math.round((decl.max - decl.min) / step) + 1;
  if (count > MAX_GRID_POINTS) throw new RangeError(`${name}: ${count} grid values (at most ${MAX_GRID_POINTS})`);
  // Multiply rather than accumulate, so 0.1-steps do not drift.
  return Array.from({ length: count }, (_, i) =>
    decl.type === 'int' ? decl.min + i * step : +(decl.min + i * step).toPrecision(12),
  );
}

/**
 * Every combination of the parameters' grid values, in sorted name order with the last name varying
 * fastest (the order the sweep contract's grid uses today).
 */
export function gridPoints(space: SearchSpace): Point[] {
  const names = paramNames(space);
  const values = names.map((n) => gridValues(space[n]!, n));
  const size = values.reduce((a, v) => a * v.length, 1);
  if (size > MAX_GRID_POINTS)
    throw new RangeError(`the grid has ${size} points (at most ${MAX_GRID_POINTS}): narrow it or use random or tpe`);
  let points: Point[] = [{}];
  names.forEach((n, i) => {
    points = points.flatMap((p) => values[i]!.map((v) => ({ ...p, [n]: v })));
  });
  return points;
}
