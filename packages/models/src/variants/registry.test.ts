import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';
import { disposeModel } from './common.js';
import { ModelError } from './errors.js';
import { buildModel, getVariant, parseParams, VARIANT_NAMES } from './registry.js';
import { FER_INPUT, useWasm } from './test-support.js';

beforeAll(useWasm);

function thrown(f: () => unknown): ModelError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ModelError);
    return err as ModelError;
  }
  throw new Error('expected a ModelError');
}

async function rejected(p: Promise<unknown>): Promise<ModelError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ModelError);
    return err as ModelError;
  }
  throw new Error('expected a ModelError');
}

describe('the variant registry', () => {
  it('knows cnn and mobilenetv2', () => {
    expect(VARIANT_NAMES).toEqual(['cnn', 'mobilenetv2']);
    expect(getVariant('cnn').name).toBe('cnn');
    expect(getVariant('mobilenetv2').description).toMatch(/MobileNetV2/);
  });

  it('rejects an unknown model with UnknownModel naming the known ones', () => {
    const err = thrown(() => getVariant('resnet50'));
    expect(err.code).toBe('UnknownModel');
    expect(err.message).toBe("unknown model 'resnet50': use one of cnn, mobilenetv2");
    expect(err.where.known).toEqual(['cnn', 'mobilenetv2']);
    expect(thrown(() => parseParams('resnet50', {})).code).toBe('UnknownModel');
  });

  it('parses {} (and a missing params object) to the reference configurations', () => {
    expect(parseParams('cnn', {})).toEqual({
      width: 1,
      blocks: 4,
      dropout: 0.25,
      denseDropout: 0.5,
      learningRate: 1e-3,
      l2: 0,
      batchNormMomentum: 0.99,
    });
    expect(parseParams('mobilenetv2', undefined)).toEqual({
      alpha: 1,
      inputSize: 48,
      freezeBase: false,
      head: [],
      dropout: 0.2,
      learningRate: 1e-3,
      batchNormMomentum: 0.99,
    });
  });

  it('names the field and the allowed values of a bad alpha', () => {
    const err = thrown(() => parseParams('mobilenetv2', { alpha: 0.6 }));
    expect(err.code).toBe('InvalidParams');
    expect(err.where.field).toBe('params.alpha');
    expect(err.message).toBe('mobilenetv2: params.alpha: must be one of 0.35, 0.5, 0.75, 1, 1.3, 1.4');
  });

  it('reports every bad field, nested paths and unknown parameters', () => {
    const err = thrown(() => parseParams('cnn', { width: 4, blocks: 2.5, widht: 1 }));
    expect(err.where.field).toBe('params.width');
    expect(err.message).toContain('params.width: ');
    expect(err.message).toContain('params.blocks: ');
    expect(err.message).toContain('params.widht: unknown parameter (known: width, blocks,');
    const nested = thrown(() =>
      parseParams('mobilenetv2', { pretrained: 'file:///w', freezeBase: true, fineTuneAt: { epoch: 2, layers: 500 } }),
    );
    expect(nested.where.field).toBe('params.fineTuneAt.layers');
  });

  it('refuses to freeze a base that has no pretrained weights', () => {
    const err = thrown(() => parseParams('mobilenetv2', { freezeBase: true }));
    expect(err.where.field).toBe('params.freezeBase');
    expect(err.message).toBe(
      'mobilenetv2: params.freezeBase: freezing a randomly initialised base trains only the head: set params.pretrained or freezeBase: false',
    );
    expect(thrown(() => parseParams('mobilenetv2', { fineTuneAt: { epoch: 1, layers: 10 } })).where.field).toBe(
      'params.fineTuneAt',
    );
  });

  it('rejects inputs a variant cannot take with IncompatibleInput', async () => {
    const before = tf.memory().numTensors;
    const tiny = await rejected(buildModel('cnn', {}, { ...FER_INPUT, height: 8, width: 8 }));
    expect(tiny.code).toBe('IncompatibleInput');
    expect(tiny.message).toMatch(/4 pooling blocks shrink a 8×8 image below 1 pixel/);
    // Two blocks only halve twice: 8×8 is fine then.
    const ok = await buildModel('cnn', { width: 0.125, blocks: 2 }, { ...FER_INPUT, height: 8, width: 8 });
    disposeModel(ok.model);
    const rgba = await rejected(buildModel('mobilenetv2', { alpha: 0.35 }, { ...FER_INPUT, channels: 4 }));
    expect(rgba.code).toBe('IncompatibleInput');
    expect(rgba.where.field).toBe('input.channels');
    const oneClass = await rejected(buildModel('cnn', {}, { ...FER_INPUT, numClasses: 1 }));
    expect(oneClass.where.field).toBe('input.numClasses');
    expect(tf.memory().numTensors).toBe(before);
  });
});
