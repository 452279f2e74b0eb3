import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { parse } from 'csv-parse';
import { FER_PIXELS, isLabel } from '@fersweep/contracts';
import { DatasetError } from '../errors.js';
import { parsePixels } from '../pixels.js';
import { USAGES, type DatasetSource, type SourceProgress, type SourceRow, type Usage } from './types.js';

/**
 * Kaggle's fer2013.csv: a header naming `emotion`, `pixels` and optionally `Usage` (any order,
 * any case, spaces around names allowed — the ICML variant writes "emotion, Usage, pixels"),
 * then one row per image. Streamed: memory does not grow with the file. LF or CRLF.
 * A missing Usage column means every row is Training.
 */
export function fer2013CsvSource(path: string): DatasetSource {
  const hash = createHash('sha256');
  let digest: string | undefined;
  return {
    kind: 'fer2013-csv',
    uri: path,
    sha256: () => {
      if (!digest) throw new Error('sha256() is known only after rows() was consumed');
      return digest;
    },
    rows: (onProgress) => readRows(path, hash, (d) => (digest = d), onProgress),
  };
}

async function* readRows(
  path: string,
  hash: ReturnType<typeof createHash>,
  done: (digest: string) => void,
  onProgress?: (p: SourceProgress) => void,
): AsyncGenerator<SourceRow> {
  let total: number;
  try {
    total = (await stat(path)).size;
  } catch (cause) {
    throw new DatasetError(
      'InvalidArgument',
      `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? cause}`,
      { file: path },
      { cause },
    );
  }
  let bytes = 0;
  let lastReport = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      if (onProgress && bytes - lastReport > 1 << 20) {
        lastReport = bytes;
        onProgress({ done: bytes, total, unit: 'bytes' });
      }
      cb(null, chunk);
    },
  });
  const parser = createReadStream(path, { highWaterMark: 1 << 20 })
    .pipe(tap)
    .pipe(parse({ relax_column_count: true, skip_empty_lines: true, info: true, bom: true }));

  let cols: { emotion: number; pixels: number; usage: number } | undefined;
  const pixels = new Uint8Array(FER_PIXELS);
  let index = 0;
  for await (const rec of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    const { record, info } = rec;
    const line = info.lines;
    if (!cols) {
      cols = headerColumns(record, path, line);
      continue;
    }
    const where = (field: string) => ({ file: path, line, field });
    const emotionText = record[cols.emotion]?.trim() ?? '';
    const label = /^\d+$/.test(emotionText) ? Number(emotionText) : NaN;
    if (!isLabel(label)) {
      throw new DatasetError(
        'InvalidCsv',
        `${path}:${line}: emotion '${emotionText.slice(0, 20)}' is not a label 0–6`,
        where('emotion'),
      );
    }
    const pixelText = record[cols.pixels];
    if (pixelText === undefined) {
      throw new DatasetError(
        'InvalidCsv',
        `${path}:${line}: row has ${record.length} columns, no pixels`,
        where('pixels'),
      );
    }
    const problem = parsePixels(pixelText, pixels);
    if (problem) throw new DatasetError('InvalidCsv', `${path}:${line}: pixels ${problem}`, where('pixels'));
    let usage: Usage = 'Training';
    if (cols.usage >= 0) {
      const u = record[cols.usage]?.trim() ?? '';
      if (!(USAGES as readonly string[]).includes(u)) {
        throw new DatasetError(
          'InvalidCsv',
          `${path}:${line}: Usage '${u.slice(0, 20)}' is not one of ${USAGES.join(', ')}`,
          where('Usage'),
        );
      }
      usage = u as Usage;
    }
    yield { index: index++, label, usage, pixels };
  }
  if (!cols)
    throw new DatasetError('InvalidCsv', `${path}: empty file, expected a header 'emotion,pixels,Usage'`, {
      file: path,
      line: 1,
    });
  onProgress?.({ done: bytes, total, unit: 'bytes' });
  done(hash.digest('hex'));
}

function headerColumns(record: string[], path: string, line: number) {
  const names = record.map((h) => h.trim().toLowerCase());
  const emotion = names.indexOf('emotion');
  const pixels = names.indexOf('pixels');
  const usage = names.indexOf('usage');
  if (emotion < 0 || pixels < 0) {
    throw new DatasetError(
      'InvalidCsv',
      `${path}:${line}: header '${record.join(',').slice(0, 60)}' lacks ${emotion < 0 ? 'emotion' : 'pixels'}; expected Kaggle's 'emotion,pixels,Usage'`,
      { file: path, line, field: 'header' },
    );
  }
  return { emotion, pixels, usage };
}
