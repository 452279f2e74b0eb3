import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** value / the same run's baseline, when there is one */
  vsBaseline?: number;
  goal?: string;
  note?: string;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Prints a table and writes bench/results/<name>.json (committed; RESULTS.md quotes it). */
export async function report(name: string, results: BenchResult[], params: Record<string, unknown>): Promise<void> {
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version };
  for (const r of results) {
    const ratio =
      r.vsBaseline !== undefined
        ? `  (${(r.vsBaseline * 100).toFixed(0)}% of baseline${r.goal ? `; goal ${r.goal}` : ''})`
        : '';
    console.log(
      `${r.name.padEnd(58)} ${r.value.toFixed(1).padStart(10)} ${r.unit}${ratio}${r.note ? `  [${r.note}]` : ''}`,
    );
  }
  await mkdir(new URL('../results/', import.meta.url), { recursive: true });
  const out = { bench: name, date: new Date().toISOString(), machine, params, results };
  await writeFile(new URL(`../results/${name}.json`, import.meta.url), JSON.stringify(out, null, 2) + '\n');
}
