import { z } from 'zod';
import {
  CategoricalParam,
  FloatParam,
  gridValues,
  IntParam,
  MAX_CATEGORIES,
  randomPoint,
  type ParamDecl,
  type Point,
  type SearchSpace,
} from '@fersweep/search';
import type { SearchParameters } from './search.js';

/** A value a search can try: params are JSON scalars (numbers, strings, booleans). */
export const SearchValue = z.union([z.number(), z.string(), z.boolean()]);

/**
 * One search parameter: a plain list of values (a categorical; grid and random search expand
 * lists exactly as before declarations existed), or a declaration `{ type: float | int, min, max,
 * log?, step? }` / `{ type: categorical, values }` (packages/search `space.ts`).
 */
export const SearchParam = z.union(
  [
    z.array(SearchValue).min(1).max(MAX_CATEGORIES),
    z.discriminatedUnion('type', [FloatParam, IntParam, CategoricalParam]),
  ],
  { error: 'a list of values, or a declaration { type: float | int | categorical, ... }' },
);
export type SearchParam = z.infer<typeof SearchParam>;

/**
 * The validation metric a search selects on (TPE's objective; what the report calls each variant's
 * best). Always a validation metric: selection never looks at the test split. `valAccuracy` is
 * maximised, `valLoss` minimised.
 */
export const SearchMetric = z.enum(['valAccuracy', 'valLoss']);
export type SearchMetric = z.infer<typeof SearchMetric>;

export const searchMode = (metric: SearchMetric): 'max' | 'min' => (metric === 'valLoss' ? 'min' : 'max');

/** A parameter as a declaration: a plain list is a categorical over its values. */
export function declOf(p: SearchParam): ParamDecl {
  return Array.isArray(p) ? { type: 'categorical', values: p } : p;
}

/** The search space the samplers work on. */
export function spaceOf(parameters: Record<string, SearchParam>): SearchSpace {
  return Object.fromEntries(Object.entries(parameters).map(([k, p]) => [k, declOf(p)]));
}

/** True when every parameter is a finite list (plain or `categorical`): random search then draws grid indices as before. */
export function allCategorical(parameters: Record<string, SearchParam>): boolean {
  return Object.values(parameters).every((p) => declOf(p).type === 'categorical');
}

/**
 * The value lists a grid enumerates: lists as given, stepped ranges as their grid values. Throws a
 * RangeError naming the parameter for a range without `step` (a grid needs a finite set).
 */
export function gridParameters(parameters: Record<string, SearchParam>): SearchParameters {
  return Object.fromEntries(Object.entries(parameters).map(([k, p]) => [k, Array.isArray(p) ? p : gridValues(p, k)]));
}

/** Every value of a parameter that can be checked one at a time: a list's values, or a range's two bounds. */
export function checkedValues(
  p: SearchParam,
): { value: string | number | boolean; at: (string | number)[]; inside?: true }[] {
  if (Array.isArray(p)) return p.map((value, j) => ({ value, at: [j] }));
  if (p.type === 'categorical') return p.values.map((value, j) => ({ value, at: ['values', j] }));
  const bounds = [
    { value: p.min, at: ['min'] },
    { value: p.max, at: ['max'] },
  ];
  if (p.type === 'int') return bounds;
  // A float range also yields fractional values: an integer field must refuse it, whatever its bounds.
  // A stepped range is checked at its second grid value (integral when min and step are).
  if (p.step !== undefined) return [...bounds, { value: p.min + p.step, at: ['step'], inside: true }];
  // At the golden section: integral only by coincidence, and then the other section is not.
  const at = (f: number) =>
    p.log ? Math.exp(Math.log(p.min) + f * (Math.log(p.max) - Math.log(p.min))) : p.min + f * (p.max - p.min);
  const inside = Number.isInteger(at(0.381966)) ? at(0.618034) : at(0.381966);
  return [...bounds, { value: inside, at: ['type'], inside: true }];
}

/** Random search over a space with ranges: the k-th point, a pure function of (seed, k). */
export function randomSearchPoint(parameters: Record<string, SearchParam>, seed: number, k: number): Point {
  return randomPoint(spaceOf(parameters), seed, k);
}

/** The most seed replicates a sweep may ask for. */
export const MAX_REPLICATES = 10;

/**
 * The seed of replicate `r` of a configuration whose seed is `seed`: replicate 0 keeps it (a sweep
 * without replicates trains exactly as before); the others get a keyed hash of (seed, r) — a
 * non-negative 31-bit integer, deterministic, unrelated to nearby seeds (a `seed` search over
 * 1, 2, 3 never collides with a replicate's).
 */
export function replicateSeed(seed: number, r: number): number {
  if (r === 0) return seed;
  let h = 0x9e3779b9 ^ r;
  for (const w of [seed >>> 0, Math.floor(seed / 4294967296) >>> 0, r]) {
    h = Math.imul(h ^ w, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 1;
}
