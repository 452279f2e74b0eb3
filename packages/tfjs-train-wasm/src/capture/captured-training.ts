/**
 * A captured training step for tfjs-layers models: `trainOnBatch` without TensorFlow.js' per-operation
 * bookkeeping, in the spirit of CUDA graphs and torch.compile's "reduce-overhead" mode.
 *
 * A MobileNetV2 step on the wasm backend makes about 1,050 kernel calls. Around each one tfjs-core's engine
 * builds tensors, scopes and tape entries, tfjs-layers walks its graph and the tape is filtered and walked
 * back: 7 ms of JavaScript and garbage collection per step whatever the batch size (MobileNetV2 α0.35 at
 * 48 px: 11 ms a step for 1 image, 4 ms of it kernels). That fixed cost is what one step of a small model pays
 * per thread, so it is what keeps data-parallel replicas with half a batch each from doubling the speed.
 *
 * `CapturedTraining.trainOnBatch` runs the first steps of each batch shape through `model.trainOnBatch`
 * while it records, below the engine, every kernel the step calls (name, attributes, which earlier output or
 * which variable, input or constant each input is), the variables the step assigns (BatchNorm's moving
 * statistics), the gradients the optimizer receives and the tensors trainOnBatch reads (loss, metrics).
 * When two consecutive recordings agree call for call, later steps replay the recording: each kernel
 * function is called directly with the backend, outputs are freed after their last use, the gradients go to
 * `model.optimizer.applyGradients` as trainOnBatch would pass them, and the returned values are the same
 * numbers, bit for bit (the test compares weights, optimizer state and losses over many steps).
 *
 * Randomness: tfjs-layers' Dropout draws its mask with tfjs-core's `randomUniform`, seeded from `Math.random`.
 * While recording, `dropout` is computed with the same operations through tfjs-core's exports, so the mask is
 * known to be random; a replay draws it again with `randomUniform` at the same point, from the same
 * `Math.random`. A step that calls `Math.random` for anything else, reads a tensor's values in the middle of
 * the step, uses a variable that is not the model's, or records differently twice is not captured: its
 * batch shape keeps running `trainOnBatch` (`onRefused` says why, once).
 *
 * A recording is dropped (and the next steps record again) when the backend, the optimizer, the trained
 * variables or a kernel registration change. The replay does not run trainOnBatch's input checks: it runs
 * only for the shapes and dtypes it recorded, with `x` and `y` as trainOnBatch received them. Backends: wasm
 * and cpu; on others (tfjs-node) every step runs trainOnBatch.
 */
import * as tf from '@tensorflow/tfjs';
import * as tfCore from '@tensorflow/tfjs-core';

/** Environment variable: `0` turns capture off (every step runs trainOnBatch). */
export const CAPTURE_ENV_VAR = 'FERSWEEP_CAPTURE_STEP';

/** Backends whose steps are captured (tested here); tfjs-node's keep their own execution. */
const CAPTURED_BACKENDS = new Set(['wasm', 'cpu']);

/** Recordings that must agree before a batch shape is replayed. */
const RECORDINGS = 2;

/** What trainOnBatch resolves with. */
export type TrainOnBatchResult = number | number[];

export interface CaptureOptions {
  /** Called once per batch shape that is not captured, with the reason; that shape keeps running trainOnBatch. */
  onRefused?: (reason: string) => void;
  /** Called when a batch shape's step is captured (replayed from the next step on), with its kernel calls. */
  onCaptured?: (shape: string, kernelCalls: number) => void;
  /** false: never capture (every step runs trainOnBatch). Default: on unless FERSWEEP_CAPTURE_STEP=0. */
  enabled?: boolean;
}

/** Whether the environment leaves capture on (`FERSWEEP_CAPTURE_STEP` unset or not `0`). */
export function captureEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[CAPTURE_ENV_VAR] !== '0';
}

/** The parts of tfjs-layers' LayersModel a capture touches (protected members included). */
interface LayersModelInternals {
  makeTrainFunction(): (data: tf.Tensor[]) => tf.Scalar[];
  collectedTrainableWeights?: tf.LayerVariable[];
}

/** The parts of a tfjs backend a replay calls. */
interface ReplayBackend {
  disposeData(dataId: object, force?: boolean): boolean;
  readSync(dataId: object): ArrayLike<number>;
  read(dataId: object): Promise<ArrayLike<number>>;
  write(values: tf.TypedArray, shape: number[], dtype: tf.DataType): object;
}

