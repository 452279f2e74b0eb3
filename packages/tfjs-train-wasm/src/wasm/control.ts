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

/** Each v128 local of `locals` set to float i of the array at param `k` in all four lanes (constants of a kernel). */
export function splatConstants(k: number, locals: readonly number[]): number[] {
  return locals.flatMap((local, i) => [...op.get(k), ...op.v128Load32Splat(i * 4), ...op.set(local)]);
}

/**
 * `counter = count; if (counter) do { body } while (--counter)`: `count` is code that leaves an i32 (0 runs the
 * body not at all; {@link repeat} is for constant counts ≥ 1).
 */
export function timesOrNone(counter: number, count: number[], ...body: number[][]): number[] {
  const loop = op.loop(...body, op.get(counter), op.i32(1), op.sub, op.tee(counter), op.brIf(0));
  return [...count, ...op.tee(counter), ...op.if_(loop)];
}

/**
 * `off = 0` then `step` once per group of four floats (`counter`, a param or local, may be 0): an elementwise
 * loop where `step` advances the byte offset `off` itself.
 */
export function groupsOfFour(counter: number, off: number, step: number[]): number[] {
  return [...op.i32(0), ...op.set(off), ...timesOrNone(counter, op.get(counter), step)];
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
