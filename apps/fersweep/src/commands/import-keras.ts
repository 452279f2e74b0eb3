import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Command } from 'commander';
import type { ObjectStore } from '@fersweep/storage';
import { cannotRead } from '../errors.js';
import type { Io } from './dataset.js';

/**
 * `fersweep models import-keras FILE.h5 [--name NAME] [--store URL]`: validates a keras MobileNetV2 no-top weight
 * file (HDF5 layout, every layer's shape; alpha from the shapes), stores it content-addressed under
 * `pretrained/keras/` and indexes it by file name, then prints the params that use it. What the offline error of
 * `pretrained: imagenet` tells a user to run.
 */
export function importKerasCommand(io: Io, openRoot: (flag: string | undefined) => Promise<ObjectStore>): Command {
  return new Command('import-keras')
    .description(
      'put a keras MobileNetV2 no-top weight file (keras.applications, .h5) into the store for pretrained: imagenet',
    )
    .argument('<file>', 'e.g. mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5')
    .option('--name <name>', "the keras file name it stands for (default: the file's own name)")
    .option(
      '--store <url>',
      'artifact root: s3://bucket/prefix, file:///path or a path (default FERSWEEP_STORE or ./fersweep-data)',
    )
    .action(async (file: string, flags: { name?: string; store?: string }) => {
      const { storeKerasWeights, parseKerasMobileNetV2FileName } = await import('@fersweep/models');
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (err) {
        throw cannotRead(`weight file ${file}`, err);
      }
      const root = await openRoot(flags.store);
      const name = flags.name ?? basename(file);
      const { entry, url } = await storeKerasWeights(root, bytes, name, `import:${basename(file)}`, file);
      io.out(
        `stored ${file} (MobileNetV2 α ${entry.alpha}, ${(entry.bytes / 2 ** 20).toFixed(1)} MiB, sha256 ${entry.sha256}) as ${url}, indexed as ${name}\n`,
      );
      const keras = parseKerasMobileNetV2FileName(name);
      if (keras !== undefined) {
        const sizes = keras.size === 96 ? 'inputSize 48 or 96' : `inputSize ${keras.size}`;
        io.out(`use it with (${sizes}; trainers given --store ${root.url} as their artifact root find it):\n`);
        io.out(`  params: { alpha: ${entry.alpha}, inputSize: ${keras.size}, pretrained: imagenet }\n`);
      } else {
        io.out(`use it with:\n  params: { alpha: ${entry.alpha}, pretrained: ${url} }\n`);
      }
    });
}
