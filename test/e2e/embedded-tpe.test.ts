/**
 * End to end, embedded mode: `fersweep run` with `search.method: tpe` trains a tiny sweep with two
 * trials at once in trainer child processes; every configuration's point is suggested before its
 * launch and lands in the report as the trial's params; the same spec under another name suggests
 * the same points (the seed and the results decide them). Training on wasm is not bit-reproducible
 * across processes, so the history is kept to one result (startupTrials 1, window 2: only cnn-3 is
 * suggested by the model, from cnn-0 alone, whose value does not move a one-point estimator); the
 * coordinator tests check reproducibility over longer histories with scripted curves. Needs the build.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { SweepReport } from '@fersweep/contracts';
import { cli } from '../support/cli.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fersweep-e2e-tpe-'));
  expect(
    (await cli('dataset', 'synth', '--out', join(dir, 'data', 'datasets', 'faces'), '--count', '300', '--seed', '5'))
      .code,
  ).toBe(0);
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

async function run(name: string) {
  const spec = join(dir, `${name}.yaml`);
  await writeFile(
    spec,
    stringify({
      apiVersion: 'fersweep/v1',
      kind: 'Sweep',
      metadata: { name },
      spec: {
        dataset: `file://${join(dir, 'data', 'datasets', 'faces')}`,
        epochs: 1,
        batchSize: 32,
        maxTrainImages: 96,
        evaluate: ['val'],
        variants: [{ name: 'cnn', model: 'cnn', params: { width: 0.125, blocks: 2, denseUnits: 16 } }],
        search: {
          method: 'tpe',
          samples: 4,
          startupTrials: 1,
          seed: 3,
          parameters: { learningRate: { type: 'float', min: 1e-4, max: 1e-1, log: true }, dropout: [0.1, 0.3] },
        },
        parallelism: 2,
      },
    }),
  );
  const r = await cli('run', spec, '--data-dir', join(dir, 'data'));
  expect([r.code, r.code === 0 ? '' : r.err]).toEqual([0, '']);
  const report = SweepReport.parse(
    JSON.parse(await readFile(join(dir, 'data', 'sweeps', name, 'report', 'report.json'), 'utf8')),
  );
  return { out: r.out, report };
}

describe('fersweep run with search.method: tpe', () => {
  it('trains the suggested points two at a time, and suggests the same points for the same seed', async () => {
    const one = await run('tpe-one');
    expect(one.report.phase).toBe('Succeeded');
    const points = (r: SweepReport) =>
      [...r.trials]
        .sort((a, b) => (a.trial < b.trial ? -1 : 1))
        .map((t) => [t.trial, t.params.learningRate, t.params.dropout]);
    const p = points(one.report);
    expect(p.map((x) => x[0])).toEqual(['cnn-0', 'cnn-1', 'cnn-2', 'cnn-3']);
    for (const [, lr, dropout] of p) {
      expect(lr).toBeGreaterThanOrEqual(1e-4);
      expect(lr).toBeLessThanOrEqual(1e-1);
      expect([0.1, 0.3]).toContain(dropout);
    }
    expect(new Set(p.map((x) => x[1])).size).toBe(4);
    const two = await run('tpe-two');
    expect(points(two.report).map((x) => x.slice(1))).toEqual(p.map((x) => x.slice(1)));
  }, 600_000);
});
