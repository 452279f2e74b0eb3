import { maxSweepNameLength, sweepIdFor, TENANT_SEPARATOR, type SweepSpec } from '@fersweep/contracts';
import { SweepError } from '../errors.js';
import { admit, type Policy } from './policy.js';

/** The policy check of a submission: throws PolicyError (403/422) naming the field and the rule. */
export type Admission = (spec: SweepSpec, tenant: string) => void;

/** The baseline only (no tenant policy): what embedded mode and an install without policy get. */
export function defaultAdmission(embedded: boolean): Admission {
  return (spec, tenant) => admit(spec, { tenant, embedded, policy: {} });
}

/** Admission with each tenant's policy (its fields over the cluster defaults). */
export function policyAdmission(embedded: boolean, policyFor: (tenant: string) => Policy): Admission {
  return (spec, tenant) => admit(spec, { tenant, embedded, policy: policyFor(tenant) });
}

/**
 * The id of tenant's sweep `name`, or SweepError 'InvalidSpec' for a name that cannot be one: `--`
 * separates name and tenant in ids, and the id must stay a 63-character label.
 */
export function checkSweepName(name: string, tenant: string): string {
  if (name.includes(TENANT_SEPARATOR))
    throw new SweepError(
      'InvalidSpec',
      `metadata.name: '--' is reserved (it separates a sweep's name from its tenant in ids): use a single '-'`,
      'metadata.name',
      [{ field: 'metadata.name', message: "'--' is reserved: use a single '-'" }],
    );
  const max = maxSweepNameLength(tenant);
  if (name.length > max)
    throw new SweepError(
      'InvalidSpec',
      `metadata.name: tenant '${tenant}' names sweeps with at most ${max} characters`,
      'metadata.name',
      [{ field: 'metadata.name', message: `at most ${max} characters for tenant '${tenant}'` }],
    );
  return sweepIdFor(tenant, name);
}
