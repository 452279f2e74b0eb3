import { StoreError } from './types.js';

/**
 * Path segments that start with this belong to the file store itself (temp files, metadata
 * sidecars). No key may use them, in either store, so any key can move between the two.
 */
export const RESERVED_SEGMENT_PREFIX = '.fersweep-';

/** S3's limit on a whole key, in UTF-8 bytes (the store's root prefix included). */
export const MAX_KEY_BYTES = 1024;
/** Most filesystems' NAME_MAX: the longest file or directory name. */
const MAX_SEGMENT_BYTES = 255;
/** S3's limit on user metadata: names plus values, in bytes. */
const MAX_METADATA_BYTES = 2048;

// Control characters cannot appear in S3's XML listings (nor safely in file names); a backslash
// is a path separator on Windows, so a key holding one would mean different things on each store.
function hasForbiddenChar(key: string): boolean {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x5c) return true;
  }
  return false;
}
const METADATA_NAME = /^[a-z0-9][a-z0-9._-]*$/;
const METADATA_VALUE = /^[\x20-\x7e]*$/;

const keyExample = 'keys are relative and /-separated, e.g. "datasets/fer2013/manifest.json"';

function invalidKey(key: string, why: string, url: string | undefined): StoreError {
  return new StoreError('InvalidKey', `invalid key ${JSON.stringify(key)}: ${why} (${keyExample})`, url);
}

function segmentProblem(segment: string): string | undefined {
  if (segment === '') return 'it has an empty path segment';
  if (segment === '.' || segment === '..') return `it has a '${segment}' segment`;
  if (segment.startsWith(RESERVED_SEGMENT_PREFIX))
    return `names starting with '${RESERVED_SEGMENT_PREFIX}' are reserved`;
  if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) return `a segment is longer than ${MAX_SEGMENT_BYTES} bytes`;
  return undefined;
}

/**
 * Checks that `key` names one object: non-empty, relative, no empty, `.` or `..` segments, no
 * control characters or backslashes, no reserved `.fersweep-` names, at most 1024 UTF-8 bytes.
 * Returns it unchanged; throws StoreError 'InvalidKey' otherwise.
 */
export function validateKey(key: string, url?: string): string {
  if (typeof key !== 'string' || key === '') throw invalidKey(String(key), 'it is empty', url);
  if (key.startsWith('/')) throw invalidKey(key, 'it starts with "/"', url);
  if (hasForbiddenChar(key)) throw invalidKey(key, 'it holds a control character or a backslash', url);
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw invalidKey(key, `it is longer than ${MAX_KEY_BYTES} bytes`, url);
  for (const segment of key.split('/')) {
    const problem = segmentProblem(segment);
    if (problem) throw invalidKey(key, problem, url);
  }
  return key;
}

/**
 * Checks a `list`/`deletePrefix` prefix: '' (everything), or the start of a key, which may end
 * in `/` or in part of a name (`shards/tr` matches `shards/train-00000.arrow`).
 */
export function validatePrefix(prefix: string, url?: string): string {
  if (prefix === '') return prefix;
  validateKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix, url);
  return prefix;
}

/** Checks a `sub()` prefix: a key, optionally with one trailing `/`; returns it without the slash. */
export function validateSubPrefix(prefix: string, url?: string): string {
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return trimmed === '' ? '' : validateKey(trimmed, url);
}

/**
 * Joins key parts with single slashes, dropping empty parts and slashes at the joins:
 * `joinKey('sweeps/', 's1', '/spec.json')` → `sweeps/s1/spec.json`. It does not validate; the
 * store does when the key is used.
 */
export function joinKey(...parts: string[]): string {
  return parts
    .map((part) => part.replace(/^\/+|\/+$/g, ''))
    .filter((part) => part !== '')
    .join('/');
}

// UTF-16 code units order surrogates (U+D800–DFFF) before U+E000–FFFF, but code points, UTF-8
// bytes and therefore S3 listings put them after; shifting them up makes the orders agree.
function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/** Orders keys the way S3 lists them (by UTF-8 bytes). */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function invalidArgument(message: string, url: string | undefined): StoreError {
  return new StoreError('InvalidArgument', message, url);
}

/**
 * Applies S3's user-metadata rules to both stores (see PutOptions.metadata): lowercases names,
 * rejects what S3 would mangle or refuse. Returns undefined for no or empty metadata.
 */
export function normalizeMetadata(
  metadata: Record<string, string> | undefined,
  url?: string,
): Record<string, string> | undefined {
  if (!metadata) return undefined;
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const [rawName, value] of Object.entries(metadata)) {
    const name = rawName.toLowerCase();
    if (!METADATA_NAME.test(name)) {
      throw invalidArgument(
        `invalid metadata name ${JSON.stringify(rawName)}: use letters, digits, '-', '_' and '.'`,
        url,
      );
    }
    if (name in out) throw invalidArgument(`metadata name '${name}' is given twice (names are case-insensitive)`, url);
    if (typeof value !== 'string' || !METADATA_VALUE.test(value) || value.trim() !== value) {
      throw invalidArgument(
        `invalid value for metadata '${name}': use printable ASCII without leading or trailing spaces (encode other text, e.g. with encodeURIComponent)`,
        url,
      );
    }
    bytes += name.length + value.length;
    out[name] = value;
  }
  if (bytes > MAX_METADATA_BYTES) {
    throw invalidArgument(
      `metadata is ${bytes} bytes, over the ${MAX_METADATA_BYTES}-byte limit: store large values as an object`,
      url,
    );
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** A byte range as `getStream` takes it: [start, end] inclusive, end optional. */
export interface ByteRange {
  start: number;
  end?: number;
}

/** Throws StoreError 'InvalidArgument' unless start ≥ 0 and end ≥ start are whole numbers. */
export function validateRange(range: ByteRange | undefined, url?: string): ByteRange | undefined {
  if (!range) return undefined;
  const { start, end } = range;
  const whole = (n: number) => Number.isSafeInteger(n) && n >= 0;
  if (!whole(start) || (end !== undefined && (!whole(end) || end < start))) {
    throw invalidArgument(
      `invalid byte range ${JSON.stringify(range)}: start and end are whole numbers with start ≤ end (end inclusive)`,
      url,
    );
  }
  return range;
}

/** Turns a streamed chunk into bytes; streams in object mode may only carry bytes or strings. */
export function chunkBytes(chunk: unknown, url?: string): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  throw invalidArgument(`a body stream yielded a ${typeof chunk}: stream Buffers, Uint8Arrays or strings`, url);
}
