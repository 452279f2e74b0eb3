/**
 * What only the S3 store has: multipart uploads, configuration from the AWS env vars, and the
 * mapping of real servers' failures (moto_server, s3rver) to StoreError codes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateBucketCommand, ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { freePort, startS3 } from '@fersweep/testkit';
import { resolveS3Config } from './s3-config.js';
import { S3Store } from './s3-store.js';
import { byteStream, collect, rejectsWith, s3Fixture, TEST_BUCKET } from './test-support.js';

const MIB = 1024 * 1024;

describe('S3Store on moto_server', () => {
  let fixture: Awaited<ReturnType<typeof s3Fixture>>;
  let store: S3Store;
  let n = 0;
  const fresh = () => store.sub(`s3-case-${++n}`);
  const pendingUploads = async () =>
    (await store.client.send(new ListMultipartUploadsCommand({ Bucket: TEST_BUCKET }))).Uploads ?? [];

  beforeAll(async () => {
    fixture = await s3Fixture();
    store = fixture.store;
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it('reads the endpoint, region, credentials and path style from the standard env vars', async () => {
    expect(store.config).toMatchObject({
      endpoint: fixture.s3.url,
      region: 'us-east-1',
      forcePathStyle: true,
      maxAttempts: 2,
      credentialSource: 'env',
    });
    expect(await store.client.config.region()).toBe('us-east-1');
    expect(store.url).toBe(`s3://${TEST_BUCKET}/root`);
  });

  it('sends a buffer up to the part size in one PutObject and a larger stream as multipart', async () => {
    const s = fresh();
    const small = await s.put('small', Buffer.alloc(1024, 1));
    expect(small.etag).toMatch(/^[0-9a-f]{32}$/);
    const big = await s.put('big', byteStream(12 * MIB));
    // A multipart ETag is "<md5 of part md5s>-<part count>": 12 MiB in 8 MiB parts is 2.
    expect(big.etag).toMatch(/-2$/);
    expect((await s.head('big'))?.etag).toBe(big.etag);
    const bigBuffer = await s.put('big-buffer', Buffer.alloc(9 * MIB, 7));
    expect(bigBuffer.etag).toMatch(/-2$/);
  });

  it('aborts the multipart upload when the body stream fails after the first part', async () => {
    const s = fresh();
    const boom = new Error('disk read failed');
    await expect(s.put('broken', byteStream(17 * MIB, { failWith: boom }))).rejects.toBe(boom);
    expect(await s.head('broken')).toBeUndefined();
    expect(await pendingUploads()).toEqual([]);
  });

  it('pages through listings with a small page size and deletes page by page', async () => {
    const paged = new S3Store(
      { bucket: TEST_BUCKET, prefix: `root/s3-case-${++n}` },
      { env: fixture.s3.env, client: store.client, listPageSize: 7 },
    );
    const keys = Array.from({ length: 30 }, (_, i) => `k${String(i).padStart(2, '0')}`);
    await Promise.all(keys.map((k) => paged.put(k, k)));
    expect((await collect(paged.list())).map((o) => o.key)).toEqual(keys);
    expect(await paged.deletePrefix('')).toBe(30);
    expect(await collect(paged.list())).toEqual([]);
  });

  it('skips zero-byte folder markers in listings but deletes them with their prefix', async () => {
    const s = fresh();
    await s.put('dir/file', 'x');
    await s.client.send(
      new PutObjectCommand({ Bucket: TEST_BUCKET, Key: `${s.prefix}/dir/`, Body: new Uint8Array(0), ContentLength: 0 }),
    );
    expect((await collect(s.list())).map((o) => o.key)).toEqual(['dir/file']);
    expect(await s.deletePrefix('dir/')).toBe(2);
  });

  it('works at the bucket root, without a prefix', async () => {
    const whole = new S3Store({ bucket: TEST_BUCKET }, { env: fixture.s3.env, client: store.client });
    expect(whole.url).toBe(`s3://${TEST_BUCKET}`);
    await whole.put('top-level.txt', 'hi');
    expect((await whole.get('top-level.txt')).toString()).toBe('hi');
    expect((await collect(whole.list('top-'))).map((o) => o.key)).toEqual(['top-level.txt']);
    await whole.delete('top-level.txt');
  });

  describe('a bucket that does not exist', () => {
    let missing: S3Store;
    beforeAll(() => {
      missing = new S3Store({ bucket: 'no-such-bucket', prefix: 'p' }, { env: fixture.s3.env, client: store.client });
    });

    it('says NoSuchBucket, naming the bucket and the endpoint, for every operation', async () => {
      const err = await rejectsWith(missing.get('k'), 'NoSuchBucket');
      expect(err.message).toBe(
        `bucket 'no-such-bucket' does not exist at ${fixture.s3.url}: create it or fix FERSWEEP_STORE`,
      );
      expect(err.cause).toBeDefined();
      await rejectsWith(missing.put('k', 'x'), 'NoSuchBucket');
      await rejectsWith(missing.put('k', byteStream(1024)), 'NoSuchBucket');
      await rejectsWith(missing.getStream('k'), 'NoSuchBucket');
      await rejectsWith(missing.head('k'), 'NoSuchBucket');
      await rejectsWith(collect(missing.list()), 'NoSuchBucket');
      await rejectsWith(missing.deletePrefix(''), 'NoSuchBucket');
      await rejectsWith(missing.delete('k'), 'NoSuchBucket');
    });
  });

  it('says Unavailable, naming the endpoint, when nothing listens there', async () => {
    const port = await freePort();
    const dead = new S3Store(
      { bucket: TEST_BUCKET },
      { env: { ...fixture.s3.env, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}` }, maxAttempts: 2 },
    );
    try {
      const err = await rejectsWith(dead.get('k'), 'Unavailable');
      expect(err.message).toBe(
        `cannot reach S3 endpoint http://127.0.0.1:${port} (ECONNREFUSED) after 2 attempts during get of 'k' in s3://${TEST_BUCKET}: check that it is running and AWS_ENDPOINT_URL_S3`,
      );
      await rejectsWith(dead.head('k'), 'Unavailable');
      await rejectsWith(dead.put('k', byteStream(10)), 'Unavailable');
    } finally {
      dead.destroy();
    }
  });
});

describe('S3Store with wrong credentials', () => {
  const secret = 'wrong-secret-do-not-print';

  it('says AccessDenied for an unknown access key on moto with authentication on, never showing the secret', async () => {
    // moto checks credentials once INITIAL_NO_AUTH_ACTION_COUNT requests have gone by; 0 = from the start.
    const s3 = await startS3({ kind: 'moto', serverEnv: { INITIAL_NO_AUTH_ACTION_COUNT: '0' } });
    const store = new S3Store(
      { bucket: TEST_BUCKET },
      { env: { ...s3.env, AWS_ACCESS_KEY_ID: 'AKIAUNKNOWNKEY', AWS_SECRET_ACCESS_KEY: secret } },
    );
    try {
      const err = await rejectsWith(store.get('k'), 'AccessDenied');
      expect(err.message).toContain('InvalidAccessKeyId');
      expect(err.message).toContain('AWS_ACCESS_KEY_ID');
      expect(err.message).not.toContain(secret);
      expect(String(err)).not.toContain(secret);
      // HEAD responses have no body, so only the 403 tells.
      expect((await rejectsWith(store.head('k'), 'AccessDenied')).message).toContain('(HTTP 403)');
      await rejectsWith(store.put('k', 'x'), 'AccessDenied');
    } finally {
      store.destroy();
      await s3.stop();
    }
  });

  it('says AccessDenied for a key s3rver does not know (it accepts only S3RVER)', async () => {
    const s3 = await startS3({ kind: 's3rver' });
    // s3rver looks for the bucket before it checks the key. (It does not verify SigV4
    // signatures at all, so a wrong secret with the right key id would pass.)
    const admin = new S3Store({ bucket: TEST_BUCKET }, { env: s3.env });
    await admin.client.send(new CreateBucketCommand({ Bucket: TEST_BUCKET }));
    admin.destroy();
    const store = new S3Store(
      { bucket: TEST_BUCKET },
      { env: { ...s3.env, AWS_ACCESS_KEY_ID: 'NOT-S3RVER', AWS_SECRET_ACCESS_KEY: secret }, maxAttempts: 1 },
    );
    try {
      const err = await rejectsWith(collect(store.list()), 'AccessDenied');
      expect(err.message).toBe(
        `${s3.url} does not know the access key used for s3://${TEST_BUCKET} (InvalidAccessKeyId): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE / the workload role)`,
      );
      expect(err.message).not.toContain(secret);
    } finally {
      store.destroy();
      await s3.stop();
    }
  });
});

describe('resolveS3Config', () => {
  it('defaults to AWS: us-east-1, virtual-hosted style, 5 attempts, the SDK credential chain', () => {
    expect(resolveS3Config({ env: {} })).toEqual({
      region: 'us-east-1',
      forcePathStyle: false,
      maxAttempts: 5,
      connectTimeoutMs: 5000,
      credentialSource: 'sdk-default-chain',
    });
  });

  it('uses path style by default with a custom endpoint, preferring AWS_ENDPOINT_URL_S3', () => {
    expect(resolveS3Config({ env: { AWS_ENDPOINT_URL: 'http://general:9000' } })).toMatchObject({
      endpoint: 'http://general:9000',
      forcePathStyle: true,
    });
    expect(
      resolveS3Config({ env: { AWS_ENDPOINT_URL: 'http://general:9000', AWS_ENDPOINT_URL_S3: 'http://s3only:9000' } })
        .endpoint,
    ).toBe('http://s3only:9000');
    expect(
      resolveS3Config({ env: { AWS_ENDPOINT_URL_S3: 'http://x:1', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' } })
        .endpoint,
    ).toBeUndefined();
  });

  it('reads FERSWEEP_S3_FORCE_PATH_STYLE, FERSWEEP_S3_MAX_ATTEMPTS and the region variables', () => {
    const env = {
      AWS_ENDPOINT_URL_S3: 'https://minio.example:9000',
      FERSWEEP_S3_FORCE_PATH_STYLE: 'false',
      FERSWEEP_S3_MAX_ATTEMPTS: '3',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'id',
      AWS_SECRET_ACCESS_KEY: 'shh',
    };
    const config = resolveS3Config({ env });
    expect(config).toMatchObject({
      forcePathStyle: false,
      maxAttempts: 3,
      region: 'eu-west-1',
      credentialSource: 'env',
    });
    expect(JSON.stringify(config)).not.toContain('shh');
    expect(resolveS3Config({ env: { ...env, AWS_REGION: 'ap-south-1' } }).region).toBe('ap-south-1');
    expect(resolveS3Config({ env, maxAttempts: 9, forcePathStyle: true })).toMatchObject({
      maxAttempts: 9,
      forcePathStyle: true,
    });
  });

  it('rejects bad values, naming the variable', async () => {
    const bad = async (env: Record<string, string>, code: 'InvalidArgument' | 'InvalidUrl', name: string) =>
      expect((await rejectsWith(() => resolveS3Config({ env }), code)).message).toContain(name);
    await bad({ FERSWEEP_S3_MAX_ATTEMPTS: 'lots' }, 'InvalidArgument', 'FERSWEEP_S3_MAX_ATTEMPTS');
    await bad({ FERSWEEP_S3_MAX_ATTEMPTS: '0' }, 'InvalidArgument', 'FERSWEEP_S3_MAX_ATTEMPTS');
    await bad({ FERSWEEP_S3_FORCE_PATH_STYLE: 'maybe' }, 'InvalidArgument', 'FERSWEEP_S3_FORCE_PATH_STYLE');
    await bad({ AWS_ENDPOINT_URL_S3: 'minio:9000' }, 'InvalidUrl', 'AWS_ENDPOINT_URL_S3');
    await bad({ AWS_ENDPOINT_URL: 'not a url' }, 'InvalidUrl', 'AWS_ENDPOINT_URL');
  });

  it('names a credentials-free endpoint in messages even when the URL carries a user and password', async () => {
    const port = await freePort();
    const store = new S3Store(
      { bucket: TEST_BUCKET },
      {
        env: {
          AWS_ENDPOINT_URL_S3: `http://user:pa55@127.0.0.1:${port}`,
          AWS_ACCESS_KEY_ID: 'a',
          AWS_SECRET_ACCESS_KEY: 'b',
        },
        maxAttempts: 1,
      },
    );
    try {
      const err = await rejectsWith(store.head('k'), 'Unavailable');
      expect(err.message).toContain(`http://127.0.0.1:${port}`);
      expect(err.message).not.toContain('pa55');
    } finally {
      store.destroy();
    }
  });
});
