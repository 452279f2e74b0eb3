import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { loadModel, saveModel } from '@fersweep/models';
import type { ObjectStore } from '@fersweep/storage';

const STATE = 'state.json';

export const HistoryEntry = z.object({
  epoch: z.number().int().min(1),
  loss: z.number(),
  accuracy: z.number(),
  valLoss: z.number(),
  valAccuracy: z.number(),
  learningRate: z.number(),
  imagesPerSecond: z.number(),
  seconds: z.number(),
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

/** Everything besides the weights that a resumed trainer needs to continue exactly where it stopped. */
export const CheckpointState = z.object({
  version: z.literal(1),
  /** Epochs fully done (1-based count). */
  completedEpochs: z.number().int().min(0),
  /** Batches already trained in epoch `completedEpochs + 1` (0 at an epoch boundary). */
  batch: z.number().int().min(0),
  /** Running sums of that partial epoch. */
  partial: z.object({ lossSum: z.number(), correctSum: z.number(), images: z.number(), seconds: z.number() }),
  history: z.array(HistoryEntry),
  callbacks: z.object({
    stopBest: z.number().nullable(),
    stopBestEpoch: z.number().int(),
    stopWait: z.number().int(),
    plateauBest: z.number().nullable(),
    plateauWait: z.number().int(),
    cooldown: z.number().int(),
    learningRate: z.number(),
  }),
  stopped: z.boolean(),
  /** Seconds of training so far, over all attempts. */
  trainSeconds: z.number(),
  savedAt: z.string(),
});
export type CheckpointState = z.infer<typeof CheckpointState>;

/** `epoch-0003` (an epoch boundary) or `epoch-0003-batch-00012` (12 batches into epoch 4). */
export function checkpointName(completedEpochs: number, batch: number): string {
  const base = `epoch-${String(completedEpochs).padStart(4, '0')}`;
  return batch > 0 ? `${base}-batch-${String(batch).padStart(5, '0')}` : base;
}

const NAME = /^epoch-(\d{4})(?:-batch-(\d{5}))?$/;

/**
 * Checkpoints of one trial under `<trial>/checkpoints/`: the model with its optimizer state
 * (model.json + weights.bin) and state.json, written last — a checkpoint without state.json is
 * incomplete (the process died while writing it) and is ignored. Keeps the newest `keep` and the
 * best epoch's (for restore-best-weights), deleting the rest.
 */
export class CheckpointStore {
  constructor(
    private readonly store: ObjectStore,
    private readonly keep = 2,
  ) {}

  /** Complete checkpoints, oldest first. */
  async list(): Promise<{ name: string; completedEpochs: number; batch: number }[]> {
    const found = new Map<string, { completedEpochs: number; batch: number }>();
    for await (const o of this.store.list('')) {
      const [dir, file] = o.key.split('/');
      const m = dir ? NAME.exec(dir) : null;
      if (m && file === STATE) found.set(dir!, { completedEpochs: Number(m[1]), batch: Number(m[2] ?? 0) });
    }
    return [...found]
      .map(([name, v]) => ({ name, ...v }))
      .sort((a, b) => a.completedEpochs - b.completedEpochs || a.batch - b.batch);
  }

  async save(model: tf.LayersModel, state: CheckpointState, protect: string[] = []): Promise<string> {
    const name = checkpointName(state.completedEpochs, state.batch);
    const dir = this.store.sub(name);
    await saveModel(model, dir, { includeOptimizer: true });
    await dir.put(STATE, JSON.stringify(state), { contentType: 'application/json' });
    await this.prune([name, ...protect]);
    return name;
  }

  /** The newest complete checkpoint's state and model (with optimizer), or undefined on a fresh start. */
  async loadLatest(): Promise<{ name: string; state: CheckpointState; model: tf.LayersModel } | undefined> {
    const all = await this.list();
    const latest = all[all.length - 1];
    if (!latest) return undefined;
    const dir = this.store.sub(latest.name);
    const state = CheckpointState.parse(JSON.parse((await dir.get(STATE)).toString('utf8')));
    return { name: latest.name, state, model: await loadModel(dir) };
  }

  /** The model saved at the end of epoch `epoch` (for restoring the best weights), if still kept. */
  async loadEpoch(epoch: number): Promise<tf.LayersModel | undefined> {
    const name = checkpointName(epoch, 0);
    if (!(await this.store.head(`${name}/${STATE}`))) return undefined;
    return loadModel(this.store.sub(name));
  }

  private async prune(protect: string[]): Promise<void> {
    const all = await this.list();
    const doomed = all.slice(0, Math.max(0, all.length - this.keep)).filter((c) => !protect.includes(c.name));
    for (const c of doomed) {
      // state.json first: the checkpoint stops counting as complete before its weights go.
      await this.store.delete(`${c.name}/${STATE}`);
      await this.store.deletePrefix(`${c.name}/`);
    }
  }
}
