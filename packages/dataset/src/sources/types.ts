/** FER2013's Usage column values; folder layouts map train → Training, test → PublicTest. */
export type Usage = 'Training' | 'PublicTest' | 'PrivateTest';
export const USAGES: readonly Usage[] = ['Training', 'PublicTest', 'PrivateTest'];

/** One labelled image from a source, in source order. */
export interface SourceRow {
  /** 0-based position in the source (CSV data row, sorted file list, generator index). */
  index: number;
  label: number;
  usage: Usage;
  /** 48×48 grayscale; may be a reused buffer — copy before keeping it. */
  pixels: Uint8Array;
  /** Pre-assigned split for layouts that carry their own validation set (folder `val/`). */
  split?: 'val';
}

export interface SourceProgress {
  /** Bytes (CSV) or files (folder) or images (synthetic) done so far. */
  done: number;
  total: number;
  unit: 'bytes' | 'files' | 'images';
}

/** A dataset source: rows in a deterministic order, and the sha256 that identifies its content (known after iteration). */
export interface DatasetSource {
  kind: 'fer2013-csv' | 'folder' | 'synthetic';
  uri: string;
  /** True when the source carries its own validation split (rows with split 'val'): Training is then not split. */
  providesValidation?: boolean;
  /**
   * False when the source has no test rows (a Kaggle folder without `test/`): the import then holds
   * a stratified test split out of Training instead of publishing an empty one.
   */
  providesTest?: boolean;
  rows(onProgress?: (p: SourceProgress) => void): AsyncIterable<SourceRow>;
  /** sha256 (hex) of the source's content; valid once rows() has been fully consumed. */
  sha256(): string;
}
