import { usableCores } from '@fersweep/observability';
import { SpecError } from '../errors.js';

/** Caps the trainer's data-parallel threads; 1 trains on the main thread alone, as before data parallelism. */
export const TRAIN_THREADS_ENV = 'FERSWEEP_TRAIN_THREADS';

/**
 * How many data-parallel replicas a trial trains with: the cores this process may use (cgroup CPU quota,
 * else `os.availableParallelism()`), capped by FERSWEEP_TRAIN_THREADS. Always 1 on tfjs-node/-gpu
 * ('tensorflow'), which thread inside libtensorflow. A FERSWEEP_TRAIN_THREADS that is not a positive
 * integer is an error naming it.
 */
export function trainThreads(
  env: NodeJS.ProcessEnv,
  backend: 'tensorflow' | 'wasm' | 'cpu',
  cores: number = usableCores(),
): number {
  const raw = env[TRAIN_THREADS_ENV]?.trim();
  let cap = Infinity;
  if (raw !== undefined && raw !== '') {
    cap = Number(raw);
    if (!Number.isSafeInteger(cap) || cap < 1)
      throw new SpecError(
        `${TRAIN_THREADS_ENV}='${raw}' is not a positive integer: set it to 1, 2, … or leave it unset`,
      );
  }
  if (backend === 'tensorflow') return 1;
  return Math.max(1, Math.min(cores, cap));
}

/**
 * Fewest images a replica trains on per full batch: BatchNorm normalises each shard with its own statistics,
 * which get noisy below this (and degenerate at 1 image), and small shards cost more per image.
 */
export const MIN_SHARD_IMAGES = 8;

/** At most ⌊batchSize / MIN_SHARD_IMAGES⌋ replicas (at least 1): batch 64 trains on up to 8 threads. */
export function shardLimit(batchSize: number): number {
  return Math.max(1, Math.floor(batchSize / MIN_SHARD_IMAGES));
}
