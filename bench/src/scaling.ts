/**
 * Data-parallel scaling (issue 17): training img/s of each model with N = 1, 2, … threads (DataParallel: one
 * wasm replica per thread, gradients reduced in shared memory), each in a fresh process, next to the PyTorch
 * peer with torch.set_num_threads(N) on the same models, batch and timing rule; peak RSS per process and per
 * added thread; then the whole trainer epoch (shards, augmentation, events, precise BatchNorm, evaluation,
 * checkpoint) with N threads against N = 1.
 *   npm run bench -- scaling                          (N = 1,2: this machine)
 *   npm run bench -- scaling --threads 1,2,4,8,16     (a bigger machine; also runs from `npm run bench:bundle`'s folder)
 * Each N ≥ 2 is measured twice: strong scaling (--batch images per step, split over the threads: a trial's
 * batchSize) and weak scaling (--batch images per thread: a trial with batchSize × N; --no-weak skips it).
 * Each N ≥ 2 also runs N independent single-thread processes side by side, each with batch/N images per step:
 * what these cores allow N threads at all (the ceiling a data-parallel trial is judged against; --no-ceiling
 * skips it). Strong scaling runs --rounds times (default 2), N = 1, 2, … in turn each round, and reports each N's
 * median: a one-thread process on this VM trains up to ±6% faster or slower than the next one (CPU time per
 * image moves with it), which one round would put straight into the speed-up. Options: --threads LIST,
 * --models SUBSTRING, --rounds R, --no-epoch, --no-weak, --no-ceiling, --batch N (default 64),
 * BENCH_STEPS (default 3) and BENCH_MIN_SECONDS (default 6) as in the models bench, after BENCH_WARMUP_SECONDS
 * (default 12) of untimed steps; BENCH_PYTHON (default /usr/bin/python3). Every process runs with the trainer's
 * V8 options (TRAINER_NODE_OPTIONS: the local launcher starts trainers with them).
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify, parseArgs } from 'node:util';
import { TRAINER_NODE_OPTIONS, TrialSpec } from '@fersweep/contracts';
import { importDataset, syntheticSource } from '@fersweep/dataset';
import { createMemoryBus } from '@fersweep/messaging';
import { initTf } from '@fersweep/models';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { runTrial } from '@fersweep/trainer';
import { median, report, type BenchResult } from './report.js';

const exec = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    threads: { type: 'string', default: '1,2' },
    models: { type: 'string' },
    batch: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '2' },
    'no-epoch': { type: 'boolean', default: false },
    'no-weak': { type: 'boolean', default: false },
    'no-ceiling': { type: 'boolean', default: false },
  },
});
const THREADS = args.threads.split(',').map((t) => Number(t.trim()));
if (THREADS.some((t) => !Number.isSafeInteger(t) || t < 1))
  throw new Error(`--threads ${args.threads}: a comma-separated list of positive integers, e.g. 1,2,4,8,16`);
const BATCH = Number(args.batch);
const ROUNDS = Number(args.rounds);
if (!Number.isSafeInteger(ROUNDS) || ROUNDS < 1) throw new Error(`--rounds ${args.rounds}: a positive integer`);
const STEPS = Number(process.env.BENCH_STEPS ?? 3);
const MIN_SECONDS = Number(process.env.BENCH_MIN_SECONDS ?? 6);
// Steady state, as a trial of many epochs trains: with two replicas V8 keeps optimising JavaScript for ~10 s
// (--trace-opt: 0.1–0.3 s of compile per second at 6–11 s), on the cores the replicas train on, where one thread
// leaves it the idle core; MobileNetV2 α1.0 at N = 2 still gained ~5% between 3 and 12 s of training.
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 12);
const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';

const CONFIGS = [
  { label: 'cnn width 1.0', model: 'cnn', params: { width: 1 } },
  { label: 'cnn width 0.25', model: 'cnn', params: { width: 0.25 } },
  { label: 'mobilenetv2 α1.0 @48', model: 'mobilenetv2', params: { alpha: 1 } },
  { label: 'mobilenetv2 α0.35 @48', model: 'mobilenetv2', params: { alpha: 0.35 } },
].filter((c) => !args.models || c.label.includes(args.models));

interface Once {
  trainImagesPerSecond: number;
  /** CPU time (all threads) per trained image; tfjs only. */
  cpuMsPerImage?: number;
  maxRssMiB: number;
}

