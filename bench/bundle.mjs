#!/usr/bin/env node
/**
 * `npm run bench:bundle`: the models and scaling benchmarks as one self-contained folder, bench/bundle/, that
 * runs with only a node binary (≥ 20) on another machine — no node_modules, no build:
 *   bench/bundle/dist/{models,model-once,scaling,scaling-once,worker}.js + shared chunks (esbuild, ESM)
 *   bench/bundle/dist/*.wasm        (TensorFlow.js' wasm backend binaries, found beside the code)
 *   bench/bundle/peer/torch_peer.py (the PyTorch peer: any python3 with torch; BENCH_PYTHON picks it)
 *   bench/bundle/README.txt
 * Copy the folder and run `node dist/scaling.js --threads 1,2,4,8,16` in it (results go to results/).
 * Built from the compiled bench (bench/dist, `tsc -b` first). sharp, a native module that only image import
 * paths use, is left out: a stub that throws if a bundled bench ever reaches it. fersweep's backend choice
 * imports the tfjs backend packages by a variable name (`import(specifier)`), which no bundler can follow: it
 * is rewritten here to literal imports of the wasm and cpu backends (the GPU/native ones stay absent).
 */
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'bench', 'bundle');
const require = createRequire(join(root, 'packages', 'models', 'package.json'));

await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'dist'), { recursive: true });
await mkdir(join(out, 'peer'), { recursive: true });
await mkdir(join(out, 'results'), { recursive: true });

/** Resolves `sharp` to a stub: the benches bundled here never decode or encode images with it. */
const noSharp = {
  name: 'no-sharp',
  setup(b) {
    b.onResolve({ filter: /^sharp$/ }, () => ({ path: 'sharp', namespace: 'no-sharp' }));
    b.onLoad({ filter: /.*/, namespace: 'no-sharp' }, () => ({
      contents:
        "const missing = () => { throw new Error('sharp is not part of the bench bundle (image import paths are not bundled)'); };\n" +
        'export default new Proxy(missing, { get: () => missing });\n',
      loader: 'js',
    }));
  },
};

const DYNAMIC_IMPORT = 'importModule: (specifier) => import(specifier)';
const LITERAL_IMPORTS =
  "importModule: (specifier) => specifier === '@tensorflow/tfjs-backend-wasm' ? import('@tensorflow/tfjs-backend-wasm')" +
  " : specifier === '@tensorflow/tfjs-backend-cpu' ? import('@tensorflow/tfjs-backend-cpu') : import(specifier)";
let rewritten = 0;
/** The backend loader's `import(specifier)` as literal imports of the backends a bundle can carry. */
const literalBackends = {
  name: 'literal-backends',
  setup(b) {
    b.onLoad({ filter: /[\\/]backend\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes(DYNAMIC_IMPORT)) return undefined;
      rewritten++;
      return { contents: text.replace(DYNAMIC_IMPORT, LITERAL_IMPORTS), loader: 'js' };
    });
  },
};

const result = await build({
  entryPoints: {
    models: join(root, 'bench/dist/models.js'),
    'model-once': join(root, 'bench/dist/model-once.js'),
    scaling: join(root, 'bench/dist/scaling.js'),
    'scaling-once': join(root, 'bench/dist/scaling-once.js'),
    // The data-parallel worker: engine.js starts `new URL('./worker.js', import.meta.url)`, i.e. this file.
    worker: join(root, 'services/trainer/dist/parallel/worker.js'),
  },
  outdir: join(out, 'dist'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // CommonJS dependencies (tfjs-backend-wasm's emscripten glue) use require, __dirname and __filename: give
  // every output file its own, so the .wasm files are found beside it.
  banner: {
    js: [
      "import { createRequire as __fsCreateRequire } from 'node:module';",
      "import { fileURLToPath as __fsFileURLToPath } from 'node:url';",
      "import { dirname as __fsDirname } from 'node:path';",
      'const require = __fsCreateRequire(import.meta.url);',
      'const __filename = __fsFileURLToPath(import.meta.url);',
      'const __dirname = __fsDirname(__filename);',
    ].join('\n'),
  },
  plugins: [noSharp, literalBackends],
  logLevel: 'warning',
  metafile: true,
});

if (rewritten === 0)
  throw new Error(
    `bench:bundle: no module contains "${DYNAMIC_IMPORT}" any more: update literalBackends in bench/bundle.mjs`,
  );

const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
for (const f of await readdir(wasmDir)) if (f.endsWith('.wasm')) await copyFile(join(wasmDir, f), join(out, 'dist', f));
await copyFile(join(root, 'bench/peer/torch_peer.py'), join(out, 'peer/torch_peer.py'));
await writeFile(
  join(out, 'README.txt'),
  `fersweep benchmarks, bundled (npm run bench:bundle). Needs only node >= 20; the PyTorch peer needs a python3 with torch.

  node dist/scaling.js --threads 1,2,4,8,16     data-parallel training img/s per model and thread count, with the
                                                PyTorch peer at the same thread counts, peak RSS, trainer epoch
  node dist/models.js                           single-thread training/inference img/s per model vs PyTorch

Options: --models SUBSTRING, --no-epoch, --batch N; BENCH_STEPS, BENCH_MIN_SECONDS, BENCH_PYTHON (default /usr/bin/python3).
Results: results/<bench>.json; tables on stdout.
`,
);
const bytes = Object.values(result.metafile.outputs).reduce((a, o) => a + o.bytes, 0);
console.log(`bench bundle: ${out} (${(bytes / 2 ** 20).toFixed(1)} MiB of JavaScript + the .wasm files)`);
