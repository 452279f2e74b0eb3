import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('.', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const kernelFiles = sources(join(SRC, 'kernels')).filter((f) => !f.endsWith('.test.ts'));

describe('the runtime package', () => {
  it('depends on TensorFlow.js only: no fersweep workspace import', () => {
    const offenders = sources(SRC).filter((f) => /from '@fersweep\//.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(SRC, '..', 'package.json'), 'utf8')) as Record<string, unknown>;
    const deps = Object.keys({ ...(pkg['dependencies'] as object), ...(pkg['optionalDependencies'] as object) });
    expect(deps.filter((d) => d.startsWith('@fersweep/'))).toEqual([]);
  });

  it('has no kernel that hand-encodes instruction bytes (they come from wasm/opcode-table.ts)', () => {
    // The SIMD prefix byte written out, as two kernels once did for f32x4.sub/div/sqrt.
    const offenders = kernelFiles.filter((f) => /\b0xfd\b/i.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('has no kernel that numbers wasm locals by hand (they come from wasm/locals.ts)', () => {
    // `const [A, B, …] = [0, 1, …]` or `encodeModule(3, [[…]], …)`: what the allocator replaced.
    const handNumbered = /=\s*\[\s*\d+\s*,\s*\d+\s*,\s*\d+|encodeModule\(\s*\d/;
    const offenders = kernelFiles.filter((f) => handNumbered.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
