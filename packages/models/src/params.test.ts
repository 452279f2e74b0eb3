import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODEL_PARAMS } from './params.js';
import { getVariant, VARIANT_NAMES } from './variants/registry.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Every module `file` imports (static and dynamic), following relative imports through the package. */
function importsOf(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
    const spec = m[1]!;
    if (spec.startsWith('.')) importsOf(resolve(dirname(file), spec.replace(/\.js$/, '.ts')), seen);
    else seen.add(spec);
  }
  return seen;
}

describe('@fersweep/models/params', () => {
  it('holds the very schemas the registry builds with, for every registered model', () => {
    expect(Object.keys(MODEL_PARAMS).sort()).toEqual(VARIANT_NAMES);
    for (const name of VARIANT_NAMES) expect(MODEL_PARAMS[name]).toBe(getVariant(name).params);
  });

  it('loads no TensorFlow.js (the coordinator imports it to validate sweeps)', () => {
    const modules = [...importsOf(join(here, 'params.ts'))];
    expect(modules.filter((m) => !m.startsWith('/'))).toEqual(['zod']);
  });
});
