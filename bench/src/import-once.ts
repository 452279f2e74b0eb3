/**
 * One import in a fresh process, so its peak RSS (getrusage maxrss) is the import's alone.
 * Usage: node bench/dist/import-once.js <fer2013.csv> <out-url>   → prints {"rows","seconds","maxRssMiB"}
 */
import { fer2013CsvSource, importDataset } from '@fersweep/dataset';
import { openStore } from '@fersweep/storage';

const [csv, out] = process.argv.slice(2);
if (!csv || !out) throw new Error('usage: import-once <csv> <out-url>');
const t = performance.now();
const m = await importDataset({ source: fer2013CsvSource(csv), store: openStore(out), name: 'fer', seed: 1 });
const rows = Object.values(m.splits).reduce((a, s) => a + (s?.count ?? 0), 0);
const seconds = (performance.now() - t) / 1000;
console.log(JSON.stringify({ rows, seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
