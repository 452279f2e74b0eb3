import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError, type ObjectStore } from '@fersweep/storage';
import { readKerasWeights, type KerasWeightsFile } from '../io/keras-h5.js';
import { ModelError } from '../variants/errors.js';
import { kerasMobileNetV2FileName } from '../variants/mobilenetv2-layout.js';
import { BlockedAddressError, guardedFetch } from './guarded-fetch.js';
import { findStoredKerasWeights, storeKerasWeights } from './keras-store.js';

/** Where keras.applications downloads MobileNetV2 weights from (`keras/applications/mobilenet_v2.py`). */
export const KERAS_WEIGHTS_PUBLIC_URL = 'https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2';
/** Overrides KERAS_WEIGHTS_PUBLIC_URL: a mirror, or a local server in tests. */
export const KERAS_WEIGHTS_URL_ENV = 'FERSWEEP_KERAS_WEIGHTS_URL';
/** The largest weight file fetched (keras' largest MobileNetV2 no-top file is ~17 MiB). */
const MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024;

/** Does `pretrained` name keras weights (`imagenet`, or a `.h5` file) rather than a tfjs LayersModel? */
export function isKerasWeightsRef(pretrained: string): boolean {
  return pretrained === 'imagenet' || /\.(h5|hdf5)$/i.test(pretrained.trim());
}

/**
 * The keras file `pretrained: imagenet` means for an input size. keras publishes 96, 128, 160, 192 and 224 px
 * weights; the base is fully convolutional, so its weights fit any size, and 48 px (FER2013's own) takes the 96
 * px weights, the closest resolution they were trained at.
 */
export function imagenetWeightsFor(alpha: number, inputSize: number): { name: string; size: number } {
  const size = inputSize < 96 ? 96 : inputSize;
  return { name: kerasMobileNetV2FileName(alpha, size), size };
}

export interface KerasSourceOptions {
  openStore: (url: string) => ObjectStore;
  /** The artifact root (FERSWEEP_STORE, a trial's `output`) that caches `imagenet` files; none = no cache. */
  artifactRoot?: string | undefined;
  /** Base URL of the keras files; default $FERSWEEP_KERAS_WEIGHTS_URL, else KERAS_WEIGHTS_PUBLIC_URL. */
  baseUrl?: string | undefined;
  /** Fetches the keras base URL (the operator's); default global fetch. */
  fetch?: typeof fetch;
  /**
   * Fetches an explicit `pretrained` URL (the sweep's): default guardedFetch, which refuses loopback,
   * link-local/metadata and private addresses at connect time (FERSWEEP_URL_PRIVATE_HOSTS excepted).
   */
  fetchUserUrl?: typeof fetch;
}

/** Keras weights found for a `pretrained` value, and where they came from. */
export interface ResolvedKerasWeights {
  file: KerasWeightsFile;
  sha256: string;
  /** One phrase for notes: `mobilenet_v2_…_no_top.h5 from the store (s3://…/pretrained/keras/<sha256>.h5)`. */
  origin: string;
}

class DownloadError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

