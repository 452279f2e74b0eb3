import { z } from 'zod';

/**
 * A launch: one run of a trial the coordinator started. Every launch gets the next `seq` and a
 * fresh random `nonce` (32 random bytes, base64url), recorded under {@link launchKey} in the
 * coordinator's KV bucket *before* the run starts and handed to the trainer in its TrialSpec (never
 * on a subject anyone else can read). The trainer copies it into every event; the evaluator and the
 * coordinator accept a trainer's event only when it names the trial's current launch — an event for
 * a trial the coordinator did not launch, from an earlier launch, or with another nonce is dropped
 * and counted (`fersweep_*_events_rejected_total`).
 */
export const TrialLaunch = z
  .object({
    seq: z.number().int().min(1),
    nonce: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, 'base64url, 16 to 128 characters'),
  })
  .strict();
export type TrialLaunch = z.infer<typeof TrialLaunch>;

/** What the coordinator records per trial under {@link launchKey}: its current launch. */
export const LaunchRecord = TrialLaunch.extend({ launchedAt: z.string().datetime() }).strict();
export type LaunchRecord = z.infer<typeof LaunchRecord>;

/** The coordinator's KV bucket (JetStream KV `KV_fersweep-coordinator`). */
export const COORDINATOR_BUCKET = 'fersweep-coordinator';

/** KV key of a trial's current launch in {@link COORDINATOR_BUCKET}. */
export const launchKey = (sweep: string, trial: string) => `launches.${sweep}.${trial}`;

/** Why an event was refused by {@link checkLaunch}. */
export type LaunchRejection = 'UnknownTrial' | 'MissingLaunch' | 'StaleLaunch' | 'ForgedLaunch';
