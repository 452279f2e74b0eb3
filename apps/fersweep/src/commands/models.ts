import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { keys } from '@fersweep/contracts';
import type { ObjectStore } from '@fersweep/storage';
import { UsageError } from '../errors.js';
import { table } from '../format.js';
import { emit, withOutput, type OutputFlags } from '../output.js';
import type { Io } from './dataset.js';
import { exportCommand } from './export.js';
import { importKerasCommand } from './import-keras.js';

const storage = () => import('@fersweep/storage');

export interface ModelMetadata {
  trial: string;
  variant: string;
  model: string;
  labels: string[];
  input: { height: number; width: number; channels: number };
  /** What the trainer fed the model: pixels × `rescale` (absent in old metadata: 1/255). */
  preprocessing?: { rescale?: number };
  metrics?: { test?: { accuracy: number; macroF1: number } };
  files: { key: string; bytes: number; sha256: string }[];
}

const storeFlag = [
  '--store <url>',
  'artifact root: s3://bucket/prefix, file:///path or a path (default FERSWEEP_STORE or ./fersweep-data)',
] as const;

async function openRoot(flag: string | undefined): Promise<ObjectStore> {
  const { openStore } = await storage();
  return openStore(flag ?? process.env.FERSWEEP_STORE ?? resolve('fersweep-data'));
}

/** A model folder given as a local path or an object-store URL. */
export async function openModel(location: string): Promise<ObjectStore> {
  const { openStore } = await storage();
  return openStore(
    /^[a-z][a-z0-9+.-]*:\/\//i.test(location) ? location.replace(/\/+$/, '') : pathToFileURL(resolve(location)).href,
  );
}

export async function readMetadata(store: ObjectStore): Promise<ModelMetadata> {
  return JSON.parse((await store.get('metadata.json')).toString('utf8')) as ModelMetadata;
}

/** Trials of a sweep that have a finished model (metadata.json is written last). */
async function listModels(
  root: ObjectStore,
  sweep: string,
): Promise<{ trial: string; store: ObjectStore; meta: ModelMetadata }[]> {
  const out: { trial: string; store: ObjectStore; meta: ModelMetadata }[] = [];
  const prefix = `sweeps/${sweep}/trials/`;
  for await (const o of root.list(prefix)) {
    const m = /^sweeps\/[^/]+\/trials\/([^/]+)\/model\/metadata\.json$/.exec(o.key);
    if (!m) continue;
    const store = root.sub(keys.model(sweep, m[1]!));
    out.push({ trial: m[1]!, store, meta: await readMetadata(store) });
  }
  return out;
}

/** `fersweep models list|pull|export|import-keras` (`fersweep predict` is in predict.ts). */
export function modelCommands(io: Io): Command[] {
  const models = new Command('models').description('list, download and export trained models; import keras weights');

  const list = models
    .command('list')
    .description("list a sweep's trained models with their test metrics")
    .argument('<sweep>', 'sweep id')
    .option(...storeFlag)
    .action(async (sweep: string, flags: OutputFlags & { store?: string }) => {
      const root = await openRoot(flags.store);
      const found = await listModels(root, sweep);
      if (found.length === 0) throw new UsageError(`no trained models for sweep '${sweep}' under ${root.url}`);
      const rows = found.map(({ trial, store, meta }) => [
        trial,
        meta.model,
        meta.metrics?.test ? meta.metrics.test.accuracy.toFixed(3) : '-',
        meta.metrics?.test ? meta.metrics.test.macroF1.toFixed(3) : '-',
        `${store.url}/`,
      ]);
      // Each model's metadata.json as written next to it, and where it lives.
      emit(io, flags, { items: found.map(({ store, meta }) => ({ ...meta, location: `${store.url}/` })) }, () =>
        table(rows, ['trial', 'model', 'test acc', 'macro F1', 'location']),
      );
    });
  withOutput(list);

  models
    .command('pull')
    .description(
      'download trained models (model.json, weights.bin, metadata.json), verified against their recorded sha256',
    )
    .argument('<sweep>', 'sweep id')
    .requiredOption('--out <dir>', 'local folder; each model goes to <dir>/<trial>/')
    .option('--trial <trial>', 'only this trial')
    .option(...storeFlag)
    .action(async (sweep: string, flags: { out: string; trial?: string; store?: string }) => {
      const root = await openRoot(flags.store);
      const found = (await listModels(root, sweep)).filter((m) => !flags.trial || m.trial === flags.trial);
      if (found.length === 0)
        throw new UsageError(
          `no trained model${flags.trial ? ` for trial '${flags.trial}'` : 's'} in sweep '${sweep}' under ${root.url}`,
        );
      for (const { trial, store, meta } of found) {
        const dir = join(flags.out, trial);
        await mkdir(dir, { recursive: true });
        for (const f of [...meta.files, { key: 'metadata.json' }]) {
          const bytes = await store.get(f.key);
          if ('sha256' in f) {
            const sha = createHash('sha256').update(bytes).digest('hex');
            if (sha !== f.sha256 || bytes.length !== f.bytes) {
              throw new UsageError(
                `${store.url}/${f.key} does not match its recorded sha256/size: the model is corrupt, nothing was kept for it`,
              );
            }
          }
          const tmp = join(dir, `.${basename(f.key)}.part`);
          await writeFile(tmp, bytes);
          await rename(tmp, join(dir, f.key));
        }
        io.out(
          `${trial}: ${dir} (${meta.model}, ${meta.files.map((f) => `${f.key} ${f.bytes} B`).join(', ')}; sha256 verified)\n`,
        );
      }
    });

  models.addCommand(
    exportCommand(
      io,
      {
        openRoot,
        openModel,
        readMetadata: async (store) => ({ ...(await readMetadata(store)) }),
        listModels,
      },
      '0.1.0',
    ),
  );
  models.addCommand(importKerasCommand(io, openRoot));

  return [models];
}
