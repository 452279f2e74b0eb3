// Writes each workspace's tsconfig.json (references from its @fersweep/* dependencies) and the root's.
// Run after adding a workspace or a dependency between workspaces: node scripts/gen-tsconfig.mjs
import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const dirs = ['packages', 'services'].flatMap((top) =>
  existsSync(top) ? readdirSync(top).map((d) => join(top, d)).filter((d) => existsSync(join(d, 'package.json'))) : [],
);
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
  writeFileSync(join(d, 'tsconfig.json'), JSON.stringify(cfg, null, 2) + '\n');
}
const root = { files: [], references: dirs.sort().map((d) => ({ path: `./${d}` })) };
writeFileSync('tsconfig.json', JSON.stringify(root, null, 2) + '\n');
console.log(`tsconfig: ${dirs.length} workspaces`);
