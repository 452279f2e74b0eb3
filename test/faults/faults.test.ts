/**
 * Fault suite (issue 12): kill -9 each component of the distributed stack — a trainer pod, the
 * coordinator, the evaluator, nats-server, the S3 server — at an observed point of a running sweep,
 * restart it, and check that the sweep finishes with every trial exactly once in the report, epochs
 * 1..E once each, one Job per trial (created once), and no partial object under the sweep's keys.
 * Prints a table of scenario → outcome (also written to $FERSWEEP_FAULTS_OUT; test/faults/RESULTS.md
 * is one run of it). Needs the build (`fersweep` runs from dist/).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { NATS } from '@fersweep/contracts';
import { importDataset, syntheticSource } from '@fersweep/dataset';
import { openStore } from '@fersweep/storage';
import {
  EPOCHS,
  faultSweep,
  jobCreates,
  lostAndDuplicated,
  runningAt,
  submit,
  table,
  TRIALS,
  verdict,
  waitView,
  type Outcome,
  type Verdict,
} from './checks.js';
import { startFaultStack, waitUntil, within, type FaultStack } from './stack.js';

let dir: string;
let stack: FaultStack;
const rows: Outcome[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fersweep-faults-'));
  stack = await startFaultStack(dir);
  await importDataset({
    source: syntheticSource({ count: 400, seed: 12 }),
    store: openStore('s3://fersweep/datasets/faces'),
    name: 'faces',
    seed: 1,
    explore: false,
  });
}, 180_000);

afterAll(async () => {
  const text = table(rows);
  console.log(`fault scenarios (kill -9, restart):\n\n${text}\n`);
  if (process.env.FERSWEEP_FAULTS_OUT) await writeFile(process.env.FERSWEEP_FAULTS_OUT, `${text}\n`);
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Pids of the `fersweep train` processes of sweep `id` (the local launcher's spec files are `<sweep>.<trial>.json`). */
async function trainerPids(id: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const argv = cmdline.split('\0');
    if (argv.includes('train') && argv.some((a) => a.endsWith(`/${id}.a.json`) || a.endsWith(`/${id}.b.json`)))
      pids.push(Number(entry));
  }
  return pids;
}

/** Those of `pids` still running (not exited, not a zombie). */
async function alive(pids: number[]): Promise<number[]> {
  const out: number[] = [];
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (stat && !/^\d+ \(.*\) Z/.test(stat)) out.push(pid);
  }
  return out;
}

/** The running trial's checkpoint key after `epochs` epochs. */
const checkpointKey = (id: string, trial: string, epochs: number) =>
  `sweeps/${id}/trials/${trial}/checkpoints/epoch-${String(epochs).padStart(4, '0')}/state.json`;

/**
 * Submits a sweep, runs `fault` on it, waits for the end, records the row and asserts the
 * invariants every scenario shares. Returns the verdict for scenario-specific checks.
 */
async function scenario(
  id: string,
  parallelism: number,
  fault: () => Promise<Omit<Outcome, 'finished' | 'trialsInReport' | 'duplicates' | 'epochsLost' | 'partialFiles'>>,
  kube = true,
): Promise<Verdict> {
  const before = jobCreates(stack.kube);
  await submit(stack.coordinator.url, faultSweep(id, parallelism));
  const what = await fault();
  const v = await verdict(stack, id, before);
  const { lost, duplicated } = lostAndDuplicated(v, kube);
  rows.push({
    ...what,
    finished: v.phase === 'Succeeded',
    trialsInReport: `${new Set(v.trialIds).size}/${TRIALS.length}`,
    duplicates: duplicated,
    epochsLost: lost,
    partialFiles: v.partial.length,
  });
  expect(v.phase).toBe('Succeeded');
  expect(v.trialIds).toEqual(TRIALS);
  for (const t of TRIALS) expect(v.epochs[t]).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
  for (const t of v.report.trials) expect(t.test).toBeDefined();
  if (kube) {
    expect(v.jobsPerTrial).toEqual(Object.fromEntries(TRIALS.map((t) => [t, 1])));
    expect(v.jobCreates).toBe(TRIALS.length);
  }
  expect(v.partial).toEqual([]);
  expect(stack.kube.errors()).toEqual([]);
  return v;
}

