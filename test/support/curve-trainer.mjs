// A stand-in for `fersweep train` in scheduler tests on the fake Kubernetes API server: publishes a
// scripted learning curve to NATS (valAccuracy = min(1, 200·learningRate)·e/(e+1) at epoch e), one
// epoch every 400 ms, then trial.completed; SIGTERM (the Job deleted) ends it at once with exit 75.
// Reads `train --trial <json>` as the real trainer does; NATS_URL from the Job's environment.
import { eventId } from '@fersweep/contracts';
import { busFromEnv } from '@fersweep/messaging';

const spec = JSON.parse(process.argv[process.argv.indexOf('--trial') + 1]);
const bus = await busFromEnv(process.env);
process.on('SIGTERM', () => process.exit(75));
const base = { sweep: spec.sweep, trial: spec.trial, variant: spec.variant, attempt: 1 };
const level = Math.min(1, 200 * (spec.params.learningRate ?? 0.001));
for (let e = 1; e <= spec.epochs; e++) {
  await new Promise((r) => setTimeout(r, 400));
  const acc = (level * e) / (e + 1);
  await bus.publish({
    ...base,
    id: eventId({ ...base, type: 'trial.epoch', epoch: e }),
    type: 'trial.epoch',
    time: new Date().toISOString(),
    epoch: e,
    loss: 1 - acc,
    accuracy: acc,
    valLoss: 1 - acc,
    valAccuracy: acc,
    learningRate: spec.params.learningRate ?? 0.001,
    imagesPerSecond: 100,
    seconds: 0.4,
  });
}
await bus.publish({
  ...base,
  id: eventId({ ...base, type: 'trial.completed' }),
  type: 'trial.completed',
  time: new Date().toISOString(),
  epochs: spec.epochs,
  bestEpoch: spec.epochs,
  stoppedEarly: false,
  modelUri: `${spec.output}/model`,
  seconds: 0.4 * spec.epochs,
});
await bus.close();
process.exit(0);
