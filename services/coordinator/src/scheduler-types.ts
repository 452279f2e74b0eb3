/** The scheduler's dependencies and the shapes its API takes and returns (scheduler.ts). */
import type { ModelParamSchemas } from '@fersweep/contracts';
import type { Bus } from '@fersweep/messaging';
import type { Logger } from '@fersweep/observability';
import type { ObjectStore } from '@fersweep/storage';
import type { Launcher } from './launchers/types.js';
import type { SweepRecord, SweepState, TrialRecord } from './state.js';
import type { Admission } from './tenancy/admission.js';

export interface SchedulerDeps {
  state: SweepState;
  launcher: Launcher;
  /** The artifact root (FERSWEEP_STORE): trials write under sweeps/<id>/ there. */
  store: ObjectStore;
  logger: Logger;
  /** Trial events (to show last-epoch metrics and model URLs in sweep status). */
  bus?: Bus;
  maxTrials: number;
  /**
   * Params schemas per model that submissions are checked against. Default: the model registry's
   * (`MODEL_PARAMS`); tests whose stand-in trainer takes other params give their own.
   */
  models?: ModelParamSchemas;
  /** Delay before a sweep whose launch failed is scheduled again (default 5 s). */
  launchRetryMs?: number;
  /** Turns a spec's dataset URL into one a trainer can open (e.g. resolves relative file:// paths). */
  resolveDataset?: (url: string) => string;
  /** Deletes a purged sweep's events from the trial stream (NATS). */
  purgeEvents?: (sweep: string) => Promise<void>;
  /** Called for each trial event dropped because it does not carry the trial's current launch (metric). */
  onRejectedEvent?: (reason: string) => void;
  /**
   * The policy check of a submission (tenancy/policy.ts), after the schema's: throws PolicyError.
   * Default: the baseline rules only, file:// datasets allowed with the local launcher.
   */
  admission?: Admission;
}

export interface SubmitOptions {
  idempotencyKey?: string;
  /** The submitting tenant: the sweep's id is `<name>--<tenant>` (the bare name for the default tenant). */
  tenant?: string;
}

export interface SubmitResult {
  sweep: SweepRecord;
  trials: TrialRecord[];
  created: boolean;
}

/** Canonical JSON (sorted keys) so that equal specs hash equally whatever their key order. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
