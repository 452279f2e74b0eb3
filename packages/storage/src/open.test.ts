import { describe, expect, it } from '@jest/globals';
import { join, resolve } from 'node:path';
import { FileStore } from './file-store.js';
import { openStore } from './open.js';
import { S3Store } from './s3-store.js';
import { rejectsWith } from './test-support.js';

// Opening a store makes no request, so these need no server.
const s3 = { env: { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' } };

describe('openStore', () => {
  it('opens s3://bucket/prefix as an S3Store, dropping trailing slashes', () => {
    const store = openStore('s3://fersweep/datasets/fer2013/', { s3 });
    expect(store).toBeInstanceOf(S3Store);
    expect(store).toMatchObject({
      bucket: 'fersweep',
      prefix: 'datasets/fer2013',
      url: 's3://fersweep/datasets/fer2013',
    });
    expect(openStore('S3://fersweep', { s3 })).toMatchObject({ bucket: 'fersweep', prefix: '', url: 's3://fersweep' });
  });

  it('opens file:///absolute/path as a FileStore', () => {
    const store = openStore('file:///var/lib/fersweep/data');
    expect(store).toBeInstanceOf(FileStore);
    expect(store).toMatchObject({ root: '/var/lib/fersweep/data', url: 'file:///var/lib/fersweep/data' });
  });

  it('opens plain absolute and relative paths as FileStores, resolved against the working directory', () => {
    expect(openStore('/tmp/fersweep-data')).toMatchObject({
      root: '/tmp/fersweep-data',
      url: 'file:///tmp/fersweep-data',
    });
    expect(openStore('./fersweep-data')).toMatchObject({ root: resolve('fersweep-data') });
    expect(openStore('data/store')).toMatchObject({ root: join(process.cwd(), 'data/store') });
  });

  it('rejects other schemes with InvalidUrl, saying which URLs work', async () => {
    const err = await rejectsWith(() => openStore('gs://bucket/prefix'), 'InvalidUrl');
    expect(err.message).toBe(
      "unsupported store URL 'gs://bucket/prefix': use s3://bucket/prefix or file:///absolute/path",
    );
    await rejectsWith(() => openStore('https://example.com/x'), 'InvalidUrl');
  });

  it.each([
    ['an empty string', ''],
    ['an S3 URL without a bucket', 's3://'],
    ['an S3 bucket with capitals', 's3://MyBucket/x'],
    ['an S3 prefix with an empty segment', 's3://bucket/a//b'],
    ['an S3 prefix with ..', 's3://bucket/a/../b'],
    ['a file URL with a host', 'file://data/dir'],
  ])('rejects %s with InvalidUrl', async (_what, url) => {
    await rejectsWith(() => openStore(url, { s3 }), 'InvalidUrl');
  });
});
