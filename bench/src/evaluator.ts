/**
 * Evaluator benchmark (issue 5). On a real nats-server (JetStream), the stream of a whole sweep is
 * published first — 100 trials × 100 epochs, plus each trial's started, completed and one
 * `trial.evaluated` with FER2013 PublicTest's 3,589 labels and predictions — then consumed from
 * the stored stream, each consumer in a fresh process on its own durable:
 *   1. the evaluator (`createEvaluator`, file store, production defaults), in events/s from start
 *      until every event is acked (an ack follows the commit of its trial's file), against a bare
 *      consumer that only decodes, validates and acks the same stream (alternating, BENCH_REPEATS);
 *   2. the report of the 100 trials: built cold (snapshot, ranking, 4,950 McNemar pairs), and
 *      finalized (built + figures + HTML + report.json written);
 *   3. the evaluator's memory as epochs grow: RSS and heap (after a forced GC) when it has received
 *      25, 50 and 100 epochs of every trial (the stream is interleaved as parallel trials publish).
 * Run: npm run bench -- evaluator    (BENCH_TRIALS, BENCH_EPOCHS scale it down)
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EMOTIONS, eventId, type TrialEvent, type TrialEventType } from '@fersweep/contracts';
import { confusionMatrix, summarize } from '@fersweep/evaluation';
import { connectNatsBus } from '@fersweep/messaging';
import { startNats } from '@fersweep/testkit';
import type { Args, Once } from './evaluator-once.js';
import { report, median, type BenchResult } from './report.js';

const exec = promisify(execFile);

const TRIALS = Number(process.env.BENCH_TRIALS ?? 100);
const EPOCHS = Number(process.env.BENCH_EPOCHS ?? 100);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const SWEEP = 'bench-evaluator';
/** FER2013 PublicTest: images per emotion (angry … neutral), 3,589 in all. */
const PUBLIC_TEST = [467, 56, 496, 895, 653, 415, 607];

/** A small deterministic generator (LCG), so every run publishes the same stream. */
function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

type Body = Record<string, unknown>;
const T0 = Date.parse('2025-01-01T00:00:00.000Z');

function event(trial: string, type: TrialEventType, seq: number, body: Body): TrialEvent {
  const e = {
    type,
    ...body,
    sweep: SWEEP,
    trial,
    variant: trial.replace(/-\d+$/, ''),
    attempt: 1,
    time: new Date(T0 + seq * 1000).toISOString(),
  } as Record<string, unknown>;
  e.id = eventId(e as Parameters<typeof eventId>[0]);
  return e as unknown as TrialEvent;
}

/** The sweep in publication order: every trial starts, their epochs interleave, then each is evaluated and completes. */
function* sweepEvents(): Generator<TrialEvent> {
  const trials = Array.from(
    { length: TRIALS },
    (_, i) => `${i % 2 ? 'mobilenetv2' : 'cnn'}-${String(i).padStart(3, '0')}`,
  );
  const rand = lcg(7);
  const labels = PUBLIC_TEST.flatMap((n, c) => Array<number>(n).fill(c));
  for (let i = labels.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [labels[i], labels[j]] = [labels[j]!, labels[i]!];
  }
  let seq = 0;
  for (const trial of trials)
    yield event(trial, 'trial.started', seq++, {
      model: trial.startsWith('cnn') ? 'cnn' : 'mobilenetv2',
      params: { learningRate: 0.001, width: 1 },
      epochs: EPOCHS,
      backend: 'tensorflow',
      device: 'gpu',
      datasetSha256: 'f'.repeat(64),
      trainImages: 28_709,
      parameterCount: 2_345_607,
      resumedFromEpoch: 0,
    });
  for (let epoch = 1; epoch <= EPOCHS; epoch++)
    for (const [i, trial] of trials.entries()) {
      const progress = 1 - Math.exp(-epoch / 20);
      yield event(trial, 'trial.epoch', seq++, {
        epoch,
        loss: 1.8 - 1.2 * progress + rand() * 0.05,
        accuracy: Math.min(1, 0.25 + 0.6 * progress + (i % 10) * 0.005),
        valLoss: 1.8 - 0.8 * progress + rand() * 0.05,
        valAccuracy: Math.min(1, 0.25 + 0.4 * progress + (i % 10) * 0.004 + rand() * 0.01),
        learningRate: 0.001,
        imagesPerSecond: 900 + rand() * 50,
        seconds: 32 + rand(),
      });
    }
  for (const [i, trial] of trials.entries()) {
    const hit = 0.55 + (0.15 * i) / TRIALS;
    const predictions = labels.map((l) => (rand() < hit ? l : (l + 1 + Math.floor(rand() * 6)) % 7));
    const cm = confusionMatrix(labels, predictions);
    const s = summarize(cm, EMOTIONS);
    const samples = Array.from({ length: 28 }, (_, k) => {
      const position = k * 128;
      const predicted = predictions[position]!;
      return {
        position,
        index: 32_298 + position,
        label: labels[position]!,
        predicted,
        probabilities: EMOTIONS.map((_, c) => (c === predicted ? 0.7 : 0.05)),
      };
    });
    yield event(trial, 'trial.evaluated', seq++, {
      split: 'test',
      accuracy: s.accuracy,
      macroF1: s.macroF1,
      weightedF1: s.weightedF1,
      loss: 1.1,
      confusionMatrix: cm,
      perClass: s.perClass,
      labels,
      predictions,
      samples,
    });
  }
  for (const trial of trials)
    yield event(trial, 'trial.completed', seq++, {
      epochs: EPOCHS,
      bestEpoch: EPOCHS - 3,
      stoppedEarly: false,
      modelUri: `file:///models/${SWEEP}/${trial}/`,
      seconds: EPOCHS * 32,
    });
}

