import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { SweepReport } from '@fersweep/contracts';
import { cannotRead, UsageError } from '../errors.js';
import { table } from '../format.js';
import { progressBar } from '../progress.js';
import { variantsText } from '../variants-text.js';
import { intArg, type Io } from './dataset.js';

/** The comparison a person reads in the terminal: ranking, per-variant numbers, pairwise tests, verdict. */
export function comparisonText(report: SweepReport): string {
  const pct = (x: number | undefined | null) => (x === undefined || x === null ? '-' : `${(x * 100).toFixed(1)}%`);
  const byId = new Map(report.trials.map((t) => [t.trial, t]));
  const order = [
    ...report.comparison.ranking,
    ...report.trials.map((t) => t.trial).filter((t) => !report.comparison.ranking.includes(t)),
  ];
  const rows = order.map((id, i) => {
    const t = byId.get(id)!;
    const test = t.test;
    return [
      report.comparison.ranking.includes(id) ? String(i + 1) : '-',
      id,
      t.model ?? '-',
      t.phase === 'Stopped' && t.stopped?.rung ? `Stopped at rung ${t.stopped.rung}` : t.phase,
      pct(t.final?.accuracy),
      pct(t.final?.valAccuracy),
      test ? `${pct(test.accuracy)} [${pct(test.accuracyInterval.lower)}, ${pct(test.accuracyInterval.upper)}]` : '-',
      test ? test.macroF1.toFixed(3) : '-',
      t.bestEpoch ? String(t.bestEpoch.epoch) : '-',
    ];
  });
  const lines = [
    table(rows, [
      '#',
      'trial',
      'model',
      'phase',
      'train acc',
      'val acc',
      `${report.comparison.split} acc [95% CI]`,
      'macro F1',
      'best epoch',
    ]),
  ];
  if (report.comparison.pairs.length) {
    lines.push(
      '',
      table(
        report.comparison.pairs.map((p) => [
          `${p.a} vs ${p.b}`,
          `${p.accuracyDelta >= 0 ? '+' : ''}${(p.accuracyDelta * 100).toFixed(1)} pts`,
          `${p.onlyACorrect} / ${p.onlyBCorrect}`,
          p.mcnemarP.toPrecision(3),
          p.mcnemarPAdjusted.toPrecision(3),
          p.significant ? 'yes' : 'no',
        ]),
        ['pair (McNemar)', 'accuracy Δ', 'only a / only b right', 'p', 'p (Holm)', 'significant'],
      ),
    );
  }
  const variants = variantsText(report);
  if (variants) lines.push('', variants);
  lines.push('', report.verdict.text);
  return lines.join('\n');
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.png': 'image/png',
  '.json': 'application/json',
};

/** Serves the report folder on localhost until Ctrl-C. */
async function serveReport(dir: string, port: number, io: Io): Promise<void> {
  const server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '/').split('?')[0]!).replace(/^\/+/, '') || 'index.html';
    if (!/^[A-Za-z0-9._-]+$/.test(name)) return void res.writeHead(404).end();
    readFile(join(dir, name)).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[extname(name)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end('not found'),
    );
  });
  await new Promise<void>((r, j) => server.once('error', j).listen(port, '127.0.0.1', () => r()));
  const addr = server.address();
  io.out(
    `\nreport served at http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : port}/ (Ctrl-C to stop)\n`,
  );
  await new Promise<void>((r) => process.once('SIGINT', () => r()));
  server.close();
}

