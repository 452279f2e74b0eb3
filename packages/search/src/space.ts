import { z } from 'zod';

/** A value a parameter can take: JSON scalars, as trial params are. */
export const ParamValue = z.union([z.number(), z.string(), z.boolean()]);
export type ParamValue = z.infer<typeof ParamValue>;

/** The most values one categorical parameter may list, and the most parameters one space may hold. */
export const MAX_CATEGORIES = 1000;
export const MAX_PARAMETERS = 64;

const Finite = z.number().refine(Number.isFinite, 'must be a finite number');

/**
 * `{ type: float, min, max, log?, step? }`: a real in [min, max], sampled uniformly in log space
 * with `log: true` (min > 0), or on the grid min, min + step, … with `step`.
 */
export const FloatParam = z
  .object({
    type: z.literal('float'),
    min: Finite,
    max: Finite,
    log: z.boolean().default(false),
    step: z.number().positive().optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (!(p.min < p.max))
      ctx.addIssue({ code: 'custom', path: ['max'], message: `max (${p.max}) must exceed min (${p.min})` });
    if (p.log && p.min <= 0)
      ctx.addIssue({ code: 'custom', path: ['min'], message: `a log-scale range needs min > 0 (got ${p.min})` });
    if (p.log && p.step !== undefined)
      ctx.addIssue({ code: 'custom', path: ['step'], message: 'step and log: true cannot be combined' });
    if (p.step !== undefined && p.min < p.max) {
      const n = (p.max - p.min) / p.step;
      if (Math.abs(n - Math.round(n)) > 1e-8 * Math.max(1, n))
        ctx.addIssue({
          code: 'custom',
          path: ['step'],
          message: `step ${p.step} does not divide [${p.min}, ${p.max}]: use max ${+(p.min + Math.floor(n) * p.step).toPrecision(12)}`,
        });
    }
  });
export type FloatParam = z.infer<typeof FloatParam>;

/** `{ type: int, min, max, log?, step? }`: an integer in [min, max], log-uniform with `log: true` (min ≥ 1). */
export const IntParam = z
  .object({
    type: z.literal('int'),
    min: z.number().int('must be an integer'),
    max: z.number().int('must be an integer'),
    log: z.boolean().default(false),
    step: z.number().int('must be an integer').min(1).default(1),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (!(p.min < p.max))
      ctx.addIssue({ code: 'custom', path: ['max'], message: `max (${p.max}) must exceed min (${p.min})` });
    if (p.log && p.min < 1)
      ctx.addIssue({ code: 'custom', path: ['min'], message: `a log-scale int range needs min ≥ 1 (got ${p.min})` });
    if (p.log && p.step !== 1)
      ctx.addIssue({ code: 'custom', path: ['step'], message: 'step and log: true cannot be combined' });
    if ((p.max - p.min) % p.step !== 0)
      ctx.addIssue({
        code: 'custom',
        path: ['step'],
        message: `step ${p.step} does not divide [${p.min}, ${p.max}]: use max ${p.max - ((p.max - p.min) % p.step)}`,
      });
  });
export type IntParam = z.infer<typeof IntParam>;

const distinct = (values: readonly ParamValue[]) => new Set(values).size === values.length;

/** `{ type: categorical, values: [...] }`: one of the listed values (unordered). */
export const CategoricalParam = z
  .object({
    type: z.literal('categorical'),
    values: z.array(ParamValue).min(1).max(MAX_CATEGORIES).refine(distinct, 'values must be distinct'),
  })
  .strict();
export type CategoricalParam = z.infer<typeof CategoricalParam>;

/**
 * One parameter's declaration. A plain list (`[0.001, 0.01]`, today's grid/random form) is a
 * categorical parameter over its values.
 */
export const ParamDecl = z.preprocess(
  (v) => (Array.isArray(v) ? { type: 'categorical', values: v } : v),
  z.discriminatedUnion('type', [FloatParam, IntParam, CategoricalParam]),
);
export type ParamDecl = FloatParam | IntParam | CategoricalParam;
/** What users write: a declaration, or a plain list of values. */
export type ParamDeclInput =
  z.input<typeof FloatParam> | z.input<typeof IntParam> | z.input<typeof CategoricalParam> | ParamValue[];

/** A search space: parameter name → declaration. Names are kept in sorted order everywhere. */
export const SearchSpace = z
  .record(z.string().min(1).max(128), ParamDecl)
  .refine((s) => Object.keys(s).length >= 1, 'declare at least one parameter')
  .refine((s) => Object.keys(s).length <= MAX_PARAMETERS, `at most ${MAX_PARAMETERS} parameters`);
export type SearchSpace = Record<string, ParamDecl>;
export type SearchSpaceInput = Record<string, ParamDeclInput>;

/** A point of a space: parameter name → value. */
export type Point = Record<string, ParamValue>;

/** The bad declaration: what and where (`path` is the parameter's key path), as zod reported it. */
export class SearchSpaceError extends Error {
  override readonly name = 'SearchSpaceError';
  constructor(
    readonly issues: readonly { path: string; message: string }[],
    options?: { cause?: unknown },
  ) {
    super(`invalid search space: ${issues.map((i) => `${i.path || '(space)'}: ${i.message}`).join('; ')}`, options);
  }
}

/** Parses a space declaration, throwing {@link SearchSpaceError} that names each bad parameter field. */
export function parseSpace(input: unknown): SearchSpace {
  const r = SearchSpace.safeParse(input);
  if (r.success) return r.data;
  throw new SearchSpaceError(
    r.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    { cause: r.error },
  );
}

/** Parameter names in the order every sampler visits them (sorted, so a point never depends on key order). */
export function paramNames(space: SearchSpace): string[] {
  return Object.keys(space).sort();
}

/**
 * A value's internal representation, as Optuna's `to_internal_repr`: the number itself for
 * float/int, the index into `values` for a categorical. Throws when the value is outside the declaration.
 */
export function toInternal(decl: ParamDecl, value: ParamValue, name = 'parameter'): number {
  if (decl.type === 'categorical') {
    const i = decl.values.indexOf(value);
    if (i < 0) throw new RangeError(`${name}: ${JSON.stringify(value)} is not one of ${JSON.stringify(decl.values)}`);
    return i;
  }
  if (typeof value !== 'number' || !(value >= decl.min && value <= decl.max))
    throw new RangeError(`${name}: ${JSON.stringify(value)} is outside [${decl.min}, ${decl.max}]`);
  return value;
}

/** The inverse of {@link toInternal}. */
export function toExternal(decl: ParamDecl, internal: number): ParamValue {
  return decl.type === 'categorical' ? decl.values[internal]! : internal;
}
