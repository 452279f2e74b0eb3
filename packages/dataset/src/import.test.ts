import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { openStore, type ObjectStore } from '@fersweep/storage';
import { DatasetError } from './errors.js';
import { importDataset } from './import.js';
import { DatasetReader } from './reader.js';
import { fer2013CsvSource, folderSource, writeFer2013Csv, type SourceRow, type Usage } from './sources/index.js';

let dir: string;
let store: ObjectStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fersweep-import-'));
  store = openStore(`file://${dir}/ds`);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Deterministic rows: label from a fixed cycle, pixels encode the row index. */
function rows(
  n: number,
  usageOf: (i: number) => Usage = (i) => (i % 10 < 8 ? 'Training' : i % 10 === 8 ? 'PublicTest' : 'PrivateTest'),
): SourceRow[] {
  const labels = [3, 0, 6, 4, 2, 5, 3, 1, 6, 4, 0, 2, 3];
  return Array.from({ length: n }, (_, i) => ({
    index: i,
    label: labels[i % labels.length]!,
    usage: usageOf(i),
    pixels: Uint8Array.from({ length: 2304 }, (_, p) => (i * 31 + p) % 256),
  }));
}

function countBy(rs: SourceRow[], usage: Usage) {
  const c = [0, 0, 0, 0, 0, 0, 0];
  for (const r of rs) if (r.usage === usage) c[r.label]!++;
  return c;
}

/** Files under the store root, hidden ones (temp files, metadata sidecars) excepted; [] when it was never created. */
const files = async () =>
  (await readdir(join(dir, 'ds'), { recursive: true }).catch(() => [] as string[]))
    .filter((f) => !f.split('/').some((seg) => seg.startsWith('.')))
    .filter((f) => !/^(shards|explore)$/.test(f))
    .sort();

