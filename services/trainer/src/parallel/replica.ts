/**
 * One data-parallel replica (the body of a worker thread; see worker.ts for the entry point): the same model
 * as the main thread's, on its own wasm backend with fersweep's kernels, training on its shard of each batch.
 * Its gradients are summed with the other replicas' in shared memory. With Adam the optimizer step is sharded
 * (ZeRO stage 1, Rajbhandari et al. 2020): each replica reduces and updates only the variables it owns, with
 * their moments, and takes the others' new values from the replica that owns them, so the weights stay
 * bit-identical while the step's Adam work is divided by N. Other optimizers: every replica applies the whole
 * reduced gradient with the same state.
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import {
  CapturedTraining,
  changesInPlace,
  disposeModel,
  initTf,
  labelTensor,
  modelFromArtifacts,
  scaleAddInPlace,
  writeInPlace,
  type BatchNormMoments,
  type ScaledValues,
} from '@fersweep/models';
import { localEvaluator, type BatchEvaluator } from '../forward.js';
import {
  barrier,
  Ctl,
  mathRandomFrom,
  ownedRanges,
  Param,
  ReplicaAbortedError,
  Result,
  shardRange,
  waitChange,
  type SharedBuffers,
} from './shared.js';

/** How long a replica blocks for the next step before it waits without blocking (serving messages). */
const STEP_WAIT_BLOCKING_MS = 2;

/** What a replica is started with (workerData). */
export interface ReplicaInit {
  index: number;
  replicas: number;
  backend: 'wasm' | 'cpu';
  input: { height: number; width: number; channels: number; numClasses: number };
  shared: SharedBuffers;
  /** Capture the training step (CapturedTraining), as the main thread decided. */
  capture: boolean;
}

/** The model as the main thread sends it (tfjs ModelArtifacts with its weights in one buffer). */
export interface ModelPayload {
  modelTopology: tf.io.ModelArtifacts['modelTopology'];
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
  trainingConfig?: tf.io.TrainingConfig;
}

/**
 * Main thread → replica messages (never per training step): load a model, pull its state, and the forward
 * passes of an evaluation — set every weight to the main thread's, then predict or collect BatchNorm moments
 * for a shard of images.
 */
export type ToReplica =
  | { type: 'load'; model: ModelPayload; gradients: SharedArrayBuffer; parameters: number }
  | { type: 'pull' }
  | { type: 'setWeights'; values: Float32Array[] }
  | { type: 'predict'; xs: Float32Array; size: number }
  | { type: 'moments'; xs: Float32Array; size: number };

/** A replica's weights and optimizer state, for the main thread's model. */
export interface ReplicaState {
  /** model.weights in order (trainable first), float32. */
  weights: { trainable: boolean; data: Float32Array }[];
  /**
   * The optimizer's weights; `owned` marks those this replica keeps current (with a sharded step, the moments of
   * the variables it owns and, on replica 0, the iteration count; otherwise all of them).
   */
  optimizer: { name: string; shape: number[]; dtype: tf.DataType; data: Float32Array | Int32Array; owned: boolean }[];
  checksum: string;
}

/** Replica → main thread messages. */
export type FromReplica =
  | { type: 'ready'; device: string; youngGenerationMb: number | undefined }
  | { type: 'loaded' }
  | ({ type: 'state' } & ReplicaState)
  | { type: 'weightsSet' }
  | { type: 'predicted'; probabilities: Float32Array }
  | { type: 'moments'; moments: BatchNormMoments }
  | { type: 'failed'; name: string; message: string; stack?: string };

interface Slot {
  name: string;
  shape: number[];
  size: number;
  offset: number;
}

/**
 * `reduced[j] = Σ_r slots[r·P + j] · shares[r]` for j in [begin, end), in replica order. Its own function, not a
 * loop inside `reduceAndApply`: V8 would compile that loop on stack replacement, cache the code, and enter it every
 * step only to deoptimise after the loop, in code the cached version was compiled without feedback for.
 */