async function once(args: Args): Promise<Once> {
  const script = fileURLToPath(new URL('./evaluator-once.js', import.meta.url));
  // BENCH_NODE_ARGS: extra node flags for the consumers, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof'.
  const flags = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const out = await exec(process.execPath, [...flags, '--expose-gc', script, JSON.stringify(args)], {
    maxBuffer: 1 << 20,
    timeout: 600_000,
  });
  return JSON.parse(out.stdout.trim().split('\n').pop()!) as Once;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fersweep-bench-evaluator-'));
  const nats = await startNats();
  const results: BenchResult[] = [];
  try {
    // Publish the whole stream first (256 publishes in flight, each confirmed by JetStream).
    const publisher = await connectNatsBus({ url: nats.url, name: 'bench-publisher' });
    let total = 0;
    let bytes = 0;
    const t = performance.now();
    const inFlight = new Set<Promise<unknown>>();
    for (const e of sweepEvents()) {
      const p = publisher.publish(e).then((r) => {
        inFlight.delete(p);
        if (r.duplicate) throw new Error(`duplicate ${e.id}`);
      });
      inFlight.add(p);
      total++;
      bytes += Buffer.byteLength(JSON.stringify(e));
      if (inFlight.size >= 256) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    const publishSeconds = (performance.now() - t) / 1000;
    const streamMiB = bytes / 2 ** 20;
    await publisher.close();
    console.log(
      `published ${total} events (${streamMiB.toFixed(1)} MiB of JSON) in ${publishSeconds.toFixed(1)} s: ${TRIALS} trials × ${EPOCHS} epochs`,
    );

    // Consume it, alternating which consumer goes first.
    const samples: Record<string, number> = {};
    for (const e of [Math.round(EPOCHS / 4), Math.round(EPOCHS / 2), EPOCHS]) samples[`${e}`] = TRIALS + e * TRIALS;
    const bare: Once[] = [];
    const evals: Once[] = [];
    const memory: Once[] = [];
    const big: Once[] = [];
    for (let r = 0; r < REPEATS; r++) {
      const runBare = async () =>
        bare.push(await once({ mode: 'bare', url: nats.url, durable: `bare-${r}`, total, sweep: SWEEP }));
      const runEval = async () =>
        evals.push(
          await once({
            mode: 'evaluator',
            url: nats.url,
            durable: `evaluator-${r}`,
            total,
            sweep: SWEEP,
            store: `file://${dir}/store-${r}`,
            samples,
          }),
        );
      // Ablation: the same evaluator with objects kept in a Map (no file I/O), no report.
      const runMemory = async () =>
        memory.push(
          await once({
            mode: 'evaluator',
            url: nats.url,
            durable: `evaluator-memory-${r}`,
            total,
            sweep: SWEEP,
            store: 'memory',
            report: false,
          }),
        );
      // Ablation: commits of 512 deliveries (1,024 in flight) instead of 32 (64): fewer rewrites per trial.
      const runBig = async () =>
        big.push(
          await once({
            mode: 'evaluator',
            url: nats.url,
            durable: `evaluator-batch512-${r}`,
            total,
            sweep: SWEEP,
            store: `file://${dir}/big-${r}`,
            report: false,
            batchSize: 512,
            maxInFlight: 1024,
          }),
        );
      for (const run of r % 2 ? [runBig, runMemory, runEval, runBare] : [runBare, runEval, runMemory, runBig])
        await run();
      const [b, e, m] = [bare[bare.length - 1]!, evals[evals.length - 1]!, memory[memory.length - 1]!];
      const g = big[big.length - 1]!;
      console.log(
        `repeat ${r + 1}: bare ${(total / b.seconds).toFixed(0)} events/s, evaluator ${(total / e.seconds).toFixed(0)} events/s ` +
          `(${e.puts} puts, ${e.putMiB!.toFixed(0)} MiB, ${e.putBusySeconds!.toFixed(1)} s writing), ` +
          `in-memory store ${(total / m.seconds).toFixed(0)} events/s, ` +
          `batches of 512 ${(total / g.seconds).toFixed(0)} events/s (${g.puts} puts, ${g.putMiB!.toFixed(0)} MiB); ` +
          `report built in ${e.buildSeconds!.toFixed(2)} s, finalized in ${e.finalizeSeconds!.toFixed(2)} s`,
      );
      await rm(join(dir, `store-${r}`), { recursive: true, force: true });
      await rm(join(dir, `big-${r}`), { recursive: true, force: true });
    }

    const bareRate = total / median(bare.map((o) => o.seconds));
    const evalRate = total / median(evals.map((o) => o.seconds));
    results.push(
      {
        name: `bare consumer: decode + validate + ack (baseline)`,
        value: bareRate,
        unit: 'events/s',
        note: `${total} events, median of ${REPEATS}`,
      },
      {
        name: `evaluator ingest, ${TRIALS} trials × ${EPOCHS} epochs`,
        value: evalRate,
        unit: 'events/s',
        vsBaseline: evalRate / bareRate,
        goal: '≥ 0.50 of the bare consumer',
        note:
          `apply + commit trial files + ack; median of ${REPEATS}; ${evals[0]!.puts} trial-file puts, ` +
          `${median(evals.map((o) => o.putMiB!)).toFixed(0)} MiB written, a put in flight ` +
          `${(median(evals.map((o) => o.putBusySeconds! / o.seconds)) * 100).toFixed(0)}% of the time`,
      },
      {
        name: 'evaluator ingest, objects in memory (ablation: no file I/O)',
        value: total / median(memory.map((o) => o.seconds)),
        unit: 'events/s',
        vsBaseline: total / median(memory.map((o) => o.seconds)) / bareRate,
        note: 'what the file store costs; not a configuration fersweep offers',
      },
      {
        name: 'evaluator ingest, commits of 512 (ablation: batchSize 512, maxInFlight 1024)',
        value: total / median(big.map((o) => o.seconds)),
        unit: 'events/s',
        vsBaseline: total / median(big.map((o) => o.seconds)) / bareRate,
        note: `${median(big.map((o) => o.puts!))} trial-file puts, ${median(big.map((o) => o.putMiB!)).toFixed(0)} MiB written; options of createEvaluator, not of the service's config`,
      },
      {
        name: `report build, ${TRIALS} trials (cold: snapshot + ranking + McNemar)`,
        value: median(evals.map((o) => o.buildSeconds!)),
        unit: 's',
        note: `${evals[0]!.trials} trials in the report`,
      },
      {
        name: `report finalize, ${TRIALS} trials (build + figures + HTML + JSON to store)`,
        value: median(evals.map((o) => o.finalizeSeconds!)),
        unit: 's',
      },
    );
    const labels = Object.keys(samples);
    const rss = (l: string) => median(evals.map((o) => o.rssMiB[l]!));
    const heap = (l: string) => median(evals.map((o) => o.heapMiB[l]!));
    const first = labels[0]!;
    for (const l of labels)
      results.push({
        name: `evaluator RSS after ${l} epochs/trial (after GC)`,
        value: rss(l),
        unit: 'MiB',
        ...(l === first ? {} : { vsBaseline: rss(l) / rss(first), goal: `flat: ≈ 1.0 of ${first} epochs` }),
        note: `heap used ${heap(l).toFixed(1)} MiB`,
      });
    results.push(
      {
        name: 'evaluator RSS after every event (incl. 3,589-prediction evaluations)',
        value: rss('end'),
        unit: 'MiB',
        note: `heap used ${heap('end').toFixed(1)} MiB; peak RSS ${median(evals.map((o) => o.maxRssMiB)).toFixed(0)} MiB`,
      },
      {
        name: 'bare consumer RSS after every event',
        value: median(bare.map((o) => o.rssMiB.end!)),
        unit: 'MiB',
      },
    );
    await report('evaluator', results, {
      trials: TRIALS,
      epochs: EPOCHS,
      testImages: PUBLIC_TEST.reduce((a, b) => a + b, 0),
      events: total,
      streamMiB: +streamMiB.toFixed(1),
      publishEventsPerSecond: Math.round(total / publishSeconds),
      repeats: REPEATS,
      runs: { bare, evaluator: evals, memoryStore: memory, batch512: big },
    });
  } finally {
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
