import type { TensorInfo } from '@tensorflow/tfjs-core';
import { runGenerated, type WasmBackend } from '../kernel-utils.js';
import { addTo, copy, encodeModule, Locals, madd, op, repeat } from '../../wasm/index.js';

/** Rows of A and B per block: both blocks stay in L1 while every output block is updated. */
const ROW_BLOCK = 64;

const range = (k: number): number[] => Array.from({ length: k }, (_, i) => i);

/**
 * OUT[m][n] += Σ_k A[k][m] · B[k][n] for row-major A [K, M] and B [K, N] (M, N multiples of 4): the "Aᵀ·B"
 * product of two tall matrices, which is how a filter gradient contracts over pixels or tiles. XNNPACK has no
 * transposed-A GEMM (tfjs' BatchMatMul transposes A first, then packs B), so this is an outer-product
 * micro-kernel: a 4×8 block of OUT lives in eight v128 accumulators while K streams by in row blocks that stay
 * in L1; each row costs four splat loads of A, two v128 loads of B and eight multiply-adds (relaxed_madd where
 * the engine has relaxed SIMD, else mul + add). Params: A, B, OUT.
 */
export function encodeGemmTN(k: number, m: number, n: number): Uint8Array {
  return encodeGemm('tn', k, m, n);
}

/**
 * OUT[m][n] += Σ_k A[m][k] · B[k][n] for row-major A [M, K] and B [K, N] (M, N multiples of 4): the plain
 * product, with the micro-kernel of {@link encodeGemmTN} reading A by rows. Neither operand is packed, which is
 * what it is for: XNNPACK packs B on every call whose B is new (≈ 3.5 ns per float here, and a trained
 * filter is new every step), which costs more than the multiplication itself when M is a few rows.
 */
export function encodeGemmNN(k: number, m: number, n: number): Uint8Array {
  return encodeGemm('nn', k, m, n);
}

/** Where A[·][k] for the four rows of a block lie: 'tn' A [K, M] (a row of A per k), 'nn' A [M, K]. */
type ALayout = 'tn' | 'nn';

function encodeGemm(layout: ALayout, k: number, m: number, n: number): Uint8Array {
  const name = layout === 'tn' ? 'gemm-tn' : 'gemm-nn';
  if (m % 4 !== 0 || n % 4 !== 0) throw new Error(`${name}: M and N must be multiples of 4, got ${m}×${n}`);
  // Bytes from A[row r of the block][k] to A[r + 1][k], from A[·][k] to A[·][k + 1], and between 4-row blocks.
  const aRowStep = layout === 'tn' ? 4 : k * 4;
  const aKStep = layout === 'tn' ? m * 4 : 4;
  const aBlockStep = layout === 'tn' ? 16 : 4 * k * 4;
  const l = new Locals(3);
  const [A, B, OUT] = l.paramIndices();
  const [cRow, cM, cN, cBlk, aBlock, bBlock, ap, bp, op_, aCol, outRow] = l.i32s(11);
  const accs = l.v128s(8);
  const acc = (r: number, j: number): number => accs[r * 2 + j] as number;
  const [s, b0, b1] = l.v128s(3);
  const pairs = Math.floor(n / 8);
  const single = (n / 4) % 2 === 1;

  /** One 4×(4·width) output block over `rows` rows, A/B read from ap/bp, OUT at op_. */
  const block = (rows: number, width: 1 | 2): number[] => [
    ...range(4).flatMap((r) =>
      range(width).flatMap((j) => [...op.get(op_), ...op.v128Load(r * n * 4 + j * 16), ...op.set(acc(r, j))]),
    ),
    ...repeat(
      cRow,
      rows,
      [...op.get(bp), ...op.v128Load(0), ...op.set(b0)],
      width === 2 ? [...op.get(bp), ...op.v128Load(16), ...op.set(b1)] : [],
      ...range(4).map((r) => [
        ...op.get(ap),
        ...op.v128Load32Splat(r * aRowStep),
        ...op.set(s),
        ...range(width).flatMap((j) => [
          ...madd(op.get(s), op.get(j === 0 ? b0 : b1), op.get(acc(r, j))),
          ...op.set(acc(r, j)),
        ]),
      ]),
      addTo(ap, aKStep),
      addTo(bp, n * 4),
    ),
    ...range(4).flatMap((r) =>
      range(width).flatMap((j) => [...op.get(op_), ...op.get(acc(r, j)), ...op.v128Store(r * n * 4 + j * 16)]),
    ),
  ];

  /** Every output block for the row block starting at aBlock/bBlock. */
  const rowBlock = (rows: number): number[] => [
    ...copy(aCol, aBlock),
    ...copy(outRow, OUT),
    ...repeat(
      cM,
      m / 4,
      [...op.get(outRow), ...op.set(op_)],
      pairs > 0
        ? repeat(
            cN,
            pairs,
            copy(ap, aCol),
            [...op.get(bBlock), ...op.get(op_), ...op.get(outRow), ...op.sub, ...op.add, ...op.set(bp)],
            block(rows, 2),
            addTo(op_, 32),
          )
        : [],
      single
        ? [
            ...copy(ap, aCol),
            ...[...op.get(bBlock), ...op.get(op_), ...op.get(outRow), ...op.sub, ...op.add, ...op.set(bp)],
            ...block(rows, 1),
          ]
        : [],
      addTo(aCol, aBlockStep),
      addTo(outRow, 4 * n * 4),
    ),
  ];

  const full = Math.floor(k / ROW_BLOCK);
  const tail = k % ROW_BLOCK;
  const body = [
    ...copy(aBlock, A),
    ...copy(bBlock, B),
    ...(full > 0
      ? repeat(cBlk, full, rowBlock(ROW_BLOCK), addTo(aBlock, ROW_BLOCK * aKStep), addTo(bBlock, ROW_BLOCK * n * 4))
      : []),
    ...(tail > 0 ? rowBlock(tail) : []),
  ];
  return encodeModule(l, body);
}

type GemmRunner = (
  backend: WasmBackend,
  shape: { k: number; m: number; n: number },
  a: TensorInfo | number,
  b: TensorInfo | number,
  out: TensorInfo | number,
) => void;

/** Runs the GEMM of `layout` on the heap (tensors or byte offsets), compiled once per shape. */
const runGemm =
  (layout: ALayout): GemmRunner =>
  (backend, shape, a, b, out) =>
    runGenerated(backend, `gemm-${layout}`, shape, ({ k, m, n }) => encodeGemm(layout, k, m, n), [a, b, out]);

/** OUT [m, n] += Aᵀ·B for A [k, m] and B [k, n]. */
export const runGemmTN: GemmRunner = runGemm('tn');

/** OUT [m, n] += A·B for A [m, k] and B [k, n]. */
export const runGemmNN: GemmRunner = runGemm('nn');
