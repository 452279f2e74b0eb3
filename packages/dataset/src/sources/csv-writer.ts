import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { SourceRow } from './types.js';

/**
 * Writes rows as a Kaggle-format fer2013.csv (`emotion,pixels,Usage`, LF or CRLF). Used to turn
 * synthetic faces into the format users import, for benchmarks and tests.
 */
export async function writeFer2013Csv(
  path: string,
  rows: AsyncIterable<SourceRow> | Iterable<SourceRow>,
  eol: '\n' | '\r\n' = '\n',
): Promise<number> {
  const out = createWriteStream(path);
  let n = 0;
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  await write(`emotion,pixels,Usage${eol}`);
  for await (const r of rows) {
    await write(`${r.label},${r.pixels.join(' ')},${r.usage}${eol}`);
    n++;
  }
  out.end();
  await once(out, 'close');
  return n;
}
