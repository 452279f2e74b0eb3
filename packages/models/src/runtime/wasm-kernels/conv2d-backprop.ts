import {
  backend_util,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { backpropInputPadding, dilateNHWC } from './conv-geometry.js';
import { dims4, explicitPad, input, withScope, type WasmKernelArgs } from './kernel-utils.js';

function assertNHWC(kernel: string, dataFormat: string): void {
  if (dataFormat !== 'NHWC') throw new Error(`${kernel} on wasm supports dataFormat 'NHWC' only, got '${dataFormat}'`);
}

/**
 * dW[kh,kw,ci,co] = Σ_{n,oh,ow} x[n, oh·s+kh−pt, ow·s+kw−pl, ci] · dy[n,oh,ow,co]. Read with ci as the batch,
 * (oh,ow) as the filter taps and n as the contracted channel, this is a forward conv2d of
 * x→[CI,H,W,N] with dy→[OH,OW,N,CO] at dilation = stride, which XNNPACK runs at forward speed.
 */
export function conv2DBackpropFilterWasm(args: WasmKernelArgs<Conv2DBackpropFilterAttrs>): TensorInfo {
  const { backend, attrs } = args;
  const x = input(args, 'x');
  const dy = input(args, 'dy');
  assertNHWC(Conv2DBackpropFilter, attrs.dataFormat);
  const info = backend_util.computeConv2DInfo(
    dims4(x.shape),
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co, padInfo: p } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  return withScope(backend, (s) => {
    const pointwise = kh === 1 && kw === 1 && sh === 1 && sw === 1 && p.top === 0 && p.left === 0;
    if (pointwise) {
      // One GEMM: [CI, NHW] · [NHW, CO]. The explicit transpose beats BatchMatMul's transposeA path ~50×.
      const xt = s.transpose(s.reshape(x, [n * h * w, ci]), [1, 0]);
      const prod = s.run(
        'BatchMatMul',
        { a: s.reshape(xt, [1, ci, n * h * w]), b: s.reshape(dy, [1, n * oh * ow, co]) },
        {
          transposeA: false,
          transposeB: false,
        },
      );
      return s.reshape(prod, [1, 1, ci, co]);
    }
    const xt = s.transpose(x, [3, 1, 2, 0]);
    const dyt = s.transpose(dy, [1, 2, 0, 3]);
    let r = s.run(
      'Conv2D',
      { x: xt, filter: dyt },
      {
        strides: [1, 1],
        pad: explicitPad(p.top, p.bottom, p.left, p.right),
        dataFormat: 'NHWC',
        dilations: [sh, sw],
      },
    );
    // With stride > 1 the correlation can run up to stride−1 taps past the filter: those are not weights.
    const [, rh, rw] = dims4(r.shape);
    if (rh !== kh || rw !== kw) r = s.run('Slice', { x: r }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] });
    return s.transpose(r, [1, 2, 0, 3]);
  });
}

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
    const pad = backpropInputPadding(info);
    if (pad === null) {
      if (stock === undefined) throw new Error('Conv2DBackpropInput: padding larger than the filter is not supported');
      return stock.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    return withScope(backend, (s) => {
      const flipped = s.transpose(s.run('Reverse', { x: filter }, { dims: [0, 1] }), [0, 1, 3, 2]);
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