async function tfjsOnce(
  cfg: (typeof CONFIGS)[number],
  threads: number,
  batch = BATCH,
  startAt?: number,
): Promise<Once> {
  const script = fileURLToPath(new URL('./scaling-once.js', import.meta.url));
  const arg = JSON.stringify({
    ...cfg,
    batch,
    threads,
    steps: STEPS,
    minSeconds: MIN_SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    ...(startAt !== undefined ? { startAt } : {}),
  });
  const out = await exec(process.execPath, [...process.execArgv, script, arg], {
    maxBuffer: 1 << 20,
    timeout: 1_800_000,
  });
  return JSON.parse(out.stdout.trim().split('\n').pop()!) as Once;
}

/**
 * What the machine itself allows N threads: N independent single-thread processes, each training batch/N
 * images per step, timed over the same seconds. Their summed img/s is the ceiling of a data-parallel trial on
 * these cores (no shared work at all), including what the cores lose to each other (shared caches, memory
 * bandwidth, clocks) and to the smaller batch per step.
 */
async function separateProcesses(cfg: (typeof CONFIGS)[number], n: number): Promise<Once> {
  const startAt = Date.now() + 20_000 + WARMUP_SECONDS * 1000;
  const runs = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      tfjsOnce(cfg, 1, Math.floor(((i + 1) * BATCH) / n) - Math.floor((i * BATCH) / n), startAt),
    ),
  );
  const rate = runs.reduce((a, r) => a + r.trainImagesPerSecond, 0);
  const cpu = runs.reduce((a, r) => a + (r.cpuMsPerImage ?? 0) * r.trainImagesPerSecond, 0) / rate;
  return { trainImagesPerSecond: rate, cpuMsPerImage: cpu, maxRssMiB: Math.max(...runs.map((r) => r.maxRssMiB)) };
}

async function torchOnce(cfg: (typeof CONFIGS)[number], threads: number): Promise<Once | undefined> {
  const script = fileURLToPath(new URL('../peer/torch_peer.py', import.meta.url));
  if (!existsSync(PYTHON) || !existsSync(script)) return undefined;
  try {
    const arg = JSON.stringify({
      ...cfg,
      batch: BATCH,
      threads,
      steps: STEPS,
      minSeconds: MIN_SECONDS,
      warmupSeconds: WARMUP_SECONDS,
    });
    const out = await exec(PYTHON, [script, arg], { timeout: 1_800_000 });
    const r = JSON.parse(out.stdout.trim().split('\n').pop()!) as { train_img_s: number; max_rss_mib: number };
    return { trainImagesPerSecond: r.train_img_s, maxRssMiB: r.max_rss_mib };
  } catch {
    return undefined; // no torch for this python: the peer column stays empty
  }
}

/** Each N's median over its rounds (img/s and CPU per image; the largest peak RSS), with the img/s range. */
function medianOnce(runs: Once[]): Once & { range: [number, number] } {
  const rates = runs.map((r) => r.trainImagesPerSecond);
  const cpu = runs.flatMap((r) => (r.cpuMsPerImage === undefined ? [] : [r.cpuMsPerImage]));
  return {
    trainImagesPerSecond: median(rates),
    ...(cpu.length > 0 ? { cpuMsPerImage: median(cpu) } : {}),
    maxRssMiB: Math.max(...runs.map((r) => r.maxRssMiB)),
    range: [Math.min(...rates), Math.max(...rates)],
  };
}