async function runAndReport(
  spec: unknown,
  flags: { dataDir: string; maxTrainers?: number; cores?: number },
  io: Io,
  setExitCode: (c: number) => void,
) {
  const { runEmbedded } = await import('../embedded.js');
  const controller = new AbortController();
  const onSigint = () => {
    io.err('\ninterrupted: stopping the trainers (they checkpoint); run the same command again to resume\n');
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  try {
    const r = await runEmbedded({
      spec,
      dataDir: flags.dataDir,
      signal: controller.signal,
      ...(flags.maxTrainers ? { maxTrainers: flags.maxTrainers } : {}),
      ...(flags.cores ? { cores: flags.cores } : {}),
    });
    if (r.interrupted) {
      setExitCode(130);
      return undefined;
    }
    if (r.report) io.out(`\n${comparisonText(r.report)}\n\nreport: ${join(r.reportDir, 'index.html')}\n`);
    setExitCode(r.sweep.phase === 'Succeeded' ? 0 : 1);
    return r;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

async function readSpec(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw cannotRead(path, err);
  }
  try {
    return parseYaml(text);
  } catch (err) {
    throw new UsageError(`${path} is not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`);
  }
}

const CORES_HELP =
  'cores the trainers share (default: what this process may use, cgroup quota included); each trainer gets ' +
  '⌊cores / trainers at once⌋ data-parallel threads (FERSWEEP_TRAIN_THREADS caps them)';

/** `fersweep run` (any sweep on this machine) and `fersweep demo` (the product in one command). */
export function runCommands(io: Io, setExitCode: (code: number) => void): Command[] {
  const run = new Command('run')
    .description('run a sweep on this machine (embedded mode: no NATS, S3 or cluster needed) and write its report')
    .argument('<spec>', 'sweep spec (YAML or JSON; see examples/)')
    .option('--data-dir <dir>', 'file store for datasets, checkpoints, models and reports', 'fersweep-data')
    .option(
      '--max-trainers <n>',
      "trainer processes at once (default: the sweep's parallelism, at most one per core)",
      intArg('--max-trainers', 1),
    )
    .option('--cores <n>', CORES_HELP, intArg('--cores', 1))
    .action(async (path: string, flags: { dataDir: string; maxTrainers?: number; cores?: number }) => {
      await runAndReport(await readSpec(path), flags, io, setExitCode);
    });

  const demo = new Command('demo')
    .description(
      'see the whole product work: synthesise FER-style faces, train CNN vs MobileNetV2, compare them, serve the report',
    )
    .option('--data-dir <dir>', 'where the demo keeps its data', 'fersweep-data')
    .option('--count <n>', 'synthetic images', intArg('--count', 100), 3000)
    .option('--no-serve', 'do not serve the HTML report at the end')
    .option('--port <port>', 'report server port (0 = any free one)', intArg('--port', 0), 0)
    .option('--cores <n>', CORES_HELP, intArg('--cores', 1))
    .action(async (flags: { dataDir: string; count: number; serve: boolean; port: number; cores?: number }) => {
      const [{ openStore }, { DatasetReader, importDataset, syntheticSource }] = await Promise.all([
        import('@fersweep/storage'),
        import('@fersweep/dataset'),
      ]);
      const datasetUrl = pathToFileURL(resolve(flags.dataDir, 'datasets', `demo-${flags.count}`)).href;
      const store = openStore(datasetUrl);
      const exists = await DatasetReader.open(store).then(
        () => true,
        () => false,
      );
      io.out(`fersweep demo: CNN vs MobileNetV2 on synthetic FER-style faces (48×48 grayscale, 7 emotions)\n`);
      if (!exists) {
        io.out(`1/3 synthesising ${flags.count} faces with FER2013's class imbalance → ${datasetUrl}\n`);
        const bar = progressBar('synthesising');
        await importDataset({
          source: syntheticSource({ count: flags.count, seed: 7 }),
          store,
          name: 'demo',
          seed: 7,
          force: true,
          onProgress: (p) => p.phase === 'read' && bar.update(p.done, p.total, p.unit),
        });
        bar.stop();
      } else io.out(`1/3 dataset already there: ${datasetUrl}\n`);
      const spec = (await readSpec(new URL('../../../../examples/demo.yaml', import.meta.url).pathname)) as {
        spec: { variants: unknown[]; parallelism?: number } & Record<string, unknown>;
      };
      spec.spec.dataset = datasetUrl;
      const [{ usableCores }, { embeddedTrainers }, { trainerThreads }] = await Promise.all([
        import('@fersweep/observability'),
        import('../embedded.js'),
        import('@fersweep/coordinator'),
      ]);
      const cores = flags.cores ?? usableCores();
      const trainers = embeddedTrainers(cores, spec.spec.parallelism ?? 4, spec.spec.variants.length);
      const threads = trainerThreads({ cores, maxConcurrent: trainers });
      io.out(
        `2/3 training both variants (examples/demo.yaml: ${String(spec.spec.epochs)} epochs each; ${cores} cores: ` +
          `${trainers} trainer process${trainers === 1 ? '' : 'es'} × ${threads} training thread${threads === 1 ? '' : 's'})\n`,
      );
      const r = await runAndReport(spec, { dataDir: flags.dataDir, cores }, io, setExitCode);
      if (!r) return;
      io.out(`3/3 done. Pull the models: fersweep models pull ${r.sweep.id} --out ./models --store ${flags.dataDir}\n`);
      if (flags.serve && r.report) await serveReport(r.reportDir, flags.port, io);
    });
  return [run, demo];
}
