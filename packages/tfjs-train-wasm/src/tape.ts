/**
 * tfjs-core's `Engine.gradients` with a linear tape filter.
 *
 * Every training step ends in `Engine.gradients`, which first keeps the tape nodes that lead from the variables
 * to the loss (`getFilteredNodesXToY`, tfjs-core/src/tape.ts). Its forward pass checks each node input against
 * the set of tensors derived from the variables inside a loop over the variables whose body does not use the
 * loop index: an input that is not derived from a variable (the images, the labels, BatchNorm's moving
 * statistics, every saved-tensor clone of them) is looked up once per trained variable. MobileNetV2 trains 158
 * variables over a tape of ~1,400 nodes: 1.9 ms per step, a tenth of what a step costs whatever its batch size
 * (measured: `bench/RESULTS.md`, scaling). The data-parallel replicas each pay it on every step.
 *
 * {@link installLinearTapeFilter} replaces the engine's `gradients` with the same method whose filter checks each
 * input once. The rest is tfjs-core 4.22's code, unchanged (Apache-2.0, © Google LLC): the same nodes in the
 * same order, the same gradient functions called in the same order, so the gradients are bit-identical. It is
 * installed only on the tfjs-core version it was taken from.
 */
import * as tf from '@tensorflow/tfjs';

/** The tfjs-core release whose Engine.gradients and tape.ts this module repeats. */
export const TAPE_TFJS_VERSION = '4.22.0';

/** A tape node as tfjs-core records it (tfjs-core/src/tape.ts). */
export interface TapeNode {
  id: number;
  kernelName: string;
  outputs: tf.Tensor[];
  inputs: Record<string, tf.Tensor>;
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}

/** The Engine members `gradients` uses (private in tfjs-core's typings). */
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(nameOrFn: string | (() => T), fn?: () => T): T;
  gradients: Gradients;
}

type Gradients = (
  f: () => tf.Tensor,
  xs: tf.Tensor[],
  dy?: tf.Tensor,
  allowNoGradients?: boolean,
) => { value: tf.Tensor; grads: tf.Tensor[] };

/**
 * The tape nodes that are a function of `xs` and lead to `y`, in tape order, each with its inputs pruned to those
 * that are a function of `xs`: tfjs-core's getFilteredNodesXToY, with one set lookup per node input.
 */
export function filterTape(tape: readonly TapeNode[], xs: readonly tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set<number>();
  const nodesFromX = new Set<number>();
  for (const x of xs) fromX.add(x.id);
  for (const node of tape) {
    for (const name in node.inputs) {
      if (fromX.has(node.inputs[name]!.id)) {
        for (const output of node.outputs) fromX.add(output.id);
        nodesFromX.add(node.id);
        break;
      }
    }
  }
  const leadToY = new Set<number>([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((output) => leadToY.has(output.id))) {
      for (const name in node.inputs) {
        leadToY.add(node.inputs[name]!.id);
        nodesToY.add(node.id);
      }
    }
  }
  const filtered: TapeNode[] = [];
  for (const node of tape) {
    if (!nodesFromX.has(node.id) || !nodesToY.has(node.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const name in node.inputs) {
      const input = node.inputs[name]!;
      if (fromX.has(input.id)) inputs[name] = input;
    }
    filtered.push({ ...node, inputs, outputs: node.outputs });
  }
  return filtered;
}

/** tfjs-core's backpropagateGradients: walks the filtered tape backwards, accumulating each tensor's gradient. */
function backpropagate(
  accumulated: Record<number, tf.Tensor>,
  tape: TapeNode[],
  tidy: (f: () => tf.Tensor) => tf.Tensor,
): void {
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    const dys = node.outputs.map((o) => accumulated[o.id] ?? null);
    if (node.gradient == null)
      throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
    const inputGradients = node.gradient(dys);
    for (const name in node.inputs) {
      if (!(name in inputGradients))
        throw new Error(
          `Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGradients).join(',')}.`,
        );
      const dx = tidy(() => inputGradients[name]!());
      if (dx.dtype !== 'float32')
        throw new Error(
          `Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`,
        );
      const x = node.inputs[name]!;
      if (!tf.util.arraysEqual(dx.shape, x.shape))
        throw new Error(
          `Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape.join(',')}', which does not match the shape of the input '${x.shape.join(',')}'`,
        );
      const current = accumulated[x.id];
      if (current == null) accumulated[x.id] = dx;
      else {
        accumulated[x.id] = tf.add(current, dx);
        current.dispose();
      }
    }
  }
}

/** tfjs-core 4.22's Engine.gradients, with {@link filterTape}. */
function gradients(
  this: EngineInternals,
  f: () => tf.Tensor,
  xs: tf.Tensor[],
  dy?: tf.Tensor,
  allowNoGradients = false,
): { value: tf.Tensor; grads: tf.Tensor[] } {
  tf.util.assert(xs.length > 0, () => 'gradients() received an empty list of xs.');
  if (dy != null && dy.dtype !== 'float32') throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
  const y = this.scopedRun(
    () => this.startTape(),
    () => this.endTape(),
    () => this.tidy('forward', f),
  );
  tf.util.assert(y instanceof tf.Tensor, () => 'The result y returned by f() must be a tensor.');
  const tape = filterTape(this.state.activeTape ?? [], xs, y);
  if (!allowNoGradients && tape.length === 0 && xs.length > 0)
    throw new Error(
      'Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all operations that lead from x to y.',
    );
  return this.tidy('backward', () => {
    const accumulated: Record<number, tf.Tensor> = {};
    accumulated[y.id] = dy ?? tf.ones(y.shape);
    backpropagate(accumulated, tape, (fn) => this.tidy(fn));
    const grads = xs.map((x) => accumulated[x.id]!);
    if (this.state.gradientDepth === 0) {
      for (const node of this.state.activeTape ?? []) for (const tensor of node.saved ?? []) tensor.dispose();
      this.state.activeTape = null;
    }
    return { value: y, grads } as unknown as tf.TensorContainer;
  }) as unknown as { value: tf.Tensor; grads: tf.Tensor[] };
}

/**
 * Makes this process' tfjs engine filter its tape in linear time (see the module's comment). Idempotent; returns
 * false, leaving the engine as it is, on a tfjs-core other than {@link TAPE_TFJS_VERSION}.
 */
export function installLinearTapeFilter(): boolean {
  if (tf.version_core !== TAPE_TFJS_VERSION) return false;
  (tf.engine() as unknown as EngineInternals).gradients = gradients;
  return true;
}

/** Restores tfjs-core's own Engine.gradients (tests compare both). */
export function uninstallLinearTapeFilter(): void {
  delete (tf.engine() as unknown as Partial<EngineInternals>).gradients;
}
