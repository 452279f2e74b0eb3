import * as tf from '@tensorflow/tfjs';
import { DatasetReader, epochBatches } from '@fersweep/dataset';
import { buildModel, initTf, labelTensor, disposeModel } from '@fersweep/models';
import { openStore } from '@fersweep/storage';
await initTf({ prefer: 'wasm' });
const [model, paramsJson, lr, augJson] = process.argv.slice(2);
const reader = await DatasetReader.open(openStore('file:///tmp/demo-full/fersweep-data/datasets/demo-3000'));
const train = await reader.loadSplit('train'); const val = await reader.loadSplit('val');
const params = { ...JSON.parse(paramsJson), learningRate: Number(lr) };
const { model: m } = await buildModel(model, params, { height: 48, width: 48, channels: 1, numClasses: 7 }, { seed: 1 });
const aug = augJson ? JSON.parse(augJson) : undefined;
for (let e = 0; e < 6; e++) {
  let correct = 0, n = 0, loss = 0; const t = performance.now();
  for (const b of epochBatches({ data: train, batchSize: 32, seed: 1, epoch: e, shuffle: true, ...(aug ? { augmentation: aug } : {}) })) {
    const xs = tf.tensor4d(b.xs, [b.size, 48, 48, 1]); const ys = labelTensor(b.labels, 7);
    const [l, a] = await m.trainOnBatch(xs, ys); xs.dispose(); ys.dispose();
    loss += l * b.size; correct += a * b.size; n += b.size;
  }
  let vc = 0;
  for (const b of epochBatches({ data: val, batchSize: 128, seed: 0, epoch: 0, shuffle: false })) {
    const p = tf.tidy(() => (m.predict(tf.tensor4d(b.xs, [b.size, 48, 48, 1]))).argMax(-1).dataSync());
    for (let i = 0; i < b.size; i++) if (p[i] === b.labels[i]) vc++;
  }
  console.log(model, lr, `epoch ${e + 1} loss ${(loss / n).toFixed(3)} acc ${(correct / n).toFixed(3)} val ${(vc / val.count).toFixed(3)} ${((performance.now() - t) / 1000).toFixed(0)}s`);
}
disposeModel(m);