type EngineInternals = ReturnType<typeof tf.engine> & {
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend?: tf.KernelBackend): tf.Tensor;
};

/** Where a kernel input comes from. */
type Source =
  | { kind: 'slot'; slot: number }
  | { kind: 'data'; index: number }
  | { kind: 'variable'; variable: tf.Variable }
  | { kind: 'constant'; constant: number }
  | { kind: 'none' };

interface KernelOp {
  kind: 'kernel';
  config: tf.KernelConfig;
  attrs: tf.NamedAttrMap;
  inputs: { name: string; source: Source; shape: number[]; dtype: tf.DataType }[];
  outputs: number[];
  /** The kernel returned an array (even of one). */
  array: boolean;
}

interface RandomOp {
  kind: 'random';
  slot: number;
  shape: number[];
  seed: number | string | undefined;
}

interface AssignOp {
  kind: 'assign';
  variable: tf.Variable;
  slot: number;
}

type Op = KernelOp | RandomOp | AssignOp;

/** One recorded step: what it ran, in order, and what it handed on. */
interface Recording {
  ops: Op[];
  slots: number;
  constants: { values: tf.TypedArray; shape: number[]; dtype: tf.DataType }[];
  /** The optimizer's gradients: variable name → slot, in the order applyGradients received them. */
  gradients: [string, number][];
  /** applyGradients received them as a list of {name, tensor} (tfjs' minimize with a variable list), not a map. */
  gradientList: boolean;
  /** The tensors trainOnBatch reads back (total loss, then metrics). */
  outputs: number[];
  /** trainOnBatch returned an array (loss and metrics) rather than one number. */
  array: boolean;
}

/** A recording made replayable: liveness computed, constants uploaded. */
interface Plan {
  recording: Recording;
  /** For each op, the slots to free after it. */
  free: number[][];
  constants: tf.TensorInfo[];
  backend: tf.KernelBackend;
  optimizer: tf.Optimizer;
  trained: readonly tf.LayerVariable[];
  kernels: Map<string, tf.KernelConfig>;
  /** Slots whose data an engine tensor owns (random draws): freed through the engine. */
  engineSlots: Set<number>;
  /** Slots assigned to a variable: the variable owns them once assigned. */
  assigned: Set<number>;
  /** Every variable the plan reads or assigns. */
  variables: tf.Variable[];
  /** Per op, a kernel call's reusable arguments (undefined for other ops). */
  calls: (KernelCall | undefined)[];
}

/** A kernel call's arguments, kept across replays: each input's data id is set before the call. */
interface KernelCall {
  args: { inputs: Record<string, tf.TensorInfo>; attrs: tf.NamedAttrMap; backend: tf.KernelBackend };
  /** Each input's argument object and where its data comes from. */
  bound: [{ dataId: object; shape: number[]; dtype: tf.DataType }, Source][];
  infos: Set<unknown>;
}

interface ShapeState {
  recordings: Recording[];
  plan?: Plan;
  refused?: string;
}

/** Why a step cannot be captured (the batch shape then keeps running trainOnBatch). */
class NotCapturable extends Error {
  override name = 'NotCapturable';
}

/**
 * tfjs-core's CommonJS exports object: the one tfjs-layers calls `dropout` through. Undefined where the
 * module system gives no such object or it is another copy of tfjs-core (then dropout models are not captured).
 */
function coreExports(): typeof tfCore | undefined {
  const exports = (tfCore as unknown as { default?: typeof tfCore }).default;
  return exports !== undefined && exports.Tensor === tf.Tensor && typeof exports.dropout === 'function'
    ? exports
    : undefined;
}

/** The LayersModel whose train function runs: a Sequential trains through the functional model it wraps. */
function trainedModel(model: tf.LayersModel): LayersModelInternals {
  const inner = model instanceof tf.Sequential ? (model as unknown as { model?: tf.LayersModel }).model : undefined;
  return (inner ?? model) as unknown as LayersModelInternals;
}

function shapeKey(x: tf.Tensor, y: tf.Tensor): string {
  return `${x.dtype}[${x.shape.join(',')}]/${y.dtype}[${y.shape.join(',')}]`;
}

