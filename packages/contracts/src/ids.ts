import { z } from 'zod';
import { NAME_PATTERN } from './keys.js';

/**
 * Sweep and trial ids are DNS-1123 labels (lowercase alphanumerics and '-', ≤ 63 chars): they name
 * Kubernetes Jobs, object-store keys and NATS subjects, so anything else is refused at the boundary.
 */
const Dns1123 = z
  .string()
  .regex(NAME_PATTERN, "must be lowercase letters, digits and '-', start and end alphanumeric, at most 63 characters");

export const SweepId = Dns1123.brand<'SweepId'>();
export type SweepId = z.infer<typeof SweepId>;
export const TrialId = Dns1123.brand<'TrialId'>();
export type TrialId = z.infer<typeof TrialId>;
