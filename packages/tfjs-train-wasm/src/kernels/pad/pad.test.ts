import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { expectExactOnBothBackends, randomArray, runOn } from '../../testing/compare.js';
import { registerWasmTrainingKernels } from '../register.js';
import { collapsePad } from './pad.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
});

type Paddings = [number, number][];

describe('collapsePad', () => {
  it.each<[number[], Paddings, { size: number; before: number; after: number }[]]>([
    // NHWC padded in H and W: C merges into W.
    [
      [32, 48, 48, 16],
      [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ],
      [
        { size: 32, before: 0, after: 0 },
        { size: 48, before: 1, after: 1 },
        { size: 768, before: 16, after: 16 },
      ],
    ],
    // Only the outermost axis: everything merges into it.
    [
      [3, 4, 5],
      [
        [1, 2],
        [0, 0],
        [0, 0],
      ],
      [{ size: 60, before: 20, after: 40 }],
    ],
    // Nothing padded: one plain copy.
    [
      [2, 3],
      [
        [0, 0],
        [0, 0],
      ],
      [{ size: 6, before: 0, after: 0 }],
    ],
    // An unpadded axis inside a padded one merges into it; the unpadded outermost axis stays (H is padded).
    [
      [2, 3, 4, 5],
      [
        [0, 0],
        [1, 0],
        [0, 0],
        [2, 1],
      ],
      [
        { size: 2, before: 0, after: 0 },
        { size: 12, before: 4, after: 0 },
        { size: 5, before: 2, after: 1 },
      ],
    ],
  ])('%j padded %j', (shape, paddings, want) => {
    expect(collapsePad(shape, paddings)).toEqual(want);
  });
});

describe('PadV2 on wasm', () => {
  const cases: [string, number[], Paddings, number][] = [
    [
      'NHWC, H and W by 1 (Winograd)',
      [3, 8, 8, 16],
      [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ],
      0,
    ],
    [
      "bottom and right only (MobileNetV2's ZeroPadding2D)",
      [2, 12, 12, 8],
      [
        [0, 0],
        [0, 1],
        [0, 1],
        [0, 0],
      ],
      0,
    ],
    [
      'one channel, rows of 3 floats (word moves only)',
      [2, 5, 3, 1],
      [
        [0, 0],
        [2, 1],
        [1, 2],
        [0, 0],
      ],
      0,
    ],
    [
      'innermost axis padded, 5 + 3 floats per row (vector and word moves), a non-zero value',
      [2, 3, 5],
      [
        [0, 0],
        [0, 0],
        [1, 2],
      ],
      -1.5,
    ],
    [
      'every axis padded, rank 5',
      [2, 1, 3, 2, 4],
      [
        [1, 0],
        [0, 2],
        [1, 1],
        [2, 0],
        [0, 3],
      ],
      2.25,
    ],
    ['rank 1', [7], [[3, 5]], 0.5],
    [
      'outermost axis only',
      [2, 3, 4],
      [
        [1, 2],
        [0, 0],
        [0, 0],
      ],
      0,
    ],
    [
      'nothing padded',
      [2, 6],
      [
        [0, 0],
        [0, 0],
      ],
      0,
    ],
    [
      'an empty input padded to a non-empty output',
      [0, 3],
      [
        [1, 1],
        [0, 0],
      ],
      4,
    ],
  ];
  it.each(cases)('%s: matches the cpu backend exactly, leaving no buffer behind', async (_, shape, paddings, value) => {
    const size = shape.reduce((a, b) => a * b, 1);
    await expectExactOnBothBackends(() => tf.pad(tf.tensor(randomArray(size, 5), shape), paddings, value));
  });

  it('pads int32 with the value as an integer', () => {
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
    const y = tf.pad(
      x,
      [
        [1, 0],
        [0, 1],
      ],
      7,
    );
    expect(y.dtype).toBe('int32');
    expect(Array.from(y.dataSync())).toEqual([7, 7, 7, 7, 1, 2, 3, 7, 4, 5, 6, 7]);
    tf.dispose([x, y]);
  });

  it('keeps the gradient of a pad (a slice of dy)', async () => {
    const f = () =>
      tf.grad((x: tf.Tensor) =>
        tf.sum(
          tf.mul(
            tf.pad(x, [
              [0, 0],
              [1, 2],
              [2, 1],
              [0, 0],
            ]),
            tf.tensor(randomArray(2 * 7 * 7 * 4, 9), [2, 7, 7, 4]),
          ),
        ),
      )(tf.tensor(randomArray(2 * 4 * 4 * 4, 8), [2, 4, 4, 4]));
    expect(await runOn('wasm', f)).toEqual(await runOn('cpu', f));
  });
});
