import { util, type TensorInfo } from '@tensorflow/tfjs-core';
import { f32, heapOffset, input, KernelScope, type WasmBackend, type WasmKernelArgs } from '../kernel-utils.js';
import { addTo, cachedKernel, encodeModule, groupsOfFour, Locals, op, splatConstants } from '../../wasm/index.js';

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
  return encodeModule(l, [
    ...splatConstants(K, [b1, nb1, b2, nb2, c1, c2, eps, nlr]),
    ...groupsOfFour(COUNT, off, step),
  ]);
}

/** One variable's Adam buffers on the heap: its value, moments and gradient; the outputs default to in place. */
interface AdamBuffers {
  x: TensorInfo;
  m: TensorInfo;
  v: TensorInfo;
  g: TensorInfo;
  ox?: TensorInfo;
  om?: TensorInfo;
  ov?: TensorInfo;
}

/**
 * Runs {@link adamModule} over each variable's buffers (k: the 8 constants, already on the heap). Each element's
 * inputs are read before its outputs are written, so outputs may be the inputs' own buffers.
 */
function adamSteps(backend: WasmBackend, k: TensorInfo, attrs: AdamUpdateAttrs, variables: AdamBuffers[]): void {
  const run = cachedKernel('adam-update', backend.wasm.asm.memory, adamModule);
  const ptr = (t: TensorInfo): number => heapOffset(backend, t);
  const kp = ptr(k);
  const { beta1, beta2, epsilon, c1, c2, learningRate } = attrs;
  const fr = Math.fround;
  // The same float32 constants the SIMD loop splats from K.
  const [kb1, knb1, kb2, knb2] = [fr(beta1), fr(1 - beta1), fr(beta2), fr(1 - beta2)];
  const [kc1, kc2, keps, knlr] = [fr(c1), fr(c2), fr(epsilon), fr(-learningRate)];
  for (const b of variables) {
    const { x, m, v, g, ox = x, om = m, ov = v } = b;
    const n = util.sizeFromShape(x.shape);
    const vec = n - (n % 4);
    run(ptr(x), ptr(m), ptr(v), ptr(g), ptr(ox), ptr(om), ptr(ov), kp, vec / 4);
    if (vec === n) continue;
    // The last n % 4 elements in float32 steps, as the SIMD lanes compute them.
    const view = (t: TensorInfo): Float32Array => f32(backend, t);
    const [X, M, V, G, OX, OM, OV] = [view(x), view(m), view(v), view(g), view(ox), view(om), view(ov)];
    for (let i = vec; i < n; i++) {
      const gi = G[i] as number;
      const mi = fr(fr((M[i] as number) * kb1) + fr(gi * knb1));
      const vi = fr(fr((V[i] as number) * kb2) + fr(fr(gi * gi) * knb2));
      const xi = X[i] as number;
      OM[i] = mi;
      OV[i] = vi;
      const step = fr(fr(mi / kc1) / fr(fr(Math.sqrt(fr(vi / kc2))) + keps));
      OX[i] = fr(fr(step * knlr) + xi);
    }
  }
}

/** Allocates the 8 constants of {@link adamModule} on the heap; the caller frees them. */
function adamConstants(backend: WasmBackend, s: KernelScope, attrs: AdamUpdateAttrs): TensorInfo {
  const k = s.track(backend.makeOutput([8], 'float32'));
  const { beta1, beta2, epsilon, c1, c2, learningRate } = attrs;
  f32(backend, k).set([beta1, 1 - beta1, beta2, 1 - beta2, c1, c2, epsilon, -learningRate]);
  return k;
}

function checkAdamBuffers(x: TensorInfo, others: TensorInfo[]): void {
  const n = util.sizeFromShape(x.shape);
  for (const t of [x, ...others]) {
    if (util.sizeFromShape(t.shape) !== n || t.dtype !== 'float32') {
      throw new Error(`${ADAM_UPDATE}: x, m, v and g must be float32 tensors of one size`);
    }
  }
}

/**
 * One Adam step for one variable in one kernel: outputs x', m', v' (new buffers; the optimizer assigns them).
 * tfjs-core's AdamOptimizer issues ~14 kernels per variable and step. The optimizer uses this kernel only where
 * a buffer is shared ({@link adamUpdateInPlace} otherwise).
 */
