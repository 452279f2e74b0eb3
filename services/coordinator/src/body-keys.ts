import { SweepError } from './errors.js';

/** Property names that mean something to JavaScript objects rather than to a sweep. */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Refuses a body holding `__proto__`, `constructor` or `prototype` as a key anywhere: SweepError
 * 'InvalidSpec' naming where. JSON.parse makes them own properties, which the schema would silently
 * drop from records (zod skips `__proto__`) or a later spread could turn into a prototype change;
 * a sweep never needs them, so they are refused rather than dropped. Iterative: any depth is safe
 * (the depth limit is checked first anyway).
 */
export function assertNoReservedKeys(value: unknown): void {
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      v.forEach((child, i) => stack.push([child, `${path}[${i}]`]));
      continue;
    }
    for (const key of Object.keys(v)) {
      const field = path ? `${path}.${key}` : key;
      if (RESERVED.has(key))
        throw new SweepError('InvalidSpec', `${field}: '${key}' is a reserved property name`, field, [
          { field, message: `'${key}' is a reserved property name` },
        ]);
      stack.push([(v as Record<string, unknown>)[key], field]);
    }
  }
}
