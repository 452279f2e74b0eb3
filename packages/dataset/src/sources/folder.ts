import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { EMOTIONS, emotionIndex } from '@fersweep/contracts';
import { DatasetError } from '../errors.js';
import { toFerPixels } from '../pixels.js';
import type { DatasetSource, SourceRow, Usage } from './types.js';

const IMAGE_EXT = /\.(png|jpe?g|webp|gif|bmp|tiff?)$/i;
/** Top-level folder → what it holds. `val`/`validation` is kept as the validation split as is. */
const SPLIT_DIRS: Record<string, { usage: Usage; split?: 'val' }> = {
  train: { usage: 'Training' },
  training: { usage: 'Training' },
  val: { usage: 'Training', split: 'val' },
  validation: { usage: 'Training', split: 'val' },
  test: { usage: 'PublicTest' },
  publictest: { usage: 'PublicTest' },
  privatetest: { usage: 'PrivateTest' },
};

interface Entry {
  path: string;
  rel: string;
  label: number;
  usage: Usage;
  split?: 'val';
}

/**
 * Kaggle's folder layout: `<root>/train/<emotion>/*.png|jpg` and `<root>/test/<emotion>/…`
 * (emotion folder names angry, disgust, fear, happy, sad, surprise, neutral). A folder without
 * test images says so (`providesTest: false`): the import then holds a test split out of train/. Any image size or
 * colour is converted to 48×48 grayscale by sharp. Files are read in sorted path order, so the
 * same folder always gives the same dataset; decoding runs `concurrency` images at a time.
 */
export async function folderSource(root: string, concurrency = 8): Promise<DatasetSource> {
  const entries = await listEntries(root);
  let digest: string | undefined;
  return {
    kind: 'folder',
    uri: root,
    providesValidation: entries.some((e) => e.split === 'val'),
    providesTest: entries.some((e) => e.usage !== 'Training'),
    sha256: () => {
      if (!digest) throw new Error('sha256() is known only after rows() was consumed');
      return digest;
    },
    async *rows(onProgress) {
      const hash = createHash('sha256');
      // A sliding window of decodes keeps sharp's thread pool busy while rows leave in order.
      // Each settles to a result (never rejects) so no failure goes unobserved while it waits its turn.
      type Decoded = { ok: true; bytes: Buffer; pixels: Uint8Array } | { ok: false; cause: unknown };
      const pending: Promise<Decoded>[] = [];
      const start = async (e: Entry): Promise<Decoded> => {
        try {
          const bytes = await readFile(e.path);
          return { ok: true, bytes, pixels: await toFerPixels(bytes) };
        } catch (cause) {
          return { ok: false, cause };
        }
      };
      let next = 0;
      for (let i = 0; i < entries.length; i++) {
        while (next < entries.length && next < i + concurrency) pending.push(start(entries[next++]!));
        const e = entries[i]!;
        const decoded = await pending.shift()!;
        if (!decoded.ok) {
          await Promise.all(pending);
          const reason = decoded.cause instanceof Error ? decoded.cause.message : String(decoded.cause);
          throw new DatasetError(
            'InvalidImage',
            `${e.path}: cannot decode image (${reason})`,
            { file: e.path },
            { cause: decoded.cause },
          );
        }
        hash.update(e.rel).update('\0').update(decoded.bytes);
        onProgress?.({ done: i + 1, total: entries.length, unit: 'files' });
        const row: SourceRow = { index: i, label: e.label, usage: e.usage, pixels: decoded.pixels };
        if (e.split) row.split = e.split;
        yield row;
      }
      digest = hash.digest('hex');
    },
  };
}

async function listEntries(root: string): Promise<Entry[]> {
  let tops: string[];
  try {
    tops = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch (cause) {
    throw new DatasetError(
      'InvalidArgument',
      `cannot read folder ${root}: ${(cause as NodeJS.ErrnoException).code ?? cause}`,
      { file: root },
      { cause },
    );
  }
  const known = tops.filter((t) => SPLIT_DIRS[t.toLowerCase()]);
  if (!known.some((t) => SPLIT_DIRS[t.toLowerCase()]!.usage === 'Training' && !SPLIT_DIRS[t.toLowerCase()]!.split)) {
    throw new DatasetError(
      'InvalidLayout',
      `${root}: expected Kaggle's layout train/<emotion>/*.png and test/<emotion>/*.png (found folders: ${tops.join(', ') || 'none'})`,
      { file: root },
    );
  }
  const entries: Entry[] = [];
  for (const top of known.sort()) {
    const kind = SPLIT_DIRS[top.toLowerCase()]!;
    const dir = join(root, top);
    const classDirs = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory());
    for (const cd of classDirs) {
      const label = emotionIndex(cd.name);
      if (label < 0) {
        throw new DatasetError(
          'InvalidLayout',
          `${join(dir, cd.name)}: '${cd.name}' is not an emotion folder; use one of ${EMOTIONS.join(', ')}`,
          { file: join(dir, cd.name) },
        );
      }
      const files = (await readdir(join(dir, cd.name), { withFileTypes: true }))
        .filter((f) => f.isFile() && IMAGE_EXT.test(f.name))
        .map((f) => f.name);
      for (const f of files) {
        const path = join(dir, cd.name, f);
        const e: Entry = { path, rel: relative(root, path), label, usage: kind.usage };
        if (kind.split) e.split = kind.split;
        entries.push(e);
      }
    }
  }
  entries.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return entries;
}
