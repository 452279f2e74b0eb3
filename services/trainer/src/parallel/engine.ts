/**
 * Synchronous data-parallel training in one process: N worker threads ({@link Replica}), each with the
 * model on its own wasm (or cpu) backend, each training on 1/N of every batch; their gradients are reduced
 * in shared memory and every replica applies the same update. The main thread keeps the master model (the
 * one checkpoints, evaluation, precise BatchNorm and the saved model read): it pushes it to the replicas
 * when they have none or its trainable set changed (fine-tuning), and pulls their weights and optimizer
 * state back before anyone reads it ({@link DataParallel.sync}).
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { artifactsFromModel, captureEnabled, type BatchNormMoments } from '@fersweep/models';
import type { BatchEvaluator } from '../forward.js';
import type { Logger } from '@fersweep/observability';
import type { FromReplica, ReplicaInit, ReplicaState, ToReplica } from './replica.js';
import {
  allocateGradients,
  allocateShared,
  Ctl,
  dropoutState,
  Param,
  Result,
  shardRange,
  waitChange,
  type SharedBuffers,
} from './shared.js';

/** Replicas whose weights differ: a bug in the reduction, never expected; the trial fails rather than train on. */
export class ReplicaDivergedError extends Error {
  override readonly name = 'ReplicaDivergedError';
}

export interface DataParallelOptions {
  replicas: number;
  backend: 'wasm' | 'cpu';
  /** The trial's seed: each replica's dropout stream is keyed by (seed, epoch, batch, replica). */
  seed: number;
  /** The largest batch a step gets. */
  batchSize: number;
  input: { height: number; width: number; channels: number; numClasses: number };
  logger?: Logger;
  /** Compare a checksum of every replica's weights every K steps (0: only at each sync). */
  checksumEvery?: number;
  /** The worker script (default: parallel/worker.js beside this module). */
  workerUrl?: URL;
  /** Replicas capture their training step (CapturedTraining). Default: on unless FERSWEEP_CAPTURE_STEP=0. */
  capture?: boolean;
}

/**
 * Replicas that train at most this many images per step get a young generation of
 * {@link SMALL_SHARD_YOUNG_GENERATION_MB} instead of V8's 48 MiB. A step's garbage is its tape (tensors, tape
 * nodes, closures: about a megabyte that is still alive when a scavenge comes mid-step, 5–9 ms to copy), and it
 * is the same whatever the shard's size, so its share grows as shards shrink. Measured at N = 2 with trainOnBatch
 * (bench/RESULTS.md, scaling; a captured step makes a third of that garbage and keeps no tape): MobileNetV2 α0.35
 * with 4 images per replica +13–32% img/s, 8 images +9–11%, 16 images 1–8%, 32
 * images within noise; CNN width 0.25 with 4 images +4–11%; about +90 MiB of peak RSS per replica.
 */
export const SMALL_SHARD_IMAGES = 16;
export const SMALL_SHARD_YOUNG_GENERATION_MB = 192;

/**
 * How long the main thread blocks (Atomics.wait) for the last replicas of a step once the first is done, before
 * it waits without blocking again: a blocked thread wakes when the last one counts itself done, a promise
 * callback one event-loop turn later. With the replicas' own blocking wait for the next step (replica.ts), a
 * replica's wait between steps fell from 1.1–1.4 to 0.66–1.0 ms at N = 2 (MobileNetV2 α0.35).
 */
const LAST_REPLICAS_BLOCKING_MS = 5;

/** The V8 limits of each replica's thread for a step of `batchSize` images over `replicas` (see SMALL_SHARD_IMAGES). */
export function replicaResourceLimits(batchSize: number, replicas: number): ResourceLimits {
  return Math.ceil(batchSize / replicas) <= SMALL_SHARD_IMAGES
    ? { maxYoungGenerationSizeMb: SMALL_SHARD_YOUNG_GENERATION_MB }
    : {};
}