function weightedSum(
  slots: Float32Array,
  P: number,
  shares: readonly number[],
  begin: number,
  end: number,
  reduced: Float32Array,
): void {
  if (shares.length === 2) {
    const [w0, w1] = shares as [number, number];
    for (let j = begin; j < end; j++) reduced[j] = slots[j]! * w0 + slots[P + j]! * w1;
    return;
  }
  for (let j = begin; j < end; j++) {
    let sum = 0;
    for (let r = 0; r < shares.length; r++) sum += slots[r * P + j]! * shares[r]!;
    reduced[j] = sum;
  }
}

/** tfjs-layers' protected `collectedTrainableWeights`: the variables, in order, that trainOnBatch differentiates. */
function trainedVariables(model: tf.LayersModel): tf.Variable[] {
  const collected = (model as unknown as { collectedTrainableWeights?: tf.LayerVariable[] }).collectedTrainableWeights;
  return (collected ?? model.trainableWeights).map((w) => w.read() as tf.Variable);
}

type ApplyGradients = tf.Optimizer['applyGradients'];

/** tfjs-backend-wasm's view of a tensor's bytes on its heap (no copy). */
interface HeapBackend {
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

export class Replica {
  private readonly control: Int32Array;
  private readonly params: Float64Array;
  private readonly results: Float64Array;
  private readonly pixels: Float32Array;
  private readonly labels: Uint8Array;
  private readonly streams: Int32Array;
  private model: tf.LayersModel | undefined;
  /** The model's training step, replayed below the engine once recorded (see CapturedTraining). */
  private capture: CapturedTraining | undefined;
  private layout: Slot[] = [];
  private parameters = 0;
  private gradients: Float32Array<ArrayBufferLike> = new Float32Array(0);
  private apply: ApplyGradients | undefined;
  /** The optimizer step is sharded: this replica updates the variables it owns only (Adam's state is per variable). */
  private sharded = false;
  /**
   * [first, end) parameter offsets of the slots this replica owns, reduces and (sharded) updates: its run of whole
   * variables from `ownedRanges`, cut where the replicas' shares of that work are most even.
   */
  private ownedRange: [number, number] = [0, 0];
  /** The trained variables, in slot order. */
  private variables: tf.Variable[] = [];

  constructor(private readonly init: ReplicaInit) {
    const { shared, index } = init;
    this.control = new Int32Array(shared.control);
    this.params = new Float64Array(shared.params);
    this.results = new Float64Array(shared.results, index * Result.length * 8, Result.length);
    this.pixels = new Float32Array(shared.pixels);
    this.labels = new Uint8Array(shared.labels);
    this.streams = new Int32Array(shared.streams, index * 16, 4);
  }

  /** Initialises the backend with fersweep's kernels (the same as the main thread's). */
  async start(): Promise<string> {
    const runtime = await initTf({ prefer: this.init.backend });
    return runtime.device;
  }

  /** Replaces the model (the main thread's, with its optimizer state) and routes its optimizer through the reduction. */
  async load(payload: ModelPayload, gradients: SharedArrayBuffer, parameters: number): Promise<void> {
    this.capture?.dispose();
    this.capture = undefined;
    if (this.model) disposeModel(this.model);
    this.model = undefined;
    const model = await modelFromArtifacts({ ...payload, modelTopology: payload.modelTopology ?? {} });
    const optimizer = model.optimizer as tf.Optimizer | undefined;
    if (optimizer == null) throw new Error('data-parallel training needs a compiled model');
    let offset = 0;
    this.variables = trainedVariables(model);
    this.layout = this.variables.map((v) => {
      const slot = { name: v.name, shape: v.shape.slice(), size: v.size, offset };
      offset += v.size;
      return slot;
    });
    if (offset !== parameters) {
      disposeModel(model);
      throw new Error(
        `replica ${this.init.index}: ${offset} trainable parameters, the main thread counted ${parameters}`,
      );
    }
    this.parameters = parameters;
    const { index, replicas } = this.init;
    this.ownedRange = ownedRanges(
      this.layout.map((slot) => slot.size),
      replicas,
    )[index]!;
    this.sharded = optimizer instanceof tf.AdamOptimizer;
    this.gradients = new Float32Array(gradients);
    this.apply = optimizer.applyGradients.bind(optimizer);
    optimizer.applyGradients = (variableGradients) => this.reduceAndApply(variableGradients);
    this.model = model;
    this.capture = new CapturedTraining(model, { enabled: this.init.capture });
  }

