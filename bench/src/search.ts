/**
 * Search benchmark (issue 15). A simulated trainer (bench/peer/search_peer.py: a learning-curve
 * model over learning rate, batch size, width and dropout with a known optimum and seeded noise)
 * is driven, in one run, by:
 *   1. fersweep's TPE (sequential, and 4 in parallel with constant liar), fersweep's random search,
 *      and — as the peer — Optuna 3.1's TPESampler and RandomSampler on the very same objective
 *      (one Python implementation; fersweep reaches it over a JSON-lines pipe): best validation
 *      accuracy after 10 / 25 / 50 trials over SEEDS seeds, mean ± sd and standard error;
 *   2. ASHA (η 3, rungs at 1, 3, 9 of 27 epochs, 8 workers) against running every trial to the full
 *      budget on the same 81 random configurations per seed: epochs spent, epochs until the finally
 *      selected configuration is found, its true quality, and the regret of full-budget search
 *      given only the epochs ASHA used;
 *   3. the decisions' own cost on a 1,000-trial sweep (27 epochs each, two variants), and a TPE
 *      suggestion over a 1,000-trial history.
 * Run: npm run bench -- search   (BENCH_SEEDS, default 50)
 */
import { spawn, execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  AshaConfig,
  ashaDecide,
  emptyAshaState,
  emptyMedianState,
  MedianConfig,
  medianComplete,
  medianDecide,
  parseSpace,
  randomPoint,
  TpeSampler,
  type Observation,
  type Point,
} from '@fersweep/search';
import { report, type BenchResult } from './report.js';

