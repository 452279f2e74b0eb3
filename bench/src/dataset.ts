/**
 * Dataset pipeline benchmark (issue 2). Measures, in one run and on one machine:
 *   1. import of a 35,887-row FER2013-format CSV into Arrow shards on the file store, in rows/s,
 *      against the baseline of only reading and parsing the same file (csv-parse + pixel parsing);
 *   2. shard reads (download + sha256 verify + Arrow decode) from a real S3 server, in MB/s,
 *      against raw GetObject calls for the same bytes;
 *   3. peak RSS during the import, against the CSV's size (bounded = streamed).
 * Run: npm run bench -- dataset      (writes bench/results/dataset.json; RESULTS.md quotes it)
 */
import { createReadStream } from 'node:fs';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GetObjectCommand, S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse';
import { FER_PIXELS } from '@fersweep/contracts';
import {
  DatasetReader,
  fer2013CsvSource,
  importDataset,
  parsePixels,
  synthesize,
  writeFer2013Csv,
} from '@fersweep/dataset';
import { openStore } from '@fersweep/storage';
import { startS3 } from '@fersweep/testkit';
import { report, median, type BenchResult } from './report.js';

const exec = promisify(execFile);

const ROWS = Number(process.env.BENCH_ROWS ?? 35_887);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);

async function parseOnly(csv: string): Promise<number> {
  const pixels = new Uint8Array(FER_PIXELS);
  let n = 0;
  const parser = createReadStream(csv, { highWaterMark: 1 << 20 }).pipe(
    parse({ from_line: 2, relax_column_count: true }),
  );
  for await (const rec of parser as AsyncIterable<string[]>) {
    if (parsePixels(rec[1] ?? '', pixels)) throw new Error('bad row');
    n++;
  }
  return n;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fersweep-bench-'));
  const results: BenchResult[] = [];
  try {
    const csv = join(dir, 'fer2013.csv');
    let t = performance.now();
    await writeFer2013Csv(
      csv,
      (function* () {
        for (const s of synthesize({ count: ROWS, seed: 1 })) yield s;
      })(),
    );
    const synthSeconds = (performance.now() - t) / 1000;
    const csvBytes = (await stat(csv)).size;
    console.log(
      `synthesised ${ROWS} rows (${(csvBytes / 2 ** 20).toFixed(0)} MiB CSV) in ${synthSeconds.toFixed(1)} s`,
    );

    // 1. import vs parse-only, alternating so drift hits both equally.
    const parseS: number[] = [];
    const importS: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      t = performance.now();
      await parseOnly(csv);
      parseS.push((performance.now() - t) / 1000);
      const out = openStore(`file://${dir}/ds-${r}`);
      t = performance.now();
      await importDataset({ source: fer2013CsvSource(csv), store: out, name: 'fer', seed: 1 });
      importS.push((performance.now() - t) / 1000);
      await rm(join(dir, `ds-${r}`), { recursive: true, force: true });
    }
    const parseRate = ROWS / median(parseS);
    const importRate = ROWS / median(importS);
    results.push(
      { name: 'csv parse only (baseline)', value: parseRate, unit: 'rows/s' },
      {
        name: 'csv import → arrow shards (file store)',
        value: importRate,
        unit: 'rows/s',
        vsBaseline: importRate / parseRate,
        goal: '≥ 0.50 of parse',
      },
    );

    // 3. Memory: peak RSS of an import in a fresh process, for a quarter of the CSV and all of it.
    // Streamed means the two peaks are about equal, whatever the file size.
    const quarter = join(dir, 'quarter.csv');
    const lines = (await readFile(csv, 'utf8')).split('\n');
    await writeFile(quarter, lines.slice(0, Math.ceil(lines.length / 4)).join('\n') + '\n');
    lines.length = 0;
    const rssOf = async (file: string, name: string) => {
      const script = fileURLToPath(new URL('./import-once.js', import.meta.url));
      const out = await exec(process.execPath, [script, file, `file://${dir}/${name}`]);
      return JSON.parse(out.stdout) as { rows: number; maxRssMiB: number };
    };
    const small = await rssOf(quarter, 'rss-quarter');
    const full = await rssOf(csv, 'rss-full');
    const quarterMiB = ((await stat(quarter)).size / 2 ** 20).toFixed(0);
    results.push(
      { name: `peak RSS, import of ${small.rows} rows (${quarterMiB} MiB CSV)`, value: small.maxRssMiB, unit: 'MiB' },
      {
        name: `peak RSS, import of ${full.rows} rows (${(csvBytes / 2 ** 20).toFixed(0)} MiB CSV)`,
        value: full.maxRssMiB,
        unit: 'MiB',
        vsBaseline: full.maxRssMiB / small.maxRssMiB,
        goal: 'flat: ≈ 1.0 of the quarter-size import',
      },
    );

    // 2. shard reads from a real S3 server vs raw GetObject.
    const s3 = await startS3();
    try {
      Object.assign(process.env, s3.env);
      const client = new S3Client({
        endpoint: s3.url,
        region: s3.region,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      });
      await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
      const remote = openStore('s3://bench/datasets/fer');
      await importDataset({ source: fer2013CsvSource(csv), store: remote, name: 'fer', seed: 1, explore: false });
      const reader = await DatasetReader.open(remote);
      const shards = reader.shards('train');
      const bytes = shards.reduce((a, s) => a + s.bytes, 0);
      const rawS: number[] = [];
      const readS: number[] = [];
      for (let r = 0; r < REPEATS; r++) {
        t = performance.now();
        for (const s of shards) {
          const res = await client.send(new GetObjectCommand({ Bucket: 'bench', Key: `datasets/fer/${s.key}` }));
          await res.Body!.transformToByteArray();
        }
        rawS.push((performance.now() - t) / 1000);
        t = performance.now();
        let n = 0;
        for await (const c of reader.iterateSplit('train')) n += c.count;
        readS.push((performance.now() - t) / 1000);
        if (n !== reader.manifest.splits.train.count) throw new Error('short read');
      }
      const rawRate = bytes / 2 ** 20 / median(rawS);
      const readRate = bytes / 2 ** 20 / median(readS);
      results.push(
        { name: 'S3 raw GetObject of the train shards (baseline)', value: rawRate, unit: 'MiB/s' },
        {
          name: 'S3 shard read: get + sha256 verify + Arrow decode',
          value: readRate,
          unit: 'MiB/s',
          vsBaseline: readRate / rawRate,
          goal: '≥ 0.70 of raw GET',
        },
      );
      client.destroy();
    } finally {
      await s3.stop();
    }
    await report('dataset', results, {
      rows: ROWS,
      repeats: REPEATS,
      csvMiB: +(csvBytes / 2 ** 20).toFixed(1),
      synthImagesPerSecond: Math.round(ROWS / synthSeconds),
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
