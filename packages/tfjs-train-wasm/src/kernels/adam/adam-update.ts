import { util, type TensorInfo } from '@tensorflow/tfjs-core';
import { f32, input, KernelScope, type WasmKernelArgs, heapOffset } from '../kernel-utils.js';
import { addTo, cachedKernel, encodeModule, Locals, op } from '../../wasm/index.js';

/** Kernel name of the fused Adam step (wasm only; see src/adam.ts). */
export const ADAM_UPDATE = 'FersweepAdamUpdate';

/** Adam's hyper-parameters for one step; c1 = 1 − β1ᵗ and c2 = 1 − β2ᵗ are the bias corrections. */
export interface AdamUpdateAttrs {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  c1: number;
  c2: number;
}

/**
 * SIMD Adam step over `count` groups of four, as tfjs-core's AdamOptimizer computes it op by op:
 *   m' = β1·m + (1−β1)·g;  v' = β2·v + (1−β2)·g²;  x' = x + (−lr)·((m'/c1) / (√(v'/c2) + ε)).
 * Params: X, M, V, G, OX, OM, OV, K (8 floats: β1, 1−β1, β2, 1−β2, c1, c2, ε, −lr), COUNT.
 */
function adamModule(): Uint8Array {
  const l = new Locals(9);
  const [X, M, V, G, OX, OM, OV, K, COUNT] = l.paramIndices();
  const off = l.i32();
  const [b1, nb1, b2, nb2, c1, c2, eps, nlr, g, m, v] = l.v128s(11);
  const at = (base: number): number[] => [...op.get(base), ...op.get(off), ...op.add];
  const step = [
    ...at(G),
    ...op.v128Load(0),
    ...op.set(g),
    // m' = β1·m + (1−β1)·g
    ...at(M),
    ...op.v128Load(0),
    ...op.get(b1),
    ...op.f32x4Mul,
    ...op.get(g),
    ...op.get(nb1),
    ...op.f32x4Mul,
    ...op.f32x4Add,
    ...op.set(m),
    // v' = β2·v + (1−β2)·g²
    ...at(V),
    ...op.v128Load(0),
    ...op.get(b2),
    ...op.f32x4Mul,
    ...op.get(g),
    ...op.get(g),
    ...op.f32x4Mul,
    ...op.get(nb2),
    ...op.f32x4Mul,
    ...op.f32x4Add,
    ...op.set(v),
    ...at(OM),
    ...op.get(m),
    ...op.v128Store(0),
    ...at(OV),
    ...op.get(v),
    ...op.v128Store(0),
    // x' = (m'/c1) / (√(v'/c2) + ε) · (−lr) + x
    ...at(OX),
    ...op.get(m),
    ...op.get(c1),
    ...op.f32x4Div,
    ...op.get(v),
    ...op.get(c2),
    ...op.f32x4Div,
    ...op.f32x4Sqrt,
    ...op.get(eps),
    ...op.f32x4Add,
    ...op.f32x4Div,
    ...op.get(nlr),
    ...op.f32x4Mul,
    ...at(X),
    ...op.v128Load(0),
    ...op.f32x4Add,
    ...op.v128Store(0),
    ...addTo(off, 16),
  ];
  const prologue = [b1, nb1, b2, nb2, c1, c2, eps, nlr].flatMap((local, i) => [
    ...op.get(K),
    ...op.v128Load32Splat(i * 4),
    ...op.set(local),
  ]);
  const loop = op.loop(step, op.get(COUNT), op.i32(1), op.sub, op.tee(COUNT), op.brIf(0));
  return encodeModule(l, [
    ...prologue,
    ...op.i32(0),
    ...op.set(off),
    ...op.get(COUNT),
    ...op.i32(0),
    ...op.ne,
    ...op.if_(loop),
  ]);
}

/**
 * One Adam step for one variable in one kernel: outputs x', m', v' (new buffers; the optimizer assigns them).
 * tfjs-core's AdamOptimizer issues ~14 kernels per variable and step; MobileNetV2 has 158 variables, and on wasm
 * each kernel call costs several microseconds of engine overhead besides its work.
 */
export function adamUpdateWasm(args: WasmKernelArgs<AdamUpdateAttrs>): TensorInfo[] {
  const { backend, attrs } = args;
  const [x, m, v, g] = ['x', 'm', 'v', 'g'].map((name) => input(args, name)) as [
    TensorInfo,
    TensorInfo,
    TensorInfo,
    TensorInfo,
  ];
  const n = util.sizeFromShape(x.shape);
  for (const t of [m, v, g]) {
    if (util.sizeFromShape(t.shape) !== n || t.dtype !== 'float32') {
      throw new Error(`${ADAM_UPDATE}: x, m, v and g must be float32 tensors of one size`);
    }
  }
  const s = new KernelScope(backend);
  try {
    const outs = [x, m, v].map((t) => s.track(backend.makeOutput(t.shape.slice(), 'float32')));
    const [ox, om, ov] = outs as [TensorInfo, TensorInfo, TensorInfo];
    const k = s.track(backend.makeOutput([8], 'float32'));
    const { beta1, beta2, epsilon, c1, c2, learningRate } = attrs;
    f32(backend, k).set([beta1, 1 - beta1, beta2, 1 - beta2, c1, c2, epsilon, -learningRate]);
    const vec = n - (n % 4);
    const ptr = (t: TensorInfo): number => heapOffset(backend, t);
    cachedKernel('adam-update', backend.wasm.asm.memory, adamModule)(
      ptr(x),
      ptr(m),
      ptr(v),
      ptr(g),
      ptr(ox),
      ptr(om),
      ptr(ov),
      ptr(k),
      vec / 4,
    );
    if (vec < n) {
      // The last n % 4 elements in float32 steps, as the SIMD lanes compute them.
      const view = (t: TensorInfo): Float32Array => f32(backend, t);
      const [X, M, V, G, OX, OM, OV] = [view(x), view(m), view(v), view(g), view(ox), view(om), view(ov)];
      const fr = Math.fround;
      // The same float32 constants the SIMD loop splats from K.
      const [kb1, knb1, kb2, knb2] = [fr(beta1), fr(1 - beta1), fr(beta2), fr(1 - beta2)];
      const [kc1, kc2, keps, knlr] = [fr(c1), fr(c2), fr(epsilon), fr(-learningRate)];
      for (let i = vec; i < n; i++) {
        const gi = G[i] as number;
        const mi = fr(fr((M[i] as number) * kb1) + fr(gi * knb1));
        const vi = fr(fr((V[i] as number) * kb2) + fr(fr(gi * gi) * knb2));
        OM[i] = mi;
        OV[i] = vi;
        const step = fr(fr(mi / kc1) / fr(fr(Math.sqrt(fr(vi / kc2))) + keps));
        OX[i] = fr(fr(step * knlr) + (X[i] as number));
      }
    }
    return [s.keep(ox), s.keep(om), s.keep(ov)];
  } finally {
    s.dispose();
  }
}
