/**
 * End to end, the distributed path (issue 6b): real nats-server + real S3 server + the fake
 * kube-apiserver (trainers run as simulated pods) + coordinator + evaluator. The CLI submits and
 * watches the sweep, pulls both models, predicts with them and fetches the report. Needs the build.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { stringify } from 'yaml';
import { cli } from '../support/cli.js';
import { SweepReport } from '@fersweep/contracts';
import { KubernetesLauncher, startCoordinator, type Coordinator } from '@fersweep/coordinator';
import { imageRandom, importDataset, renderFace, syntheticSource } from '@fersweep/dataset';
import { loadConfig, startEvaluatorService, type EvaluatorService } from '@fersweep/evaluator';
import { startFakeKube, type FakeKube } from '@fersweep/kube-fake';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { startNats, startS3, type RunningS3, type RunningServer } from '@fersweep/testkit';
import { createTrainerConfig, trainerImage } from '../support/kube.js';

const BIN = join(process.cwd(), 'bin', 'fersweep.js');
const logger = createLogger({ service: 'e2e', silent: true });
let nats: RunningServer;
let s3: RunningS3;
let kube: FakeKube;
let evaluator: EvaluatorService;
let coordinator: Coordinator;
let dir: string;
let testCount = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fersweep-e2e-dist-'));
  [nats, s3] = await Promise.all([startNats(), startS3()]);
  Object.assign(process.env, s3.env, { FERSWEEP_TOKEN: 'e2e-token' });
  await s3.createBucket('fersweep');
  const manifest = await importDataset({
    source: syntheticSource({ count: 500, seed: 12 }),
    store: openStore('s3://fersweep/datasets/faces'),
    name: 'faces',
    seed: 1,
    explore: false,
  });
  testCount = manifest.splits.test.count;

  kube = await startFakeKube({ ...trainerImage(BIN), terminationGracePeriodSeconds: 5 });
  await createTrainerConfig(kube, nats, s3);

  evaluator = await startEvaluatorService(
    loadConfig({
      ...s3.env,
      NATS_URL: nats.url,
      FERSWEEP_STORE: 's3://fersweep',
      FERSWEEP_PORT: '0',
      FERSWEEP_HOST: '127.0.0.1',
      // The coordinator's token: it sends its first API token with every report and finalize request.
      FERSWEEP_API_TOKENS: 'e2e-token',
    }),
    { logger },
  );
  coordinator = await startCoordinator({
    env: {
      ...s3.env,
      NATS_URL: nats.url,
      FERSWEEP_STORE: 's3://fersweep',
      FERSWEEP_API_TOKENS: 'e2e-token',
      FERSWEEP_EVALUATOR_URL: `http://127.0.0.1:${evaluator.port}`,
    },
    port: 0,
    host: '127.0.0.1',
    logger,
    launcher: new KubernetesLauncher({
      kubeConfig: kube.kubeConfig,
      namespace: 'default',
      image: 'fersweep:e2e',
      logger,
      configMapName: 'fersweep-trainer',
      secretName: 'fersweep-s3',
    }),
  });
}, 180_000);

afterAll(async () => {
  await coordinator?.stop();
  await evaluator?.shutdown();
  await kube?.stop();
  await Promise.all([nats?.stop(), s3?.stop()]);
  delete process.env.FERSWEEP_TOKEN;
  await rm(dir, { recursive: true, force: true });
});

describe('the distributed path, driven by the CLI', () => {
  it('submit --watch → Succeeded; models pull; predict; report with numbers that add up', async () => {
    const spec = join(dir, 'sweep.yaml');
    await writeFile(
      spec,
      stringify({
        apiVersion: 'fersweep/v1',
        kind: 'Sweep',
        metadata: { name: 'e2e' },
        spec: {
          dataset: 's3://fersweep/datasets/faces',
          epochs: 2,
          batchSize: 32,
          maxTrainImages: 128,
          variants: [
            { name: 'cnn', model: 'cnn', params: { width: 0.125, blocks: 2, denseUnits: 16, batchNormMomentum: 0.9 } },
            { name: 'mobilenetv2', model: 'mobilenetv2', params: { alpha: 0.35, batchNormMomentum: 0.9 } },
          ],
          parallelism: 2,
          resources: { gpu: 0, cpu: '1', memory: '1Gi' }, // CPU trainers: a GPU trial requires the GPU backend
        },
      }),
    );
    const api = ['--api', coordinator.url];
    const submitted = await cli('submit', spec, ...api, '--watch');
    expect(submitted.err).toBe('');
    expect(submitted.code).toBe(0);
    expect(submitted.out).toMatch(/sweep e2e: Succeeded/);
    expect(
      kube
        .listJobs()
        .map((j) => j.metadata?.name)
        .sort(),
    ).toEqual(['fs-e2e-cnn', 'fs-e2e-mobilenetv2']);

    const pulled = await cli('models', 'pull', 'e2e', '--out', join(dir, 'models'), '--store', 's3://fersweep');
    expect(pulled.code).toBe(0);
    expect(pulled.out).toMatch(/cnn: .*sha256 verified/);
    expect(pulled.out).toMatch(/mobilenetv2: .*sha256 verified/);

    const face = join(dir, 'face.png');
    await sharp(Buffer.from(renderFace(5, imageRandom(2, 2))), { raw: { width: 48, height: 48, channels: 1 } })
      .resize(96, 96)
      .png()
      .toFile(face);
    const predicted = await cli(
      'predict',
      '--model',
      join(dir, 'models', 'cnn'),
      '--model',
      join(dir, 'models', 'mobilenetv2'),
      face,
      '--no-detect',
      '--json',
    );
    expect(predicted.code).toBe(0);
    const p = JSON.parse(predicted.out) as {
      items: { faces: { models: { model: string; probabilities: Record<string, number> }[] }[] }[];
    };
    expect(p.items[0]!.faces[0]!.models.map((m) => m.model)).toEqual(['cnn', 'mobilenetv2']);

    // `submit --watch && report`: once the sweep says Succeeded, its report is the final one (issue 11).
    const fetched = await cli('report', 'e2e', ...api, '--json');
    expect(fetched.err).toBe('');
    expect(fetched.code).toBe(0);
    const report = SweepReport.parse(JSON.parse(fetched.out));
    expect(report.phase).toBe('Succeeded');
    for (const t of report.trials) {
      expect(t.history.map((h) => h.epoch)).toEqual([1, 2]);
      expect(t.test!.confusionMatrix.flat().reduce((a, b) => a + b, 0)).toBe(testCount);
    }
    expect(report.comparison.ranking).toHaveLength(2);
    expect(report.comparison.pairs[0]!.mcnemarP).toBeGreaterThanOrEqual(0);

    const saved = await cli('report', 'e2e', ...api, '--out', join(dir, 'report'));
    expect(saved.code).toBe(0);
    expect(await readFile(join(dir, 'report', 'index.html'), 'utf8')).toMatch(/<html/i);
  }, 300_000);
});
