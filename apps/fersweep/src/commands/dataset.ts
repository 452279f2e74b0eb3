import { stat } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { SPLITS, type DatasetManifest } from '@fersweep/contracts';
import type { DatasetSource } from '@fersweep/dataset';
import { cannotRead, UsageError } from '../errors.js';
import { table } from '../format.js';
import { progressBar } from '../progress.js';
import { emit, withOutput, type OutputFlags } from '../output.js';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const intArg = (name: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got '${v}'`);
  return n;
};
const fractionArg = (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError(`must be a number in [0, 1), got '${v}'`);
  return n;
};

/** Default dataset name: the last segment of the destination URL. */
function nameFromUrl(url: string): string {
  return url.replace(/\/+$/, '').split('/').pop() || 'dataset';
}

interface ImportFlags {
  out: string;
  name?: string;
  valFraction: number;
  testFraction?: number;
  seed: number;
  shardSize?: number;
  force?: boolean;
}

// The heavy modules (sharp, ECharts, Arrow, the AWS SDK) load when a command runs, not on every `fersweep --help`.
const dataset = () => import('@fersweep/dataset');
const storage = () => import('@fersweep/storage');

async function runImport(source: DatasetSource, flags: ImportFlags, io: Io): Promise<DatasetManifest> {
  const { importDataset } = await dataset();
  const store = (await storage()).openStore(flags.out);
  const bar = progressBar(source.kind === 'synthetic' ? 'synthesising' : 'importing');
  try {
    const manifest = await importDataset({
      source,
      store,
      name: flags.name ?? nameFromUrl(flags.out),
      valFraction: flags.valFraction,
      ...(flags.testFraction !== undefined ? { testFraction: flags.testFraction } : {}),
      seed: flags.seed,
      ...(flags.shardSize ? { shardSize: flags.shardSize } : {}),
      force: flags.force ?? false,
      onProgress: (p) => p.phase === 'read' && bar.update(p.done, p.total, p.unit),
    });
    bar.stop();
    io.out(`${summary(manifest, store.url)}\n`);
    return manifest;
  } finally {
    bar.stop();
  }
}

function summary(m: DatasetManifest, url: string): string {
  const splits = SPLITS.filter((s) => m.splits[s]);
  const rows = splits.map((s) => {
    const e = m.splits[s]!;
    return [s, e.count, ...e.classCounts, e.shards.length];
  });
  const totals = ['total', ...rows[0]!.slice(1).map((_, i) => rows.reduce((a, r) => a + Number(r[i + 1]), 0))];
  return [
    `dataset ${m.name} at ${url}`,
    `  format ${m.format}, ${m.image.width}×${m.image.height}×${m.image.channels}, shards ${m.shardFormat}, created ${m.createdAt}`,
    `  source ${m.source.kind} ${m.source.uri ?? ''} (sha256 ${m.source.sha256.slice(0, 16)}…, seed ${m.source.seed}${m.source.valFraction !== undefined ? `, val fraction ${m.source.valFraction}` : ''})`,
    ...(m.source.testFraction !== undefined
      ? [
          `  the source has no test images: ${+(m.source.testFraction * 100).toFixed(1)}% of its training images were held out as the test split (stratified by class, --test-fraction)`,
        ]
      : []),
    '',
    table([...rows, totals], ['split', 'images', ...m.classes, 'shards']),
  ].join('\n');
}

export function datasetCommand(io: Io): Command {
  const cmd = new Command('dataset').description('import, synthesise and inspect FER datasets on an object store');

  cmd
    .command('synth')
    .description(
      'generate a synthetic FER-style dataset (procedural 48×48 faces, 7 expressions, FER2013 class imbalance)',
    )
    .requiredOption('--out <url>', 'destination dataset root: s3://bucket/prefix, file:///abs/path or a local path')
    .option('--count <n>', 'number of images', intArg('--count', 7), 3000)
    .option('--seed <n>', 'random seed: the same seed gives the same dataset', intArg('--seed', 0), 7)
    .option('--name <name>', 'dataset name (default: last segment of --out)')
    .option('--val-fraction <f>', 'share of the training images held out as val', fractionArg, 0.1)
    .option('--shard-size <n>', 'images per shard', intArg('--shard-size', 1))
    .option('--force', 'replace a dataset that already exists at --out')
    .action(async (flags: ImportFlags & { count: number }) => {
      const { syntheticSource } = await dataset();
      await runImport(syntheticSource({ count: flags.count, seed: flags.seed }), flags, io);
    });

  cmd
    .command('import')
    .description("import Kaggle's fer2013.csv (emotion,pixels,Usage) or a folder train|test/<emotion>/*.png|jpg")
    .argument('<path>', 'a fer2013.csv file or a folder in the Kaggle layout')
    .requiredOption('--out <url>', 'destination dataset root: s3://bucket/prefix, file:///abs/path or a local path')
    .option('--name <name>', 'dataset name (default: last segment of --out)')
    .option('--val-fraction <f>', 'share of Training held out as val, stratified by class', fractionArg, 0.1)
    .option(
      '--test-fraction <f>',
      'a folder without test/: share of train/ held out as the test split, stratified by class (default 0.1)',
      fractionArg,
    )
    .option('--seed <n>', 'seed of the train/val split', intArg('--seed', 0), 0)
    .option('--shard-size <n>', 'images per shard', intArg('--shard-size', 1))
    .option('--force', 'replace a dataset that already exists at --out')
    .action(async (path: string, flags: ImportFlags) => {
      let isDir: boolean;
      try {
        isDir = (await stat(path)).isDirectory();
      } catch (err) {
        throw cannotRead(path, err, 'no such file or folder');
      }
      const { folderSource, fer2013CsvSource } = await dataset();
      await runImport(isDir ? await folderSource(path) : fer2013CsvSource(path), flags, io);
    });

  const inspect = cmd
    .command('inspect')
    .description(
      "print a dataset's manifest summary (-o json|yaml: the manifest itself) and verify every shard's checksum",
    )
    .argument('<url>', 'dataset root: s3://bucket/prefix, file:///abs/path or a local path')
    .addOption(new Option('--no-verify', 'skip downloading and checksumming the shards'))
    .action(async (url: string, flags: OutputFlags & { verify: boolean }) => {
      const store = (await storage()).openStore(url);
      const reader = await (await dataset()).DatasetReader.open(store);
      const m = reader.manifest;
      emit(io, flags, m, () => summary(m, store.url));
      if (!flags.verify) return;
      const total = reader.splitNames().reduce((a, s) => a + reader.shards(s).length, 0);
      const bar = progressBar('verifying');
      let done = 0;
      const problems = await reader.verify(() => bar.update(++done, total, 'shards'));
      bar.stop();
      const bytes = reader.splitNames().reduce((a, s) => a + reader.shards(s).reduce((b, e) => b + e.bytes, 0), 0);
      if (problems.length === 0) {
        io.err(
          `integrity: ${total} shards, ${(bytes / (1 << 20)).toFixed(1)} MiB, every sha256 matches the manifest\n`,
        );
        return;
      }
      for (const p of problems) io.err(`integrity: shard ${p.shard} ${p.problem}\n`);
      throw new UsageError(`${problems.length} of ${total} shards are corrupt or missing: re-import the dataset`);
    });

  withOutput(inspect);
  return cmd;
}