describe('kill -9 and restart, one component at a time, during a running sweep', () => {
  it('a trainer pod, after its epoch-1 event and checkpoint: the Job retries and resumes from epoch 1', async () => {
    const id = 'f-trainer';
    const job = `fs-${id}-a`;
    let reached = 0;
    const v = await scenario(id, 2, async () => {
      const at = await waitView(stack, id, 'trial a to report epoch 1', (s) =>
        s.trials.some((t) => t.trial === 'a' && t.phase === 'Running' && (t.lastEpoch?.epoch ?? 0) >= 1),
      );
      reached = at.trials.find((t) => t.trial === 'a')!.lastEpoch!.epoch;
      await waitUntil(
        `the epoch-${reached} checkpoint of trial a`,
        () => openStore('s3://fersweep').head(checkpointKey(id, 'a', reached)),
        30_000,
      );
      const pods = stack.kube.listPods({ jobName: job }).map((p) => p.metadata!.name!);
      const proc = stack.kube.processes().find((p) => pods.includes(p.pod));
      if (!proc) throw new Error(`no running trainer process of ${job} (pods ${pods.join(', ')})`);
      process.kill(proc.pid, 'SIGKILL');
      return {
        scenario: 'trainer (pod of trial a)',
        killPoint: `after epoch ${reached}'s event + checkpoint`,
        restart: 'Job controller: new pod (backoffLimit)',
      };
    });
    const pods = stack.kube.listPods({ jobName: job });
    expect(pods.length).toBe(2);
    const resumed = pods
      .flatMap((p) => stack.kube.podLog(p.metadata!.name!).split('\n'))
      .map((line) => {
        try {
          return JSON.parse(line) as { message?: string; completedEpochs?: number };
        } catch {
          return {};
        }
      })
      .find((l) => l.message === 'resuming from checkpoint');
    expect(resumed).toBeDefined();
    const resumedFrom = resumed!.completedEpochs ?? -1;
    // No epoch lost beyond the one in flight: the retry starts at (or after) the last epoch reported before the kill.
    const row = rows[rows.length - 1]!;
    row.epochsLost += Math.max(0, reached - resumedFrom);
    row.note = `2 pods; the retry resumed after epoch ${resumedFrom} (killed after epoch ${reached}'s event)`;
    expect(resumedFrom).toBeGreaterThanOrEqual(reached);
    expect(v.report.trials.find((t) => t.trial === 'a')!.history).toHaveLength(EPOCHS);
  }, 240_000);

  it('the coordinator, with trial a running and trial b not launched yet: restarted, it reconciles without a duplicate Job', async () => {
    const id = 'f-coordinator';
    await scenario(id, 1, async () => {
      await waitView(stack, id, 'trial a to report epoch 1', (s) => Boolean(runningAt(s, 1)));
      await stack.coordinator.kill();
      await stack.coordinator.restart();
      return {
        scenario: 'coordinator',
        killPoint: 'trial a at epoch ≥ 1, trial b pending (parallelism 1)',
        restart: 'same port, state from NATS KV',
      };
    });
  }, 240_000);

  it('the evaluator, kept down while trial events arrive: restarted, its report has every trial and epoch once', async () => {
    const id = 'f-evaluator';
    // The trainers' own events, as the evaluator gets them: the kill lands while the first epoch event
    // is applied but not yet committed (the evaluator commits every 100 ms), the case a crash loses.
    const nc = await connect({ servers: stack.nats.url });
    const events = nc.subscribe(NATS.trialSubjects);
    await scenario(id, 2, async () => {
      await within(
        (async () => {
          for await (const m of events) {
            const e = m.json<{ sweep?: string; type?: string }>();
            if (e.sweep === id && e.type === 'trial.epoch') return;
          }
        })(),
        120_000,
        `the first trial.epoch event of sweep ${id} on NATS`,
      );
      await stack.evaluator.kill();
      events.unsubscribe();
      await nc.close();
      const at = await waitView(stack, id, 'a trial to report epoch 1', (s) => Boolean(runningAt(s, 1)));
      const t = runningAt(at, 1)!;
      // Events the evaluator misses while it is down: the trial's next epoch (or its end).
      await waitView(stack, id, `trial ${t.trial} to move on while the evaluator is down`, (s) => {
        const now = s.trials.find((x) => x.trial === t.trial)!;
        return now.phase !== 'Running' || (now.lastEpoch?.epoch ?? 0) > t.lastEpoch!.epoch;
      });
      await stack.evaluator.restart();
      return {
        scenario: 'evaluator',
        killPoint: `its first epoch event just published; down until trial ${t.trial}'s next one`,
        restart: 'same port, rebuilt from the JetStream stream + S3 state',
      };
    });
  }, 240_000);

  it('nats-server, mid-sweep: restarted on its port and JetStream store, nothing lost or duplicated', async () => {
    const id = 'f-nats';
    await scenario(id, 2, async () => {
      const at = await waitView(stack, id, 'a trial to report epoch 1', (s) => Boolean(runningAt(s, 1)));
      await stack.restartNats();
      return {
        scenario: 'nats-server',
        killPoint: `trial ${runningAt(at, 1)!.trial} at epoch ≥ 1`,
        restart: 'same port + JetStream store dir',
      };
    });
  }, 240_000);

  it('the S3 server, as checkpoints are written: restarted on its port and data dir, no partial object visible', async () => {
    const id = 'f-s3';
    await scenario(id, 2, async () => {
      await waitUntil(
        'the first checkpoint of sweep f-s3',
        async () => {
          const store = openStore('s3://fersweep');
          for (const t of TRIALS) if (await store.head(checkpointKey(id, t, 1))) return true;
          return false;
        },
        120_000,
      );
      await stack.restartS3();
      return {
        scenario: 'S3 server (s3rver)',
        killPoint: 'first epoch-1 checkpoint written, uploads in flight',
        restart: 'same port + data dir',
      };
    });
  }, 240_000);
  it('the coordinator with the local launcher (trainers are its children): its orphaned trainers stop; restarted, it finishes the sweep', async () => {
    const id = 'f-local';
    await stack.useLocalCoordinator();
    let orphansAlive = -1;
    await scenario(
      id,
      2,
      async () => {
        await waitView(stack, id, 'a trial to report epoch 1', (s) => Boolean(runningAt(s, 1)));
        const orphans = await trainerPids(id);
        expect(orphans.length).toBeGreaterThan(0);
        await stack.coordinator.kill();
        const killedAt = Date.now();
        // A trainer whose coordinator is gone must not keep training beside the one its restart launches.
        await waitUntil(
          `the orphaned trainers ${orphans.join(', ')} of sweep ${id} to exit`,
          async () => (await alive(orphans)).length === 0,
          20_000,
        ).catch(() => undefined);
        orphansAlive = (await alive(orphans)).length;
        const exitMs = Date.now() - killedAt;
        await stack.coordinator.restart();
        return {
          scenario: 'coordinator, local launcher',
          killPoint: 'trials at epoch ≥ 1 (its child processes)',
          restart: 'same port, state from NATS KV; trials relaunched',
          note: orphansAlive
            ? `${orphans.length} trainer(s) orphaned, ${orphansAlive} still running 20 s later`
            : `${orphans.length} trainer(s) orphaned, all gone ${exitMs} ms after the kill`,
        };
      },
      false,
    );
    expect(orphansAlive).toBe(0);
  }, 240_000);
});
