/**
 * Sample images for the report's grid, read from the dataset the trials were trained on (the
 * `dataset` URL of their `trial.started`), checked against the `datasetSha256` they reported, and
 * embedded as PNG data URIs so a stored report is self-contained.
 */
import type { EvaluatedSplit, SplitName, SweepReport } from '@fersweep/contracts';
import { DatasetReader, type SplitData } from '@fersweep/dataset';
import type { ObjectStore } from '@fersweep/storage';
import sharp from 'sharp';
import type { SweepSnapshot } from '../aggregator.js';

/** Where the images of the sample grid come from. */
export interface SampleImageSource {
  /**
   * PNG data URIs of the images at `positions` of `split` in the dataset at `url`, or undefined
   * when that dataset cannot be read or is not the one with manifest sha256 `sha256`.
   */
  images(
    url: string,
    sha256: string | null,
    split: EvaluatedSplit,
    positions: number[],
  ): Promise<Map<number, string> | undefined>;
}

/** Options of {@link createSampleImageSource}. */
export interface SampleImageSourceOptions {
  /** Opens a store at a dataset URL (storage's `openStore`, with its S3 settings). */
  openStore: (url: string) => ObjectStore;
  /** Called once per dataset that cannot be used, with why. */
  onProblem?: (url: string, problem: string) => void;
  /** Splits kept in memory (FER2013's test split is 8 MB). Default 2. */
  cacheSplits?: number;
}

/** Grey 48×48 pixels → `data:image/png;base64,…` (sharp's PNG encoding is deterministic). */
export async function pngDataUri(pixels: Uint8Array, width: number, height: number): Promise<string> {
  const png = await sharp(Buffer.from(pixels), { raw: { width, height, channels: 1 } })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

/** A {@link SampleImageSource} over object-store datasets, caching loaded splits and encoded images. */
export function createSampleImageSource(options: SampleImageSourceOptions): SampleImageSource {
  const limit = options.cacheSplits ?? 2;
  const splits = new Map<string, Promise<SplitData | undefined>>();
  const uris = new Map<string, string>();
  const reported = new Set<string>();
  const problem = (url: string, what: string) => {
    if (reported.has(url)) return;
    reported.add(url);
    options.onProblem?.(url, what);
  };

  const load = (url: string, sha256: string | null, split: EvaluatedSplit): Promise<SplitData | undefined> => {
    const key = `${url}\n${split}`;
    let p = splits.get(key);
    if (!p) {
      p = (async () => {
        try {
          const reader = await DatasetReader.open(options.openStore(url));
          if (sha256 !== null && (await reader.manifestSha256()) !== sha256) {
            problem(url, `its manifest is not the one the trials were trained on (sha256 ${sha256.slice(0, 12)}…)`);
            return undefined;
          }
          if (!reader.manifest.splits[split as SplitName]?.count) {
            problem(url, `it has no '${split}' split`);
            return undefined;
          }
          return await reader.loadSplit(split as SplitName);
        } catch (err) {
          problem(url, err instanceof Error ? err.message : String(err));
          splits.delete(key); // try again next time: the store may be back
          return undefined;
        }
      })();
      splits.set(key, p);
      while (splits.size > limit) splits.delete(splits.keys().next().value!);
    }
    return p;
  };

  return {
    async images(url, sha256, split, positions) {
      const wanted = positions.filter((p) => !uris.has(`${url}\n${split}\n${p}`));
      if (wanted.length > 0) {
        const data = await load(url, sha256, split);
        if (!data) return undefined;
        const ppi = data.height * data.width;
        for (const p of wanted) {
          if (p >= data.count) continue;
          uris.set(
            `${url}\n${split}\n${p}`,
            await pngDataUri(data.images.subarray(p * ppi, (p + 1) * ppi), data.width, data.height),
          );
        }
      }
      const out = new Map<number, string>();
      for (const p of positions) {
        const uri = uris.get(`${url}\n${split}\n${p}`);
        if (uri) out.set(p, uri);
      }
      return out;
    },
  };
}

/**
 * The report with images in its sample grid, from the dataset of the first ranked trial that named
 * one. Unchanged (no images) when there is no grid, no dataset URL, or the dataset cannot be read.
 */
export async function attachSampleImages(
  report: SweepReport,
  snapshot: SweepSnapshot,
  source: SampleImageSource | undefined,
): Promise<SweepReport> {
  const grid = report.samples;
  if (!grid || !source) return report;
  const owner = report.comparison.ranking.find((t) => snapshot.datasets.has(t));
  if (!owner) return report;
  const url = snapshot.datasets.get(owner)!;
  const sha = report.trials.find((t) => t.trial === owner)?.datasetSha256 ?? null;
  const images = await source.images(
    url,
    sha,
    grid.split,
    grid.items.map((i) => i.position),
  );
  if (!images) return report;
  return {
    ...report,
    samples: {
      ...grid,
      items: grid.items.map((item) => {
        const image = images.get(item.position);
        return image ? { ...item, image } : item;
      }),
    },
  };
}
