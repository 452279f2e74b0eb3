/**
 * End to end, embedded mode (issue 6a): `fersweep run SPEC --data-dir DIR` with nothing configured
 * trains a tiny two-variant sweep in trainer child processes and writes the report. Needs the build.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { cli } from '../support/cli.js';
import { SweepReport } from '@fersweep/contracts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fersweep-e2e-run-'));
  expect(
    (await cli('dataset', 'synth', '--out', join(dir, 'data', 'datasets', 'faces'), '--count', '500', '--seed', '3'))
      .code,
  ).toBe(0);
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('fersweep run (embedded)', () => {
  it('runs a two-variant sweep and writes a report whose numbers add up', async () => {
    const spec = join(dir, 'sweep.yaml');
    await writeFile(
      spec,
      stringify({
        apiVersion: 'fersweep/v1',
        kind: 'Sweep',
        metadata: { name: 'tiny' },
        spec: {
          dataset: `file://${join(dir, 'data', 'datasets', 'faces')}`,
          epochs: 2,
          batchSize: 32,
          maxTrainImages: 160,
          variants: [
            { name: 'cnn', model: 'cnn', params: { width: 0.125, blocks: 2, denseUnits: 16, batchNormMomentum: 0.9 } },
            { name: 'mnv2', model: 'mobilenetv2', params: { alpha: 0.35, batchNormMomentum: 0.9 } },
          ],
          parallelism: 2,
        },
      }),
    );
    // A fake core count: 4 cores for the sweep's 2 trials at once give each trainer 2 data-parallel threads.
    const r = await cli('run', spec, '--data-dir', join(dir, 'data'), '--cores', '4');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/pair \(McNemar\)/);
    expect(r.out).toMatch(/report: .*sweeps\/tiny\/report\/index\.html/);

    const report = SweepReport.parse(
      JSON.parse(await readFile(join(dir, 'data', 'sweeps', 'tiny', 'report', 'report.json'), 'utf8')),
    );
    const manifest = JSON.parse(await readFile(join(dir, 'data', 'datasets', 'faces', 'manifest.json'), 'utf8')) as {
      splits: { test: { count: number } };
    };
    expect(report.phase).toBe('Succeeded');
    expect(report.trials.map((t) => t.trial).sort()).toEqual(['cnn', 'mnv2']);
    for (const t of report.trials) {
      expect(t.device).toMatch(/× 2 data-parallel threads$/);
      expect(t.history.map((h) => h.epoch)).toEqual([1, 2]);
      const cm = t.test!.confusionMatrix;
      expect(cm.flat().reduce((a, b) => a + b, 0)).toBe(manifest.splits.test.count);
      expect(t.modelUri).toMatch(/sweeps\/tiny\/trials\/.*\/model\/$/);
    }
    expect(report.comparison.pairs).toHaveLength(1);
    const files = await readdir(join(dir, 'data', 'sweeps', 'tiny', 'report'));
    expect(files).toEqual(expect.arrayContaining(['index.html', 'report.json']));
    expect(files.some((f) => f.endsWith('.png'))).toBe(true);

    // Running the same command again finds the finished sweep and reports it without training again.
    const again = await cli('run', spec, '--data-dir', join(dir, 'data'));
    expect(again.code).toBe(0);
  }, 300_000);

  it('refuses a spec that does not validate, naming the field', async () => {
    const spec = join(dir, 'bad.yaml');
    await writeFile(
      spec,
      stringify({
        apiVersion: 'fersweep/v1',
        kind: 'Sweep',
        metadata: { name: 'bad' },
        spec: { dataset: 'x', variants: [], epochs: 1 },
      }),
    );
    const r = await cli('run', spec, '--data-dir', join(dir, 'data'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/sweep spec: spec\.variants: a sweep needs at least one variant/);
  });

  it('checks every variant and search value against the model registry before it opens the dataset or starts', async () => {
    const spec = join(dir, 'badparams.yaml');
    await writeFile(
      spec,
      stringify({
        apiVersion: 'fersweep/v1',
        kind: 'Sweep',
        metadata: { name: 'badparams' },
        spec: {
          dataset: `file://${dir}/none`,
          variants: [
            { name: 'cnn', model: 'cnn', params: { width: 0.25 } },
            { name: 'mnv2', model: 'mobilenetv2', params: { alpha: 0.3 } },
          ],
          search: { parameters: { epochs: [0, 3] } },
        },
      }),
    );
    const r = await cli('run', spec, '--data-dir', join(dir, 'badparams-data'));
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'fersweep: error: sweep spec: 2 problems: spec.variants[1].params.alpha: must be one of 0.35, 0.5, 0.75, 1, 1.3, 1.4; ' +
        'spec.search.parameters.epochs[0]: Too small: expected number to be >=1\n',
    );
    await expect(readdir(join(dir, 'badparams-data'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('says when the dataset does not exist', async () => {
    const spec = join(dir, 'nodata.yaml');
    await writeFile(
      spec,
      stringify({
        apiVersion: 'fersweep/v1',
        kind: 'Sweep',
        metadata: { name: 'nodata' },
        spec: { dataset: `file://${dir}/none`, variants: [{ name: 'cnn', model: 'cnn' }] },
      }),
    );
    const r = await cli('run', spec, '--data-dir', join(dir, 'data'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no dataset at file:.*none: manifest\.json not found/);
  });
});
