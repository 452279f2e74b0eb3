import {
  ClipByValue,
  engine,
  getBackend,
  Relu,
  Relu6,
  type GradConfig,
  type NamedAttrMap,
  type Tensor,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { f32, input, type WasmKernelArgs } from '../kernel-utils.js';
import { cachedKernel, encodeModule, Locals, op } from '../../wasm/index.js';

/** SIMD loop: out = dy & (x ≷ lo) & (x ≷ hi), four lanes at a time, over `bytes` bytes (a multiple of 16). */
function maskedModule(lo: number, hi: number, loInclusive: boolean, hiInclusive: boolean): Uint8Array {
  const l = new Locals(4);
  const [X, DY, OUT, END] = l.paramIndices();
  const p = l.i32();
  const v = l.v128();
  const body = op.loop(
    op.get(OUT),
    op.get(p),
    op.add,
    op.get(X),
    op.get(p),
    op.add,
    op.v128Load(0),
    op.tee(v),
    op.f32(lo),
    op.f32x4Splat,
    loInclusive ? op.f32x4Ge : op.f32x4Gt,
    op.get(v),
    op.f32(hi),
    op.f32x4Splat,
    hiInclusive ? op.f32x4Le : op.f32x4Lt,
    op.v128And,
    op.get(DY),
    op.get(p),
    op.add,
    op.v128Load(0),
    op.v128And,
    op.v128Store(0),
    op.get(p),
    op.i32(16),
    op.add,
    op.tee(p),
    op.get(END),
    op.ltS,
    op.brIf(0),
  );
  return encodeModule(l, body);
}

/** Kernel name of the fused "pass dy where x is in a range" gradient (wasm only). */
export const MASKED_GRAD = 'FersweepMaskedGrad';

interface MaskedGradAttrs {
  lo: number;
  hi: number;
  /** Whether x = lo (resp. hi) passes the gradient. */
  loInclusive: boolean;
  hiInclusive: boolean;
}

/**
 * dx = dy where lo ≤/< x ≤/< hi, else 0, in one pass. tfjs-core builds the ClipByValue gradient from
 * greaterEqual, lessEqual, logicalAnd, zerosLike and where (five full-size passes of slow bool kernels on wasm,
 * ~90 ms for a 64×24×24×96 activation), the Relu gradient from step, cast and mul, and Relu6's from both.
 */
export function maskedGradWasm(args: WasmKernelArgs<MaskedGradAttrs>): TensorInfo {
  const dyInfo = input(args, 'dy');
  const xInfo = input(args, 'x');
  const { lo, hi, loInclusive, hiInclusive } = args.attrs;
  const out = args.backend.makeOutput(dyInfo.shape.slice(), 'float32');
  const dx = f32(args.backend, out);
  const dy = f32(args.backend, dyInfo);
  const x = f32(args.backend, xInfo);
  const n = dx.length;
  const vec = n - (n % 4);
  if (vec > 0) {
    const run = cachedKernel(`masked:${lo}:${hi}:${loInclusive}:${hiInclusive}`, args.backend.wasm.asm.memory, () =>
      maskedModule(lo, hi, loInclusive, hiInclusive),
    );
    const b = args.backend;
    run(b.getMemoryOffset(xInfo.dataId), b.getMemoryOffset(dyInfo.dataId), b.getMemoryOffset(out.dataId), vec * 4);
  }
  for (let i = vec; i < n; i++) {
    const v = x[i] as number;
    const inside = (loInclusive ? v >= lo : v > lo) && (hiInclusive ? v <= hi : v < hi);
    dx[i] = inside ? (dy[i] as number) : 0;
  }
  return out;
}

function fused(dy: Tensor, x: Tensor, attrs: MaskedGradAttrs): Tensor {
  const inputs = { dy, x };
  return engine().runKernel(MASKED_GRAD, inputs, attrs as unknown as NamedAttrMap) as Tensor;
}

/** dy and x when the fused wasm kernel applies (wasm backend, float32 tensors), else undefined. */
function fusedInputs(dy: Tensor | Tensor[], saved: Tensor[]): { g: Tensor; x: Tensor } | undefined {
  const [x] = saved;
  const g = Array.isArray(dy) ? dy[0] : dy;
  if (getBackend() !== 'wasm' || x === undefined || g === undefined || g.dtype !== 'float32' || x.dtype !== 'float32') {
    return undefined;
  }
  return { g, x };
}

/** A gradient that passes dy where x is in the range `mask(attrs)` gives, on wasm; `stock` elsewhere. */
function maskedGradConfig(
  kernelName: string,
  stock: GradConfig,
  mask: (attrs: NamedAttrMap) => MaskedGradAttrs,
): GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const inputs = fusedInputs(dy, saved);
      if (!inputs) return stock.gradFunc(dy, saved, attrs);
      const { g, x } = inputs;
      return { x: () => fused(g, x, mask(attrs)) };
    },
  };
}

/**
 * Gradients that use the fused kernel on wasm and tfjs-core's own composition elsewhere (gradients are
 * global to tfjs, the kernel exists only on wasm).
 */
export function maskedGradConfigs(stock: {
  clip: GradConfig | undefined;
  relu: GradConfig | undefined;
  relu6: GradConfig | undefined;
}): GradConfig[] {
  const configs: GradConfig[] = [];
  if (stock.clip !== undefined) {
    configs.push(
      maskedGradConfig(ClipByValue, stock.clip, (attrs) => ({
        lo: attrs['clipValueMin'] as number,
        hi: attrs['clipValueMax'] as number,
        loInclusive: true,
        hiInclusive: true,
      })),
    );
  }
  if (stock.relu !== undefined) {
    // step(x) is 1 only for x > 0.
    const mask = { lo: 0, hi: Number.POSITIVE_INFINITY, loInclusive: false, hiInclusive: true };
    configs.push(maskedGradConfig(Relu, stock.relu, () => mask));
  }
  if (stock.relu6 !== undefined) {
    // tfjs-core: step(x) · (x ≤ 6), i.e. 0 < x ≤ 6.
    const mask = { lo: 0, hi: 6, loInclusive: false, hiInclusive: true };
    configs.push(maskedGradConfig(Relu6, stock.relu6, () => mask));
  }
  return configs;
}
