/**
 * Coordinator benchmark (issue 4). Against the fake Kubernetes API server without its kubelet (a
 * bare API server: Jobs are stored and watched, nothing runs), in one run:
 *   1. a 1,000-trial sweep (grid search, parallelism 1000) submitted through the API of a
 *      coordinator in embedded mode (file-backed state) with the Kubernetes launcher: the time
 *      until every Job exists, against a bare loop of `createNamespacedJob` calls with the same
 *      Job bodies on a fresh fake server (client-node BatchV1Api, one at a time as the scheduler
 *      launches); then the time until the coordinator has taken in every Job's status (idle);
 *   2. `GET /v1/sweeps/{id}` of that sweep under 8 concurrent clients, 400 requests: p50 / p99.
 * Run: npm run bench -- coordinator    (BENCH_TRIALS scales it down, BENCH_REPEATS repeats part 1)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { expandTrials, SweepSpec, TrialSpec } from '@fersweep/contracts';
import { buildJob, jobName, KubernetesLauncher, startCoordinator, type Coordinator } from '@fersweep/coordinator';
import { startFakeKube, type FakeKube } from '@fersweep/kube-fake';
import { createLogger } from '@fersweep/observability';
import { report, median, type BenchResult } from './report.js';

const TRIALS = Number(process.env.BENCH_TRIALS ?? 1000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const CLIENTS = 8;
const REQUESTS = 400;
const logger = createLogger({ service: 'bench', silent: true });

/** A grid search of 2 variants × 10 learning rates × TRIALS/20 seeds = TRIALS trials, all launched at once. */
function sweepSpec(name: string) {
  const seeds = Math.max(1, Math.round(TRIALS / 20));
  return SweepSpec.parse({
    apiVersion: 'fersweep/v1',
    kind: 'Sweep',
    metadata: { name },
    spec: {
      dataset: 's3://fersweep/datasets/fer2013',
      epochs: 60,
      earlyStopping: { monitor: 'valAccuracy', patience: 8 },
      variants: [
        { name: 'cnn', model: 'cnn', params: { width: 1 } },
        { name: 'mobilenetv2', model: 'mobilenetv2', params: { alpha: 1, inputSize: 96 } },
      ],
      search: {
        method: 'grid',
        parameters: {
          learningRate: [0.003, 0.002, 0.001, 0.0007, 0.0005, 0.0003, 0.0002, 0.0001, 0.00005, 0.00002],
          seed: Array.from({ length: seeds }, (_, i) => i + 1),
        },
      },
      parallelism: Math.min(1000, TRIALS),
      resources: { gpu: 1, cpu: '4', memory: '16Gi' },
    },
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string, timeoutMs = 600_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * Waits until the scheduler's serial queue is empty: a barrier task (cancelling an unknown sweep)
 * runs after everything queued before it; idle = two barriers in a row pass at once. Resolves to
 * when the first of those was queued (performance.now()).
 */
async function idle(c: Coordinator): Promise<number> {
  let quick = 0;
  let since = 0;
  while (quick < 2) {
    const t = performance.now();
    await c.scheduler.cancel('bench-barrier').catch(() => undefined);
    if (performance.now() - t < 5) {
      if (quick++ === 0) since = t;
    } else quick = 0;
    await sleep(100);
  }
  return since;
}

interface CoordinatorRun {
  jobsSeconds: number;
  /** CPU time of this process (coordinator + fake API server + client) until every Job exists. */
  jobsCpuSeconds: number;
  responseSeconds: number;
  idleSeconds: number;
  jobs: number;
}

const cpuSince = (c: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1e6;
};

async function coordinatorRun(
  dir: string,
  r: number,
): Promise<{ run: CoordinatorRun; fake: FakeKube; c: Coordinator }> {
  const fake = await startFakeKube({ kubelet: false });
  const launcher = new KubernetesLauncher({ kubeConfig: fake.kubeConfig, namespace: 'default', image: 'x', logger });
  const c = await startCoordinator({
    env: {
      FERSWEEP_MAX_TRIALS: String(TRIALS),
      FERSWEEP_STATE_DIR: join(dir, `state-${r}`),
      FERSWEEP_STORE: pathToFileURL(join(dir, `store-${r}`)).href,
      LOG_LEVEL: 'error',
    },
    port: 0,
    host: '127.0.0.1',
    logger,
    launcher,
  });
  const spec = sweepSpec('bench');
  const cpu = process.cpuUsage();
  const t = performance.now();
  let responseSeconds = 0;
  const post = fetch(`${c.url}/v1/sweeps`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(spec),
  }).then(async (res) => {
    if (res.status !== 201) throw new Error(`POST /v1/sweeps: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
    responseSeconds = (performance.now() - t) / 1000;
  });
  let failed: unknown;
  post.catch((err: unknown) => (failed = err));
  // The scheduler launches in trial order, one at a time: every Job exists once the last one does.
  // (Polling listJobs() instead would clone all Jobs every 20 ms: a third of the CPU in this window.)
  const last = jobName('bench', expandTrials(spec).at(-1)!.trial);
  await until(() => {
    if (failed) throw failed;
    return fake.getJob(last, 'default') !== undefined;
  }, 'every Job');
  const jobsSeconds = (performance.now() - t) / 1000;
  const jobsCpuSeconds = cpuSince(cpu);
  await post;
  if (fake.listJobs('default').length !== TRIALS) throw new Error('coordinator: Jobs missing');
  const idleSeconds = ((await idle(c)) - t) / 1000;
  return {
    run: { jobsSeconds, jobsCpuSeconds, responseSeconds, idleSeconds, jobs: fake.listJobs('default').length },
    fake,
    c,
  };
}

/** The same Job bodies, created one after another with client-node on a fresh fake server. */
async function bareRun(storeUrl: string): Promise<{ seconds: number; cpuSeconds: number }> {
  const fake = await startFakeKube({ kubelet: false });
  try {
    const spec = sweepSpec('bench');
    const s = spec.spec;
    const bodies = expandTrials(spec).map((p) =>
      buildJob(
        TrialSpec.parse({
          sweep: spec.metadata.name,
          trial: p.trial,
          variant: p.variant,
          model: p.model,
          params: p.params,
          dataset: s.dataset,
          output: storeUrl,
          epochs: p.epochs,
          batchSize: p.batchSize,
          seed: p.seed,
          ...(s.earlyStopping ? { earlyStopping: s.earlyStopping } : {}),
          evaluate: s.evaluate,
        }),
        { retries: s.retries, deadlineSeconds: s.deadlineSeconds, resources: s.resources },
        { namespace: 'default', image: 'x' },
      ),
    );
    const batch = fake.kubeConfig.makeApiClient(k8s.BatchV1Api);
    const cpu = process.cpuUsage();
    const t = performance.now();
    for (const body of bodies) await batch.createNamespacedJob({ namespace: 'default', body });
    const seconds = (performance.now() - t) / 1000;
    const cpuSeconds = cpuSince(cpu);
    if (fake.listJobs('default').length !== TRIALS) throw new Error('bare loop: Jobs missing');
    return { seconds, cpuSeconds };
  } finally {
    await fake.stop();
  }
}

/** CLIENTS concurrent clients, REQUESTS requests in all: latency of each, in ms. */
async function getLatencies(url: string): Promise<{ ms: number[]; bytes: number; seconds: number }> {
  const ms: number[] = [];
  let next = 0;
  let bytes = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next++ < REQUESTS) {
        const s = performance.now();
        const res = await fetch(url);
        const body = await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
        ms.push(performance.now() - s);
        bytes = body.byteLength;
      }
    }),
  );
  return { ms, bytes, seconds: (performance.now() - t) / 1000 };
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fersweep-bench-coordinator-'));
  const results: BenchResult[] = [];
  try {
    const runs: CoordinatorRun[] = [];
    const bare: { seconds: number; cpuSeconds: number }[] = [];
    let get: Awaited<ReturnType<typeof getLatencies>> | undefined;
    for (let r = 0; r < REPEATS; r++) {
      const runBare = async () => {
        bare.push(await bareRun(pathToFileURL(join(dir, `store-${r}`)).href));
        const b = bare[bare.length - 1]!;
        console.log(
          `repeat ${r + 1}: bare loop ${b.seconds.toFixed(2)} s (${b.cpuSeconds.toFixed(2)} s CPU) for ${TRIALS} Jobs`,
        );
      };
      const runCoordinator = async () => {
        const { run, fake, c } = await coordinatorRun(dir, r);
        runs.push(run);
        console.log(
          `repeat ${r + 1}: coordinator: every Job after ${run.jobsSeconds.toFixed(2)} s (${run.jobsCpuSeconds.toFixed(2)} s CPU), ` +
            `POST answered after ${run.responseSeconds.toFixed(2)} s, idle after ${run.idleSeconds.toFixed(2)} s`,
        );
        if (r === REPEATS - 1) {
          get = await getLatencies(`${c.url}/v1/sweeps/bench`);
          console.log(`GET /v1/sweeps/bench: ${REQUESTS} requests in ${get.seconds.toFixed(1)} s`);
        }
        await c.stop();
        await fake.stop();
      };
      // Alternate which goes first, so drift on a shared machine hits both.
      for (const run of r % 2 ? [runCoordinator, runBare] : [runBare, runCoordinator]) await run();
    }
    const bareS = median(bare.map((b) => b.seconds));
    const bareCpu = median(bare.map((b) => b.cpuSeconds));
    const jobsS = median(runs.map((x) => x.jobsSeconds));
    const jobsCpu = median(runs.map((x) => x.jobsCpuSeconds));
    const idleS = median(runs.map((x) => x.idleSeconds));
    results.push(
      {
        name: `bare loop: ${TRIALS} × createNamespacedJob (baseline)`,
        value: bareS,
        unit: 's',
        note: `${bareCpu.toFixed(1)} s CPU; median of ${REPEATS}`,
      },
      {
        name: `coordinator: submit → ${TRIALS} Jobs exist`,
        value: jobsS,
        unit: 's',
        vsBaseline: jobsS / bareS,
        goal: '≤ 1.5× the bare loop',
        note: `POST answered after ${median(runs.map((x) => x.responseSeconds)).toFixed(2)} s; median of ${REPEATS}`,
      },
      {
        name: `coordinator: submit → ${TRIALS} Jobs exist, CPU time`,
        value: jobsCpu,
        unit: 's',
        vsBaseline: jobsCpu / bareCpu,
        goal: '≤ 1.5× the bare loop',
        note: 'process CPU (coordinator + fake API server + client), less sensitive to a busy machine',
      },
      {
        name: `coordinator: submit → every Job's status taken in (idle)`,
        value: idleS,
        unit: 's',
        vsBaseline: idleS / bareS,
      },
    );
    if (get) {
      results.push(
        {
          name: `GET /v1/sweeps/{id} (${TRIALS} trials) p50, ${CLIENTS} clients`,
          value: quantile(get.ms, 0.5),
          unit: 'ms',
          note: `${(get.bytes / 1024).toFixed(0)} KiB per response`,
        },
        {
          name: `GET /v1/sweeps/{id} (${TRIALS} trials) p99, ${CLIENTS} clients`,
          value: quantile(get.ms, 0.99),
          unit: 'ms',
        },
        { name: `GET /v1/sweeps/{id} throughput, ${CLIENTS} clients`, value: REQUESTS / get.seconds, unit: 'req/s' },
      );
    }
    await report('coordinator', results, {
      trials: TRIALS,
      repeats: REPEATS,
      clients: CLIENTS,
      requests: REQUESTS,
      runs,
      bare,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
