/** File writing for FileStore: the body, durable renames, and file URLs. */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { chunkBytes } from './keys.js';

/** Marks an error thrown by the caller's body stream, which `put` passes on unchanged. */
export class BodyStreamError {
  constructor(readonly error: unknown) {}
}

/** `file:///abs/path` of a directory, without a trailing slash. */
export function fileUrl(path: string): string {
  const href = pathToFileURL(path).href;
  return href.endsWith('/') && href !== 'file:///' ? href.slice(0, -1) : href;
}

export /** Writes the whole body at the file's current position and returns its length in bytes. */
async function writeBody(fh: FileHandle, body: Uint8Array | string | Readable, url: string): Promise<number> {
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    await fh.writeFile(bytes);
    return bytes.byteLength;
  }
  const chunks: AsyncIterator<unknown> = body[Symbol.asyncIterator]();
  let bytes = 0;
  let finished = false;
  try {
    for (;;) {
      let step: IteratorResult<unknown>;
      try {
        step = await chunks.next();
      } catch (err) {
        finished = true;
        throw new BodyStreamError(err);
      }
      if (step.done) {
        finished = true;
        return bytes;
      }
      const chunk = chunkBytes(step.value, url);
      bytes += chunk.byteLength;
      await fh.writeFile(chunk);
    }
  } finally {
    // Stops and destroys the caller's stream when we fail on our side (disk full, bad chunk).
    if (!finished) await chunks.return?.();
  }
}

export /** Makes a rename durable; some filesystems refuse to fsync a directory, which is no reason to fail a put. */
async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // best effort
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
