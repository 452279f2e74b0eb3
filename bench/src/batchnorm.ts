/**
 * Precise BatchNorm's cost (issue 11): the statistics pass the trainer runs before each evaluation, against the
 * epoch it belongs to, at the demo's size — `fersweep demo`'s 3,000 synthetic faces (seed 7; 2,430 train rows)
 * and its two variants, `cnn` width 0.25 and `mobilenetv2` α0.35 @48, batch 32, no augmentation — through the
 * real trainer (`runTrial`). Each epoch's log line carries the pass's seconds (`batchNormSeconds`) and the
 * epoch's (`seconds`: training, the pass, validation); the ratio is pass / (epoch − pass), median over epochs
 * 2…N (epoch 1 also compiles the wasm modules). Goal: ≤ 5%.
 * Run: npm run bench -- batchnorm       (BENCH_BN_EPOCHS, default 6; ≈ 3 min on 2 idle cores)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { PRECISE_BATCH_NORM_IMAGES, TrialSpec } from '@fersweep/contracts';
import { importDataset, syntheticSource } from '@fersweep/dataset';
import { createMemoryBus } from '@fersweep/messaging';
import { initTf } from '@fersweep/models';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { runTrial } from '@fersweep/trainer';
import { median, report, type BenchResult } from './report.js';

const EPOCHS = Number(process.env.BENCH_BN_EPOCHS ?? 6);
const VARIANTS = [
  { label: 'cnn width 0.25', model: 'cnn', params: { width: 0.25 } },
  { label: 'mobilenetv2 α0.35 @48', model: 'mobilenetv2', params: { alpha: 0.35 } },
];

interface EpochLog {
  message: string;
  epoch: number;
  seconds: number;
  batchNormSeconds?: number;
  batchNormLayers?: number;
}

async function main(): Promise<void> {
  const runtime = await initTf({ prefer: 'wasm' });
  const dir = await mkdtemp(join(tmpdir(), 'fersweep-bench-bn-'));
  try {
    await importDataset({
      source: syntheticSource({ count: 3000, seed: 7 }),
      store: openStore(`file://${dir}/data`),
      name: 'demo',
      seed: 0,
      explore: false,
    });
    const results: BenchResult[] = [];
    const perEpochAll: Record<string, string[]> = {};
    for (const v of VARIANTS) {
      const lines: EpochLog[] = [];
      const stream = new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
            const entry = JSON.parse(line) as EpochLog;
            if (entry.message === 'epoch') lines.push(entry);
          }
          done();
        },
      });
      const spec = TrialSpec.parse({
        sweep: 'bench-bn',
        trial: v.model,
        variant: v.model,
        model: v.model,
        params: v.params,
        dataset: `file://${dir}/data`,
        output: `file://${dir}/out`,
        epochs: EPOCHS,
        batchSize: 32,
        seed: 7,
      });
      const bus = createMemoryBus();
      const logger = createLogger({ service: 'bench', stream });
      await runTrial({ spec, openStore, bus, logger, runtime, threads: 1 });
      await bus.close();
      const perEpoch = lines.map(
        (l) => `${l.epoch}: ${l.seconds.toFixed(2)} s, pass ${l.batchNormSeconds?.toFixed(3)} s`,
      );
      console.log(v.label, perEpoch.join('; '));
      perEpochAll[v.label] = perEpoch;
      // Ratios per epoch, then their median: the machine's load moves both parts of one epoch together.
      const timed = lines.slice(1).map((l) => {
        const pass = l.batchNormSeconds ?? NaN;
        return { pass, epoch: l.seconds - pass, ratio: pass / (l.seconds - pass) };
      });
      const ratio = median(timed.map((t) => t.ratio));
      const worst = Math.max(...timed.map((t) => t.ratio));
      results.push({
        name: `${v.label}: statistics pass (${lines[0]?.batchNormLayers} BN layers, ${PRECISE_BATCH_NORM_IMAGES} images)`,
        value: median(timed.map((t) => t.pass)) * 1000,
        unit: 'ms',
        vsBaseline: ratio,
        goal: '≤ 5%',
        note:
          `median of pass / (epoch − pass) over epochs 2–${EPOCHS}, worst ${(worst * 100).toFixed(1)}%; ` +
          `median epoch without it ${median(timed.map((t) => t.epoch)).toFixed(2)} s; ${ratio <= 0.05 ? 'met' : 'NOT met'}`,
      });
    }
    await report('batchnorm', results, {
      images: 3000,
      trainImages: 2430,
      batchSize: 32,
      epochs: EPOCHS,
      perEpoch: perEpochAll,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