describe('importDataset from fer2013.csv', () => {
  it.each(['\n', '\r\n'] as const)(
    'keeps every row: per-split and per-class counts equal the input (EOL %j)',
    async (eol) => {
      const input = rows(1000);
      const csv = join(dir, 'fer2013.csv');
      await writeFer2013Csv(csv, input, eol);
      const m = await importDataset({
        source: fer2013CsvSource(csv),
        store,
        name: 'fer',
        valFraction: 0.1,
        seed: 5,
        shardSize: 300,
      });

      const training = countBy(input, 'Training');
      const trainPlusVal = m.splits.train.classCounts.map((c, i) => c + m.splits.val.classCounts[i]!);
      expect(trainPlusVal).toEqual(training);
      expect(m.splits.test.classCounts).toEqual(countBy(input, 'PublicTest'));
      expect(m.splits.test2?.classCounts).toEqual(countBy(input, 'PrivateTest'));
      // 10% of each class's Training rows, to within one row per class.
      m.splits.val.classCounts.forEach((v, c) => expect(Math.abs(v - training[c]! * 0.1)).toBeLessThanOrEqual(1));
      expect(m.splits.train.shards.map((s) => s.key)).toEqual([
        'shards/train-00000.arrow',
        'shards/train-00001.arrow',
        'shards/train-00002.arrow',
      ]);
      expect(m.source).toMatchObject({ kind: 'fer2013-csv', seed: 5, valFraction: 0.1 });
      expect(m.source.sha256).toMatch(/^[0-9a-f]{64}$/);

      // Every input image comes back, bit for bit, with its source index.
      const reader = await DatasetReader.open(store);
      const seen = new Map<number, string>();
      for (const split of ['train', 'val', 'test', 'test2'] as const) {
        const data = await reader.loadSplit(split);
        for (let i = 0; i < data.count; i++) {
          const idx = data.indices[i]!;
          expect(data.labels[i]).toBe(input[idx]!.label);
          seen.set(idx, Buffer.from(data.images.subarray(i * 2304, (i + 1) * 2304)).toString('base64'));
        }
      }
      expect(seen.size).toBe(1000);
      expect(seen.get(417)).toBe(Buffer.from(input[417]!.pixels).toString('base64'));
      expect(await files()).toEqual(
        expect.arrayContaining(['manifest.json', 'explore/class-distribution.png', 'explore/samples.png']),
      );
    },
  );

  it('gives the same split for the same seed and another for another seed', async () => {
    const csv = join(dir, 'fer2013.csv');
    await writeFer2013Csv(csv, rows(600));
    const a = await importDataset({ source: fer2013CsvSource(csv), store, name: 'a', seed: 1 });
    const b = await importDataset({
      source: fer2013CsvSource(csv),
      store: openStore(`file://${dir}/b`),
      name: 'b',
      seed: 1,
    });
    const c = await importDataset({
      source: fer2013CsvSource(csv),
      store: openStore(`file://${dir}/c`),
      name: 'c',
      seed: 2,
    });
    expect(b.splits.val.shards[0]!.sha256).toBe(a.splits.val.shards[0]!.sha256);
    expect(c.splits.val.shards[0]!.sha256).not.toBe(a.splits.val.shards[0]!.sha256);
  });

  it('accepts the header in another order and without Usage (all Training)', async () => {
    const csv = join(dir, 'icml.csv');
    const px = Array.from({ length: 2304 }, () => 9).join(' ');
    await writeFile(csv, `pixels, Emotion\n${px},3\n${px},1\n`);
    const m = await importDataset({ source: fer2013CsvSource(csv), store, name: 'x', valFraction: 0 });
    expect(m.splits.train.classCounts).toEqual([0, 1, 0, 1, 0, 0, 0]);
  });

  const good = Array.from({ length: 2304 }, () => 1).join(' ');
  it.each([
    ['a pixel count that is wrong', `0,${good} 5,Training`, /fer2013\.csv:3: pixels has more than 2304 pixels/],
    ['a non-numeric pixel', `0,x${good.slice(1)},Training`, /fer2013\.csv:3: pixels pixel 1 is not a number/],
    ['a pixel above 255', `0,300${good.slice(1)},Training`, /fer2013\.csv:3: pixels pixel 1 is out of range 0–255/],
    ['a label outside 0–6', `7,${good},Training`, /fer2013\.csv:3: emotion '7' is not a label 0–6/],
    [
      'an unknown Usage',
      `2,${good},Validation`,
      /fer2013\.csv:3: Usage 'Validation' is not one of Training, PublicTest, PrivateTest/,
    ],
    ['a missing pixels column', `2`, /fer2013\.csv:3: row has 1 columns, no pixels/],
  ])('stops on %s, names the line, and publishes nothing', async (_what, badLine, message) => {
    const csv = join(dir, 'fer2013.csv');
    // Enough good rows before the bad one that some shards were already written when it fails.
    const head = `emotion,pixels,Usage\n3,${good},Training\n`;
    const fill = Array.from({ length: 30 }, () => `3,${good},Training\n`).join('');
    await writeFile(csv, head.replace(/\n$/, '\n') + badLine + '\n' + fill);
    const err = await importDataset({ source: fer2013CsvSource(csv), store, name: 'x', shardSize: 1 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).code).toBe('InvalidCsv');
    expect((err as DatasetError).where.line).toBe(3);
    expect((err as Error).message).toMatch(message);
    expect(await files()).toEqual([]);
  });

  it('refuses a header without emotion or pixels', async () => {
    const csv = join(dir, 'bad.csv');
    await writeFile(csv, 'label,image\n1,2\n');
    await expect(importDataset({ source: fer2013CsvSource(csv), store, name: 'x' })).rejects.toThrow(
      /bad\.csv:1: header 'label,image' lacks emotion/,
    );
  });

  it('refuses to overwrite a published dataset unless forced', async () => {
    const csv = join(dir, 'fer2013.csv');
    await writeFer2013Csv(csv, rows(50));
    await importDataset({ source: fer2013CsvSource(csv), store, name: 'x' });
    await expect(importDataset({ source: fer2013CsvSource(csv), store, name: 'x' })).rejects.toThrow(
      /already exists.*--force/,
    );
    const again = await importDataset({ source: fer2013CsvSource(csv), store, name: 'y', force: true });
    expect(again.name).toBe('y');
  });
});

describe('DatasetReader integrity', () => {
  it('refuses a shard whose bytes no longer match its checksum, naming the shard', async () => {
    const csv = join(dir, 'fer2013.csv');
    await writeFer2013Csv(csv, rows(200));
    const m = await importDataset({ source: fer2013CsvSource(csv), store, name: 'x', shardSize: 64 });
    const victim = m.splits.train.shards[1]!.key;
    const path = join(dir, 'ds', victim);
    const bytes = await readFile(path);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff;
    await writeFile(path, bytes);

    const reader = await DatasetReader.open(store);
    await expect(reader.loadSplit('train')).rejects.toThrow(new RegExp(`shard ${victim} fails its checksum`));
    expect(await reader.verify()).toEqual([{ shard: victim, problem: expect.stringMatching(/fails its checksum/) }]);
    await expect(reader.loadSplit('val')).resolves.toMatchObject({ count: m.splits.val.count });
  });

  it('says clearly when there is no dataset at a URL', async () => {
    await expect(DatasetReader.open(store)).rejects.toThrow(/no dataset at file:.*manifest\.json not found/);
  });
});

