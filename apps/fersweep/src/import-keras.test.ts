import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { keys } from '@fersweep/contracts';
import { buildModel, disposeModel, initTf, kerasMobileNetV2FileName, ModelError } from '@fersweep/models';
import { openStore } from '@fersweep/storage';
import { writeKerasMobileNetV2Fixture } from '@fersweep/testkit';
import { cli } from './testing/cli.js';

let dir: string;
let fixture: string;
beforeAll(async () => {
  await initTf({ prefer: 'wasm' });
  dir = await mkdtemp(join(tmpdir(), 'fersweep-import-keras-'));
  fixture = join(dir, 'weights-from-somewhere.h5');
  await writeKerasMobileNetV2Fixture(fixture, 0.35, 4);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const FER = { height: 48, width: 48, channels: 1, numClasses: 7 };
const name = kerasMobileNetV2FileName(0.35, 96);

describe('fersweep models import-keras', () => {
  it('does what the offline error says: the imported file is what pretrained: imagenet then loads', async () => {
    const root = pathToFileURL(join(dir, 'store-a')).href;
    const offline = { artifactRoot: root, kerasWeightsUrl: 'http://127.0.0.1:9/nothing' };
    const err = await buildModel('mobilenetv2', { alpha: 0.35, pretrained: 'imagenet' }, FER, offline).catch(
      (e: unknown) => e as ModelError,
    );
    expect(err).toBeInstanceOf(ModelError);
    const advice = /`fersweep (models import-keras (\S+) --store (\S+))`/.exec((err as ModelError).message);
    expect(advice?.[2]).toBe(name);
    expect(advice?.[3]).toBe(root);

    await copyFile(fixture, join(dir, name));
    const imported = await cli('models', 'import-keras', join(dir, name), '--store', root);
    expect(imported).toMatchObject({ code: 0, err: '' });
    expect(imported.out).toMatch(
      /MobileNetV2 α 0\.35, 1\.9 MiB, sha256 [0-9a-f]{64}\) as file:.*\/pretrained\/keras\/[0-9a-f]{64}\.h5/,
    );
    expect(imported.out).toContain('params: { alpha: 0.35, inputSize: 96, pretrained: imagenet }');

    const built = await buildModel(
      'mobilenetv2',
      { alpha: 0.35, pretrained: 'imagenet', freezeBase: true },
      FER,
      offline,
    );
    expect(built.notes[0]).toMatch(/ImageNet weights .* from the store .* loaded into 104 of 104/);
    disposeModel(built.model);
  });

  it('indexes a file under --name, or prints its URL when the name is not keras’ own', async () => {
    const root = join(dir, 'store-b');
    const named = await cli('models', 'import-keras', fixture, '--name', name, '--store', root);
    expect(named.code).toBe(0);
    const entry = JSON.parse((await openStore(root).get(keys.kerasWeightsIndex(name))).toString()) as {
      alpha: number;
      sha256: string;
      source: string;
    };
    expect(entry).toMatchObject({ alpha: 0.35, source: 'import:weights-from-somewhere.h5' });
    expect((await openStore(root).get(keys.kerasWeights(entry.sha256))).equals(await readFile(fixture))).toBe(true);

    const plain = await cli('models', 'import-keras', fixture, '--store', root);
    expect(plain.code).toBe(0);
    expect(plain.out).toContain(
      `params: { alpha: 0.35, pretrained: ${openStore(root).url}/${keys.kerasWeights(entry.sha256)} }`,
    );
  });

  it('refuses a file that is not keras MobileNetV2 weights, or whose name says another alpha, in one line', async () => {
    const root = join(dir, 'store-c');
    const junk = join(dir, 'junk.h5');
    await writeFile(junk, 'hello');
    const notHdf5 = await cli('models', 'import-keras', junk, '--store', root);
    expect(notHdf5.code).toBe(1);
    expect(notHdf5.err).toBe(`fersweep: error: ${junk} is not a Keras HDF5 weight file: no HDF5 signature\n`);

    const wrongName = await cli(
      'models',
      'import-keras',
      fixture,
      '--name',
      kerasMobileNetV2FileName(1, 96),
      '--store',
      root,
    );
    expect(wrongName.code).toBe(1);
    expect(wrongName.err).toMatch(/holds MobileNetV2 α 0\.35 weights, but its name .*1\.0_96_no_top\.h5 says α 1/);

    const missing = await cli('models', 'import-keras', join(dir, 'nope.h5'), '--store', root);
    expect(missing).toMatchObject({
      code: 2,
      err: `fersweep: error: cannot read weight file ${join(dir, 'nope.h5')}: no such file\n`,
    });
    // Nothing was stored by the refusals.
    const stored = [];
    for await (const o of openStore(root).list()) stored.push(o.key);
    expect(stored).toEqual([]);
  });
});
