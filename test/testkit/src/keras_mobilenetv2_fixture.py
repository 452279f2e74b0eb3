"""Writes a keras.applications MobileNetV2(include_top=False) weight file with random weights, in Keras 2's
exact HDF5 layout (keras/saving/hdf5_format.py save_weights_to_hdf5_group), for fersweep's tests:

  /                       attrs layer_names (every layer in model order), backend, keras_version
  /<layer>                one group per layer (weightless ones too), attr weight_names
  /<layer>/<weight name>  one float32 dataset per weight, e.g. /Conv1/Conv1/kernel:0

The layer plan follows keras/applications/mobilenet_v2.py (written from it, not from fersweep's TypeScript).
Next to OUT it writes OUT.truth.bin (every weight's float32 values, concatenated) and OUT.truth.json
([{layer, param, shape, offset}]) as the ground truth the loaded model is compared with.

usage: keras_mobilenetv2_fixture.py OUT ALPHA SEED [--drop LAYER] [--wrong-shape LAYER] [--whole-model]
       [--chunk-layer-names]
"""
import argparse
import json

import h5py
import numpy as np


def make_divisible(v, divisor=8, min_value=None):
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def bn(name, channels):
    return (name, [(p, (channels,)) for p in ('gamma', 'beta', 'moving_mean', 'moving_variance')])


def layer_plan(alpha):
    layers = [('input_1', [])]
    first = make_divisible(32 * alpha, 8)
    layers += [('Conv1', [('kernel', (3, 3, 3, first))]), bn('bn_Conv1', first), ('Conv1_relu', [])]
    state = {'in': first}

    def block(filters, stride, expansion, block_id):
        in_ch = state['in']
        out = make_divisible(int(filters * alpha), 8)
        prefix = 'block_{}_'.format(block_id) if block_id else 'expanded_conv_'
        ch = in_ch
        if block_id:
            ch = expansion * in_ch
            layers.extend([(prefix + 'expand', [('kernel', (1, 1, in_ch, ch))]), bn(prefix + 'expand_BN', ch),
                           (prefix + 'expand_relu', [])])
        if stride == 2:
            layers.append((prefix + 'pad', []))
        layers.extend([(prefix + 'depthwise', [('depthwise_kernel', (3, 3, ch, 1))]), bn(prefix + 'depthwise_BN', ch),
                       (prefix + 'depthwise_relu', []), (prefix + 'project', [('kernel', (1, 1, ch, out))]),
                       bn(prefix + 'project_BN', out)])
        if in_ch == out and stride == 1:
            layers.append((prefix + 'add', []))
        state['in'] = out

    block(16, 1, 1, 0)
    block(24, 2, 6, 1); block(24, 1, 6, 2)
    block(32, 2, 6, 3); block(32, 1, 6, 4); block(32, 1, 6, 5)
    block(64, 2, 6, 6); block(64, 1, 6, 7); block(64, 1, 6, 8); block(64, 1, 6, 9)
    block(96, 1, 6, 10); block(96, 1, 6, 11); block(96, 1, 6, 12)
    block(160, 2, 6, 13); block(160, 1, 6, 14); block(160, 1, 6, 15)
    block(320, 1, 6, 16)
    last = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    layers += [('Conv_1', [('kernel', (1, 1, state['in'], last))]), bn('Conv_1_bn', last), ('out_relu', [])]
    return layers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('alpha', type=float)
    ap.add_argument('seed', type=int)
    ap.add_argument('--drop', help='leave this layer out')
    ap.add_argument('--wrong-shape', help="give this layer's first weight one channel too many")
    ap.add_argument('--whole-model', action='store_true', help="nest the weights in model_weights, as model.save does")
    ap.add_argument('--chunk-layer-names', action='store_true',
                    help='split layer_names into layer_names0, layer_names1 (keras does so past 64 KiB)')
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    plan = [l for l in layer_plan(args.alpha) if l[0] != args.drop]
    truth, chunks, offset = [], [], 0
    with h5py.File(args.out, 'w') as h5:
        f = h5.create_group('model_weights') if args.whole_model else h5
        layer_names = np.asarray([name.encode('utf8') for name, _ in plan])
        if args.chunk_layer_names:
            for i, chunk in enumerate(np.array_split(layer_names, 2)):
                f.attrs['layer_names%d' % i] = chunk
        else:
            f.attrs['layer_names'] = layer_names
        f.attrs['backend'] = 'tensorflow'.encode('utf8')
        f.attrs['keras_version'] = '2.2.4'.encode('utf8')
        for name, weights in sorted(plan, key=lambda l: l[0]):
            g = f.create_group(name)
            names = ['{}/{}:0'.format(name, p).encode('utf8') for p, _ in weights]
            g.attrs['weight_names'] = np.asarray(names)
            for i, ((param, shape), wname) in enumerate(zip(weights, names)):
                if name == args.wrong_shape and i == 0:
                    shape = shape[:-1] + (shape[-1] + 1,)
                values = rng.standard_normal(shape).astype('<f4')
                if param == 'moving_variance':
                    values = np.abs(values) + np.float32(0.1)
                d = g.create_dataset(wname, shape, dtype='<f4')
                d[:] = values
                truth.append({'layer': name, 'param': param, 'shape': list(shape), 'offset': offset})
                chunks.append(values.tobytes())
                offset += values.nbytes
    with open(args.out + '.truth.bin', 'wb') as out:
        out.write(b''.join(chunks))
    with open(args.out + '.truth.json', 'w') as out:
        json.dump(truth, out)


if __name__ == '__main__':
    main()
