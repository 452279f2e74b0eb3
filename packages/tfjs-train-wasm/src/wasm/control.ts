import { op } from './opcodes.js';

/** Loop and pointer idioms the generated kernels share, over the opcode helpers. */

/** `counter = count; do { body } while (--counter)`: count ≥ 1. */
export function repeat(counter: number, count: number, ...body: number[][]): number[] {
  return [
    ...op.i32(count),
    ...op.set(counter),
    ...op.loop(...body, op.get(counter), op.i32(1), op.sub, op.tee(counter), op.brIf(0)),
  ];
}

export const addTo = (local: number, k: number): number[] => [
  ...op.get(local),
  ...op.i32(k),
  ...op.add,
  ...op.set(local),
];
export const copy = (to: number, from: number): number[] => [...op.get(from), ...op.set(to)];
/**
 * `rows` × channel blocks: for every row (param local `rows`, counted down to 0; ≥ 1) the byte offset `c` runs
 * 0, 16, …, cols − 16 (`cols` a local holding the row's byte length). Each `[local, param]` pointer starts at its
 * param and advances 16 bytes per block — rows are contiguous, so it walks the whole [rows, cols] array.
 */
export function rowsByChannels(
  rows: number,
  cols: number,
  c: number,
  pointers: [number, number][],
  body: number[][],
): number[] {
  const inner = op.loop(
    ...body,
    ...pointers.map(([local]) => addTo(local, 16)),
    op.get(c),
    op.i32(16),
    op.add,
    op.tee(c),
    op.get(cols),
    op.ltS,
    op.brIf(0),
  );
  return [
    ...pointers.flatMap(([local, param]) => copy(local, param)),
    ...op.loop(op.i32(0), op.set(c), inner, op.get(rows), op.i32(1), op.sub, op.tee(rows), op.brIf(0)),
  ];
}