/** Seconds per trainer epoch with `threads` threads: between consecutive trial.epoch events (startup excluded). */
async function trainerEpochs(threads: number[]): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'fersweep-bench-scaling-'));
  try {
    const runtime = await initTf({ prefer: 'wasm' });
    const data = openStore(`file://${dir}/data`);
    await importDataset({
      source: syntheticSource({ count: 1400, seed: 3 }),
      store: data,
      name: 'd',
      seed: 1,
      explore: false,
    });
    const logger = createLogger({ service: 'bench', silent: true });
    const seconds = new Map<number, number>();
    const cpuSeconds = new Map<number, number>();
    for (const n of threads) {
      const spec = TrialSpec.parse({
        sweep: 'bench',
        trial: `threads-${n}`,
        variant: 'cnn',
        model: 'cnn',
        params: { width: 0.25, blocks: 3 },
        dataset: data.url,
        output: `file://${dir}/out`,
        epochs: 4,
        batchSize: 64,
        augmentation: {
          rotationRange: 10,
          widthShiftRange: 0.1,
          heightShiftRange: 0.1,
          zoomRange: 0.1,
          horizontalFlip: true,
        },
        evaluate: [],
      });
      const bus = createMemoryBus();
      const marks: number[] = [];
      const cpuMarks: number[] = [];
      const sub = await bus.consume({
        durable: 'bench',
        handler: (d) => {
          if (d.event?.type !== 'trial.epoch') return;
          marks.push(performance.now());
          const cpu = process.cpuUsage(); // every thread of this process: the trainer and its workers
          cpuMarks.push((cpu.user + cpu.system) / 1e6);
        },
      });
      await runTrial({ spec, openStore, bus, logger, runtime, threads: n });
      await new Promise((r) => setTimeout(r, 50));
      await sub.stop();
      await bus.close();
      seconds.set(n, median(marks.slice(1).map((m, i) => (m - marks[i]!) / 1000)));
      cpuSeconds.set(n, median(cpuMarks.slice(1).map((m, i) => m - cpuMarks[i]!)));
    }
    const base = seconds.get(threads[0]!)!;
    return threads.map((n) => ({
      name: `trainer epoch (cnn width 0.25, 1120 images, augmentation, events, checkpoint), ${n} thread${n === 1 ? '' : 's'}`,
      value: seconds.get(n)!,
      unit: 's',
      ...(n !== threads[0]
        ? {
            vsBaseline: base / seconds.get(n)!,
            goal: n === 2 ? '≥ 1.6× the speed of 1 thread' : `speed-up vs ${threads[0]} thread`,
          }
        : {}),
      note: `${cpuSeconds.get(n)!.toFixed(1)} CPU s per epoch (all threads)`,
    }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function cpuCell(m: Once, one: Once): string {
  if (m.cpuMsPerImage === undefined || one.cpuMsPerImage === undefined) return '—';
  return `${m.cpuMsPerImage.toFixed(1)} (${((m.cpuMsPerImage / one.cpuMsPerImage) * 100).toFixed(0)}%)`;
}

async function main(): Promise<void> {
  const results: BenchResult[] = [];
  const table: string[] = [
    `| model (48 px, batch ${BATCH}) | threads | tfjs wasm img/s | speed-up (efficiency) | CPU ms/img (vs 1 thread) | PyTorch img/s | tfjs / PyTorch | peak RSS tfjs (per added thread) | peak RSS PyTorch | ${BATCH} per thread: img/s (speed-up) | CPU ms/img | N processes × batch/N: img/s (speed-up) | data-parallel / that |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const cfg of CONFIGS) {
    // Strong scaling first, N = 1, 2, … in turn, round after round.
    const rounds = new Map<number, Once[]>(THREADS.map((n) => [n, []]));
    for (let r = 0; r < ROUNDS; r++) for (const n of THREADS) rounds.get(n)!.push(await tfjsOnce(cfg, n));
    let one: Once | undefined;
    for (const n of THREADS) {
      const peer = await torchOnce(cfg, n);
      const m = medianOnce(rounds.get(n)!);
      const spread =
        ROUNDS > 1 ? `; median of ${ROUNDS} rounds, ${m.range[0].toFixed(1)}–${m.range[1].toFixed(1)} img/s` : '';
      one ??= m;
      const speedup = m.trainImagesPerSecond / one.trainImagesPerSecond;
      const perThread = n > 1 && one !== m ? (m.maxRssMiB - one.maxRssMiB) / (n - 1) : undefined;
      results.push({
        name: `${cfg.label}: tfjs wasm train, ${n} thread${n === 1 ? '' : 's'}`,
        value: m.trainImagesPerSecond,
        unit: 'img/s',
        ...(n !== THREADS[0]
          ? { vsBaseline: speedup, goal: n === 2 ? '≥ 1.8× of 1 thread' : `≥ ${(0.8 * n).toFixed(1)}× (0.8·N)` }
          : {}),
        note: `${m.cpuMsPerImage?.toFixed(1) ?? '?'} CPU ms/img; peak RSS ${m.maxRssMiB.toFixed(0)} MiB${perThread !== undefined ? ` (+${perThread.toFixed(0)} MiB per added thread)` : ''}${peer ? `; PyTorch ${peer.trainImagesPerSecond.toFixed(1)} img/s, ${peer.maxRssMiB.toFixed(0)} MiB` : ''}${spread}`,
      });
      if (peer)
        results.push({
          name: `${cfg.label}: PyTorch ${n} thread${n === 1 ? '' : 's'} train (peer)`,
          value: peer.trainImagesPerSecond,
          unit: 'img/s',
        });
      // Weak scaling: the same batch per thread (a trial with batchSize × N). Small per-thread batches cost more
      // per image on their own (per-kernel overheads), which strong scaling above includes.
      const weak = n > 1 && !args['no-weak'] ? await tfjsOnce(cfg, n, BATCH * n) : undefined;
      if (weak)
        results.push({
          name: `${cfg.label}: tfjs wasm train, ${n} threads × batch ${BATCH}`,
          value: weak.trainImagesPerSecond,
          unit: 'img/s',
          vsBaseline: weak.trainImagesPerSecond / one.trainImagesPerSecond,
          note: `weak scaling (batch ${BATCH * n}); ${weak.cpuMsPerImage?.toFixed(1) ?? '?'} CPU ms/img; peak RSS ${weak.maxRssMiB.toFixed(0)} MiB`,
        });
      const ceiling = n > 1 && !args['no-ceiling'] ? await separateProcesses(cfg, n) : undefined;
      if (ceiling)
        results.push({
          name: `${cfg.label}: ${n} separate 1-thread processes × batch ${BATCH / n} (what the cores allow)`,
          value: ceiling.trainImagesPerSecond,
          unit: 'img/s',
          vsBaseline: ceiling.trainImagesPerSecond / one.trainImagesPerSecond,
          note: `${ceiling.cpuMsPerImage?.toFixed(1) ?? '?'} CPU ms/img; the ${n}-thread trial reaches ${((m.trainImagesPerSecond / ceiling.trainImagesPerSecond) * 100).toFixed(0)}% of it`,
        });
      table.push(
        `| ${cfg.label} | ${n} | ${m.trainImagesPerSecond.toFixed(1)} | ${speedup.toFixed(2)}× (${((speedup / (n / THREADS[0]!)) * 100).toFixed(0)}%) | ${cpuCell(m, one)} | ${peer ? peer.trainImagesPerSecond.toFixed(1) : '—'} | ${peer ? `${((m.trainImagesPerSecond / peer.trainImagesPerSecond) * 100).toFixed(0)}%` : '—'} | ${m.maxRssMiB.toFixed(0)} MiB${perThread !== undefined ? ` (+${perThread.toFixed(0)})` : ''} | ${peer ? `${peer.maxRssMiB.toFixed(0)} MiB` : '—'} | ${weak ? `${weak.trainImagesPerSecond.toFixed(1)} (${(weak.trainImagesPerSecond / one.trainImagesPerSecond).toFixed(2)}×)` : '—'} | ${weak ? cpuCell(weak, one) : '—'} | ${ceiling ? `${ceiling.trainImagesPerSecond.toFixed(1)} (${(ceiling.trainImagesPerSecond / one.trainImagesPerSecond).toFixed(2)}×)` : '—'} | ${ceiling ? `${((m.trainImagesPerSecond / ceiling.trainImagesPerSecond) * 100).toFixed(0)}%` : '—'} |`,
      );
    }
  }
  if (!args['no-epoch'])
    results.push(...(await trainerEpochs(THREADS.filter((n) => n <= availableParallelism() || n === THREADS[0]))));
  console.log(`\n${table.join('\n')}\n`);
  await report('scaling', results, {
    threads: THREADS,
    rounds: ROUNDS,
    batch: BATCH,
    steps: STEPS,
    minSeconds: MIN_SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    cpu: cpus()[0]?.model,
    availableParallelism: availableParallelism(),
  });
}

// The trainer's V8 options (a trainer process starts with them; V8 takes them only at start-up): without them,
// this process runs itself again with them, and its children (one per measurement) inherit them.
const missing = TRAINER_NODE_OPTIONS.filter((o) => !process.execArgv.includes(o));
if (missing.length > 0) {
  const self = spawnSync(
    process.execPath,
    [...missing, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exit(self.status ?? 1);
}
await main();
process.exit(0);
