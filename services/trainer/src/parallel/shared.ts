/**
 * The shared memory of data-parallel training: one control block of Int32 slots (step counter, done
 * counter, barrier, abort flag), the step's parameters, each replica's results, the batch's pixels and
 * labels, and the gradients (one slot per replica plus the reduced sum). Everything on the per-step hot
 * path goes through these SharedArrayBuffers and Atomics: no message is posted per step.
 */
import { xoroshiro128plus } from 'pure-rand';
import { Random } from '@fersweep/dataset';

/** Int32 slots of the control block. */
export const Ctl = {
  /** Bumped by the main thread to start a step. */
  step: 0,
  /** Replicas done with the current step. */
  done: 1,
  /** Replicas arrived at the current barrier. */
  arrived: 2,
  /** Barrier generation: bumped when the last replica arrives. */
  generation: 3,
  /** Non-zero once a replica failed: everyone leaves its barrier and the step fails. */
  abort: 4,
  length: 8,
} as const;

/** Float64 slots of the step's parameters (written by the main thread before it bumps Ctl.step). */
export const Param = {
  learningRate: 0,
  /** Images in the whole batch. */
  size: 1,
  /** 0-based epoch and batch index: the per-shard dropout stream is keyed by them. */
  epoch: 2,
  batch: 3,
  /** 1: compute and report a checksum of the weights after this step. */
  checksum: 4,
  length: 8,
} as const;

/** Float64 slots of one replica's results (stride Result.length). */
export const Result = {
  loss: 0,
  accuracy: 1,
  /** tf.memory().numTensors after the step: leak checks. */
  tensors: 2,
  /** First 48 bits of the sha256 of the trainable weights (and the optimizer state, unless sharded), when asked for. */
  checksum: 3,
  length: 8,
} as const;

/** The buffers every replica receives at start-up. */
export interface SharedBuffers {
  control: SharedArrayBuffer;
  params: SharedArrayBuffer;
  results: SharedArrayBuffer;
  /** batchSize × height × width × channels float32. */
  pixels: SharedArrayBuffer;
  /** batchSize class indices. */
  labels: SharedArrayBuffer;
  /** Each replica's dropout stream for the step: a 4 × int32 xoroshiro128+ state. */
  streams: SharedArrayBuffer;
}

export function allocateShared(replicas: number, batchSize: number, pixelsPerImage: number): SharedBuffers {
  return {
    control: new SharedArrayBuffer(Ctl.length * 4),
    params: new SharedArrayBuffer(Param.length * 8),
    results: new SharedArrayBuffer(replicas * Result.length * 8),
    pixels: new SharedArrayBuffer(batchSize * pixelsPerImage * 4),
    labels: new SharedArrayBuffer(batchSize),
    streams: new SharedArrayBuffer(replicas * 4 * 4),
  };
}

/** Gradient buffer for `parameters` trainable floats: `replicas` slots, then the reduced one. */
export function allocateGradients(replicas: number, parameters: number): SharedArrayBuffer {
  return new SharedArrayBuffer((replicas + 1) * parameters * 4);
}

/** Images [begin, end) of a batch of `size` that replica `index` of `replicas` trains on. */
export function shardRange(size: number, index: number, replicas: number): [number, number] {
  return [Math.floor((index * size) / replicas), Math.floor(((index + 1) * size) / replicas)];
}

/**
 * What a variable costs a sharded optimizer step besides its parameters, in parameters (a heap buffer, a kernel
 * call, bookkeeping for each). MobileNetV2 α1.0's per-phase timers on a 2-vCPU EPYC fit ≈ 20 µs per variable and
 * ≈ 2.3 ns per parameter (≈ 9,000). With captured steps (per step, N = 2, two runs each), α1.0's sum-and-update
 * phase took 5.0–5.3 ms in replica 0 and 3.2–3.3 in replica 1 with 3,000 (replica 1 then waited 1.9–2.2 ms at the
 * second barrier) and 3.8–4.0 in both with 10,000; α0.35's 1.5–1.7 / 1.4–1.5 with 3,000, 1.2 / 1.65 with 10,000.
 * 8,000 splits both models as 10,000 does within 5,000 parameters.
 */
