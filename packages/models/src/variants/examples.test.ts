import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { SweepSpec } from '@fersweep/contracts';
import { parse } from 'yaml';
import { parseParams } from './registry.js';

const dir = join(process.cwd(), 'examples');

describe('examples/', () => {
  it.each(readdirSync(dir).filter((f) => f.endsWith('.yaml')))("%s: every variant's params fit its model", (file) => {
    const spec = SweepSpec.parse(parse(readFileSync(join(dir, file), 'utf8')));
    for (const v of spec.spec.variants) expect(() => parseParams(v.model, v.params)).not.toThrow();
  });

  it('reference-study.yaml is the study: CNN against an ImageNet-frozen MobileNetV2 with a dense head, 100 epochs', () => {
    const spec = SweepSpec.parse(parse(readFileSync(join(dir, 'reference-study.yaml'), 'utf8'))).spec;
    expect(spec.epochs).toBe(100);
    expect(spec.variants.map((v) => v.model)).toEqual(['cnn', 'mobilenetv2']);
    expect(parseParams('mobilenetv2', spec.variants[1]?.params)).toMatchObject({
      pretrained: 'imagenet',
      freezeBase: true,
      head: [1024],
    });
    expect(spec.augmentation?.rescale).toBe(1 / 255);
  });
});