/** One batch as epochBatches yields it. */
export interface StepBatch {
  xs: Float32Array;
  labels: Uint8Array;
  size: number;
  index: number;
}

/** parallel/worker.js beside this module; under jest (TypeScript from src/) the compiled one in dist/. */
export function defaultWorkerUrl(): URL {
  const here = new URL('./worker.js', import.meta.url);
  return here.pathname.includes('/src/parallel/')
    ? new URL(here.href.replace('/src/parallel/', '/dist/parallel/'))
    : here;
}

/** The variables trainOnBatch differentiates (tfjs-layers' protected collectedTrainableWeights), in order. */
function trainedVariables(model: tf.LayersModel): { name: string; size: number }[] {
  const collected = (model as unknown as { collectedTrainableWeights?: tf.LayerVariable[] }).collectedTrainableWeights;
  return (collected ?? model.trainableWeights).map((w) => ({ name: w.originalName, size: w.read().size }));
}

/** The trained variables' names and sizes: replicas load the model again when they change (fine-tuning). */
function fingerprintOf(model: tf.LayersModel): string {
  return trainedVariables(model)
    .map((v) => `${v.name}:${v.size}`)
    .join(',');
}

class Handle {
  pending: { resolve: (m: FromReplica) => void; reject: (e: Error) => void } | undefined;
  constructor(readonly worker: Worker) {}

  request(message: ToReplica | undefined): Promise<FromReplica> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      if (message) this.worker.postMessage(message);
    });
  }
}

export class DataParallel {
  private readonly control: Int32Array;
  private readonly params: Float64Array;
  private readonly results: Float64Array;
  private readonly pixels: Float32Array;
  private readonly labels: Uint8Array;
  private readonly streams: Int32Array;
  private failure: Error | undefined;
  private failed!: Promise<Error>;
  private onFailure!: (e: Error) => void;
  private loaded: { model: tf.LayersModel; fingerprint: string } | undefined;
  /** The replicas trained since the master model was last updated from them. */
  private stale = false;
  private steps = 0;
  /** A step was dispatched and has not finished: its shared buffers are in use. */
  private inFlight = false;
  /** close() ran: the workers' exits are expected. */
  private closing = false;
  /** tf.memory().numTensors of each replica after the latest step (leak checks). */
  readonly tensors: number[];
  /** The young generation (MiB) V8 gives each replica's thread ({@link replicaResourceLimits}), as it reported it. */
  youngGenerationMb: number | undefined;

  private constructor(
    private readonly options: DataParallelOptions,
    shared: SharedBuffers,
    private readonly handles: Handle[],
  ) {
    this.control = new Int32Array(shared.control);
    this.params = new Float64Array(shared.params);
    this.results = new Float64Array(shared.results);
    this.pixels = new Float32Array(shared.pixels);
    this.labels = new Uint8Array(shared.labels);
    this.streams = new Int32Array(shared.streams);
    this.tensors = new Array<number>(options.replicas).fill(0);
    this.failed = new Promise((resolve) => (this.onFailure = resolve));
  }

  get replicas(): number {
    return this.options.replicas;
  }

