import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from './kernels/register.js';
import {
  filterTape,
  installLinearTapeFilter,
  TAPE_TFJS_VERSION,
  uninstallLinearTapeFilter,
  type TapeNode,
} from './tape.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

afterEach(() => uninstallLinearTapeFilter());

/** Stand-ins for tensors: filterTape reads only their ids. */
const t = (id: number): tf.Tensor => ({ id }) as unknown as tf.Tensor;

describe('filterTape', () => {
  it('keeps the nodes that come from xs and lead to y, in tape order, with inputs pruned to those from xs', () => {
    // x1, x2: variables; c: a constant (images, labels, moving statistics); y: the loss.
    const [x1, x2, c] = [t(1), t(2), t(3)];
    const tape: TapeNode[] = [
      { id: 10, kernelName: 'Mul', inputs: { a: c, b: c }, outputs: [t(20)] }, // not from xs
      { id: 11, kernelName: 'Conv2D', inputs: { x: t(20), filter: x1 }, outputs: [t(21)] },
      { id: 12, kernelName: 'Split', inputs: { x: t(21) }, outputs: [t(22), t(23)] }, // one output leads to y
      { id: 13, kernelName: 'Exp', inputs: { x: t(23) }, outputs: [t(24)] }, // leads nowhere
      { id: 14, kernelName: 'Add', inputs: { a: t(22), b: x2 }, outputs: [t(25)] },
      { id: 15, kernelName: 'Square', inputs: { x: x1 }, outputs: [t(26)] }, // from xs, not to y
      { id: 16, kernelName: 'Sum', inputs: { x: t(25), c }, outputs: [t(30)] },
    ];
    const filtered = filterTape(tape, [x1, x2], t(30));
    expect(filtered.map((n) => n.id)).toEqual([11, 12, 14, 16]);
    expect(filtered.map((n) => Object.keys(n.inputs))).toEqual([['filter'], ['x'], ['a', 'b'], ['x']]);
    // The nodes are copies: the tape itself keeps every input (the saved tensors are disposed through it).
    expect(Object.keys(tape[1]!.inputs)).toEqual(['x', 'filter']);
    expect(filtered[1]!.outputs).toBe(tape[2]!.outputs);
  });

  it('is empty when y does not depend on xs', () => {
    const tape: TapeNode[] = [{ id: 1, kernelName: 'Neg', inputs: { x: t(3) }, outputs: [t(4)] }];
    expect(filterTape(tape, [t(1)], t(4))).toEqual([]);
  });
});

/** A small training graph: conv, BatchNorm (moments: inputs not from the variables), a frozen and an unused variable. */
function gradientsOf(install: boolean): { grads: (Float32Array | null)[]; value: number; tensors: number } {
  if (install) expect(installLinearTapeFilter()).toBe(true);
  else uninstallLinearTapeFilter();
  const before = tf.memory().numTensors;
  const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 0.5, 'float32', seed);
  const vars = [rand([3, 3, 1, 4], 1), rand([4 * 4 * 4, 3], 2), rand([3], 3), rand([5], 4)];
  const [filter, dense, frozen, unused] = vars.map((v, i) => tf.variable(v, i !== 2, `tape-test-${i}-${install}`)) as [
    tf.Variable<tf.Rank.R4>,
    tf.Variable<tf.Rank.R2>,
    tf.Variable<tf.Rank.R1>,
    tf.Variable<tf.Rank.R1>,
  ];
  tf.dispose(vars);
  const { value, grads } = tf.tidy(() => {
    const x = rand([2, 6, 6, 1], 5) as tf.Tensor4D;
    const labels = tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3);
    return tf.variableGrads(() => {
      const conv = tf.relu(tf.conv2d(x, filter, 1, 'valid'));
      const { mean, variance } = tf.moments(conv, [0, 1, 2]);
      const normed = tf.batchNorm(conv, mean, variance, tf.zeros([4]), tf.ones([4]), 1e-3);
      const logits = tf.add(tf.matMul(tf.reshape(normed, [2, -1]), dense), frozen);
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    }, [filter, dense, unused]);
  });
  const out = {
    grads: [filter, dense, unused].map((v) => (grads[v.name] ? (grads[v.name]!.dataSync() as Float32Array) : null)),
    value: value.dataSync()[0]!,
  };
  tf.dispose([value, ...Object.values(grads), filter, dense, frozen, unused]);
  return { ...out, tensors: tf.memory().numTensors - before };
}

describe('installLinearTapeFilter', () => {
  it('gives the gradients of tfjs-core’s own Engine.gradients, bit for bit, and leaks no tensor', () => {
    expect(tf.version_core).toBe(TAPE_TFJS_VERSION);
    const stock = gradientsOf(false);
    const linear = gradientsOf(true);
    expect(linear.value).toBe(stock.value);
    expect(linear.grads[2]).toBeNull(); // a variable y does not depend on
    expect(linear.grads[0]).not.toBeNull();
    expect(linear.grads).toEqual(stock.grads);
    expect(linear.tensors).toBe(0);
    expect(stock.tensors).toBe(0);
  });

  it('keeps tfjs’ errors: no path from the variables to y, and a dy that is not float32', () => {
    installLinearTapeFilter();
    const v = tf.variable(tf.scalar(1), true, 'tape-test-lonely');
    try {
      expect(() => tf.grads(() => tf.scalar(3))([v])).toThrow(/Cannot compute gradient of y=f\(x\) with respect to x/);
      expect(() => tf.grad((a: tf.Tensor) => tf.square(a))(tf.scalar(2), tf.scalar(1, 'int32'))).toThrow(
        /dy must have 'float32' dtype/,
      );
      // Higher-order gradients run gradients() inside gradients() (the tape is kept for the outer call).
      const d2 = tf.grad((a: tf.Tensor) => tf.grad((b: tf.Tensor) => tf.mul(tf.mul(b, b), b))(a))(tf.scalar(2));
      expect(d2.dataSync()[0]).toBeCloseTo(12, 5);
    } finally {
      v.dispose();
    }
  });
});
