import {
  backend_util,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { assertNHWC, backpropInputPadding, dilateNHWC } from '../conv-geometry.js';
import { dims4, explicitPad, input, withScope, type WasmKernelArgs } from '../kernel-utils.js';

/** Pointwise input gradients over at most this many pixels (N·H·W) run as a GEMM, larger ones as a conv. */
const POINTWISE_GEMM_MAX_ROWS = 4096;

/**
 * dx = stride-1 correlation of the (stride-dilated) dy with the spatially flipped filter whose in/out
 * channels are swapped, run as XNNPACK's forward conv2d.
 */
export function makeConv2DBackpropInputWasm(stock: KernelConfig | undefined) {
  return (args: WasmKernelArgs<Conv2DBackpropInputAttrs>): TensorInfo => {
    const { backend, attrs } = args;
    const dy = input(args, 'dy');
    const filter = input(args, 'filter');
    assertNHWC(Conv2DBackpropInput, attrs.dataFormat);
    const info = backend_util.computeConv2DInfo(
      attrs.inputShape,
      dims4(filter.shape),
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      'channelsLast',
    );
    const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
    const pointwise =
      info.filterHeight === 1 &&
      info.filterWidth === 1 &&
      info.strideHeight === 1 &&
      info.strideWidth === 1 &&
      info.padInfo.top === 0 &&
      info.padInfo.left === 0;
    if (pointwise && n * h * w <= POINTWISE_GEMM_MAX_ROWS) {
      // dx = dy · Wᵀ as a GEMM: on small images (MobileNetV2's 2–6 px layers) 2–3× faster than the conv.
      return withScope(backend, (s) => {
        const wt = s.reshape(s.transpose(s.reshape(filter, [ci, co]), [1, 0]), [1, co, ci]);
        const prod = s.run(
          'BatchMatMul',
          { a: s.reshape(dy, [1, n * h * w, co]), b: wt },
          { transposeA: false, transposeB: false },
        );
        return s.reshape(prod, [n, h, w, ci]);
      });
    }
    const pad = backpropInputPadding(info);
    if (pad === null) {
      if (stock === undefined) throw new Error('Conv2DBackpropInput: padding larger than the filter is not supported');
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    return withScope(backend, (s) => {
      const flipped = s.transpose(s.flipSpatial(filter), [0, 1, 3, 2]);
      const spread = dilateNHWC(s, dy, info.strideHeight, info.strideWidth);
      return s.run(
        'Conv2D',
        { x: spread, filter: flipped },
        {
          strides: [1, 1],
          pad: explicitPad(pad.top, pad.bottom, pad.left, pad.right),
          dataFormat: 'NHWC',
          dilations: [1, 1],
        },
      );
    });
  };
}