  /** Starts the worker threads and waits until each has its backend and kernels. */
  static async start(options: DataParallelOptions): Promise<DataParallel> {
    const { replicas, input } = options;
    if (!Number.isInteger(replicas) || replicas < 2)
      throw new Error(`data-parallel training needs ≥ 2 replicas, got ${replicas}`);
    const shared = allocateShared(replicas, options.batchSize, input.height * input.width * input.channels);
    const url = options.workerUrl ?? defaultWorkerUrl();
    const resourceLimits = replicaResourceLimits(options.batchSize, replicas);
    const handles = Array.from({ length: replicas }, (_, index) => {
      const init: ReplicaInit = {
        index,
        replicas,
        backend: options.backend,
        input,
        shared,
        capture: options.capture ?? captureEnabled(),
      };
      return new Handle(new Worker(url, { workerData: init, stdout: false, stderr: false, resourceLimits }));
    });
    const dp = new DataParallel(options, shared, handles);
    const ready = handles.map((h, i) => {
      const first = h.request(undefined);
      h.worker.on('message', (m: FromReplica) => {
        if (m.type === 'failed') {
          const e = new Error(m.message);
          e.name = m.name;
          if (m.stack) e.stack = m.stack;
          dp.fail(e);
          return;
        }
        const p = h.pending;
        h.pending = undefined;
        p?.resolve(m);
      });
      h.worker.on('error', (e) => dp.fail(e));
      h.worker.on('exit', (code) => dp.fail(new Error(`data-parallel worker ${i} exited (code ${code})`)));
      return first;
    });
    try {
      const [first] = await Promise.all(ready);
      if (first?.type === 'ready') dp.youngGenerationMb = first.youngGenerationMb;
      options.logger?.info('data-parallel training', {
        threads: replicas,
        device: first?.type === 'ready' ? first.device : undefined,
        youngGenerationMb: dp.youngGenerationMb,
      });
    } catch (err) {
      await dp.close();
      throw err;
    }
    return dp;
  }

  /** The first failure of any replica: aborts the step in flight and every later call. */
  private fail(e: Error): void {
    if (this.closing) return;
    this.failure ??= e;
    this.onFailure(this.failure);
    Atomics.store(this.control, Ctl.abort, 1);
    Atomics.notify(this.control, Ctl.generation);
    Atomics.notify(this.control, Ctl.done);
    for (const h of this.handles) {
      const p = h.pending;
      h.pending = undefined;
      p?.reject(this.failure);
    }
  }