/** GET `url` whole, up to 3 attempts (not on a 4xx), refusing anything over MAX_DOWNLOAD_BYTES. */
async function download(url: string, fetchImpl: typeof fetch): Promise<Buffer> {
  let last: DownloadError | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0) await sleep(250 * 2 ** attempt);
    try {
      const res = await fetchImpl(url, { signal: AbortSignal.timeout(300_000) });
      if (!res.ok) {
        throw new DownloadError(`HTTP ${res.status} ${res.statusText}`.trim(), res.status >= 400 && res.status < 500);
      }
      if (Number(res.headers.get('content-length') ?? 0) > MAX_DOWNLOAD_BYTES) {
        throw new DownloadError(`larger than ${MAX_DOWNLOAD_BYTES} bytes`, true);
      }
      const chunks: Uint8Array[] = [];
      let total = 0;
      for await (const chunk of res.body ?? []) {
        total += chunk.length;
        if (total > MAX_DOWNLOAD_BYTES) throw new DownloadError(`larger than ${MAX_DOWNLOAD_BYTES} bytes`, true);
        chunks.push(chunk);
      }
      return Buffer.concat(chunks);
    } catch (err) {
      if (err instanceof DownloadError && err.permanent) throw err;
      if (err instanceof BlockedAddressError) throw new DownloadError(err.message, true);
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      last =
        err instanceof DownloadError
          ? err
          : new DownloadError(cause?.code ?? cause?.message ?? (err as Error).message, false);
    }
  }
  throw last ?? new DownloadError('failed', false);
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** `dir/file.h5` → the store `dir` and the key `file.h5` (a plain path, file:// or s3://). */
function splitFileUrl(url: string): { storeUrl: string; key: string } {
  const trimmed = url.trim();
  const slash = trimmed.lastIndexOf('/');
  return slash < 0
    ? { storeUrl: '.', key: trimmed }
    : { storeUrl: trimmed.slice(0, slash) || '/', key: trimmed.slice(slash + 1) };
}

/**
 * Finds the keras weight file a `pretrained` value names. An explicit `.h5` file is read from its place
 * (`https://…`, `s3://…`, `file://…` or a path). `imagenet` is keras' published file for α and the input size:
 * the copy in the artifact root's store if there is one (sha256-checked), else downloaded from the keras URL,
 * validated and cached there. Offline with no copy: ModelError 'PretrainedUnavailable', whose one line says
 * which file to import where.
 */
export async function resolveKerasWeights(
  pretrained: string,
  model: { alpha: number; inputSize: number },
  options: KerasSourceOptions,
): Promise<ResolvedKerasWeights> {
  const fetchImpl = options.fetch ?? fetch;
  if (pretrained !== 'imagenet') {
    let bytes: Buffer;
    if (/^https?:\/\//i.test(pretrained)) {
      bytes = await download(pretrained, options.fetchUserUrl ?? guardedFetch()).catch((err: unknown) => {
        throw new ModelError(
          'PretrainedUnavailable',
          `params.pretrained: cannot download ${pretrained}: ${(err as Error).message}`,
          {
            field: 'params.pretrained',
            artifact: pretrained,
          },
        );
      });
    } else {
      const { storeUrl, key } = splitFileUrl(pretrained);
      try {
        bytes = await options.openStore(storeUrl).get(key);
      } catch (err) {
        if (err instanceof StoreError && err.code === 'NotFound') {
          throw new ModelError(
            'InvalidParams',
            `params.pretrained: no file at ${pretrained}: point it at a keras .h5 weight file`,
            { field: 'params.pretrained', artifact: pretrained },
            { cause: err },
          );
        }
        throw err;
      }
    }
    return { file: await readKerasWeights(bytes, pretrained), sha256: sha256(bytes), origin: pretrained };
  }

  const { name } = imagenetWeightsFor(model.alpha, model.inputSize);
  const root = options.artifactRoot === undefined ? undefined : options.openStore(options.artifactRoot);
  if (root !== undefined) {
    const stored = await findStoredKerasWeights(root, name);
    if (stored !== undefined) {
      const file = await readKerasWeights(stored.bytes, stored.url);
      return { file, sha256: stored.entry.sha256, origin: `${name} from the store (${stored.url})` };
    }
  }
  const base = (options.baseUrl ?? process.env[KERAS_WEIGHTS_URL_ENV] ?? KERAS_WEIGHTS_PUBLIC_URL).replace(/\/+$/, '');
  const url = `${base}/${name}`;
  let bytes: Buffer;
  try {
    bytes = await download(url, fetchImpl);
  } catch (err) {
    const where = root === undefined ? 'FERSWEEP_STORE' : root.url;
    throw new ModelError(
      'PretrainedUnavailable',
      `params.pretrained: imagenet needs ${name}, which is not in ${root === undefined ? 'any store' : `the store ${root.url}`} ` +
        `and could not be downloaded from ${url} (${(err as Error).message}): download it where you can and run ` +
        `\`fersweep models import-keras ${name} --store ${where}\``,
      { field: 'params.pretrained', artifact: url },
    );
  }
  if (root === undefined) {
    return {
      file: await readKerasWeights(bytes, url),
      sha256: sha256(bytes),
      origin: `${name} downloaded from ${url}`,
    };
  }
  const stored = await storeKerasWeights(root, bytes, name, url);
  return {
    file: stored.file,
    sha256: stored.entry.sha256,
    origin: `${name} downloaded from ${url}, cached as ${stored.url}`,
  };
}
