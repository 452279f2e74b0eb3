/**
 * What a sweep spec must satisfy beyond its own schema: every variant's model and params against the
 * model registry's param schemas, and every search value against the field it sets. The schemas come
 * from the caller (`MODEL_PARAMS` of `@fersweep/models/params`): contracts never copies them, so a param
 * added to a model is checked here without a change.
 */
import type { z } from 'zod';
import { checkedValues } from './search-spec.js';
import { SEARCH_TRIAL_FIELDS, SweepSpec, type TrialPlan } from './sweep.js';

/** One problem with a sweep spec: where (`spec.variants[1].params.alpha`) and what is wrong or allowed. */
export interface SpecIssue {
  field: string;
  message: string;
}

/** Params schemas by model name: the model registry's own (`MODEL_PARAMS`). */
export type ModelParamSchemas = Readonly<Record<string, z.ZodType>>;

/** At most this many issues are reported for one spec: enough to fix a spec, bounded for a hostile one. */
export const MAX_SPEC_ISSUES = 20;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `['spec', 'variants', 1, 'params', 'alpha']` → `spec.variants[1].params.alpha`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else {
      const key = String(p);
      out += IDENTIFIER.test(key) ? `${out ? '.' : ''}${key}` : `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/** Collects issues once each (same field and message), up to MAX_SPEC_ISSUES. */
class Issues {
  readonly list: SpecIssue[] = [];
  readonly #seen = new Set<string>();
  add(field: string, message: string): void {
    const key = `${field}\n${message}`;
    if (this.full || this.#seen.has(key)) return;
    this.#seen.add(key);
    this.list.push({ field, message });
  }
  get full(): boolean {
    return this.list.length >= MAX_SPEC_ISSUES;
  }
}

type Issue = z.ZodError['issues'][number];

/**
 * A union's failure as the issues of the one branch whose type matched (a search parameter given
 * as a declaration: the declaration's own faults, at their fields), else the union's own message.
 */
function matchedBranch(issue: Issue): Issue[] {
  if (issue.code !== 'invalid_union') return [issue];
  const typed = issue.errors.filter((branch) => !branch.every((e) => e.code === 'invalid_type' && e.path.length === 0));
  if (typed.length !== 1) return [issue];
  return typed[0]!.flatMap((e) => matchedBranch({ ...e, path: [...issue.path, ...e.path] } as Issue));
}

/** A failed SweepSpec parse as issues with field paths (unknown keys one each). */
export function specIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): SpecIssue[] {
  const issues = new Issues();
  for (const issue of error.issues.flatMap(matchedBranch)) {
    const at = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys')
      for (const k of issue.keys) issues.add(fieldPath([...at, k]), 'unknown field');
    else issues.add(fieldPath(at) || '(root)', issue.message);
  }
  return issues.list;
}

/** Top-level keys of an object schema, for "known:" hints; empty for other schemas. */
function knownKeys(schema: z.ZodType): string[] {
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  return shape && typeof shape === 'object' ? Object.keys(shape) : [];
}

const knownHint = (schema: z.ZodType) => {
  const known = knownKeys(schema);
  return known.length ? ` (known: ${known.join(', ')})` : '';
};

const pointText = (point: Record<string, unknown>) =>
  Object.entries(point)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');

const insideHint = (value: unknown) =>
  ` (${JSON.stringify(value)} is inside the declared range: declare an int range, or list the values)`;

/** The schema of a search parameter that sets a trial field (epochs, batchSize, seed): the sweep's own. */
function trialFieldSchema(name: string): z.ZodType {
  return (SweepSpec.shape.spec.shape as unknown as Record<string, z.ZodType>)[name]!;
}

/**
 * The problems of a parsed sweep that the model registry decides without expanding it (empty = none):
 * - a variant's `model` that is not registered, and its own params' unknown names and out-of-range values;
 * - each search value against the field it sets: `epochs`/`batchSize`/`seed` against the sweep's own
 *   bounds, any other name against each variant's model schema (unknown names included), one value at
 *   a time — a large search costs the sum of its lists, not their product. A declared range is
 *   checked at its bounds (`…parameters.learningRate.min`) and, for a float range, at a fractional
 *   value inside it (an integer field refuses a float range).
 * Rules between fields are left to {@link checkTrialParams}, which judges whole trials.
 */
export function checkSweepValues(spec: SweepSpec, models: ModelParamSchemas): SpecIssue[] {
  const issues = new Issues();
  const s = spec.spec;
  const names = Object.keys(models).sort();
  const schemaOf = (model: string) => (Object.hasOwn(models, model) ? models[model] : undefined);
  const search = Object.entries(s.search?.parameters ?? {});

  const searched = new Set(search.map(([name]) => name));
  s.variants.forEach((v, i) => {
    const schema = schemaOf(v.model);
    if (!schema) {
      issues.add(
        fieldPath(['spec', 'variants', i, 'model']),
        `unknown model '${v.model}': use one of ${names.join(', ')}`,
      );
      return;
    }
    // The variant's own params, less what the search sets; rules between fields wait for whole trials.
    const r = schema.safeParse(v.params);
    for (const e of r.success ? [] : r.error.issues) {
      if (e.code === 'unrecognized_keys') {
        for (const k of e.keys.filter((k) => !searched.has(k)))
          issues.add(
            fieldPath(['spec', 'variants', i, 'params', k]),
            `unknown parameter of model '${v.model}'${knownHint(schema)}`,
          );
      } else if (e.code !== 'custom' && !searched.has(String(e.path[0]))) {
        issues.add(fieldPath(['spec', 'variants', i, 'params', ...e.path]), e.message);
      }
    }
  });
  for (const [name, param] of search) {
    if (!SEARCH_TRIAL_FIELDS.has(name)) continue;
    const schema = trialFieldSchema(name);
    for (const { value, at, inside } of checkedValues(param)) {
      const r = schema.safeParse(value);
      if (!r.success)
        issues.add(
          fieldPath(['spec', 'search', 'parameters', name, ...at]),
          `${r.error.issues[0]?.message ?? 'invalid'}${inside ? insideHint(value) : ''}`,
        );
    }
  }
  for (const v of s.variants) {
    const schema = schemaOf(v.model);
    if (!schema) continue;
    for (const [name, param] of search) {
      if (SEARCH_TRIAL_FIELDS.has(name)) continue;
      for (const { value, at, inside } of checkedValues(param)) {
        if (issues.full) return issues.list;
        const r = schema.safeParse({ ...v.params, [name]: value });
        if (r.success) continue;
        if (r.error.issues.some((e) => e.code === 'unrecognized_keys' && e.keys.includes(name))) {
          issues.add(
            fieldPath(['spec', 'search', 'parameters', name]),
            `not a parameter of model '${v.model}' (variant '${v.name}'), and a search sets its parameters on every variant${knownHint(schema)}`,
          );
          break;
        }
        // Only this value's own faults: rules between fields are judged on whole trials below.
        const own = r.error.issues.find((e) => e.path[0] === name && e.code !== 'custom');
        if (own)
          issues.add(
            fieldPath(['spec', 'search', 'parameters', name, ...at]),
            `${own.message} (model '${v.model}')${inside ? insideHint(value) : ''}`,
          );
      }
    }
  }
  return issues.list;
}

/**
 * The problems of each trial's params as a whole (variant params with its search point applied;
 * `plans` = `expandTrials(spec)`): out-of-range and unknown variant params, and the rules between
 * fields (e.g. `freezeBase` without `pretrained`) for exactly the combinations that will run. Run it
 * after {@link checkSweepValues} found nothing and the trial count is within bounds.
 */
export function checkTrialParams(spec: SweepSpec, models: ModelParamSchemas, plans: readonly TrialPlan[]): SpecIssue[] {
  const issues = new Issues();
  const schemaOf = (model: string) => (Object.hasOwn(models, model) ? models[model] : undefined);
  const index = new Map(spec.spec.variants.map((v, i) => [v.name, i]));
  for (const plan of plans) {
    if (issues.full) break;
    const schema = schemaOf(plan.model);
    const i = index.get(plan.variant);
    if (!schema || i === undefined) continue;
    const r = schema.safeParse(plan.params);
    if (r.success) continue;
    const searched = Object.keys(plan.searchPoint).length > 0;
    for (const e of r.error.issues) {
      const top = e.path[0];
      if (e.code === 'unrecognized_keys') {
        for (const k of e.keys)
          issues.add(
            fieldPath(['spec', 'variants', i, 'params', k]),
            `unknown parameter of model '${plan.model}'${knownHint(schema)}`,
          );
      } else if (typeof top === 'string' && Object.hasOwn(plan.searchPoint, top)) {
        issues.add(
          fieldPath(['spec', 'search', 'parameters', top]),
          `${e.message} (trial ${plan.trial}: ${pointText(plan.searchPoint)})`,
        );
      } else {
        const where = e.code === 'custom' && searched ? ` (trial ${plan.trial}: ${pointText(plan.searchPoint)})` : '';
        issues.add(fieldPath(['spec', 'variants', i, 'params', ...e.path]), `${e.message}${where}`);
      }
    }
  }
  return issues.list;
}
