import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import { rm } from 'node:fs/promises';
import { TrialEvent, TrialSpec, type TrialSpecInput } from '@fersweep/contracts';
import { DatasetReader, syntheticSource } from '@fersweep/dataset';
import { createMemoryBus, type Bus } from '@fersweep/messaging';
import { disposeModel, initTf, loadModel, type TfRuntime } from '@fersweep/models';
import { createLogger } from '@fersweep/observability';
import { openStore } from '@fersweep/storage';
import { InterruptedError } from './errors.js';
import { predictSplit } from './predict.js';
import { trainerWorkdir } from './testing/workdir.js';
import { runTrial } from './trainer.js';

let dir: string;
let runtime: TfRuntime;
const logger = createLogger({ service: 'trainer', silent: true });

beforeAll(async () => {
  runtime = await initTf({ prefer: 'wasm' });
  dir = await trainerWorkdir('trainer', syntheticSource({ count: 700, seed: 11 }));
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

function baseSpec(over: Partial<TrialSpecInput> = {}): TrialSpec {
  return TrialSpec.parse({
    sweep: 'sw1',
    trial: 'cnn-0',
    variant: 'cnn-tiny',
    model: 'cnn',
    params: { width: 0.125, blocks: 2, denseUnits: 32 },
    dataset: `file://${dir}/data`,
    output: `file://${dir}/out`,
    epochs: 3,
    batchSize: 32,
    seed: 5,
    augmentation: { rotationRange: 10, widthShiftRange: 0.1, horizontalFlip: true },
    ...over,
  });
}

/** Collects every event on a memory bus, in order. */
async function collect(bus: Bus): Promise<{ events: TrialEvent[]; stop: () => Promise<void> }> {
  const events: TrialEvent[] = [];
  const sub = await bus.consume({ durable: 'test', handler: (d) => void (d.event && events.push(d.event)) });
  return { events, stop: () => sub.stop() };
}

// Every behaviour holds on the main thread alone and with data-parallel worker threads (FERSWEEP_TRAIN_THREADS).
describe.each([1, 2])('runTrial with %i training thread(s)', (threads) => {
  const spec = (over: Partial<TrialSpecInput> = {}) => baseSpec({ output: `file://${dir}/out-${threads}`, ...over });
  it('trains end to end: valid events in order, a model that reloads and predicts the same, no leaked tensors', async () => {
    const bus = createMemoryBus();
    const seen = await collect(bus);
    const before = tf.memory().numTensors;
    const result = await runTrial({ spec: spec(), openStore, bus, logger, runtime, threads });
    expect(tf.memory().numTensors).toBe(before);

    await new Promise((r) => setTimeout(r, 50));
    const types = seen.events.map((e) => e.type);
    expect(types).toEqual([
      'trial.started',
      'trial.epoch',
      'trial.epoch',
      'trial.epoch',
      'trial.evaluated',
      'trial.completed',
    ]);
    for (const e of seen.events) expect(TrialEvent.safeParse(e).success).toBe(true);
    expect(
      seen.events.filter((e) => e.type === 'trial.epoch').map((e) => (e.type === 'trial.epoch' ? e.epoch : 0)),
    ).toEqual([1, 2, 3]);
    const started = seen.events[0]!;
    expect(started).toMatchObject({
      type: 'trial.started',
      backend: 'wasm',
      attempt: 1,
      resumedFromEpoch: 0,
      sweep: 'sw1',
      trial: 'cnn-0',
    });

    const evaluated = seen.events.find((e) => e.type === 'trial.evaluated');
    if (evaluated?.type !== 'trial.evaluated') throw new Error('no evaluation');
    const reader = await DatasetReader.open(openStore(`file://${dir}/data`));
    expect(evaluated.predictions).toHaveLength(reader.manifest.splits.test.count);
    expect(evaluated.confusionMatrix.flat().reduce((a, b) => a + b, 0)).toBe(reader.manifest.splits.test.count);
    expect(result.history).toHaveLength(3);

    // The uploaded model reloads and predicts exactly what the trainer evaluated.
    const modelStore = openStore(result.modelUri.replace(/\/$/, ''));
    const meta = JSON.parse((await modelStore.get('metadata.json')).toString());
    expect(meta).toMatchObject({
      format: 'fersweep-model/v1',
      model: 'cnn',
      input: { height: 48, width: 48, channels: 1 },
    });
    const model = await loadModel(modelStore);
    const test = await reader.loadSplit('test');
    const again = await predictSplit(model, test, 128, 7);
    disposeModel(model);
    expect(Array.from(again.predictions)).toEqual(evaluated.predictions);
    await seen.stop();
    await bus.close();
  }, 180_000);

  it('evaluates with the rescale it trained with (augmentation.rescale: 1 keeps 0–255 pixels)', async () => {
    const bus = createMemoryBus();
    const seen = await collect(bus);
    const result = await runTrial({
      spec: spec({ trial: 'cnn-raw', epochs: 1, augmentation: { rescale: 1 } }),
      openStore,
      bus,
      logger,
      runtime,
      threads,
    });
    const evaluated = seen.events.find((e) => e.type === 'trial.evaluated');
    if (evaluated?.type !== 'trial.evaluated') throw new Error('no evaluation');
    const modelStore = openStore(result.modelUri.replace(/\/$/, ''));
    const meta = JSON.parse((await modelStore.get('metadata.json')).toString());
    expect(meta.preprocessing.rescale).toBe(1);
    const model = await loadModel(modelStore);
    const test = await (await DatasetReader.open(openStore(`file://${dir}/data`))).loadSplit('test');
    const raw = await predictSplit(model, test, 128, 7, 1);
    const scaled = await predictSplit(model, test, 128, 7, 1 / 255);
    disposeModel(model);
    // What the trainer reported is what the model predicts on the pixels it was trained on …
    expect(Array.from(raw.predictions)).toEqual(evaluated.predictions);
    // … and that differs from [0, 1] inputs, so the check above can tell the two apart.
    expect(Array.from(scaled.predictions)).not.toEqual(evaluated.predictions);
    await seen.stop();
    await bus.close();
  }, 180_000);

  it('resumes after an interruption from the checkpoint, with continuous history and no duplicate epoch events', async () => {
    const bus = createMemoryBus();
    const seen = await collect(bus);
    const s = spec({ trial: 'cnn-resume', epochs: 3 });
    // Abort in the middle of epoch 2 (the first epoch has 18 batches of 32).
    const controller = new AbortController();
    const sub = await bus.consume({
      durable: 'abort',
      handler: (d) => {
        if (d.event?.type === 'trial.epoch' && d.event.epoch === 1) setTimeout(() => controller.abort(), 300);
      },
    });
    const before = tf.memory().numTensors;
    await expect(
      runTrial({ spec: s, openStore, bus, logger, runtime, threads, signal: controller.signal }),
    ).rejects.toBeInstanceOf(InterruptedError);
    expect(tf.memory().numTensors).toBe(before);
    await sub.stop();

    const result = await runTrial({ spec: s, openStore, bus, logger, runtime, threads });
    await new Promise((r) => setTimeout(r, 50));
    expect(result.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    const epochs = seen.events
      .filter((e) => e.type === 'trial.epoch')
      .map((e) => (e.type === 'trial.epoch' ? e.epoch : 0));
    expect(epochs).toEqual([1, 2, 3]); // the bus dedupes by id: a replayed epoch would be dropped, none is replayed
    const failed = seen.events.find((e) => e.type === 'trial.failed');
    expect(failed).toMatchObject({ code: 'Interrupted', retryable: true, exitCode: 75, attempt: 1 });
    const restarted = seen.events.filter((e) => e.type === 'trial.started');
    expect(restarted).toHaveLength(1); // attempt 2's started event has attempt 1's id: deduplicated
    expect(seen.events[seen.events.length - 1]).toMatchObject({ type: 'trial.completed', epochs: 3, attempt: 2 });
    await seen.stop();
    await bus.close();
  }, 180_000);

  it('fails permanently on an unknown model and on bad params, publishing trial.failed', async () => {
    const bus = createMemoryBus();
    const seen = await collect(bus);
    await expect(
      runTrial({ spec: spec({ trial: 'bad-1', model: 'resnet' }), openStore, bus, logger, runtime, threads }),
    ).rejects.toThrow(/resnet/);
    await expect(
      runTrial({ spec: spec({ trial: 'bad-2', params: { width: 7 } }), openStore, bus, logger, runtime, threads }),
    ).rejects.toThrow(/width/);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.events.map((e) => (e.type === 'trial.failed' ? [e.trial, e.exitCode, e.retryable] : e.type))).toEqual([
      ['bad-1', 42, false],
      ['bad-2', 42, false],
    ]);
    await seen.stop();
    await bus.close();
  });

  it('fails with the data exit code when the dataset does not exist', async () => {
    const bus = createMemoryBus();
    await expect(
      runTrial({
        spec: spec({ trial: 'nodata', dataset: `file://${dir}/nope` }),
        openStore,
        bus,
        logger,
        runtime,
        threads,
      }),
    ).rejects.toThrow(/no dataset at/);
    await bus.close();
  });
});
