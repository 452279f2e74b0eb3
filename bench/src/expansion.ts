/**
 * Sweep expansion and state writes (issue 12). Each case runs in a fresh process, which reports
 * its time and peak RSS (getrusage):
 *   1. random search, `samples` 1000 per variant, over 8^6, 8^7, 8^8 and 10^30 points — with
 *      `expandTrials` (which samples indices, never building the grid) and, as the baseline up to
 *      8^7, the landed algorithm (build the grid, shuffle it, take the head; 8^8 would not fit);
 *   2. `createSweep` of a 1,000-trial sweep in the embedded file store: the landed writes (temp +
 *      rename, no fsync, one at a time) against the crash-safe ones (temp, fsync, rename, group-
 *      committed fsync of the folder, 32 in flight).
 * Run: npm run bench -- expansion
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unsafeUniformIntDistribution, xoroshiro128plus } from 'pure-rand';
import { expandTrials, SweepSpec } from '@fersweep/contracts';
import { openFileKv, planTrialRecords, SweepState, type SweepRecord } from '@fersweep/coordinator';
import { createMemoryKv, type KeyValueStore } from '@fersweep/messaging';
import { median, report, type BenchResult } from './report.js';

const SAMPLES = 1000;
const SPACES: Record<string, Record<string, number[]>> = {
  '8^6': params(6, 8),
  '8^7': params(7, 8),
  '8^8': params(8, 8),
  '10^30': params(30, 10),
};
function params(keys: number, values: number) {
  return Object.fromEntries(
    Array.from({ length: keys }, (_, k) => [`p${k}`, Array.from({ length: values }, (_, v) => v)]),
  );
}
const spec = (parameters: Record<string, number[]>, method: 'random' | 'grid' = 'random') =>
  SweepSpec.parse({
    apiVersion: 'fersweep/v1',
    kind: 'Sweep',
    metadata: { name: 'bench' },
    spec: {
      dataset: 's3://fersweep/datasets/fer2013',
      variants: [{ name: 'cnn', model: 'cnn' }],
      search: method === 'random' ? { method, samples: SAMPLES, seed: 1, parameters } : { method, parameters },
    },
  });

/** The landed random search: every point built, shuffled, the head taken. */
function landedRandom(parameters: Record<string, number[]>, samples: number, seed: number) {
  let points: Record<string, number>[] = [{}];
  for (const k of Object.keys(parameters).sort())
    points = points.flatMap((p) => parameters[k]!.map((v) => ({ ...p, [k]: v })));
  const rng = xoroshiro128plus(seed);
  for (let i = points.length - 1; i > 0; i--) {
    const j = unsafeUniformIntDistribution(0, i, rng);
    [points[i], points[j]] = [points[j]!, points[i]!];
  }
  return points.slice(0, samples);
}

/** The landed file store's write: temp file, rename, no fsync. */
async function landedFileKv(dir: string): Promise<KeyValueStore> {
  await mkdir(dir, { recursive: true });
  const mem = createMemoryKv();
  const file = (k: string) => join(dir, `${encodeURIComponent(k)}.json`);
  const persist = async (k: string, v: Uint8Array | string) => {
    const tmp = `${file(k)}.tmp-${process.pid}`;
    await writeFile(tmp, v);
    await rename(tmp, file(k));
  };
  return {
    ...mem,
    get: (k) => mem.get(k),
    keys: (p) => mem.keys(p),
    watch: (o) => mem.watch(o),
    delete: (k) => mem.delete(k),
    update: (k, v, r) => mem.update(k, v, r),
    async put(k, v) {
      const r = await mem.put(k, v);
      await persist(k, v);
      return r;
    },
    async create(k, v) {
      const r = await mem.create(k, v);
      await persist(k, v);
      return r;
    },
  };
}

async function createSweepCase(kind: 'landed' | 'crash-safe'): Promise<number> {
  const s = spec({ lr: Array.from({ length: 1000 }, (_, i) => i) }, 'grid');
  const trials = planTrialRecords(s, {
    output: 's3://fersweep',
    dataset: s.spec.dataset,
    now: new Date().toISOString(),
  });
  const sweep: SweepRecord = {
    id: 'bench',
    spec: s,
    specHash: 'h',
    phase: 'Pending',
    trialIds: trials.map((t) => t.trial),
    createdAt: 'now',
    updatedAt: 'now',
  };
  const dir = await mkdtemp(join(tmpdir(), 'fersweep-bench-state-'));
  try {
    const t = performance.now();
    if (kind === 'landed') {
      const kv = await landedFileKv(dir);
      for (const tr of trials) await kv.put(`trials.bench.${tr.trial}`, JSON.stringify(tr));
      await kv.create('sweeps.bench', JSON.stringify(sweep));
    } else await new SweepState(await openFileKv(dir)).createSweep(sweep, trials);
    return performance.now() - t;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One case in this process: prints {ms, count, maxRssMiB}. */
async function child(name: string): Promise<void> {
  const [what, space] = name.split(':') as [string, string];
  const t = performance.now();
  let count = 0;
  let ms = 0;
  if (what === 'sample') {
    count = expandTrials(spec(SPACES[space]!)).length;
    ms = performance.now() - t;
  } else if (what === 'landed') {
    count = landedRandom(SPACES[space]!, SAMPLES, 1).length;
    ms = performance.now() - t;
  } else {
    ms = await createSweepCase(what === 'state-landed' ? 'landed' : 'crash-safe');
    count = 1000;
  }
  console.log(JSON.stringify({ ms, count, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

function run(name: string): { ms: number; count: number; maxRssMiB: number } {
  const r = spawnSync(process.execPath, ['--max-old-space-size=4096', fileURLToPath(import.meta.url), name], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number; count: number; maxRssMiB: number };
}

async function main(): Promise<void> {
  const results: BenchResult[] = [];
  const baseline = run('sample:8^6'); // the empty process's RSS is most of it
  for (const space of Object.keys(SPACES)) {
    const ours = run(`sample:${space}`);
    const landed = space === '8^6' || space === '8^7' ? run(`landed:${space}`) : undefined;
    results.push({
      name: `random search ${space}, ${SAMPLES} samples: expandTrials`,
      value: ours.ms,
      unit: 'ms',
      note: `peak RSS ${ours.maxRssMiB.toFixed(0)} MiB${landed ? `; landed: ${landed.ms.toFixed(0)} ms, ${landed.maxRssMiB.toFixed(0)} MiB` : ''}`,
      ...(landed ? { vsBaseline: ours.ms / landed.ms } : {}),
    });
  }
  const rounds = 3;
  const landedState: number[] = [];
  const safeState: number[] = [];
  for (let i = 0; i < rounds; i++) {
    landedState.push(run('state-landed:x').ms);
    safeState.push(run('state-safe:x').ms);
  }
  results.push({
    name: 'createSweep 1,000 trials, file store: crash-safe',
    value: median(safeState),
    unit: 'ms',
    vsBaseline: median(safeState) / median(landedState),
    note: `landed (no fsync, sequential): ${median(landedState).toFixed(0)} ms; median of ${rounds}`,
  });
  await report('expansion', results, { samples: SAMPLES, emptyProcessRssMiB: baseline.maxRssMiB });
}

if (process.argv[2]) await child(process.argv[2]);
else await main();
