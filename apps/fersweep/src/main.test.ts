import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './testing/cli.js';

let dir: string;
beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'fersweep-cli-'))));
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('fersweep dataset', () => {
  it('synth writes a manifest, inspect verifies it', async () => {
    const url = `file://${dir}/x`;
    const synth = await cli('dataset', 'synth', '--out', url, '--count', '300', '--seed', '7');
    expect(synth).toMatchObject({ code: 0, err: '' });
    expect(synth.out).toMatch(/dataset x at file:\/\//);
    const manifest = JSON.parse(await readFile(join(dir, 'x', 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({
      format: 'fersweep-dataset/v1',
      name: 'x',
      source: { kind: 'synthetic', seed: 7 },
    });
    const total = ['train', 'val', 'test', 'test2'].reduce((a, s) => a + (manifest.splits[s]?.count ?? 0), 0);
    expect(total).toBe(300);

    const inspect = await cli('dataset', 'inspect', url);
    expect(inspect.code).toBe(0);
    expect(inspect.out).toMatch(/split\s+images\s+angry\s+disgust\s+fear\s+happy\s+sad\s+surprise\s+neutral\s+shards/);
    expect(inspect.out).toMatch(/total\s+300/);
    expect(inspect.err).toMatch(/integrity: \d+ shards, .* every sha256 matches the manifest/);

    const json = await cli('dataset', 'inspect', url, '--json', '--no-verify');
    expect(JSON.parse(json.out)).toEqual(manifest);
  });

  it('inspect fails with exit 2 and names the corrupt shard', async () => {
    const url = `file://${dir}/x`;
    await cli('dataset', 'synth', '--out', url, '--count', '100');
    const shard = join(dir, 'x', 'shards', 'test-00000.arrow');
    const bytes = await readFile(shard);
    bytes[200] = bytes[200]! ^ 1;
    await writeFile(shard, bytes);
    const r = await cli('dataset', 'inspect', url);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/integrity: shard shards\/test-00000\.arrow fails its checksum/);
    expect(r.err).toMatch(/fersweep: error: 1 of \d+ shards are corrupt or missing/);
  });

  it('import reads a fer2013.csv and reports a bad row by line, publishing nothing', async () => {
    const px = Array.from({ length: 2304 }, (_, i) => i % 200).join(' ');
    const csv = join(dir, 'fer2013.csv');
    await writeFile(csv, `emotion,pixels,Usage\n3,${px},Training\n0,${px},PublicTest\n9,${px},Training\n`);
    const r = await cli('dataset', 'import', csv, '--out', join(dir, 'out'));
    expect(r.code).toBe(1);
    expect(r.err).toBe(`fersweep: error: ${csv}:4: emotion '9' is not a label 0–6\n`);
    expect(await readdir(dir)).not.toContain('out-manifest');
    await expect(readFile(join(dir, 'out', 'manifest.json'))).rejects.toThrow(/ENOENT/);
  });

  it.each([
    [
      ['dataset', 'import', '/nonexistent/fer2013.csv', '--out', '/tmp/x'],
      2,
      /cannot read \/nonexistent\/fer2013\.csv: no such file or folder/,
    ],
    [['dataset', 'inspect', 'gs://bucket/x'], 1, /unsupported store URL 'gs:\/\/bucket\/x'/],
    [['dataset', 'synth', '--out', '/tmp/x', '--count', 'many'], 2, /--count must be an integer ≥ 7, got 'many'/],
    [['dataset', 'synth'], 2, /required option '--out <url>' not specified/],
  ])('refuses %j with one clear line', async (argv, code, message) => {
    const r = await cli(...argv);
    expect(r.code).toBe(code);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('import of a Kaggle folder without test/ holds a test split out of train/ and says so', async () => {
    for (const [emotion, n] of [
      ['happy', 10],
      ['sad', 10],
    ] as const) {
      await mkdir(join(dir, 'kaggle', 'train', emotion), { recursive: true });
      for (let i = 0; i < n; i++)
        await sharp({ create: { width: 48, height: 48, channels: 3, background: { r: i * 20, g: 9, b: 9 } } })
          .png()
          .toFile(join(dir, 'kaggle', 'train', emotion, `${i}.png`));
    }
    const r = await cli('dataset', 'import', join(dir, 'kaggle'), '--out', join(dir, 'd'), '--test-fraction', '0.2');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /the source has no test images: 20% of its training images were held out as the test split \(stratified by class, --test-fraction\)/,
    );
    expect(r.out).toMatch(/test\s+4\s+0\s+0\s+0\s+2\s+2\s+0\s+0/);
  });

  it('inspect of an empty location says there is no dataset there', async () => {
    const r = await cli('dataset', 'inspect', dir);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no dataset at file:.*manifest\.json not found \(create one with 'fersweep dataset import'/);
  });

  it('every command has --help', async () => {
    for (const argv of [
      ['--help'],
      ['dataset', '--help'],
      ['dataset', 'synth', '--help'],
      ['dataset', 'import', '--help'],
      ['dataset', 'inspect', '--help'],
    ]) {
      const r = await cli(...argv);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/Usage: fersweep/);
    }
  });
});
