/**
 * The rest of the error table: failures that the local servers cannot produce (moto and s3rver
 * do not verify signatures or issue session tokens, nor throttle). The inputs are shaped like
 * the SDK's errors (`name` = S3 code, `$metadata.httpStatusCode`); the servers' own answers are
 * covered in s3-store.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { toStoreError, type S3ErrorContext } from './s3-errors.js';
import { StoreError } from './types.js';

const ctx: S3ErrorContext = { op: 'get', url: 's3://b/p', bucket: 'b', key: 'k', endpoint: 'http://minio:9000' };
const sdkError = (name: string, status?: number, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} happened\nwith detail`), {
    name,
    $metadata: { httpStatusCode: status, attempts: 5 },
    ...extra,
  });

describe('toStoreError', () => {
  it.each([
    ['SignatureDoesNotMatch', 403, 'AccessDenied', /AWS_SECRET_ACCESS_KEY belongs to AWS_ACCESS_KEY_ID/],
    ['ExpiredToken', 400, 'AccessDenied', /AWS_SESSION_TOKEN/],
    [
      'CredentialsProviderError',
      undefined,
      'AccessDenied',
      /^no S3 credentials found for 'k' in s3:\/\/b\/p: set AWS_ACCESS_KEY_ID/,
    ],
    [
      'AccessDenied',
      403,
      'AccessDenied',
      /^access denied to 'k' in s3:\/\/b\/p at http:\/\/minio:9000 \(AccessDenied\)/,
    ],
    ['SlowDown', 503, 'Unavailable', /kept failing \(503 SlowDown\) after 5 attempts/],
    ['InternalError', 500, 'Unavailable', /kept failing \(500 InternalError\)/],
    ['TimeoutError', undefined, 'Unavailable', /kept failing \(TimeoutError\)/],
    ['NoSuchKey', 404, 'NotFound', /^no object 'k' in s3:\/\/b\/p$/],
    ['MalformedXML', 400, 'Internal', /^S3 get of 'k' in s3:\/\/b\/p failed \(MalformedXML\): MalformedXML happened$/],
  ] as const)('maps %s (%s) to %s', (name, status, code, message) => {
    const err = toStoreError(sdkError(name, status), ctx);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('\n');
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('maps a refused connection inside an AggregateError to Unavailable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED ::1:9000'), { code: 'ECONNREFUSED' });
    const err = toStoreError(new AggregateError([refused], 'connect failed'), ctx);
    expect(err.code).toBe('Unavailable');
    expect(err.message).toContain('http://minio:9000 (ECONNREFUSED)');
  });

  it('passes StoreErrors through unchanged', () => {
    const original = new StoreError('InvalidKey', 'bad');
    expect(toStoreError(original, ctx)).toBe(original);
  });
});
