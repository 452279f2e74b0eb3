import {
  Field,
  FixedSizeList,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Uint32,
  Uint8,
  makeData,
  tableFromIPC,
  tableToIPC,
} from 'apache-arrow';
import { DatasetError } from './errors.js';

/**
 * One shard: an Apache Arrow IPC *file* with a single record batch and three columns, readable by
 * pyarrow, polars, DuckDB and arrow-js alike:
 *   - `label`  uint8                          emotion index 0–6
 *   - `pixels` fixed_size_list<uint8>[H*W]    row-major grayscale pixels, 0–255
 *   - `index`  uint32                         the sample's position in its source (CSV row order / sorted file list)
 * Schema metadata: `fersweep.format` = fersweep-shard/v1, `fersweep.height`, `fersweep.width`.
 */
export const SHARD_SCHEMA_VERSION = 'fersweep-shard/v1';

export interface ShardColumns {
  count: number;
  height: number;
  width: number;
  labels: Uint8Array;
  /** count × height × width bytes. */
  pixels: Uint8Array;
  indices: Uint32Array;
}

function schemaFor(height: number, width: number): Schema {
  return new Schema(
    [
      new Field('label', new Uint8(), false),
      new Field('pixels', new FixedSizeList(height * width, new Field('pixel', new Uint8(), false)), false),
      new Field('index', new Uint32(), false),
    ],
    new Map([
      ['fersweep.format', SHARD_SCHEMA_VERSION],
      ['fersweep.height', String(height)],
      ['fersweep.width', String(width)],
    ]),
  );
}

/** Encodes columns as an Arrow IPC file (zero-copy over the given typed arrays). */
export function encodeShard(c: ShardColumns): Uint8Array {
  const pixelsPerImage = c.height * c.width;
  if (c.labels.length !== c.count || c.indices.length !== c.count || c.pixels.length !== c.count * pixelsPerImage) {
    throw new DatasetError('InvalidArgument', `shard columns disagree with count ${c.count}`);
  }
  const schema = schemaFor(c.height, c.width);
  const [labelField, pixelsField, indexField] = schema.fields as [
    Field<Uint8>,
    Field<FixedSizeList<Uint8>>,
    Field<Uint32>,
  ];
  const label = makeData({ type: labelField.type, length: c.count, data: c.labels });
  const pixelChild = makeData({ type: new Uint8(), length: c.pixels.length, data: c.pixels });
  const pixels = makeData({ type: pixelsField.type, length: c.count, child: pixelChild });
  const index = makeData({ type: indexField.type, length: c.count, data: c.indices });
  const struct = makeData({ type: new Struct(schema.fields), length: c.count, children: [label, pixels, index] });
  const table = new Table(schema, new RecordBatch(schema, struct));
  return tableToIPC(table, 'file');
}

/** Decodes a shard written by encodeShard; `name` is used in errors. The columns are views of `bytes` (no copy). */
export function decodeShard(bytes: Uint8Array, name: string): ShardColumns {
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (cause) {
    throw new DatasetError(
      'ShardCorrupt',
      `shard ${name} is not a readable Arrow IPC file`,
      { shard: name },
      { cause },
    );
  }
  const meta = table.schema.metadata;
  const height = Number(meta.get('fersweep.height'));
  const width = Number(meta.get('fersweep.width'));
  if (meta.get('fersweep.format') !== SHARD_SCHEMA_VERSION || !(height > 0) || !(width > 0)) {
    throw new DatasetError('ShardCorrupt', `shard ${name} is not a ${SHARD_SCHEMA_VERSION} shard`, { shard: name });
  }
  const count = table.numRows;
  const ppi = height * width;
  const columns = (batch: (typeof table.batches)[number]) => {
    const pixelData = batch.getChild('pixels')?.data[0];
    const l = batch.getChild('label')?.data[0]?.values as Uint8Array | undefined;
    const p = pixelData?.children[0]?.values as Uint8Array | undefined;
    const i = batch.getChild('index')?.data[0]?.values as Uint32Array | undefined;
    if (!l || !p || !i) throw new DatasetError('ShardCorrupt', `shard ${name} lacks a column`, { shard: name });
    const n = batch.numRows;
    const offset = pixelData?.offset ?? 0;
    return {
      labels: l.subarray(0, n),
      pixels: p.subarray(offset * ppi, (offset + n) * ppi),
      indices: i.subarray(0, n),
    };
  };
  // fersweep writes one record batch per shard: hand out views of the input, no copy.
  if (table.batches.length === 1) return { count, height, width, ...columns(table.batches[0]!) };
  const labels = new Uint8Array(count);
  const pixels = new Uint8Array(count * ppi);
  const indices = new Uint32Array(count);
  let row = 0;
  for (const batch of table.batches) {
    const c = columns(batch);
    labels.set(c.labels, row);
    pixels.set(c.pixels, row * ppi);
    indices.set(c.indices, row);
    row += batch.numRows;
  }
  return { count, height, width, labels, pixels, indices };
}