  /** Sends the master model (weights and optimizer state) to every replica, unless they already train it. */
  private async ensureLoaded(model: tf.LayersModel): Promise<void> {
    if (this.holds(model)) return;
    const trained = trainedVariables(model);
    const fingerprint = fingerprintOf(model);
    const parameters = trained.reduce((a, v) => a + v.size, 0);
    const artifacts = await artifactsFromModel(model, { includeOptimizer: true });
    const weightData = tf.io.CompositeArrayBuffer.join(artifacts.weightData!);
    const gradients = allocateGradients(this.replicas, parameters);
    const payload = {
      modelTopology: artifacts.modelTopology,
      weightSpecs: artifacts.weightSpecs!,
      weightData,
      ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
    };
    await Promise.all(this.handles.map((h) => h.request({ type: 'load', model: payload, gradients, parameters })));
    this.loaded = { model, fingerprint };
    this.stale = false;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /**
   * One synchronous step on `batch`: each replica trains its shard, the gradients are summed and applied in
   * every replica. Resolves with the batch's mean loss and accuracy (as trainOnBatch on the whole batch would).
   * The batch is taken (copied to shared memory, the step started, unless the model must first be sent to the
   * replicas) before this returns: the caller may prepare the next batch (augmentation) while the replicas
   * compute, and may reuse `batch`'s buffers at once. One step at a time: await it before the next.
   */
  trainBatch(model: tf.LayersModel, batch: StepBatch, epoch: number): Promise<[number, number]> {
    try {
      this.throwIfFailed();
      if (!this.holds(model)) {
        // The model goes to the replicas first (rare: the first step, fine-tuning): keep the batch meanwhile.
        const own = { ...batch, xs: batch.xs.slice(), labels: batch.labels.slice() };
        return this.ensureLoaded(model).then(() => this.trainBatch(model, own, epoch));
      }
      // The step stays in flight until its promise settles, even when the replicas were done before finish looked
      // (a descheduled main thread): a second trainBatch before the caller awaits the first is always refused.
      const size = this.dispatch(model, batch, epoch);
      return this.finish(size, batch, epoch).finally(() => {
        this.inFlight = false;
      });
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** Whether the replicas train `model` with its current trainable set. */
  private holds(model: tf.LayersModel): boolean {
    return this.loaded?.model === model && this.loaded.fingerprint === fingerprintOf(model);
  }

  /** Writes the step's batch and parameters to shared memory and starts the replicas; returns the step's size. */
  private dispatch(model: tf.LayersModel, batch: StepBatch, epoch: number): number {
    const n = this.replicas;
    if (this.inFlight)
      throw new Error('data-parallel step started while the previous one runs: await trainBatch first');
    if (batch.size > this.options.batchSize || batch.size < 1)
      throw new Error(`batch of ${batch.size} images: data-parallel steps take 1…${this.options.batchSize}`);
    this.pixels.set(batch.xs);
    this.labels.set(batch.labels);
    const every = this.options.checksumEvery ?? 0;
    const p = this.params;
    p[Param.learningRate] = (model.optimizer as unknown as { learningRate: number }).learningRate;
    p[Param.size] = batch.size;
    p[Param.epoch] = epoch;
    p[Param.batch] = batch.index;
    for (let r = 0; r < n; r++) this.streams.set(dropoutState(this.options.seed, epoch, batch.index, r), r * 4);
    p[Param.checksum] = every > 0 && (this.steps + 1) % every === 0 ? 1 : 0;
    Atomics.store(this.control, Ctl.done, 0);
    this.stale = true;
    this.inFlight = true;
    Atomics.add(this.control, Ctl.step, 1);
    Atomics.notify(this.control, Ctl.step);
    return batch.size;
  }

  /** Waits for the replicas to finish the step started by {@link dispatch}; the batch's mean loss and accuracy. */
  private async finish(size: number, batch: { index: number }, epoch: number): Promise<[number, number]> {
    const n = this.replicas;
    const p = this.params;
    const aborted = () => Atomics.load(this.control, Ctl.abort) !== 0;
    let blockedSince: number | undefined;
    for (let done = 0; (done = Atomics.load(this.control, Ctl.done)) < n && !aborted();) {
      // Once one replica is done the others are within a millisecond or so (they leave the same barrier):
      // block for them, briefly, rather than wait for a promise callback after the last one.
      blockedSince ??= done > 0 ? performance.now() : undefined;
      if (blockedSince !== undefined && performance.now() - blockedSince < LAST_REPLICAS_BLOCKING_MS)
        Atomics.wait(this.control, Ctl.done, done, LAST_REPLICAS_BLOCKING_MS);
      else await waitChange(this.control, Ctl.done, done, aborted);
    }
    if (aborted()) throw await this.failed;
    this.steps++;
    let loss = 0;
    let accuracy = 0;
    const checksums = new Set<number>();
    for (let r = 0; r < n; r++) {
      const o = r * Result.length;
      const [begin, end] = shardRange(size, r, n);
      loss += this.results[o + Result.loss]! * (end - begin);
      accuracy += this.results[o + Result.accuracy]! * (end - begin);
      this.tensors[r] = this.results[o + Result.tensors]!;
      checksums.add(this.results[o + Result.checksum]!);
    }
    if (p[Param.checksum] && checksums.size > 1)
      throw new ReplicaDivergedError(
        `replicas' weights differ after step ${this.steps} (epoch ${epoch + 1}, batch ${batch.index})`,
      );
    return [loss / size, accuracy / size];
  }

  /**
   * Brings the master model up to date with the replicas (before a checkpoint, an evaluation, precise
   * BatchNorm): trainable weights from replica 0, after checking every replica holds the same; each optimizer
   * weight from a replica that keeps it current (with a sharded Adam step, the owner of its variable);
   * non-trainable weights (BatchNorm moving statistics, estimated per shard) averaged over replicas.
   */
  async sync(model: tf.LayersModel): Promise<void> {
    this.throwIfFailed();
    if (!this.stale || this.loaded?.model !== model) return;
    const states = (await Promise.all(this.handles.map((h) => h.request({ type: 'pull' })))) as (FromReplica &
      ReplicaState)[];
    const first = states[0]!;
    const differing = states.findIndex((s) => s.checksum !== first.checksum);
    if (differing > 0) throw new ReplicaDivergedError(`replica ${differing}'s weights differ from replica 0's`);
    const weights = model.weights;
    if (first.weights.length !== weights.length)
      throw new Error(`replicas hold ${first.weights.length} weights, the model ${weights.length}`);
    const values = weights.map((w, i) => {
      const own = first.weights[i]!;
      const shape = w.read().shape;
      if (own.trainable) return tf.tensor(own.data, shape, 'float32');
      const mean = new Float32Array(own.data.length);
      for (const s of states) {
        const d = s.weights[i]!.data;
        for (let j = 0; j < mean.length; j++) mean[j] = mean[j]! + d[j]! / states.length;
      }
      return tf.tensor(mean, shape, 'float32');
    });
    try {
      model.setWeights(values);
    } finally {
      tf.dispose(values);
    }
    const optimizer = model.optimizer;
    const old = await optimizer.getWeights();
    // Each optimizer weight from a replica that keeps it current (a sharded step: the owner of its variable).
    const fresh = first.optimizer.map((_, i) => {
      const o = states.find((s) => s.optimizer[i]?.owned)?.optimizer[i] ?? first.optimizer[i]!;
      return { name: o.name, tensor: tf.tensor(o.data, o.shape, o.dtype) };
    });
    try {
      await optimizer.setWeights(fresh);
    } finally {
      tf.dispose(fresh.map((f) => f.tensor));
      tf.dispose(old.map((o) => o.tensor));
    }
    this.stale = false;
  }

  /**
   * Forward passes of an evaluation on the replicas: each gets every weight of the main thread's model (after
   * a sync the trainable ones are already equal; moving statistics just re-estimated, or weights restored from
   * a checkpoint, are not), then each batch is split over the replicas as a training batch is. Undefined when
   * the replicas do not hold this model (it never trained here): the caller evaluates on its own thread.
   */
  async evaluation(model: tf.LayersModel): Promise<BatchEvaluator | undefined> {
    this.throwIfFailed();
    if (this.loaded?.model !== model) return undefined;
    await this.sync(model);
    const values = model.weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));
    await Promise.all(this.handles.map((h) => h.request({ type: 'setWeights', values })));
    const { height, width, channels } = this.options.input;
    const ppi = height * width * channels;
    return {
      // Inference: each image's output is its own, so every batch is split over the replicas.
      predict: async (xs, size) => {
        this.throwIfFailed();
        const n = this.replicas;
        const requests: Promise<FromReplica>[] = [];
        for (let r = 0; r < n; r++) {
          const [begin, end] = shardRange(size, r, n);
          if (end > begin)
            requests.push(
              this.handles[r]!.request({ type: 'predict', xs: xs.slice(begin * ppi, end * ppi), size: end - begin }),
            );
        }
        const parts = (await Promise.all(requests)) as { probabilities: Float32Array }[];
        const out = new Float32Array(parts.reduce((a, p) => a + p.probabilities.length, 0));
        let offset = 0;
        for (const p of parts) {
          out.set(p.probabilities, offset);
          offset += p.probabilities.length;
        }
        return out;
      },
      // Statistics: whole batches, replica r taking batches r, r + N, …; results in batch order.
      moments: async (batches) => {
        const out: BatchNormMoments[] = [];
        for (let first = 0; first < batches.length; first += this.replicas) {
          this.throwIfFailed();
          const round = batches
            .slice(first, first + this.replicas)
            .map((b, r) =>
              this.handles[r]!.request({ type: 'moments', xs: b.xs.slice(0, b.size * ppi), size: b.size }),
            );
          for (const m of (await Promise.all(round)) as { moments: BatchNormMoments }[]) out.push(m.moments);
        }
        return out;
      },
    };
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.handles.map((h) => h.worker.terminate()));
  }
}
