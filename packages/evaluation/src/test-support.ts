/** Throws unless |actual − expected| ≤ rel·|expected| (an absolute `rel` when expected is 0). */
export function expectRelativelyClose(actual: number, expected: number, rel: number): void {
  const tolerance = expected === 0 ? rel : rel * Math.abs(expected);
  if (!(Math.abs(actual - expected) <= tolerance)) {
    const relative = Math.abs(actual - expected) / Math.abs(expected);
    throw new Error(`expected ${actual} to be within ${rel} (relative) of ${expected}; off by ${relative}`);
  }
}

/** mulberry32: a tiny seeded PRNG, so property tests are reproducible. Floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