  /**
   * Sums the replicas' gradients, each weighted by its share of the batch (so the sum is the gradient of the
   * whole batch's mean loss), and applies the sum. Sharded (Adam): this replica copies into its slot the gradients
   * of the variables it does not own; after a barrier it sums the other replicas' gradients of those it owns into
   * its own on the wasm heap (in place, float32: `scaleAddInPlace`; a gradient whose buffer another tensor shares,
   * or a missing one in an empty shard, is copied and summed in the shared buffer instead), updates them, writes
   * their new values to the shared buffer and, after a second barrier, takes every other variable's value from its
   * owner. Other optimizers: each replica copies all its gradients, sums the parameters it owns over all slots in
   * replica order into the shared sum, and after the second barrier every replica applies the whole sum.
   */
  private reduceAndApply(variableGradients: Parameters<ApplyGradients>[0] | undefined): void {
    const { index, replicas } = this.init;
    const P = this.parameters;
    const mine = this.gradients.subarray(index * P, (index + 1) * P);
    const named = new Map<string, tf.Tensor>();
    if (variableGradients !== undefined) {
      if (Array.isArray(variableGradients)) for (const g of variableGradients) named.set(g.name, g.tensor);
      else for (const [name, g] of Object.entries(variableGradients)) named.set(name, g);
    }
    const size = this.params[Param.size]!;
    const shares = Array.from({ length: replicas }, (_, r) => {
      const [b, e] = shardRange(size, r, replicas);
      return (e - b) / size;
    });
    const layout = this.layout;
    // Sharded, the gradients this replica owns stay on its heap when they can be summed there in place.
    const own: (tf.Tensor | undefined)[] = layout.map((slot) => {
      if (!this.sharded || !this.owns(slot)) return undefined;
      const g = named.get(slot.name);
      return g !== undefined && changesInPlace(g) ? g : undefined;
    });
    layout.forEach((slot, i) => {
      if (own[i] !== undefined) return;
      const g = named.get(slot.name);
      if (g === undefined) mine.fill(0, slot.offset, slot.offset + slot.size);
      else mine.set(this.read(g), slot.offset);
    });
    barrier(this.control, replicas);
    const reduced = this.gradients.subarray(replicas * P, (replicas + 1) * P);
    if (!this.sharded) {
      const [begin, end] = this.ownedRange;
      weightedSum(this.gradients, P, shares, begin, end, reduced);
      barrier(this.control, replicas);
      // Views, not copies: the backend copies them into its own memory (wasm) or reads them before the next step.
      const all = layout.map((slot) => tf.tensor(reduced.subarray(slot.offset, slot.offset + slot.size), slot.shape));
      try {
        this.apply!(Object.fromEntries(layout.map((slot, i) => [slot.name, all[i]!])));
      } finally {
        tf.dispose(all);
      }
      return;
    }
    // The other variables' names stay in the map without a gradient: tfjs' Adam keeps its moments by position in
    // the map and skips a variable without a gradient.
    const update: Record<string, tf.Tensor | undefined> = {};
    const created: tf.Tensor[] = [];
    layout.forEach((slot, i) => {
      if (!this.owns(slot)) {
        update[slot.name] = undefined;
        return;
      }
      const [from, to] = [slot.offset, slot.offset + slot.size];
      const g = own[i];
      if (g !== undefined) {
        const terms: ScaledValues[] = [];
        for (let r = 0; r < replicas; r++)
          if (r !== index)
            terms.push({ values: this.gradients.subarray(r * P + from, r * P + to), weight: shares[r]! });
        // changesInPlace said it can: false here would be a bug, not an input.
        if (!scaleAddInPlace(g, shares[index]!, terms))
          throw new Error(`replica ${index}: the gradient of ${slot.name} could not be summed in place`);
        update[slot.name] = g;
        return;
      }
      weightedSum(this.gradients, P, shares, from, to, reduced);
      const t = tf.tensor(reduced.subarray(from, to), slot.shape, 'float32');
      created.push(t);
      update[slot.name] = t;
    });
    try {
      this.apply!(update as tf.NamedTensorMap);
    } finally {
      tf.dispose(created);
    }
    const variables = this.variables;
    layout.forEach((slot, i) => {
      if (this.owns(slot)) reduced.set(this.read(variables[i]!), slot.offset);
    });
    barrier(this.control, replicas);
    tf.tidy(() => {
      layout.forEach((slot, i) => {
        if (this.owns(slot)) return;
        const values = reduced.subarray(slot.offset, slot.offset + slot.size);
        const v = variables[i]!;
        if (!writeInPlace(v, values)) v.assign(tf.tensor(values, slot.shape, 'float32'));
      });
    });
  }

