import type { CoordinatorConfig } from '../config.js';

/**
 * The environment the local launcher picks trainer variables from, with NATS: the server URL
 * without any user info (the coordinator's own credentials may be in it), and the trainers' user
 * (FERSWEEP_TRAINER_NATS_USER / _PASSWORD) as NATS_USER / NATS_PASSWORD — or none at all. The
 * coordinator's NATS_USER / NATS_PASSWORD never reach a trainer.
 */
export function localTrainerEnv(source: NodeJS.ProcessEnv, config: CoordinatorConfig): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...source, NATS_USER: undefined, NATS_PASSWORD: undefined };
  if (!config.NATS_URL) return env;
  env.NATS_URL = config.NATS_URL.split(',')
    .map((u) => u.trim().replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1'))
    .join(',');
  if (config.FERSWEEP_TRAINER_NATS_USER) {
    env.NATS_USER = config.FERSWEEP_TRAINER_NATS_USER;
    env.NATS_PASSWORD = config.FERSWEEP_TRAINER_NATS_PASSWORD ?? '';
  }
  return env;
}
