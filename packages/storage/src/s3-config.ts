/**
 * An S3 store's connection settings, from its options and the standard AWS variables, which this
 * module reads the same way the SDK (client-s3 3.1175) does, so that it can name the endpoint in
 * messages and choose path-style addressing: AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL (both skipped when
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true); AWS_REGION (then AWS_DEFAULT_REGION, then us-east-1);
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the SDK's default chain
 * (profiles, web identity for Kubernetes service accounts, instance metadata). fersweep's own:
 * FERSWEEP_S3_FORCE_PATH_STYLE, FERSWEEP_S3_MAX_ATTEMPTS, FERSWEEP_S3_CONNECT_TIMEOUT_MS.
 */
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { StoreError } from './types.js';

/** Static credentials; without them the SDK's default provider chain is used. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Where an S3 store lives. */
export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing slash; '' for the whole bucket. */
  prefix?: string;
}

/** Overrides for what is otherwise read from the environment; every field is optional. */
export interface S3StoreOptions {
  /** Variables to read instead of process.env (tests, or a config already parsed). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Custom endpoint, e.g. `http://minio:9000`; default AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL. */
  endpoint?: string;
  region?: string;
  credentials?: S3Credentials;
  /** Default FERSWEEP_S3_FORCE_PATH_STYLE, else true exactly when a custom endpoint is set. */
  forcePathStyle?: boolean;
  /** Tries per request, the first included (SDK standard retry mode); default FERSWEEP_S3_MAX_ATTEMPTS, else 5. */
  maxAttempts?: number;
  /** Give up connecting after this long (per attempt); default FERSWEEP_S3_CONNECT_TIMEOUT_MS, else 5000. */
  connectTimeoutMs?: number;
  /** Use this client instead of making one; the connection settings above then only label messages. */
  client?: S3Client;
  /** Multipart part size in bytes (≥ 5 MiB, S3's minimum); bodies up to this size go in one PutObject. Default 8 MiB. */
  partSize?: number;
  /** Parts uploaded at once; memory use is about partSize × queueSize. Default 4. */
  queueSize?: number;
  /** Keys per ListObjectsV2 page (1–1000); also the DeleteObjects batch size. Default 1000. */
  listPageSize?: number;
}

/** The settings a store ends up with; holds no secret, so it is safe to log. */
export interface ResolvedS3Config {
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  maxAttempts: number;
  connectTimeoutMs: number;
  /** Where credentials come from: the options, the env vars, or the SDK's default chain. */
  credentialSource: 'options' | 'env' | 'sdk-default-chain';
}

type Env = Readonly<Record<string, string | undefined>>;

export function configError(message: string): StoreError {
  return new StoreError('InvalidArgument', message);
}

function envBool(env: Env, name: string): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (['true', '1', 'yes'].includes(raw)) return true;
  if (['false', '0', 'no'].includes(raw)) return false;
  throw configError(`${name} must be true or false, got '${env[name]}'`);
}

function envInt(env: Env, name: string, min: number): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw configError(`${name} must be a whole number ≥ ${min}, got '${raw}'`);
  return n;
}

function checkEndpoint(value: string, source: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch (err) {
    throw new StoreError('InvalidUrl', `${source} '${value}' is not a URL: use e.g. http://127.0.0.1:9000`, undefined, {
      cause: err,
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new StoreError('InvalidUrl', `${source} must be an http:// or https:// URL, got '${parsed.protocol}'`);
  }
  return value;
}

/** Works out endpoint, region, addressing, retries and credential source from options and env. */
export function resolveS3Config(options: S3StoreOptions = {}): ResolvedS3Config {
  const env: Env = options.env ?? process.env;
  const nonEmpty = (v: string | undefined) => (v && v.trim() !== '' ? v.trim() : undefined);
  let endpoint: string | undefined;
  if (options.endpoint !== undefined) {
    endpoint = checkEndpoint(options.endpoint, 'the S3 endpoint');
  } else if (!envBool(env, 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS')) {
    const source = nonEmpty(env.AWS_ENDPOINT_URL_S3)
      ? 'AWS_ENDPOINT_URL_S3'
      : nonEmpty(env.AWS_ENDPOINT_URL)
        ? 'AWS_ENDPOINT_URL'
        : undefined;
    if (source) endpoint = checkEndpoint(nonEmpty(env[source]) ?? '', source);
  }
  const maxAttempts = options.maxAttempts ?? envInt(env, 'FERSWEEP_S3_MAX_ATTEMPTS', 1) ?? 5;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1)
    throw configError(`maxAttempts must be a whole number ≥ 1, got ${maxAttempts}`);
  return {
    ...(endpoint !== undefined && { endpoint }),
    region: options.region ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? 'us-east-1',
    // Virtual-hosted addressing needs DNS for <bucket>.<host>, which MinIO, moto or a cluster
    // Service do not have; AWS itself (no custom endpoint) prefers it.
    forcePathStyle: options.forcePathStyle ?? envBool(env, 'FERSWEEP_S3_FORCE_PATH_STYLE') ?? endpoint !== undefined,
    maxAttempts,
    connectTimeoutMs: options.connectTimeoutMs ?? envInt(env, 'FERSWEEP_S3_CONNECT_TIMEOUT_MS', 1) ?? 5000,
    credentialSource: options.credentials
      ? 'options'
      : nonEmpty(env.AWS_ACCESS_KEY_ID) && nonEmpty(env.AWS_SECRET_ACCESS_KEY)
        ? 'env'
        : 'sdk-default-chain',
  };
}

export function clientConfig(resolved: ResolvedS3Config, options: S3StoreOptions): S3ClientConfig {
  const env: Env = options.env ?? process.env;
  const credentials: S3Credentials | undefined =
    options.credentials ??
    (resolved.credentialSource === 'env'
      ? {
          accessKeyId: env.AWS_ACCESS_KEY_ID?.trim() ?? '',
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY?.trim() ?? '',
          ...(env.AWS_SESSION_TOKEN && { sessionToken: env.AWS_SESSION_TOKEN.trim() }),
        }
      : undefined);
  const custom = resolved.endpoint !== undefined;
  return {
    region: resolved.region,
    ...(custom && { endpoint: resolved.endpoint }),
    forcePathStyle: resolved.forcePathStyle,
    // 'standard': exponential backoff with jitter on 5xx, throttling and connection errors.
    retryMode: 'standard',
    maxAttempts: resolved.maxAttempts,
    ...(credentials && { credentials }),
    // Without a connect timeout a blackholed endpoint hangs for the OS's TCP timeout (minutes).
    requestHandler: { connectionTimeout: resolved.connectTimeoutMs },
    // Only AWS redirects to a bucket's home region; a custom endpoint has one region.
    followRegionRedirects: !custom,
    // The SDK's default CRC32 trailers (aws-chunked bodies) are refused by many S3-compatible
    // servers; send checksums only where the API requires them, unless the user chose.
    ...(custom && !env.AWS_REQUEST_CHECKSUM_CALCULATION && { requestChecksumCalculation: 'WHEN_REQUIRED' as const }),
    ...(custom && !env.AWS_RESPONSE_CHECKSUM_VALIDATION && { responseChecksumValidation: 'WHEN_REQUIRED' as const }),
  };
}

export function endpointLabel(resolved: ResolvedS3Config): string {
  if (resolved.endpoint === undefined) return `AWS S3 (${resolved.region})`;
  const url = new URL(resolved.endpoint);
  url.username = '';
  url.password = '';
  return url.href.replace(/\/$/, '');
}
