import { spawnSync } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import { TrialSpec } from '@fersweep/contracts';
import { createMemoryBus } from '@fersweep/messaging';
import { disposeModel, initTf, loadModel, type TfRuntime } from '@fersweep/models';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { trainerWorkdir } from './testing/workdir.js';
import { runTrial } from './trainer.js';

let dir: string;
let runtime: TfRuntime;

beforeAll(async () => {
  runtime = await initTf({ prefer: 'wasm' });
  dir = await trainerWorkdir('portable');
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/**
 * A bare Node process: only @tensorflow/tfjs (by absolute path, from a script outside the repository), serving the
 * model folder over HTTP on loopback and loading it with a plain `tf.loadLayersModel` — what a user of the model
 * without fersweep does. Prints the probabilities for the images in `images.bin` and every CommonJS module it
 * loaded.
 */
const BARE = `
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
const [tfPath, modelDir, imagesFile, n] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const tf = require(tfPath);
const server = http.createServer(async (req, res) => {
  try {
    res.end(await readFile(modelDir + '/' + new URL(req.url, 'http://x').pathname.slice(1)));
  } catch {
    res.statusCode = 404;
    res.end();
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
try {
  const model = await tf.loadLayersModel('http://127.0.0.1:' + server.address().port + '/model.json');
  const bytes = await readFile(imagesFile);
  const x = tf.tensor4d(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), [Number(n), 48, 48, 1]);
  const y = model.predict(x);
  console.log(JSON.stringify({ probabilities: Array.from(y.dataSync()), modules: Object.keys(require.cache) }));
} finally {
  server.close();
}
`;

function runBare(modelDir: string, imagesFile: string, n: number) {
  const tfPath = createRequire(import.meta.url).resolve('@tensorflow/tfjs');
  return spawnSync(process.execPath, [join(dir, 'bare.mjs'), tfPath, modelDir, imagesFile, String(n)], {
    cwd: tmpdir(),
    encoding: 'utf8',
    timeout: 120_000,
  });
}

describe('a trained model', () => {
  it('loads with a plain tf.loadLayersModel in a bare process (only @tensorflow/tfjs) and predicts as in fersweep; so does its checkpoint', async () => {
    // MobileNetV2 at 96 px: the variant that resizes inside the model (a custom layer before the portable resize).
    const spec = TrialSpec.parse({
      sweep: 'sw',
      trial: 'mnv2',
      variant: 'mnv2',
      model: 'mobilenetv2',
      params: { alpha: 0.35, inputSize: 96 },
      dataset: `file://${dir}/data`,
      output: `file://${dir}/out`,
      epochs: 1,
      batchSize: 32,
      seed: 5,
    });
    const result = await runTrial({
      spec,
      openStore,
      bus: createMemoryBus(),
      logger: createLogger({ service: 'trainer', silent: true }),
      runtime,
    });
    const modelDir = new URL(result.modelUri).pathname;
    await writeFile(join(dir, 'bare.mjs'), BARE);
    const images = tf.tidy(() => tf.randomUniform([5, 48, 48, 1], 0, 1, 'float32', 9).dataSync() as Float32Array);
    await writeFile(join(dir, 'images.bin'), images);

    const run = runBare(modelDir, join(dir, 'images.bin'), 5);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    const bare = JSON.parse(run.stdout.trim().split('\n').pop()!) as { probabilities: number[]; modules: string[] };
    // Nothing of fersweep's was loaded: tfjs and its own dependencies only.
    expect(bare.modules.filter((m) => !m.includes('node_modules'))).toEqual([]);
    expect(bare.modules.filter((m) => /@fersweep|[/\\]packages[/\\]/.test(m))).toEqual([]);

    const model = await loadModel(openStore(modelDir));
    const ours = tf.tidy(() =>
      Array.from((model.predict(tf.tensor4d(images, [5, 48, 48, 1])) as tf.Tensor).dataSync()),
    );
    disposeModel(model);
    expect(bare.probabilities).toHaveLength(35);
    bare.probabilities.forEach((p, i) => expect(Math.abs(p - ours[i]!)).toBeLessThan(1e-5));

    // A checkpoint also carries Adam's state (weight group 'optimizer', saved by FusedAdamOptimizer as 'Adam'):
    // tfjs' own loader restores it into its stock Adam.
    const checkpoints = join(modelDir, '..', 'checkpoints');
    const checkpoint = (await readdir(checkpoints))
      .filter((c) => c.startsWith('epoch-'))
      .sort()
      .pop()!;
    const manifest = JSON.parse(await readFile(join(checkpoints, checkpoint, 'model.json'), 'utf8')) as {
      weightsManifest: { weights: { group?: string }[] }[];
    };
    expect(manifest.weightsManifest[0]!.weights.some((w) => w.group === 'optimizer')).toBe(true);
    const fromCheckpoint = runBare(join(checkpoints, checkpoint), join(dir, 'images.bin'), 5);
    expect(fromCheckpoint.status).toBe(0);

    const topology = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8')) as {
      modelTopology: { config: { layers: { class_name: string }[] } };
    };
    expect(topology.modelTopology.config.layers.map((l) => l.class_name)).not.toContain('ResizeImages');
  }, 300_000);
});
