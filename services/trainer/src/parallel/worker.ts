/**
 * Entry point of a data-parallel training worker thread (started by DataParallel in engine.ts): one
 * {@link Replica}, driven through shared memory for steps and through messages for the rare rest.
 */
import { parentPort, resourceLimits, workerData } from 'node:worker_threads';
import { Replica, type FromReplica, type ReplicaInit, type ToReplica } from './replica.js';

const port = parentPort;
if (!port) throw new Error('parallel/worker.js runs as a worker thread of the trainer');

const replica = new Replica(workerData as ReplicaInit);
const send = (m: FromReplica, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const failed = (err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  send({ type: 'failed', name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}) });
};

port.on('message', (m: ToReplica) => {
  void (async () => {
    try {
      if (m.type === 'load') {
        await replica.load(m.model, m.gradients, m.parameters);
        send({ type: 'loaded' });
      } else if (m.type === 'setWeights') {
        replica.setWeights(m.values);
        send({ type: 'weightsSet' });
      } else if (m.type === 'predict') {
        const probabilities = await replica.evaluator().predict(m.xs, m.size);
        send({ type: 'predicted', probabilities }, [probabilities.buffer as ArrayBuffer]);
      } else if (m.type === 'moments') {
        const [moments] = await replica.evaluator().moments([{ xs: m.xs, size: m.size }]);
        send({ type: 'moments', moments: moments! });
      } else {
        const state = await replica.state();
        send({ type: 'state', ...state }, [
          ...state.weights.map((w) => w.data.buffer as ArrayBuffer),
          ...state.optimizer.map((o) => o.data.buffer as ArrayBuffer),
        ]);
      }
    } catch (err) {
      failed(err);
    }
  })();
});

try {
  send({ type: 'ready', device: await replica.start(), youngGenerationMb: resourceLimits.maxYoungGenerationSizeMb });
  await replica.serve(failed);
} catch (err) {
  failed(err);
}
