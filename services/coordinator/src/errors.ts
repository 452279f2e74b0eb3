import type { SpecIssue } from '@fersweep/contracts';

/** A request the coordinator refuses, with a stable code for the API's problem+json. */
export class SweepError extends Error {
  override readonly name = 'SweepError';
  constructor(
    readonly code: 'InvalidSpec' | 'TooManyTrials' | 'Conflict' | 'NotFound',
    message: string,
    /** The first offending field (`spec.variants[1].params.alpha`). */
    readonly field?: string,
    /** Every problem found ('InvalidSpec'), each with its field. */
    readonly issues: readonly SpecIssue[] = [],
  ) {
    super(message);
  }
}
