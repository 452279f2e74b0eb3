/**
 * The built `fersweep` command against a real S3 server process: import a fer2013.csv to s3://,
 * inspect it, and get one clear line for a missing bucket and for bad credentials.
 * Needs the build (`npm test` runs `tsc -b` first).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DatasetReader, syntheticSource, writeFer2013Csv } from '@fersweep/dataset';
import { openStore } from '@fersweep/storage';
import { startS3, type RunningS3 } from '@fersweep/testkit';

const exec = promisify(execFile);
const BIN = join(process.cwd(), 'bin', 'fersweep.js');

let s3: RunningS3;
let dir: string;
let csv: string;

async function fersweep(args: string[], env: Record<string, string> = s3.env) {
  try {
    const r = await exec(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, ...env },
      timeout: 120_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

beforeAll(async () => {
  s3 = await startS3();
  dir = await mkdtemp(join(tmpdir(), 'fersweep-s3it-'));
  await s3.createBucket('fersweep');
  csv = join(dir, 'fer2013.csv');
  await writeFer2013Csv(csv, syntheticSource({ count: 700, seed: 3 }).rows());
});
afterAll(async () => {
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('fersweep dataset on S3', () => {
  it('imports a fer2013.csv to s3:// and inspect verifies every shard', async () => {
    const imp = await fersweep([
      'dataset',
      'import',
      csv,
      '--out',
      's3://fersweep/datasets/fer2013',
      '--shard-size',
      '200',
    ]);
    expect(imp.stderr).toBe('');
    expect(imp.code).toBe(0);
    expect(imp.stdout).toMatch(/dataset fer2013 at s3:\/\/fersweep\/datasets\/fer2013/);

    const client = new S3Client({
      endpoint: s3.url,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    const listed = await client.send(new ListObjectsV2Command({ Bucket: 'fersweep', Prefix: 'datasets/fer2013/' }));
    client.destroy();
    const keys = (listed.Contents ?? []).map((o) => o.Key);
    expect(keys).toEqual(
      expect.arrayContaining([
        'datasets/fer2013/manifest.json',
        'datasets/fer2013/shards/train-00000.arrow',
        'datasets/fer2013/shards/test-00000.arrow',
        'datasets/fer2013/explore/class-distribution.png',
        'datasets/fer2013/explore/samples.png',
      ]),
    );

    Object.assign(process.env, s3.env);
    const reader = await DatasetReader.open(openStore('s3://fersweep/datasets/fer2013'));
    const m = reader.manifest;
    expect(m.splits.train.count + m.splits.val.count + m.splits.test.count + (m.splits.test2?.count ?? 0)).toBe(700);
    expect((await reader.loadSplit('val')).count).toBe(m.splits.val.count);

    const inspect = await fersweep(['dataset', 'inspect', 's3://fersweep/datasets/fer2013']);
    expect(inspect.code).toBe(0);
    expect(inspect.stderr).toMatch(/integrity: \d+ shards, .* every sha256 matches the manifest/);
  });

  it('names a missing bucket in one line', async () => {
    const r = await fersweep(['dataset', 'synth', '--out', 's3://no-such-bucket/x', '--count', '50']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/bucket 'no-such-bucket' does not exist/);
  });

  it('refuses an unknown store URL scheme in one line', async () => {
    const r = await fersweep(['dataset', 'inspect', 'ftp://host/x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^fersweep: error: unsupported store URL 'ftp:\/\/host\/x'/);
  });
});
