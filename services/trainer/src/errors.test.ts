import { describe, expect, it } from '@jest/globals';
import { TRAINER_EXIT, TrialSpec } from '@fersweep/contracts';
import { DatasetError } from '@fersweep/dataset';
import { MessagingError } from '@fersweep/messaging';
import { ModelError } from '@fersweep/models';
import { StoreError } from '@fersweep/storage';
import { classify, InterruptedError, SpecError } from './errors.js';

describe('classify', () => {
  it.each([
    ['a bad spec', new SpecError('trial spec: epochs: too small'), TRAINER_EXIT.invalidSpec, false],
    ['a zod error', TrialSpec.safeParse({}).error, TRAINER_EXIT.invalidSpec, false],
    ['an unknown model', new ModelError('UnknownModel', 'unknown model resnet'), TRAINER_EXIT.invalidSpec, false],
    // explainOutOfMemory's error for a wasm heap at its 4 GiB limit: retrying the same batch size cannot help.
    ['an exhausted wasm heap', new ModelError('OutOfMemory', 'needs more than 4 GiB'), TRAINER_EXIT.invalidSpec, false],
    ['a missing dataset', new DatasetError('ManifestMissing', 'no dataset'), TRAINER_EXIT.invalidData, false],
    ['a corrupt shard', new DatasetError('ShardCorrupt', 'bad shard'), TRAINER_EXIT.invalidData, false],
    ['an unreachable store', new StoreError('Unavailable', 'down'), TRAINER_EXIT.retryable, true],
    ['refused credentials', new StoreError('AccessDenied', 'denied'), TRAINER_EXIT.invalidSpec, false],
    ['an unreachable bus', new MessagingError('Unavailable', 'nats down'), TRAINER_EXIT.retryable, true],
    ['SIGTERM', new InterruptedError('stopped'), TRAINER_EXIT.retryable, true],
    ['anything else', new TypeError('x is undefined'), TRAINER_EXIT.crashed, true],
  ])('maps %s to its exit code', (_what, err, exitCode, retryable) => {
    expect(classify(err)).toMatchObject({ exitCode, retryable });
  });
});
