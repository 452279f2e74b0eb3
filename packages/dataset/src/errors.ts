/** Stable codes for dataset failures; the CLI prints `message` as one line and exits non-zero. */
export type DatasetErrorCode =
  | 'InvalidCsv' // a malformed row or header in a fer2013.csv
  | 'InvalidImage' // an image file that cannot be decoded
  | 'InvalidLayout' // a folder that is not train|test/<emotion>/…
  | 'InvalidArgument'
  | 'DatasetExists' // a manifest already exists at the destination
  | 'ManifestMissing'
  | 'ManifestInvalid'
  | 'ShardCorrupt'; // checksum or size mismatch, or undecodable shard

/** A dataset failure that says what was wrong, where (file, line, field, shard) and what to do. */
export class DatasetError extends Error {
  override readonly name = 'DatasetError';
  constructor(
    readonly code: DatasetErrorCode,
    message: string,
    readonly where: { file?: string; line?: number; field?: string; shard?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
