import { join } from 'node:path';
import { Command, Option } from 'commander';
import type { ObjectStore } from '@fersweep/storage';
import { UsageError } from '../errors.js';
import type { Io } from './dataset.js';

/** Formats `models export` writes (kept in step with @fersweep/models' EXPORT_FORMATS, which loads lazily). */
const FORMATS = ['onnx', 'keras', 'tfjs'] as const;

/** What `models export` needs from the other `models` verbs (model folders and their metadata). */
export interface ModelSources {
  openRoot(flag: string | undefined): Promise<ObjectStore>;
  openModel(location: string): Promise<ObjectStore>;
  readMetadata(store: ObjectStore): Promise<Record<string, unknown>>;
  listModels(root: ObjectStore, sweep: string): Promise<{ trial: string; store: ObjectStore }[]>;
}

/**
 * `fersweep models export SWEEP [--trial T] | --model DIR|URL --format onnx|keras|tfjs --out DIR`: a sweep's
 * models (each to DIR/<trial>/, as `models pull`) or one model folder (to DIR), as ONNX, Keras HDF5 or a portable
 * tfjs LayersModel, each with a metadata.json that records the preprocessing.
 */
export function exportCommand(io: Io, sources: ModelSources, version: string): Command {
  return new Command('export')
    .description(
      'export trained models as ONNX (model.onnx, opset 13), Keras HDF5 (model.h5) or a portable TF.js LayersModel ' +
        '(model.json + weights.bin), each with metadata.json (preprocessing, labels, metrics)',
    )
    .argument('[sweep]', 'sweep id (or give --model)')
    .addOption(new Option('--format <format>', 'output format').choices(FORMATS).makeOptionMandatory())
    .requiredOption('--out <dir>', 'local folder; a sweep exports each model to <dir>/<trial>/, --model to <dir>')
    .option('--trial <trial>', 'only this trial of the sweep')
    .option('--model <dir|url>', 'a model folder (local path or object-store URL) instead of a sweep')
    .option(
      '--store <url>',
      'artifact root: s3://bucket/prefix, file:///path or a path (default FERSWEEP_STORE or ./fersweep-data)',
    )
    .action(
      async (
        sweep: string | undefined,
        flags: { format: (typeof FORMATS)[number]; out: string; trial?: string; model?: string; store?: string },
      ) => {
        if ((sweep === undefined) === (flags.model === undefined)) {
          throw new UsageError('give either a sweep id or --model DIR|URL (one of them)');
        }
        if (flags.model !== undefined && flags.trial !== undefined) {
          throw new UsageError('--trial selects a trial of a sweep: it does not go with --model');
        }
        let targets: { name: string; store: ObjectStore; dir: string }[];
        if (sweep !== undefined) {
          const root = await sources.openRoot(flags.store);
          const found = (await sources.listModels(root, sweep)).filter((m) => !flags.trial || m.trial === flags.trial);
          if (found.length === 0) {
            throw new UsageError(
              `no trained model${flags.trial ? ` for trial '${flags.trial}'` : 's'} in sweep '${sweep}' under ${root.url}`,
            );
          }
          targets = found.map((m) => ({ name: m.trial, store: m.store, dir: join(flags.out, m.trial) }));
        } else {
          const location = flags.model!;
          targets = [{ name: location, store: await sources.openModel(location), dir: flags.out }];
        }
        const { initTf, loadModel, disposeModel, exportModel } = await import('@fersweep/models');
        await initTf({});
        for (const target of targets) {
          let meta: Record<string, unknown> = {};
          try {
            meta = await sources.readMetadata(target.store);
          } catch {
            // A tfjs model folder without fersweep's metadata (tensorflowjs_converter's): it exports all the same.
            io.err(`${target.name}: no metadata.json, so the export records no preprocessing, labels or metrics\n`);
          }
          const model = await loadModel(target.store);
          try {
            const result = await exportModel(model, flags.format, target.dir, meta, version);
            io.out(`${target.name}: ${result.files.join(', ')} (${flags.format})\n`);
          } finally {
            disposeModel(model);
          }
        }
      },
    );
}