  /** Whether this replica owns `slot` (slots are contiguous: those whose offset lies in its range). */
  private owns(slot: Slot): boolean {
    return slot.offset >= this.ownedRange[0] && slot.offset < this.ownedRange[1];
  }

  /** A float32 tensor's values: on wasm straight from the backend's heap (dataSync would allocate a copy first). */
  private read(t: tf.Tensor): Float32Array {
    const backend = tf.backend() as Partial<HeapBackend>;
    return (
      backend.typedArrayFromHeap && t.dtype === 'float32' ? backend.typedArrayFromHeap(t) : t.dataSync()
    ) as Float32Array;
  }

  /** Trains this replica's shard of the batch in the shared buffers and writes its results. */
  async step(): Promise<void> {
    const model = this.model;
    if (!model) throw new Error(`replica ${this.init.index}: no model loaded`);
    const { index, replicas } = this.init;
    const { height, width, channels, numClasses } = this.init.input;
    const p = this.params;
    const size = p[Param.size]!;
    const [begin, end] = shardRange(size, index, replicas);
    (model.optimizer as unknown as { learningRate: number }).learningRate = p[Param.learningRate]!;
    // tfjs draws dropout masks from Math.random: this replica's stream for this step comes from the main
    // thread, keyed by (seed, epoch, batch, replica), so a seed and a thread count give the same masks.
    Math.random = mathRandomFrom(this.streams);
    let loss = 0;
    let accuracy = 0;
    if (end > begin) {
      const ppi = height * width * channels;
      const xs = tf.tensor4d(this.pixels.slice(begin * ppi, end * ppi), [end - begin, height, width, channels]);
      const ys = labelTensor(this.labels.subarray(begin, end), numClasses);
      try {
        const out = await (this.capture ?? model).trainOnBatch(xs, ys);
        [loss, accuracy] = (Array.isArray(out) ? out : [out, NaN]) as [number, number];
      } finally {
        xs.dispose();
        ys.dispose();
      }
    } else {
      // An empty shard (a last batch smaller than the replica count) still takes part in the reduction.
      this.reduceAndApply(undefined);
    }
    this.results[Result.loss] = loss;
    this.results[Result.accuracy] = accuracy;
    this.results[Result.checksum] = p[Param.checksum] ? parseInt((await this.checksum()).slice(0, 12), 16) : 0;
    this.results[Result.tensors] = tf.memory().numTensors;
  }

  /** Sets every weight (model.weights order) to the main thread's: before an evaluation's forward passes. */
  setWeights(values: Float32Array[]): void {
    const model = this.loadedModel();
    const weights = model.weights;
    if (values.length !== weights.length)
      throw new Error(`replica ${this.init.index}: ${values.length} weights sent, the model holds ${weights.length}`);
    const tensors = weights.map((w, i) => tf.tensor(values[i]!, w.read().shape, 'float32'));
    try {
      model.setWeights(tensors);
    } finally {
      tf.dispose(tensors);
    }
  }

