import {
  replicateSeed,
  SEARCH_TRIAL_FIELDS,
  selectionRuleOf,
  spaceOf,
  TrialSpec,
  type ModelParamSchemas,
  type SelectionMetric,
  type SweepSpec,
} from '@fersweep/contracts';
import { MODEL_PARAMS } from '@fersweep/models/params';
import { TpeSampler, type Observation, type Point } from '@fersweep/search';
import { TERMINAL_TRIAL, type SweepState, type TrialRecord } from './state.js';

/** A TPE trial whose point is still to be suggested (it is, just before its launch). */
export function needsSuggestion(t: TrialRecord): boolean {
  return t.search !== undefined && t.search.point === undefined;
}

/**
 * How many configurations of a variant are suggested without waiting for each other's results:
 * the configurations that can run at once, ⌈parallelism / replicates⌉. Configuration k's history is
 * exactly the configurations below k − window (all ended: k waits for them) plus the `window`
 * before it as pending points (constant liar) — so a suggestion depends only on the seed and the
 * results, never on which trial happened to finish first, and a sweep is reproducible at any
 * parallelism.
 */
export function suggestionWindow(spec: SweepSpec): number {
  return Math.max(1, Math.ceil(spec.spec.parallelism / (spec.spec.replicates ?? 1)));
}

/** The sampler of a TPE sweep: Optuna 3.1's defaults, constant liar on, seeded by search.seed ?? seed. */
export function samplerOf(spec: SweepSpec): TpeSampler {
  const search = spec.spec.search!;
  return new TpeSampler(spaceOf(search.parameters), {
    // One seed for every variant (common random numbers): the variants' start-up points are the
    // same, so their bests differ by the variant, not by a luckier draw.
    seed: search.seed ?? spec.spec.seed,
    direction: selectionRuleOf(spec.spec).mode === 'max' ? 'maximize' : 'minimize',
    nStartupTrials: search.startupTrials ?? 10,
    multivariate: search.multivariate ?? false,
    constantLiar: true,
  });
}

/** How long a succeeded trial's `trial.completed` is waited for before its results count as they are. */
export const COMPLETED_GRACE_MS = 10_000;

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * One configuration's replicates as the sampler sees them (all ended): pruned when the sweep's
 * scheduler stopped one (step: the earliest last epoch; value: the replicates' mean at their last
 * epochs, as Optuna ranks a pruned trial by its last intermediate value); complete with the mean of
 * the objective (each replicate's best validation value) over its succeeded replicates; failed
 * (ignored) when none succeeded. `undefined` while a succeeded replicate's `trial.completed` has not
 * arrived (its last epochs may still be on the way) — for at most COMPLETED_GRACE_MS after it ended.
 */
function observe(
  k: number,
  point: Point,
  runs: readonly TrialRecord[],
  metric: SelectionMetric,
  events: boolean,
  now: number,
): Observation | undefined {
  const stopped = runs.filter((t) => t.phase === 'Stopped');
  if (stopped.length > 0) {
    const last = runs.flatMap((t) => (t.lastEpoch ? [t.lastEpoch] : []));
    return {
      trial: k,
      params: point,
      state: 'pruned',
      step: Math.min(...last.map((e) => e.epoch)),
      value: mean(last.map((e) => e[metric])),
    };
  }
  const succeeded = runs.filter((t) => t.phase === 'Succeeded');
  // Events lost with an in-process bus (embedded mode, restarted) never come: wait a grace, no longer.
  const recent = (t: TrialRecord) => !t.finishedAt || now - Date.parse(t.finishedAt) < COMPLETED_GRACE_MS;
  if (events && succeeded.some((t) => t.bestEpoch === undefined && recent(t))) return undefined;
  const values = succeeded.flatMap((t) => (t.bestVal ? [t.bestVal[metric].value] : []));
  if (values.length === 0) return { trial: k, params: point, state: 'failed' };
  return { trial: k, params: point, state: 'complete', value: mean(values) };
}

/**
 * The history TPE suggests configuration k of a variant from (its trials: `variantTrials`), or
 * undefined when k must wait (a configuration below the window has not ended). `events`: the
 * coordinator follows trial events (a succeeded trial then waits for its `trial.completed`).
 */
export function tpeHistory(
  spec: SweepSpec,
  variantTrials: readonly TrialRecord[],
  k: number,
  events: boolean,
  now = Date.now(),
): Observation[] | undefined {
  const window = suggestionWindow(spec);
  // The report's selection rule: search.metric, else the scheduler's, else valAccuracy (max).
  const metric = selectionRuleOf(spec.spec).metric;
  const byConfig = new Map<number, TrialRecord[]>();
  for (const t of variantTrials) {
    const j = t.search?.configuration;
    if (j === undefined || j >= k) continue;
    byConfig.set(j, [...(byConfig.get(j) ?? []), t]);
  }
  const history: Observation[] = [];
  for (let j = 0; j < k; j++) {
    const runs = byConfig.get(j) ?? [];
    const point = runs[0]?.search?.point;
    if (!point) return undefined;
    if (j >= k - window) {
      history.push({ trial: j, params: point, state: 'running' });
      continue;
    }
    if (!runs.every((t) => TERMINAL_TRIAL.includes(t.phase))) return undefined;
    const o = observe(j, point, runs, metric, events, now);
    if (!o) return undefined;
    history.push(o);
  }
  return history;
}

/** A trial's spec with a search point applied: model params, or its own fields (a `seed` point keeps replicates apart). */
export function withPoint(spec: TrialSpec, point: Point): TrialSpec {
  const params = { ...spec.params };
  const own: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(point)) {
    if (!SEARCH_TRIAL_FIELDS.has(name)) params[name] = value;
    else own[name] = name === 'seed' ? replicateSeed(value as number, spec.replicate ?? 0) : value;
  }
  return TrialSpec.parse({ ...spec, ...own, params });
}

