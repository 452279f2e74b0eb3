import {
  checkSweepValues,
  checkTrialParams,
  countTrials,
  expandTrials,
  specIssues,
  SweepSpec,
  type ModelParamSchemas,
  type SpecIssue,
  type TrialPlan,
} from '@fersweep/contracts';
import { MODEL_PARAMS } from '@fersweep/models/params';
import { SweepError } from './errors.js';

function invalid(issues: readonly SpecIssue[]): SweepError {
  const first = issues[0] ?? { field: '(root)', message: 'invalid sweep spec' };
  const detail =
    issues.length > 1
      ? `${issues.length} problems: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`
      : `${first.field}: ${first.message}`;
  return new SweepError('InvalidSpec', detail, first.field, issues);
}

/**
 * A submitted sweep, checked completely before anything is stored or started: the SweepSpec schema;
 * every variant's model and every search value against the model registry's param schemas
 * (`@fersweep/models/params`, no TensorFlow.js), value by value; the trial count against `maxTrials`
 * (counted, not expanded); then each trial's params as a whole (rules between fields). Returns
 * the spec and its trials; throws SweepError 'InvalidSpec' (with every issue) or 'TooManyTrials'.
 * `models` replaces the registry's schemas (tests whose stand-in trainer takes other params).
 */
export function validateSweep(
  input: unknown,
  maxTrials: number,
  models: ModelParamSchemas = MODEL_PARAMS,
): { spec: SweepSpec; plans: TrialPlan[] } {
  const parsed = SweepSpec.safeParse(input);
  if (!parsed.success) throw invalid(specIssues(parsed.error));
  const spec = parsed.data;
  const valueIssues = checkSweepValues(spec, models);
  if (valueIssues.length > 0) throw invalid(valueIssues);
  const n = countTrials(spec);
  if (n > maxTrials) {
    throw new SweepError(
      'TooManyTrials',
      `the sweep expands to ${n} trials, more than the ${maxTrials} allowed (FERSWEEP_MAX_TRIALS)`,
      'spec.search',
    );
  }
  const plans = expandTrials(spec, { maxTrials });
  const issues = checkTrialParams(spec, models, plans);
  if (issues.length > 0) throw invalid(issues);
  return { spec, plans };
}
