// Writes each workspace's tsconfig.json (references from its @fersweep/* dependencies) and the root's.
// Run after adding a workspace or a dependency between workspaces: node scripts/gen-tsconfig.mjs
import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';

const write = async (path, value) =>
  writeFileSync(path, await format(JSON.stringify(value), { ...(await resolveConfig(path)), filepath: path }));

// The workspaces of the root package.json: `apps/*`, `packages/*`, `services/*` and the test-only ones.
const dirs = JSON.parse(readFileSync('package.json', 'utf8')).workspaces.flatMap((glob) => {
  if (!glob.endsWith('/*')) return existsSync(join(glob, 'package.json')) ? [glob] : [];
  const top = glob.slice(0, -2);
  return existsSync(top)
    ? readdirSync(top)
        .map((d) => join(top, d))
        .filter((d) => existsSync(join(d, 'package.json')))
    : [];
});
const byName = new Map(dirs.map((d) => [JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')).name, d]));
for (const d of dirs) {
  const pkg = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8'));
  const deps = Object.keys({ ...pkg.dependencies }).filter((n) => byName.has(n));
  const cfg = {
    extends: '../../tsconfig.base.json',
    compilerOptions: { rootDir: 'src', outDir: 'dist' },
    include: ['src'],
    // Tests are type-checked by tsconfig.test.json (no emit), so dist holds only the library.
    exclude: ['src/**/*.test.ts', 'src/**/test-support.ts', 'src/**/testing/**'],
    references: deps.sort().map((n) => ({ path: `../../${byName.get(n)}` })),
  };
  await write(join(d, 'tsconfig.json'), cfg);
}
// bench/ is a TypeScript project too (not a workspace): built with everything else.
const root = { files: [], references: [...dirs.sort(), 'bench'].map((d) => ({ path: `./${d}` })) };
await write('tsconfig.json', root);
console.log(`tsconfig: ${dirs.length} workspaces`);
