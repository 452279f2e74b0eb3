/**
 * Sidecars: a FileStore object's content type and metadata, in `<dir>/.fersweep-meta/<name>`,
 * stamped with the version of the object they describe.
 */
import type { BigIntStats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { RESERVED_SEGMENT_PREFIX } from './keys.js';

export const META_DIR = `${RESERVED_SEGMENT_PREFIX}meta`;
export const TMP_PREFIX = `${RESERVED_SEGMENT_PREFIX}tmp-`;
export const SIDECAR_FORMAT = 'fersweep-object-meta/v1';

/** What a sidecar holds; `etag` ties it to one version of the object (see etagOf). */
export interface Sidecar {
  format: typeof SIDECAR_FORMAT;
  etag: string;
  contentType?: string;
  metadata?: Record<string, string>;
}

function isSidecar(value: unknown): value is Sidecar {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const metadataOk =
    v.metadata === undefined ||
    (typeof v.metadata === 'object' &&
      v.metadata !== null &&
      Object.values(v.metadata).every((x) => typeof x === 'string'));
  return (
    v.format === SIDECAR_FORMAT &&
    typeof v.etag === 'string' &&
    (v.contentType === undefined || typeof v.contentType === 'string') &&
    metadataOk
  );
}

/**
 * A version stamp from inode, size and nanosecond mtime. A rename keeps all three, so the stamp
 * taken on the temp file names the object that replaces the key; a later write gets a new inode.
 * A sidecar whose stamp differs from its object's is stale (a crash or a race between the two
 * renames) and is ignored: a reader may miss metadata for a moment, never get another version's.
 */
export function etagOf(st: BigIntStats): string {
  return `${st.ino.toString(16)}-${st.size.toString(16)}-${st.mtimeNs.toString(16)}`;
}

/** The sidecar at `path`, or undefined when it is absent or not one of ours. */
export async function readSidecar(path: string): Promise<Sidecar | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
    return isSidecar(parsed) ? parsed : undefined;
  } catch {
    return undefined; // absent, or torn by a tool that is not us: the object just has no metadata
  }
}