function sameValues(a: tf.TypedArray, b: tf.TypedArray): boolean {
  if (a.length !== b.length || a.constructor !== b.constructor) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function sourceKey(s: Source): string {
  switch (s.kind) {
    case 'slot':
      return `s${s.slot}`;
    case 'data':
      return `d${s.index}`;
    case 'variable':
      return `v${s.variable.id}`;
    case 'constant':
      return `c${s.constant}`;
    case 'none':
      return 'n';
  }
}

function opKey(op: Op): string {
  switch (op.kind) {
    case 'kernel':
      return JSON.stringify([
        op.config.kernelName,
        op.attrs,
        op.inputs.map((i) => [i.name, sourceKey(i.source), i.shape, i.dtype]),
        op.outputs,
        op.array,
      ]);
    case 'random':
      return JSON.stringify(['random', op.slot, op.shape, op.seed ?? null]);
    case 'assign':
      return JSON.stringify(['assign', op.variable.id, op.slot]);
  }
}

/** Whether two recordings are the same step: same kernels, attributes, wiring, constants and hand-offs. */
function sameRecording(a: Recording, b: Recording): boolean {
  if (a.ops.length !== b.ops.length || a.slots !== b.slots || a.array !== b.array) return false;
  if (
    JSON.stringify([a.gradients, a.gradientList, a.outputs]) !==
    JSON.stringify([b.gradients, b.gradientList, b.outputs])
  )
    return false;
  if (a.constants.length !== b.constants.length) return false;
  for (let i = 0; i < a.constants.length; i++) {
    const [p, q] = [a.constants[i]!, b.constants[i]!];
    if (p.dtype !== q.dtype || p.shape.join() !== q.shape.join() || !sameValues(p.values, q.values)) return false;
  }
  for (let i = 0; i < a.ops.length; i++) {
    const [p, q] = [a.ops[i]!, b.ops[i]!];
    if (p.kind === 'kernel' && q.kind === 'kernel' && p.config !== q.config) return false;
    if (opKey(p) !== opKey(q)) return false;
  }
  return true;
}

/**
 * Records one trainOnBatch call. Everything runs as trainOnBatch runs it (the step is a real step); the hooks
 * only watch, except `dropout`, computed with the same operations through tfjs-core's exports so that its
 * random draw is seen.
 */
async function record(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
): Promise<{ result: TrainOnBatchResult; recording?: Recording; refused?: string }> {
  const backend = tf.backend();
  const backendName = tf.getBackend();
  const internals = trainedModel(model);
  const optimizer = model.optimizer;
  const ops: Op[] = [];
  const constants: Recording['constants'] = [];
  /** Latest slot that holds each data id (aliases from Reshape/Identity share one). */
  const slotOf = new Map<object, number>();
  const constantOf = new Map<object, number>();
  /** Data ids of the Dropout draws (a gradient that is one is not a kernel output). */
  const randomIds = new Set<object>();
  let variables = new Map<object, tf.Variable>();
  let slots = 0;
  let gradients: [string, number][] | undefined;
  let gradientList = false;
  let outputs: number[] | undefined;
  let array = false;
  let refused: string | undefined;
  let inRegion = false;
  let inApply = false;
  let depth = 0;
  let data: tf.Tensor[] = [];
  let randomCalls = 0;
  let expectedRandomCalls = 0;
  const refuse = (reason: string): void => {
    refused ??= reason;
  };
  const watching = (): boolean => inRegion && !inApply && depth === 0 && refused === undefined;
  const replayBackend = backend as unknown as ReplayBackend;
  const readSync = replayBackend.readSync;
  const read = replayBackend.read;

  const sourceOf = (t: tf.TensorInfo | undefined): Source => {
    if (t == null) return { kind: 'none' };
    const slot = slotOf.get(t.dataId);
    if (slot !== undefined) return { kind: 'slot', slot };
    const index = data.findIndex((d) => d.dataId === t.dataId);
    if (index >= 0) return { kind: 'data', index };
    const variable = variables.get(t.dataId);
    if (variable !== undefined) return { kind: 'variable', variable };
    if (t instanceof tf.Variable)
      throw new NotCapturable(`the step reads variable '${t.name}', not one of the model's`);
    let constant = constantOf.get(t.dataId);
    if (constant === undefined) {
      const values = readSync.call(replayBackend, t.dataId) as tf.TypedArray;
      constant = constants.length;
      constants.push({ values: values.slice(), shape: t.shape.slice(), dtype: t.dtype });
      constantOf.set(t.dataId, constant);
    }
    return { kind: 'constant', constant };
  };
  const newSlot = (t: tf.TensorInfo): number => {
    const slot = slots++;
    slotOf.set(t.dataId, slot);
    return slot;
  };

  // Kernels: every one registered for this backend, watched at depth 0 (a kernel calling another is one call).
  const kernels = tf.getKernelsForBackend(backendName);
  const originals = new Map<tf.KernelConfig, tf.KernelFunc>();
  for (const config of kernels) {
    const original = config.kernelFunc;
    originals.set(config, original);
    config.kernelFunc = (args) => {
      let op: KernelOp | undefined;
      if (watching()) {
        try {
          op = {
            kind: 'kernel',
            config,
            attrs: args.attrs ?? {},
            inputs: Object.entries(args.inputs).map(([name, t]) => ({
              name,
              source: sourceOf(t),
              shape: t?.shape.slice() ?? [],
              dtype: t?.dtype ?? 'float32',
            })),
            outputs: [],
            array: false,
          };
        } catch (err) {
          if (!(err instanceof NotCapturable)) throw err;
          refuse(err.message);
        }
      }
      depth++;
      let result: tf.TensorInfo | tf.TensorInfo[];
      try {
        result = original(args);
      } finally {
        depth--;
      }
      if (op !== undefined) {
        op.array = Array.isArray(result);
        op.outputs = (Array.isArray(result) ? result : [result]).map(newSlot);
        ops.push(op);
      }
      return result;
    };
  }

  // Values read back in the middle of the step would be constants only by chance.
  const ownRead = Object.prototype.hasOwnProperty.call(replayBackend, 'readSync');
  const ownReadAsync = Object.prototype.hasOwnProperty.call(replayBackend, 'read');
  replayBackend.readSync = function (dataId) {
    if (watching()) refuse('the step reads tensor values to JavaScript');
    return readSync.call(this, dataId);
  };
  replayBackend.read = function (dataId) {
    if (watching()) refuse('the step reads tensor values to JavaScript');
    return read.call(this, dataId);
  };

  // Variable writes (BatchNorm's moving statistics).
  const assign = tf.Variable.prototype.assign;
  tf.Variable.prototype.assign = function (this: tf.Variable, value: tf.Tensor) {
    if (watching()) {
      const slot = slotOf.get(value.dataId);
      if (slot === undefined || !variables.has(this.dataId))
        refuse(`the step assigns variable '${this.name}' a value it did not compute`);
      else ops.push({ kind: 'assign', variable: this, slot });
    }
    assign.call(this, value);
    // Later reads of the variable in this step see the assigned value: its slot.
    if (inRegion && !inApply) variables.set(this.dataId, this);
  };

  // Dropout, through tfjs-core's exports (tfjs-layers' `tfc.dropout`).
  const core = coreExports();
  const dropout = core?.dropout;
  if (core !== undefined && dropout !== undefined) {
    (core as { dropout: typeof tfCore.dropout }).dropout = ((
      xIn: tf.Tensor,
      rate: number,
      noiseShape?: number[],
      seed?: number | string,
    ) => {
      const plain =
        watching() &&
        xIn instanceof tf.Tensor &&
        xIn.dtype === 'float32' &&
        rate > 0 &&
        rate < 1 &&
        (noiseShape == null || noiseShape.join() === xIn.shape.join());
      if (!plain) return dropout(xIn, rate, noiseShape, seed);
      // tfjs-core's dropout_, operation for operation: mask = floor(uniform + keep) / keep.
      const keep = 1 - rate;
      const uniform = core.randomUniform(xIn.shape.slice(), 0, 1, 'float32', seed);
      const op: RandomOp = { kind: 'random', slot: slots++, shape: xIn.shape.slice(), seed };
      slotOf.set(uniform.dataId, op.slot);
      randomIds.add(uniform.dataId);
      ops.push(op);
      if (seed == null) expectedRandomCalls++;
      return tf.tidy(() => core.mul(xIn, core.div(core.floor(core.add(uniform, keep)), keep)));
    }) as typeof tfCore.dropout;
  }

  // The region: the train function trainOnBatch builds (forward, loss, gradients, optimizer step).
  const makeTrainFunction = internals.makeTrainFunction;
  const ownMake = Object.prototype.hasOwnProperty.call(internals, 'makeTrainFunction');
  internals.makeTrainFunction = function (this: LayersModelInternals) {
    const train = makeTrainFunction.call(this);
    return (args: tf.Tensor[]) => {
      data = args;
      if (args.length !== 2 || args[0] !== x || args[1] !== y)
        refuse('trainOnBatch converted its inputs (standardizeUserData): not the tensors given');
      variables = new Map(model.weights.map((w) => [w.read().dataId, w.read() as tf.Variable]));
      // Every draw in the region outside the optimizer and the kernels (which a replay runs again) must be a
      // Dropout mask's. The region is synchronous: no other task draws meanwhile.
      const random = Math.random;
      Math.random = () => {
        if (!inApply && depth === 0) randomCalls++;
        return random();
      };
      inRegion = true;
      try {
        const out = train(args);
        outputs = out.map((t) => {
          const slot = slotOf.get(t.dataId);
          if (slot === undefined) refuse('a loss or metric is not computed by a kernel of the step');
          return slot ?? -1;
        });
        array = out.length > 1;
        return out;
      } finally {
        inRegion = false;
        Math.random = random;
      }
    };
  };

  // The gradients the optimizer receives; its own kernels are not part of the recording.
  const ownApply = Object.prototype.hasOwnProperty.call(optimizer, 'applyGradients');
  const apply = optimizer.applyGradients;
  optimizer.applyGradients = function (this: tf.Optimizer, grads) {
    if (watching()) {
      gradientList = Array.isArray(grads);
      const entries: [string, tf.Tensor][] = Array.isArray(grads)
        ? grads.map((g) => [g.name, g.tensor])
        : Object.entries(grads);
      gradients = entries.map(([name, t]) => {
        const slot = slotOf.get(t.dataId);
        if (slot === undefined || randomIds.has(t.dataId)) refuse(`the gradient of '${name}' is not a kernel output`);
        return [name, slot ?? -1];
      });
      if (new Set(gradients.map(([, s]) => s)).size !== gradients.length) refuse('two gradients share one tensor');
    } else if (inRegion) refuse('the optimizer step runs inside a kernel');
    inApply = true;
    try {
      return apply.call(this, grads);
    } finally {
      inApply = false;
    }
  };

  let result: TrainOnBatchResult;
  try {
    result = await model.trainOnBatch(x, y);
  } finally {
    for (const [config, original] of originals) config.kernelFunc = original;
    if (ownRead) replayBackend.readSync = readSync;
    else delete (replayBackend as Partial<ReplayBackend>).readSync;
    if (ownReadAsync) replayBackend.read = read;
    else delete (replayBackend as Partial<ReplayBackend>).read;
    tf.Variable.prototype.assign = assign;
    if (core !== undefined && dropout !== undefined) (core as { dropout: typeof tfCore.dropout }).dropout = dropout;
    if (ownMake) internals.makeTrainFunction = makeTrainFunction;
    else delete (internals as Partial<LayersModelInternals>).makeTrainFunction;
    if (ownApply) optimizer.applyGradients = apply;
    else delete (optimizer as Partial<tf.Optimizer>).applyGradients;
  }
  if (refused === undefined && randomCalls !== expectedRandomCalls)
    refuse(`the step draws from Math.random ${randomCalls - expectedRandomCalls} time(s) outside Dropout`);
  if (refused === undefined && gradients === undefined) refuse('the optimizer received no gradients');
  if (refused === undefined && outputs === undefined) refuse('trainOnBatch did not run its train function');
  if (refused !== undefined) return { result, refused };
  return {
    result,
    recording: { ops, slots, constants, gradients: gradients!, gradientList, outputs: outputs!, array },
  };
}

/** Liveness and uploads: a recording made replayable on the current backend. */
function planOf(model: tf.LayersModel, recording: Recording): Plan {
  const backend = tf.backend();
  const lastUse = new Array<number>(recording.slots).fill(-1);
  const handedOn = new Set<number>([...recording.gradients.map(([, s]) => s), ...recording.outputs]);
  const engineSlots = new Set<number>();
  const assigned = new Set<number>();
  const variables = new Set<tf.Variable>();
  recording.ops.forEach((op, i) => {
    if (op.kind === 'kernel') {
      for (const input of op.inputs) {
        if (input.source.kind === 'slot') lastUse[input.source.slot] = i;
        if (input.source.kind === 'variable') variables.add(input.source.variable);
      }
      for (const s of op.outputs) lastUse[s] = Math.max(lastUse[s]!, i);
    } else if (op.kind === 'random') {
      engineSlots.add(op.slot);
      lastUse[op.slot] = Math.max(lastUse[op.slot]!, i);
    } else {
      // The variable holds the value now; a later read of it is a read of the slot.
      handedOn.add(op.slot);
      assigned.add(op.slot);
      variables.add(op.variable);
      lastUse[op.slot] = Math.max(lastUse[op.slot]!, i);
    }
  });
  const free = recording.ops.map((): number[] => []);
  lastUse.forEach((at, slot) => {
    if (at >= 0 && !handedOn.has(slot)) free[at]!.push(slot);
  });
  const kernels = new Map<string, tf.KernelConfig>();
  for (const op of recording.ops) if (op.kind === 'kernel') kernels.set(op.config.kernelName, op.config);
  const writer = backend as unknown as ReplayBackend;
  const constants = recording.constants.map((c) => ({
    dataId: writer.write(c.values, c.shape, c.dtype),
    shape: c.shape,
    dtype: c.dtype,
  }));
  const internals = trainedModel(model);
  const calls = recording.ops.map((op): KernelCall | undefined => {
    if (op.kind !== 'kernel') return undefined;
    const bound: KernelCall['bound'] = [];
    const inputs: Record<string, tf.TensorInfo> = {};
    for (const input of op.inputs) {
      if (input.source.kind === 'none') continue;
      const info = { dataId: {}, shape: input.shape, dtype: input.dtype };
      inputs[input.name] = info;
      bound.push([info, input.source]);
    }
    return { args: { inputs, attrs: op.attrs, backend }, bound, infos: new Set(bound.map(([info]) => info)) };
  });
  return {
    calls,
    recording,
    free,
    constants,
    backend,
    optimizer: model.optimizer,
    trained: (internals.collectedTrainableWeights ?? model.trainableWeights).slice(),
    kernels,
    engineSlots,
    assigned,
    variables: [...variables],
  };
}

/**
 * `trainOnBatch` with the step captured after it has been seen twice (see the module comment). One per model;
 * `dispose()` frees the recordings' constants. Not for concurrent calls on one model (nor is trainOnBatch).
 */
export class CapturedTraining {
  private readonly shapes = new Map<string, ShapeState>();
  private readonly enabled: boolean;

  constructor(
    readonly model: tf.LayersModel,
    private readonly options: CaptureOptions = {},
  ) {
    this.enabled = options.enabled ?? captureEnabled();
  }

  /** Which batch shapes replay, record or were refused (for logs and tests). */
  status(): { shape: string; state: 'captured' | 'recording' | 'refused'; reason?: string }[] {
    return [...this.shapes].map(([shape, s]) =>
      s.plan
        ? { shape, state: 'captured' as const }
        : s.refused !== undefined
          ? { shape, state: 'refused' as const, reason: s.refused }
          : { shape, state: 'recording' as const },
    );
  }

  /** One training step on (x, y): the same result as `model.trainOnBatch(x, y)`. */
  async trainOnBatch(x: tf.Tensor, y: tf.Tensor): Promise<TrainOnBatchResult> {
    if (!this.enabled || this.model.optimizer == null || !CAPTURED_BACKENDS.has(tf.getBackend()))
      return this.model.trainOnBatch(x, y);
    const key = shapeKey(x, y);
    let state = this.shapes.get(key);
    if (state === undefined) {
      state = { recordings: [] };
      this.shapes.set(key, state);
    }
    if (state.refused !== undefined) return this.model.trainOnBatch(x, y);
    if (state.plan !== undefined) {
      if (this.current(state.plan)) return this.replay(state.plan, x, y);
      this.drop(state);
    }
    const { result, recording, refused } = await record(this.model, x, y);
    if (refused !== undefined || recording === undefined) {
      state.refused = refused ?? 'not recorded';
      state.recordings = [];
      this.options.onRefused?.(`${key}: ${state.refused}`);
      return result;
    }
    state.recordings.push(recording);
    if (state.recordings.length > RECORDINGS) state.recordings.shift();
    if (state.recordings.length === RECORDINGS) {
      const [first, last] = [state.recordings[0]!, state.recordings[RECORDINGS - 1]!];
      if (sameRecording(first, last)) {
        state.plan = planOf(this.model, last);
        state.recordings = [];
        this.options.onCaptured?.(key, last.ops.filter((op) => op.kind === 'kernel').length);
      }
    }
    return result;
  }

  /** Frees every recording (the model stays as it is); later steps record again. */
  dispose(): void {
    for (const state of this.shapes.values()) this.drop(state);
    this.shapes.clear();
  }

  private drop(state: ShapeState): void {
    const plan = state.plan;
    state.plan = undefined;
    state.recordings = [];
    if (plan === undefined || plan.backend !== tf.backend()) return;
    const backend = plan.backend as unknown as ReplayBackend;
    for (const c of plan.constants) backend.disposeData(c.dataId, true);
  }

  /** Whether a plan still describes this model's step on this backend. */
  private current(plan: Plan): boolean {
    if (plan.backend !== tf.backend() || plan.optimizer !== this.model.optimizer) return false;
    const trained = trainedModel(this.model).collectedTrainableWeights ?? [];
    if (trained.length !== plan.trained.length || trained.some((w, i) => w !== plan.trained[i])) return false;
    const backendName = tf.getBackend();
    for (const [name, config] of plan.kernels) if (tf.getKernel(name, backendName) !== config) return false;
    return plan.variables.every((v) => !v.isDisposed);
  }

  private async replay(plan: Plan, x: tf.Tensor, y: tf.Tensor): Promise<TrainOnBatchResult> {
    const { recording, free, constants, backend, engineSlots, assigned, calls } = plan;
    const data = [x, y];
    const slots = new Array<tf.TensorInfo | undefined>(recording.slots);
    const engine = tf.engine() as EngineInternals;
    const disposer = backend as unknown as ReplayBackend;
    const release = (slot: number): void => {
      const info = slots[slot];
      slots[slot] = undefined;
      if (info === undefined) return;
      if (engineSlots.has(slot)) (info as tf.Tensor).dispose();
      else disposer.disposeData(info.dataId);
    };
    const asTensor = (slot: number): tf.Tensor => {
      const info = slots[slot];
      if (info === undefined) throw new Error(`captured step: slot ${slot} is empty (a recording bug)`);
      slots[slot] = undefined;
      return engineSlots.has(slot) ? (info as tf.Tensor) : engine.makeTensorFromTensorInfo(info, backend);
    };
    const handedOn: tf.Tensor[] = [];
    try {
      const ops = recording.ops;
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        if (op.kind === 'kernel') {
          // The call's argument objects are built once per plan; only their data ids change from step to step.
          const call = calls[i]!;
          for (let k = 0; k < call.bound.length; k++) {
            const [info, source] = call.bound[k]!;
            switch (source.kind) {
              case 'slot':
                info.dataId = slots[source.slot]!.dataId;
                break;
              case 'data':
                info.dataId = data[source.index]!.dataId;
                break;
              case 'variable':
                info.dataId = source.variable.dataId;
                break;
              case 'constant':
                info.dataId = constants[source.constant]!.dataId;
                break;
            }
          }
          const result = op.config.kernelFunc(call.args);
          const outputs = op.array ? (result as tf.TensorInfo[]) : [result as tf.TensorInfo];
          for (let o = 0; o < op.outputs.length; o++) {
            const out = outputs[o]!;
            // An output that is an argument object (a kernel returning its input as is) must not change with it.
            slots[op.outputs[o]!] = call.infos.has(out) ? { ...out } : out;
          }
        } else if (op.kind === 'random') {
          slots[op.slot] = tf.randomUniform(op.shape, 0, 1, 'float32', op.seed);
        } else {
          const t = asTensor(op.slot);
          op.variable.assign(t);
          // The variable holds its own reference now; the slot stays readable until the step ends.
          slots[op.slot] = { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
          t.dispose();
        }
        const dead = free[i]!;
        for (let d = 0; d < dead.length; d++) release(dead[d]!);
      }
      // What trainOnBatch does next: the optimizer step on the gradients, then the loss and metrics read back.
      const list = recording.gradients.map(([name, slot]) => {
        const tensor = asTensor(slot);
        handedOn.push(tensor);
        return { name, tensor };
      });
      // In the form the optimizer received them while recording.
      plan.optimizer.applyGradients(
        recording.gradientList ? list : Object.fromEntries(list.map((g) => [g.name, g.tensor])),
      );
      const values = recording.outputs.map((slot) => Number(disposer.readSync(slots[slot]!.dataId)[0]));
      return recording.array ? values : values[0]!;
    } finally {
      tf.dispose(handedOn);
      for (let s = 0; s < slots.length; s++) if (slots[s] !== undefined && !assigned.has(s)) release(s);
    }
  }
}