export const VARIABLE_COST_PARAMETERS = 8000;

/**
 * The parameter offsets [first, end) each of `replicas` replicas owns in a sharded step: contiguous runs of
 * whole variables (`sizes`, in slot order) whose largest cost (parameters + {@link VARIABLE_COST_PARAMETERS} per
 * variable) is the least any such split allows (binary search on that cost, packing greedily). Cutting at the
 * first variable after each 1/N of the parameters gave replica 0 of CNN width 1.0 78% of them (its 2.4 M-parameter
 * kernel straddles the half), and the other replica waited for it every step. Later replicas may own nothing
 * ([o, o]) where a few variables hold most of the cost.
 */
export function ownedRanges(sizes: readonly number[], replicas: number): [number, number][] {
  const costs = sizes.map((s) => s + VARIABLE_COST_PARAMETERS);
  const parts = (limit: number): number => {
    let count = 1;
    let sum = 0;
    for (const c of costs) {
      if (sum + c > limit) {
        count++;
        sum = 0;
      }
      sum += c;
    }
    return count;
  };
  let lo = Math.max(0, ...costs);
  let hi = costs.reduce((a, b) => a + b, lo);
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (parts(mid) <= replicas) hi = mid;
    else lo = mid + 1;
  }
  const ranges: [number, number][] = [];
  let first = 0;
  let offset = 0;
  let sum = 0;
  sizes.forEach((size, i) => {
    if (sum + costs[i]! > lo) {
      ranges.push([first, offset]);
      first = offset;
      sum = 0;
    }
    sum += costs[i]!;
    offset += size;
  });
  ranges.push([first, offset]);
  while (ranges.length < replicas) ranges.push([offset, offset]);
  return ranges;
}

/** Thrown in a replica whose barrier was broken by another replica's failure. */
export class ReplicaAbortedError extends Error {
  override readonly name = 'ReplicaAbortedError';
}

/**
 * A reusable barrier for `parties` replicas (generation counting). Blocks with Atomics.wait, so only
 * worker threads call it; leaves with ReplicaAbortedError when Ctl.abort is set.
 */
export function barrier(control: Int32Array, parties: number): void {
  const generation = Atomics.load(control, Ctl.generation);
  if (Atomics.add(control, Ctl.arrived, 1) === parties - 1) {
    Atomics.store(control, Ctl.arrived, 0);
    Atomics.add(control, Ctl.generation, 1);
    Atomics.notify(control, Ctl.generation);
    return;
  }
  while (Atomics.load(control, Ctl.generation) === generation) {
    if (Atomics.load(control, Ctl.abort) !== 0) throw new ReplicaAbortedError('another replica failed');
    Atomics.wait(control, Ctl.generation, generation, 250);
  }
}

/** `Atomics.waitAsync` (ES2024; Node ≥ 16), which the ES2023 lib does not declare. */
type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeout?: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };

/**
 * Resolves once `control[index]` differs from `value` (or `stop()` says so), without blocking the event
 * loop: the main thread keeps serving SIGTERM, NATS pings and IPC while replicas compute.
 */
export async function waitChange(
  control: Int32Array,
  index: number,
  value: number,
  stop: () => boolean = () => false,
): Promise<void> {
  const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
  while (Atomics.load(control, index) === value && !stop()) {
    const r = waitAsync(control, index, value, 1000);
    if (r.async) await r.value;
  }
}

/**
 * tfjs draws dropout masks from Math.random. Each replica's stream for a step is keyed by (seed, epoch, batch,
 * replica), so a seed and a thread count give the same masks; one thread uses replica 0's.
 */
export function dropoutState(seed: number, epoch: number, batch: number, replica: number): number[] {
  return Random.keyed(seed, epoch, batch, replica, 0x0d20).state();
}

/** A Math.random drawing from a {@link dropoutState}. */
export function mathRandomFrom(state: ArrayLike<number>): () => number {
  const rng = xoroshiro128plus.fromState(Array.from(state));
  return () => (rng.unsafeNext() >>> 0) / 4294967296;
}
