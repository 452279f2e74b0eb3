import { I32, V128 } from './opcodes.js';

/** `N` numbers as a tuple when N is a literal (so destructuring needs no undefined checks), else an array. */
export type Indices<N extends number, R extends number[] = []> = number extends N
  ? number[]
  : R['length'] extends N
    ? R
    : Indices<N, [...R, number]>;

/**
 * Numbers a generated function's locals: parameters first (all i32 here), then each local in the order it is
 * asked for. The declaration groups consecutive locals of one type, so i32 and v128 locals may be interleaved
 * freely and no kernel numbers locals by hand.
 */
export class Locals<P extends number = number> {
  private readonly types: number[] = [];

  constructor(readonly params: P) {}

  /** The indices of all parameters, 0 … params − 1. */
  paramIndices(): Indices<P> {
    return Array.from({ length: this.params }, (_, i) => i) as Indices<P>;
  }

  /** The index of parameter `i`. */
  param(i: number): number {
    if (i < 0 || i >= this.params) throw new Error(`wasm locals: no parameter ${i} of ${this.params}`);
    return i;
  }

  i32(): number {
    return this.add(I32);
  }

  v128(): number {
    return this.add(V128);
  }

  /** A local of any value type (I32, I64, F32, F64, V128 from opcodes.ts; the kernels use i32 and v128). */
  of(type: number): number {
    return this.add(type);
  }

  /** `count` fresh i32 locals. */
  i32s<N extends number>(count: N): Indices<N> {
    return Array.from({ length: count }, () => this.i32()) as Indices<N>;
  }

  /** `count` fresh v128 locals. */
  v128s<N extends number>(count: N): Indices<N> {
    return Array.from({ length: count }, () => this.v128()) as Indices<N>;
  }

  /** The local declarations of the function body: [count, type] runs in index order. */
  declarations(): [number, number][] {
    const runs: [number, number][] = [];
    for (const type of this.types) {
      const last = runs[runs.length - 1];
      if (last !== undefined && last[1] === type) last[0]++;
      else runs.push([1, type]);
    }
    return runs;
  }

  private add(type: number): number {
    this.types.push(type);
    return this.params + this.types.length - 1;
  }
}