describe('importDataset from a Kaggle folder', () => {
  async function image(path: string, w: number, h: number, channels: 1 | 3, fmt: 'png' | 'jpeg', shade: number) {
    await mkdir(join(path, '..'), { recursive: true });
    const background = channels === 1 ? { r: shade, g: shade, b: shade } : { r: shade, g: 255 - shade, b: 30 };
    await sharp({ create: { width: w, height: h, channels: 3, background } })
      .toFormat(fmt)
      .toFile(path);
  }

  it('reads train|test/<emotion>/ images of any size and colour, counts per class', async () => {
    const root = join(dir, 'kaggle');
    const plan: [string, string, number][] = [
      ['train', 'happy', 5],
      ['train', 'disgust', 2],
      ['train', 'neutral', 3],
      ['test', 'happy', 2],
      ['test', 'sad', 1],
    ];
    let k = 0;
    for (const [split, emotion, n] of plan) {
      for (let i = 0; i < n; i++, k++) {
        await image(
          join(root, split, emotion, `im${i}.${k % 2 ? 'jpg' : 'png'}`),
          48 + k * 7,
          48 + k * 3,
          k % 3 ? 3 : 1,
          k % 2 ? 'jpeg' : 'png',
          k * 20,
        );
      }
    }
    const m = await importDataset({ source: await folderSource(root), store, name: 'kaggle', valFraction: 0 });
    expect(m.source.kind).toBe('folder');
    expect(m.splits.train.classCounts).toEqual([0, 2, 0, 5, 0, 0, 3]);
    expect(m.splits.test.classCounts).toEqual([0, 0, 0, 2, 1, 0, 0]);
  });

  it('holds a stratified test split out of train/ when the folder has no test/, and records it', async () => {
    const root = join(dir, 'kaggle-no-test');
    for (const [emotion, n] of [
      ['happy', 20],
      ['sad', 10],
    ] as const) {
      for (let i = 0; i < n; i++) await image(join(root, 'train', emotion, `im${i}.png`), 48, 48, 1, 'png', i * 9);
    }
    const source = await folderSource(root);
    expect(source.providesTest).toBe(false);
    const m = await importDataset({ source, store, name: 'k', valFraction: 0.1, testFraction: 0.2, seed: 3 });
    expect(m.source.testFraction).toBe(0.2);
    expect(m.splits.test.classCounts).toEqual([0, 0, 0, 4, 2, 0, 0]);
    const total = m.splits.train.count + m.splits.val.count + m.splits.test.count;
    expect(total).toBe(30);
    expect(m.splits.val.count).toBeGreaterThan(0);
    // A folder with its own test/ is left alone.
    await image(join(root, 'test', 'happy', 'a.png'), 48, 48, 1, 'png', 1);
    const own = await importDataset({ source: await folderSource(root), store, name: 'k', force: true });
    expect(own.source.testFraction).toBeUndefined();
    expect(own.splits.test.count).toBe(1);
  });

  it('names the file that cannot be decoded and publishes nothing', async () => {
    const root = join(dir, 'kaggle');
    await image(join(root, 'train', 'happy', 'a.png'), 48, 48, 1, 'png', 10);
    await mkdir(join(root, 'train', 'sad'), { recursive: true });
    await writeFile(join(root, 'train', 'sad', 'broken.jpg'), 'not a jpeg');
    await expect(importDataset({ source: await folderSource(root), store, name: 'x' })).rejects.toThrow(
      /train\/sad\/broken\.jpg: cannot decode image/,
    );
    expect(await files()).toEqual([]);
  });

  it('refuses a folder that is not in the Kaggle layout', async () => {
    await mkdir(join(dir, 'photos', 'holiday'), { recursive: true });
    await expect(folderSource(join(dir, 'photos'))).rejects.toThrow(/expected Kaggle's layout train\/<emotion>/);
    await mkdir(join(dir, 'k2', 'train', 'smiling'), { recursive: true });
    await expect(folderSource(join(dir, 'k2'))).rejects.toThrow(/'smiling' is not an emotion folder/);
  });
});