export function adamUpdateWasm(args: WasmKernelArgs<AdamUpdateAttrs>): TensorInfo[] {
  const { backend, attrs } = args;
  const [x, m, v, g] = ['x', 'm', 'v', 'g'].map((name) => input(args, name)) as [
    TensorInfo,
    TensorInfo,
    TensorInfo,
    TensorInfo,
  ];
  checkAdamBuffers(x, [m, v, g]);
  const s = new KernelScope(backend);
  try {
    const [ox, om, ov] = [x, m, v].map((t) => s.track(backend.makeOutput(t.shape.slice(), 'float32'))) as [
      TensorInfo,
      TensorInfo,
      TensorInfo,
    ];
    adamSteps(backend, adamConstants(backend, s, attrs), attrs, [{ x, m, v, g, ox, om, ov }]);
    return [s.keep(ox), s.keep(om), s.keep(ov)];
  } finally {
    s.dispose();
  }
}

/**
 * One Adam step for many variables at once, writing x, m and v in place: no engine kernel call, no output
 * buffers, no assignments. MobileNetV2 has 158 variables; per variable, a kernel call and three assignments cost
 * more than the arithmetic on its small ones. Only for buffers nothing else holds (refCount 1, and g none of
 * them): a tensor sharing one (tfjs-backend-wasm shares buffers for Identity and reshapes) would change with it.
 */
export function adamUpdateInPlace(
  backend: WasmBackend,
  variables: { x: TensorInfo; m: TensorInfo; v: TensorInfo; g: TensorInfo }[],
  attrs: AdamUpdateAttrs,
): void {
  if (!canRenewBufferIds(backend)) throw new Error(`${ADAM_UPDATE}: in-place updates need tfjs-backend-wasm 4.22`);
  for (const { x, m, v, g } of variables) {
    checkAdamBuffers(x, [m, v, g]);
    if (!ownsAdamBuffers(backend, x, m, v, g))
      throw new Error(`${ADAM_UPDATE}: in-place update of a buffer another tensor holds`);
  }
  const s = new KernelScope(backend);
  try {
    adamSteps(backend, adamConstants(backend, s, attrs), attrs, variables);
  } finally {
    s.dispose();
    for (const { x } of variables) renewBufferId(backend, x);
  }
}

/** tfjs-backend-wasm 4.22's private bookkeeping of a buffer (what {@link renewBufferId} changes). */
interface BufferBook {
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number; shape: number[] } | undefined };
  dataIdNextNumber: number;
  wasm: { tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void } };
}

/** Whether {@link renewBufferId} can work on this backend (tfjs-backend-wasm 4.22's internals are there). */
export function canRenewBufferIds(backend: WasmBackend): boolean {
  const b = backend as unknown as Partial<BufferBook>;
  return (
    typeof b.dataIdNextNumber === 'number' &&
    typeof b.dataIdMap?.get === 'function' &&
    typeof b.wasm?.tfjs?.registerTensor === 'function' &&
    typeof b.wasm.tfjs.disposeData === 'function'
  );
}

/**
 * Gives a buffer whose contents changed in place a new id in the backend's C++ side. XNNPACK operators (a
 * Dense or convolution layer's packed weights) are cached by the id of their weight tensor and dropped when that
 * id is disposed: a weight updated in place under its old id would be multiplied with its stale packed copy.
 * Disposing the old id (after registering the same memory under a new one) drops those caches; the memory stays.
 */
export function renewBufferId(backend: WasmBackend, t: TensorInfo): void {
  const b = backend as unknown as BufferBook;
  const data = b.dataIdMap.get(t.dataId);
  if (data === undefined) throw new Error('wasm: renewing the id of a buffer that is not on the heap');
  const id = b.dataIdNextNumber++;
  b.wasm.tfjs.registerTensor(id, util.sizeFromShape(data.shape), data.memoryOffset);
  b.wasm.tfjs.disposeData(data.id);
  data.id = id;
}

/**
 * Whether x, m and v may be updated in place: no other tensor holds their buffers, and g is none of them (and
 * {@link canRenewBufferIds}, checked once per step by the caller).
 */
export function ownsAdamBuffers(
  backend: WasmBackend,
  x: TensorInfo,
  m: TensorInfo,
  v: TensorInfo,
  g: TensorInfo,
): boolean {
  const own = [x, m, v];
  return (
    own.every((t) => backend.refCount(t.dataId) === 1) &&
    new Set(own.map((t) => t.dataId)).size === 3 &&
    !own.some((t) => t.dataId === g.dataId)
  );
}
