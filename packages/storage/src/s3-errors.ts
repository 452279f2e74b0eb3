/**
 * Turns AWS SDK failures into one-line StoreErrors a user can act on. The SDK error stays in
 * `cause` for logs and debugging; messages never carry credentials (only the names of the env
 * vars to check) nor the SDK's stack.
 */
import { StoreError } from './types.js';

/** What the message needs to say where the failure happened. */
export interface S3ErrorContext {
  /** e.g. 'put', 'get', 'list'. */
  op: string;
  /** The store's root URL, `s3://bucket/prefix`. */
  url: string;
  bucket: string;
  /** The object's key relative to the store, when the operation has one. */
  key?: string;
  /** Where requests went, for messages: the custom endpoint URL or `AWS S3 (us-east-1)`. */
  endpoint: string;
}

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound']);
const ACCESS = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
  'AccountProblem',
  'CredentialsProviderError',
]);
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
]);
const UNAVAILABLE_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
]);

interface ErrorFacts {
  /** The S3 error code (the SDK puts it in `name`), or a Node errno code for network failures. */
  code: string;
  status?: number;
  attempts?: number;
  message: string;
}

function facts(err: unknown): ErrorFacts {
  if (typeof err !== 'object' || err === null) return { code: 'Unknown', message: String(err) };
  const e = err as {
    name?: unknown;
    code?: unknown;
    Code?: unknown;
    message?: unknown;
    $metadata?: unknown;
    errors?: unknown;
  };
  const meta = (typeof e.$metadata === 'object' && e.$metadata !== null ? e.$metadata : {}) as {
    httpStatusCode?: unknown;
    attempts?: unknown;
  };
  // Node's happy-eyeballs connect wraps per-address failures in an AggregateError.
  const inner = Array.isArray(e.errors) ? (e.errors[0] as { code?: unknown } | undefined) : undefined;
  // The SDK's retry middleware re-wraps anything that is not `instanceof Error` in its own realm
  // (Node's socket errors under a vm context such as jest's) as "AWS SDK error wrapper for
  // Error: connect ECONNREFUSED …", dropping `code`: the message is then all that is left.
  const message = typeof e.message === 'string' ? e.message : '';
  const wrapped = message.startsWith('AWS SDK error wrapper')
    ? [...NETWORK].find((c) => message.includes(c))
    : undefined;
  const errno = [e.code, inner?.code, wrapped].find((c): c is string => typeof c === 'string' && c !== '');
  const status = typeof meta.httpStatusCode === 'number' ? meta.httpStatusCode : undefined;
  let name = typeof e.Code === 'string' ? e.Code : typeof e.name === 'string' ? e.name : 'Unknown';
  // HEAD responses have no body to carry a code; the SDK then says 'Unknown' or 'UnknownError'.
  if ((name === 'Unknown' || name === 'UnknownError') && status !== undefined) name = `HTTP ${status}`;
  return {
    code: errno !== undefined && (NETWORK.has(errno) || name === 'Error') ? errno : name,
    status,
    attempts: typeof meta.attempts === 'number' ? meta.attempts : undefined,
    message: message.split('\n')[0] ?? '',
  };
}

/** True for "no such object" (GetObject's NoSuchKey, HeadObject's bare 404). */
export function isS3NotFound(err: unknown): boolean {
  const f = facts(err);
  return NOT_FOUND.has(f.code) || (f.status === 404 && f.code !== 'NoSuchBucket');
}

/** True when S3 refused a byte range that starts past the end of the object. */
export function isS3InvalidRange(err: unknown): boolean {
  const f = facts(err);
  return f.code === 'InvalidRange' || f.status === 416;
}

function accessMessage(code: string, where: string, endpoint: string): string {
  const keys = 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE / the workload role)';
  switch (code) {
    case 'CredentialsProviderError':
      return `no S3 credentials found for ${where}: set ${keys}`;
    case 'InvalidAccessKeyId':
      return `${endpoint} does not know the access key used for ${where} (InvalidAccessKeyId): check ${keys}`;
    case 'SignatureDoesNotMatch':
      return `${endpoint} rejected the request signature for ${where} (SignatureDoesNotMatch): check that AWS_SECRET_ACCESS_KEY belongs to AWS_ACCESS_KEY_ID`;
    case 'ExpiredToken':
    case 'InvalidToken':
    case 'TokenRefreshRequired':
      return `${endpoint} rejected the session token for ${where} (${code}): refresh AWS_SESSION_TOKEN or the role credentials`;
    default:
      return `access denied to ${where} at ${endpoint} (${code}): check ${keys} and the bucket policy`;
  }
}

/** The bucket itself is missing (HeadBucket's bare 404, or an S3 NoSuchBucket error). */
export function noSuchBucketError(ctx: S3ErrorContext, cause: unknown): StoreError {
  return new StoreError(
    'NoSuchBucket',
    `bucket '${ctx.bucket}' does not exist at ${ctx.endpoint}: create it or fix FERSWEEP_STORE`,
    ctx.url,
    { cause },
  );
}

/** Maps any failure of an S3 call to a StoreError (StoreErrors pass through unchanged). */
export function toStoreError(err: unknown, ctx: S3ErrorContext): StoreError {
  if (err instanceof StoreError) return err;
  const f = facts(err);
  const where = ctx.key !== undefined ? `'${ctx.key}' in ${ctx.url}` : ctx.url;
  const opts = { cause: err };
  if (f.code === 'NoSuchBucket') return noSuchBucketError(ctx, err);
  if (NOT_FOUND.has(f.code) || f.status === 404) {
    return new StoreError('NotFound', `no object ${where}`, ctx.url, opts);
  }
  if (ACCESS.has(f.code) || f.status === 403 || f.status === 401) {
    return new StoreError('AccessDenied', accessMessage(f.code, where, ctx.endpoint), ctx.url, opts);
  }
  const attempts = f.attempts !== undefined ? ` after ${f.attempts} attempt${f.attempts === 1 ? '' : 's'}` : '';
  if (NETWORK.has(f.code)) {
    return new StoreError(
      'Unavailable',
      `cannot reach S3 endpoint ${ctx.endpoint} (${f.code})${attempts} during ${ctx.op} of ${where}: check that it is running and AWS_ENDPOINT_URL_S3`,
      ctx.url,
      opts,
    );
  }
  if (UNAVAILABLE_NAMES.has(f.code) || (f.status !== undefined && (f.status >= 500 || f.status === 429))) {
    const what = f.status !== undefined && !f.code.startsWith('HTTP ') ? `${f.status} ${f.code}` : f.code;
    return new StoreError(
      'Unavailable',
      `S3 endpoint ${ctx.endpoint} kept failing (${what})${attempts} during ${ctx.op} of ${where}`,
      ctx.url,
      opts,
    );
  }
  const detail = f.message && f.message !== f.code ? `: ${f.message.slice(0, 200)}` : '';
  return new StoreError('Internal', `S3 ${ctx.op} of ${where} failed (${f.code})${detail}`, ctx.url, opts);
}