const SEEDS = Number(process.env.BENCH_SEEDS ?? 50);
const TRIALS = 50;
const CHECKPOINTS = [10, 25, 50];
const EPOCHS = 27;
const PEER = fileURLToPath(new URL('../peer/search_peer.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

const space = parseSpace({
  learningRate: { type: 'float', min: 1e-5, max: 1, log: true },
  batchSize: { type: 'int', min: 16, max: 512, log: true },
  width: { type: 'int', min: 8, max: 512, log: true },
  dropout: { type: 'float', min: 0, max: 0.7 },
});

/** The simulated trainer, one Python process answering one JSON line per request. */
class Trainer {
  private readonly proc = spawn(PYTHON, [PEER, 'serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  private readonly lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();

  async train(params: Point, seed: number, trial: number, epochs = EPOCHS): Promise<{ curve: number[]; true: number }> {
    this.proc.stdin.write(JSON.stringify({ params, seed, trial, epochs }) + '\n');
    const next = await this.lines.next();
    if (next.done) throw new Error('the simulated trainer exited');
    return JSON.parse(next.value) as { curve: number[]; true: number };
  }

  close(): void {
    this.proc.stdin.end();
  }
}

interface Run {
  values: number[];
  true: number[];
  params?: Point[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));
const se = (xs: number[]) => sd(xs) / Math.sqrt(xs.length);
const bestAfter = (r: Run, n: number) => Math.max(...r.values.slice(0, n));

/**
 * TPE with `parallel` workers: trial k is suggested while trials k−parallel+1 … k−1 still run.
 * `startup`: the points of the first trials, taken as given (Optuna's random start-up, so both
 * optimisers enter their model-based phase from the same history).
 */
async function tpeRun(trainer: Trainer, seed: number, parallel: number, startup: Point[] = []): Promise<Run> {
  const sampler = new TpeSampler(space, { seed, direction: 'maximize', constantLiar: parallel > 1 });
  const history: Observation[] = [];
  const run: Run = { values: [], true: [] };
  for (let k = 0; k < TRIALS; k++) {
    const visible = history.map((o) => (o.trial > k - parallel ? { ...o, state: 'running' as const } : o));
    const params = startup[k] ?? sampler.suggest(k, visible);
    const r = await trainer.train(params, seed, k);
    history.push({ trial: k, params, state: 'complete', value: r.curve[EPOCHS - 1]! });
    run.values.push(r.curve[EPOCHS - 1]!);
    run.true.push(r.true);
  }
  return run;
}

async function randomRun(trainer: Trainer, seed: number): Promise<Run> {
  const run: Run = { values: [], true: [] };
  for (let k = 0; k < TRIALS; k++) {
    const r = await trainer.train(randomPoint(space, seed, k), seed, k);
    run.values.push(r.curve[EPOCHS - 1]!);
    run.true.push(r.true);
  }
  return run;
}

interface Schedule {
  epochs: number;
  /** After each trial that finished its budget: epochs spent so far and the true quality of the selection then. */
  timeline: { spent: number; selectedTrue: number }[];
  /** Epochs spent (all workers) when the finally selected trial finished. */
  epochsToBest: number;
  selectedTrue: number;
}

/**
 * N trials on W workers, one epoch per tick; `stop` decides after each epoch (ASHA, or never).
 * `budget` cuts the run off after that many epochs (only finished trials count).
 */
function schedule(
  curves: { curve: number[]; true: number }[],
  workers: number,
  stop: (trial: number, epoch: number, value: number) => boolean,
  budget = Infinity,
): Schedule {
  const slots: ({ trial: number; epoch: number } | undefined)[] = new Array(workers).fill(undefined);
  let next = 0;
  let spent = 0;
  let best = { value: -Infinity, true: 0, at: 0 };
  const timeline: Schedule['timeline'] = [];
  while (spent < budget) {
    for (let w = 0; w < workers; w++) if (!slots[w] && next < curves.length) slots[w] = { trial: next++, epoch: 0 };
    if (slots.every((s) => !s)) break;
    for (let w = 0; w < workers && spent < budget; w++) {
      const s = slots[w];
      if (!s) continue;
      s.epoch++;
      spent++;
      const value = curves[s.trial]!.curve[s.epoch - 1]!;
      if (s.epoch === EPOCHS) {
        if (value > best.value) best = { value, true: curves[s.trial]!.true, at: spent };
        timeline.push({ spent, selectedTrue: best.true });
        slots[w] = undefined;
      } else if (stop(s.trial, s.epoch, value)) slots[w] = undefined;
    }
  }
  return { epochs: spent, epochsToBest: best.at, selectedTrue: best.true, timeline };
}

function summary(xs: number[]) {
  return { mean: mean(xs), sd: sd(xs), se: se(xs) };
}

async function main(): Promise<void> {
  const seeds = Array.from({ length: SEEDS }, (_, i) => i + 1);
  const optimum = JSON.parse(execFileSync(PYTHON, [PEER, 'optimum', String(EPOCHS)], { encoding: 'utf8' })) as {
    value: number;
  };
  const trainer = new Trainer();
  const results: BenchResult[] = [];
  const runs: Record<string, Run[]> = {};
  const seconds: Record<string, number> = {};

  // 1. TPE against Optuna's. Optuna first: the paired run reuses its start-up points.
  const optuna = JSON.parse(
    execFileSync(PYTHON, [PEER, 'optuna', JSON.stringify({ seeds, trials: TRIALS, epochs: EPOCHS })], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    }),
  ) as { version: string; tpe: Run[]; random: Run[]; seconds: Record<string, number> };
  runs.optunaTpe = optuna.tpe;
  runs.optunaRandom = optuna.random;
  seconds.optunaTpe = optuna.seconds.tpe!;
  seconds.optunaRandom = optuna.seconds.random!;
  const optunaStartup = (s: number) => optuna.tpe[s - 1]!.params!.slice(0, 10);
  for (const [name, fn] of [
    ['fersweepTpe', (s: number) => tpeRun(trainer, s, 1)],
    ['fersweepTpePairedStartup', (s: number) => tpeRun(trainer, s, 1, optunaStartup(s))],
    ['fersweepTpeParallel4', (s: number) => tpeRun(trainer, s, 4)],
    ['fersweepRandom', (s: number) => randomRun(trainer, s)],
  ] as const) {
    const t0 = performance.now();
    runs[name] = [];
    for (const s of seeds) runs[name]!.push(await fn(s));
    seconds[name] = (performance.now() - t0) / 1000;
  }
  for (const r of [...runs.optunaTpe, ...runs.optunaRandom]) delete r.params;

  const tpeTable: Record<string, Record<number, ReturnType<typeof summary>>> = {};
  for (const [name, rs] of Object.entries(runs)) {
    tpeTable[name] = {};
    for (const n of CHECKPOINTS) tpeTable[name]![n] = summary(rs.map((r) => bestAfter(r, n)));
  }
  const regretTable: Record<string, Record<number, ReturnType<typeof summary>>> = {};
  for (const [name, rs] of Object.entries(runs)) {
    regretTable[name] = {};
    for (const n of CHECKPOINTS)
      regretTable[name]![n] = summary(
        rs.map((r) => {
          const i = r.values.slice(0, n).indexOf(bestAfter(r, n));
          return optimum.value - r.true[i]!;
        }),
      );
  }
  /** Welch's t statistic of a − b over seeds, in units of the difference's standard error. */
  const welch = (a: string, b: string, n: number) => {
    const x = tpeTable[a]![n]!;
    const y = tpeTable[b]![n]!;
    return { delta: x.mean - y.mean, seDiff: Math.hypot(x.se, y.se), t: (x.mean - y.mean) / Math.hypot(x.se, y.se) };
  };
  const comparisons: Record<string, Record<number, ReturnType<typeof welch>>> = {};
  for (const name of [
    'fersweepTpe',
    'fersweepTpePairedStartup',
    'fersweepTpeParallel4',
    'optunaRandom',
    'fersweepRandom',
  ]) {
    comparisons[`${name} − optunaTpe`] = Object.fromEntries(CHECKPOINTS.map((n) => [n, welch(name, 'optunaTpe', n)]));
  }
  for (const n of CHECKPOINTS) {
    const f = tpeTable.fersweepTpe![n]!;
    const o = tpeTable.optunaTpe![n]!;
    const r = tpeTable.fersweepRandom![n]!;
    results.push({
      name: `TPE best val acc after ${n} trials: fersweep`,
      value: f.mean * 100,
      unit: '%',
      note: `optuna ${(o.mean * 100).toFixed(2)}% ± se ${(o.se * 100).toFixed(2)}; Δ ${((f.mean - o.mean) * 100).toFixed(2)} pts = ${((f.mean - o.mean) / o.se).toFixed(2)} se; random ${(r.mean * 100).toFixed(2)}%`,
      goal: '|Δ| ≤ 1 se of optuna, > random',
    });
    const p = tpeTable.fersweepTpePairedStartup![n]!;
    results.push({
      name: `  the same, start-up points shared with optuna`,
      value: p.mean * 100,
      unit: '%',
      note: `Δ ${((p.mean - o.mean) * 100).toFixed(2)} pts = ${((p.mean - o.mean) / o.se).toFixed(2)} se of optuna`,
    });
  }

  // 2. ASHA against the full budget, same configurations: Ray Tune's default grace period (1
  // epoch) and a gentler one (3 epochs).
  const N = 81;
  const WORKERS = 8;
  const curvesBySeed = new Map<number, { curve: number[]; true: number }[]>();
  for (const s of seeds) {
    const curves = [];
    for (let k = 0; k < N; k++) curves.push(await trainer.train(randomPoint(space, 1000 + s, k), 1000 + s, k));
    curvesBySeed.set(s, curves);
  }
  trainer.close();
  const ashaSummaries: Record<string, Record<string, ReturnType<typeof summary>>> = {};
  for (const minEpochs of [1, 3]) {
    const asha = AshaConfig.parse({
      policy: 'asha',
      metric: 'valAccuracy',
      mode: 'max',
      minEpochs,
      reductionFactor: 3,
      maxEpochs: EPOCHS,
    });
    const per = seeds.map((s) => {
      const curves = curvesBySeed.get(s)!;
      let state = emptyAshaState();
      const a = schedule(curves, WORKERS, (trial, epoch, value) => {
        const r = ashaDecide(asha, state, { trial: String(trial), group: 'cnn', epoch, value });
        state = r.state;
        return r.decision.action === 'stop';
      });
      const full = schedule(curves, WORKERS, () => false);
      const equal = schedule(curves, WORKERS, () => false, a.epochs);
      // The epochs the full-budget search needs before its selection is as good as ASHA's final one.
      const match = full.timeline.find((t) => t.selectedTrue >= a.selectedTrue)?.spent ?? full.epochs;
      return { full, asha: a, equal, match };
    });
    const sum = {
      epochsFull: summary(per.map((p) => p.full.epochs)),
      epochsAsha: summary(per.map((p) => p.asha.epochs)),
      epochsToBestFull: summary(per.map((p) => p.full.epochsToBest)),
      epochsToBestAsha: summary(per.map((p) => p.asha.epochsToBest)),
      epochsFullToMatchAsha: summary(per.map((p) => p.match)),
      regretFull: summary(per.map((p) => optimum.value - p.full.selectedTrue)),
      regretAsha: summary(per.map((p) => optimum.value - p.asha.selectedTrue)),
      regretFullAtAshaEpochs: summary(per.map((p) => optimum.value - p.equal.selectedTrue)),
      qualityDiffAshaMinusFull: summary(per.map((p) => p.asha.selectedTrue - p.full.selectedTrue)),
    };
    ashaSummaries[`minEpochs${minEpochs}`] = sum;
    const pts = (x: ReturnType<typeof summary>) => `${(x.mean * 100).toFixed(2)} ± ${(x.se * 100).toFixed(2)} pts`;
    results.push(
      {
        name: `ASHA η3 min ${minEpochs}: epochs spent (81 trials × 27)`,
        value: sum.epochsAsha.mean,
        unit: 'epochs',
        vsBaseline: sum.epochsAsha.mean / sum.epochsFull.mean,
        note: `full budget ${sum.epochsFull.mean}; ${(sum.epochsFull.mean / sum.epochsAsha.mean).toFixed(2)}× fewer`,
        goal: '≥ 3× fewer',
      },
      {
        name: `ASHA η3 min ${minEpochs}: epochs until its selection finished`,
        value: sum.epochsToBestAsha.mean,
        unit: 'epochs',
        note: `full budget until its own selection ${sum.epochsToBestFull.mean.toFixed(0)}, until as good as ASHA's ${sum.epochsFullToMatchAsha.mean.toFixed(0)} (${(sum.epochsFullToMatchAsha.mean / sum.epochsToBestAsha.mean).toFixed(2)}×)`,
      },
      {
        name: `ASHA η3 min ${minEpochs}: regret of the selection (true val acc)`,
        value: sum.regretAsha.mean * 100,
        unit: 'pts',
        note: `full budget ${pts(sum.regretFull)}; ASHA − full ${pts(sum.qualityDiffAshaMinusFull)}; full budget with ASHA's epochs ${pts(sum.regretFullAtAshaEpochs)}`,
      },
    );
  }

  // 3. The decisions' own cost: 1,000 trials × 27 epochs, two variants, parallelism 100 (ten
  // waves of 100 trials, each wave's events interleaved epoch by epoch).
  const events: { trial: string; group: string; epoch: number; value: number }[] = [];
  for (let wave = 0; wave < 10; wave++)
    for (let e = 1; e <= EPOCHS; e++)
      for (let t = wave * 100; t < wave * 100 + 100; t++)
        events.push({
          trial: `t${t}`,
          group: t % 2 ? 'cnn' : 'mobilenetv2',
          epoch: e,
          value: Math.sin(t * 12.9898) * 0.1 + e / 100,
        });
  const timeRule = (decide: (ev: (typeof events)[number]) => boolean) => {
    const stopped = new Set<string>();
    let count = 0;
    const start = performance.now();
    for (const ev of events) {
      if (stopped.has(ev.trial)) continue;
      count++;
      if (decide(ev)) stopped.add(ev.trial);
    }
    return { usPerEvent: ((performance.now() - start) * 1000) / count, count, stopped: stopped.size };
  };
  const asha = AshaConfig.parse({
    policy: 'asha',
    metric: 'valAccuracy',
    mode: 'max',
    minEpochs: 1,
    maxEpochs: EPOCHS,
  });
  let ashaState = emptyAshaState();
  const ashaCost = timeRule((ev) => {
    const r = ashaDecide(asha, ashaState, ev);
    ashaState = r.state;
    return r.decision.action === 'stop';
  });
  const median = MedianConfig.parse({ policy: 'median', metric: 'valAccuracy', mode: 'max' });
  let medianState = emptyMedianState();
  const medianCost = timeRule((ev) => {
    const r = medianDecide(median, medianState, ev);
    medianState = r.state;
    if (ev.epoch === EPOCHS) medianState = medianComplete(medianState, ev.group, ev.trial);
    return r.decision.action === 'stop';
  });
  const history: Observation[] = Array.from({ length: 1000 }, (_, k) => {
    const params = randomPoint(space, 7, k);
    return { trial: k, params, state: 'complete', value: -Math.abs(Math.log10(params.learningRate as number) + 2.5) };
  });
  const sampler = new TpeSampler(space, { seed: 7, direction: 'maximize' });
  const t0 = performance.now();
  for (let k = 1000; k < 1010; k++) sampler.suggest(k, history);
  const suggestMs = (performance.now() - t0) / 10;
  results.push(
    {
      name: 'ASHA decision, 1,000-trial sweep',
      value: ashaCost.usPerEvent,
      unit: 'µs/event',
      note: `${ashaCost.count} events, ${ashaCost.stopped} stopped; state ${(JSON.stringify(ashaState).length / 1024).toFixed(0)} KiB JSON`,
    },
    {
      name: 'median-rule decision, 1,000-trial sweep',
      value: medianCost.usPerEvent,
      unit: 'µs/event',
      note: `${medianCost.count} events, ${medianCost.stopped} stopped; state ${(JSON.stringify(medianState).length / 1024).toFixed(0)} KiB JSON`,
    },
    { name: 'TPE suggestion over a 1,000-trial history', value: suggestMs, unit: 'ms' },
  );

  await report('search', results, {
    seeds: SEEDS,
    trials: TRIALS,
    epochs: EPOCHS,
    optimum: optimum.value,
    optuna: optuna.version,
    seconds,
    bestValAccuracy: tpeTable,
    regretOfSelected: regretTable,
    comparisons,
    asha: { trials: N, workers: WORKERS, reductionFactor: 3, ...ashaSummaries },
    decisionCost: { asha: ashaCost, median: medianCost, tpeSuggestMsAt1000: suggestMs },
  });
}

await main();