/**
 * Suggests and stores the point of the configuration trial `trials[i]` belongs to (every replicate
 * of it), before any of them launches; `trials` (the sweep's records, as `schedule` read them) is
 * updated in place. False when the configuration must wait for earlier results. A point the model's
 * params schema refuses as a whole (a rule between params) fails that configuration's trials with
 * the schema's message — the sampler then skips it, as Optuna skips failed trials.
 */
export async function suggestConfiguration(
  deps: {
    state: Pick<SweepState, 'updateTrial'>;
    events: boolean;
    checkParams?: (model: string, params: Record<string, unknown>) => string | undefined;
  },
  spec: SweepSpec,
  trials: TrialRecord[],
  i: number,
): Promise<boolean> {
  const t = trials[i]!;
  const k = t.search!.configuration;
  const variant = trials.filter((r) => r.variant === t.variant);
  const history = tpeHistory(spec, variant, k, deps.events);
  if (!history) return false;
  const point = samplerOf(spec).suggest(k, history);
  const now = new Date().toISOString();
  for (const [j, r] of trials.entries()) {
    if (r.variant !== t.variant || r.search?.configuration !== k) continue;
    const next = withPoint(r.spec, point);
    const refused = deps.checkParams?.(next.model, next.params);
    const updated = await deps.state.updateTrial(r.sweep, r.trial, (cur) =>
      cur.search?.point
        ? undefined // already suggested (stored before a restart): kept as it is
        : {
            ...cur,
            spec: next,
            search: { ...cur.search!, point, suggestedAt: now },
            ...(refused && cur.phase === 'Pending'
              ? { phase: 'Failed' as const, message: `InvalidParams: ${refused}`, finishedAt: now }
              : {}),
          },
    );
    trials[j] = updated ?? r;
  }
  return true;
}

/** The params check of suggested points: the model's params schema as a whole (the registry's by default). */
export function tpeParamsCheck(
  models: ModelParamSchemas = MODEL_PARAMS,
): (model: string, params: Record<string, unknown>) => string | undefined {
  return (model, params) => {
    const schema = Object.hasOwn(models, model) ? models[model] : undefined;
    const r = schema?.safeParse(params);
    if (!r || r.success) return undefined;
    return r.error.issues.map((e) => `${e.path.join('.') || 'params'}: ${e.message}`).join('; ');
  };
}

/** The scheduler's TPE side: suggestions, and which sweeps have a configuration waiting for results. */
export class SweepSearch {
  /** Sweeps whose next TPE configuration waits for results: a `trial.completed` schedules them again. */
  readonly waiting = new Set<string>();

  constructor(private readonly deps: Parameters<typeof suggestConfiguration>[0]) {}

  /** {@link suggestConfiguration}, remembering a sweep that must wait. */
  async suggest(spec: SweepSpec, trials: TrialRecord[], i: number): Promise<boolean> {
    const ready = await suggestConfiguration(this.deps, spec, trials, i);
    if (!ready) this.waiting.add(spec.metadata.name);
    return ready;
  }
}