  /** Forward passes on this replica's model, as the main thread would run them on its own. */
  evaluator(): BatchEvaluator {
    return localEvaluator(this.loadedModel(), this.init.input);
  }

  private loadedModel(): tf.LayersModel {
    if (!this.model) throw new Error(`replica ${this.init.index}: no model loaded`);
    return this.model;
  }

  /**
   * sha256 of the trainable weights and the optimizer state this replica keeps current (sharded: its own
   * variables' moments, which differ from the others' by design, are left out): equal in every replica, step
   * after step.
   */
  async checksum(): Promise<string> {
    const model = this.model!;
    const hash = createHash('sha256');
    for (const w of model.trainableWeights) hash.update(w.read().dataSync() as Float32Array);
    if (this.sharded) return hash.digest('hex');
    const state = await model.optimizer.getWeights();
    try {
      for (const s of state) hash.update(s.tensor.dataSync() as Float32Array);
    } finally {
      tf.dispose(state.filter((s) => s.name === 'iter').map((s) => s.tensor));
    }
    return hash.digest('hex');
  }

  /**
   * Whether this replica keeps the optimizer weight at `position` of getWeights() current. Sharded (Adam: the
   * iteration count, then the first moments, then the second, each in slot order) the owner of a slot keeps its
   * two moments and replica 0 the count; otherwise every replica keeps everything.
   */
  private keepsOptimizerWeight(position: number, count: number): boolean {
    const slots = this.layout.length;
    if (!this.sharded || count !== 1 + 2 * slots) return !this.sharded || this.init.index === 0;
    if (position === 0) return this.init.index === 0;
    return this.owns(this.layout[(position - 1) % slots]!);
  }

  /** The replica's weights and optimizer state, copied out (once per epoch or checkpoint, not per step). */
  async state(): Promise<ReplicaState> {
    const model = this.model;
    if (!model) throw new Error(`replica ${this.init.index}: no model loaded`);
    const weights = model.weights.map((w) => ({
      trainable: w.trainable,
      data: Float32Array.from(w.read().dataSync() as Float32Array),
    }));
    const state = await model.optimizer.getWeights();
    let optimizer: ReplicaState['optimizer'];
    try {
      optimizer = state.map((s, position) => ({
        name: s.name,
        shape: s.tensor.shape.slice(),
        dtype: s.tensor.dtype,
        data: (s.tensor.dtype === 'int32' ? Int32Array : Float32Array).from(s.tensor.dataSync() as Float32Array),
        owned: this.keepsOptimizerWeight(position, state.length),
      }));
    } finally {
      tf.dispose(state.filter((s) => s.name === 'iter').map((s) => s.tensor));
    }
    return { weights, optimizer, checksum: await this.checksum() };
  }

  /**
   * Serves steps until the thread is terminated: waits (without blocking, so load/pull messages are
   * handled between steps) for the main thread to bump Ctl.step, trains, counts itself done. A failure
   * sets Ctl.abort, so the other replicas leave their barriers, and is reported through `failed`.
   */
  async serve(failed: (err: unknown) => void): Promise<never> {
    let seen = Atomics.load(this.control, Ctl.step);
    for (;;) {
      // The next step usually starts within a millisecond of this one's end: blocked, the thread wakes at once;
      // a promise callback first waits for the event loop. Messages wait at most STEP_WAIT_BLOCKING_MS more.
      Atomics.wait(this.control, Ctl.step, seen, STEP_WAIT_BLOCKING_MS);
      await waitChange(this.control, Ctl.step, seen);
      seen = Atomics.load(this.control, Ctl.step);
      try {
        await this.step();
      } catch (err) {
        if (!(err instanceof ReplicaAbortedError)) failed(err);
        Atomics.store(this.control, Ctl.abort, 1);
        Atomics.notify(this.control, Ctl.generation);
      }
      Atomics.add(this.control, Ctl.done, 1);
      Atomics.notify(this.control, Ctl.done);
    }
  }
}
