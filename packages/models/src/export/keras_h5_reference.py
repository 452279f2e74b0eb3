"""Runs a Keras HDF5 model file with numpy, by Keras' documented layer semantics, without Keras.

No Keras/TensorFlow is installable here, so this stands in for `keras.models.load_model(file).predict(x)`
in fersweep's export tests: it reads only what Keras' HDF5 loader reads (the `model_config` attribute and
`model_weights/<layer>/<weight_names>`), builds the functional graph from the config's `inbound_nodes`, and
evaluates each layer from its Keras config keys (`padding`, `strides`, `use_bias`, `max_value`, ...), with
TF's 'same' padding and channels-last tensors. Unknown layers or config values fail loudly.

usage: keras_h5_reference.py MODEL.h5 INPUT.bin SHAPE OUTPUT.bin  (raw little-endian float32; SHAPE as JSON)
"""
import json
import sys

import h5py
import numpy as np


def text(v):
    return v.decode("utf8") if hasattr(v, "decode") else str(v)


def activation(name, x):
    if name == "linear":
        return x
    if name == "relu":
        return np.maximum(x, 0)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    raise ValueError(f"activation {name} not supported by this reference")


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def same_pads(size, k, s, d):
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def pad_input(x, c, kh, kw, value=0.0):
    sh, sw = pair(c.get("strides", 1))
    dh, dw = pair(c.get("dilation_rate", 1))
    if c["padding"] == "valid":
        return x, sh, sw, dh, dw
    if c["padding"] != "same":
        raise ValueError(f"padding {c['padding']}")
    (t, b), (l, r) = same_pads(x.shape[1], kh, sh, dh), same_pads(x.shape[2], kw, sw, dw)
    return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=value), sh, sw, dh, dw


def windows(x, kh, kw, sh, sw, dh, dw):
    """Yields (i, j, the input pixels tap (i, j) of every output position reads)."""
    oh = (x.shape[1] - (kh - 1) * dh - 1) // sh + 1
    ow = (x.shape[2] - (kw - 1) * dw - 1) // sw + 1
    for i in range(kh):
        for j in range(kw):
            yield i, j, x[:, i * dh : i * dh + sh * (oh - 1) + 1 : sh, j * dw : j * dw + sw * (ow - 1) + 1 : sw, :]


def conv2d(c, x, w):
    k = w["kernel"]
    x, sh, sw, dh, dw = pad_input(x, c, k.shape[0], k.shape[1])
    y = sum(np.tensordot(v, k[i, j], axes=([3], [0])) for i, j, v in windows(x, k.shape[0], k.shape[1], sh, sw, dh, dw))
    if c.get("use_bias", True):
        y = y + w["bias"]
    return activation(c.get("activation", "linear"), y)


def depthwise(c, x, w):
    k = w["depthwise_kernel"]  # [kh, kw, in, multiplier]
    x, sh, sw, dh, dw = pad_input(x, c, k.shape[0], k.shape[1])
    y = sum(v[..., :, None] * k[i, j] for i, j, v in windows(x, k.shape[0], k.shape[1], sh, sw, dh, dw))
    y = y.reshape(y.shape[:3] + (-1,))
    if c.get("use_bias", True):
        y = y + w["bias"]
    return activation(c.get("activation", "linear"), y)


def max_pool(c, x, w):
    kh, kw = pair(c["pool_size"])
    cfg = dict(c, strides=c.get("strides") or c["pool_size"])
    x, sh, sw, dh, dw = pad_input(x, cfg, kh, kw, value=-np.inf)
    return np.max(np.stack([v for _, _, v in windows(x, kh, kw, sh, sw, dh, dw)]), axis=0)


def batch_norm(c, x, w):
    if c.get("axis", -1) not in (-1, x.ndim - 1, [-1], [x.ndim - 1]):
        raise ValueError(f"BatchNormalization axis {c['axis']}")
    gamma = w["gamma"] if c.get("scale", True) else 1.0
    beta = w["beta"] if c.get("center", True) else 0.0
    return (x - w["moving_mean"]) / np.sqrt(w["moving_variance"] + c["epsilon"]) * gamma + beta


def relu(c, x, w):
    threshold = c.get("threshold") or 0.0
    y = np.where(x >= threshold, x, (c.get("negative_slope") or 0.0) * (x - threshold))
    return y if c.get("max_value") is None else np.minimum(y, c["max_value"])


def dense(c, x, w):
    y = np.tensordot(x, w["kernel"], axes=([x.ndim - 1], [0]))
    if c.get("use_bias", True):
        y = y + w["bias"]
    return activation(c.get("activation", "linear"), y)


LAYERS = {
    "Rescaling": lambda c, x, w: x * c["scale"] + c.get("offset", 0.0),
    "Permute": lambda c, x, w: np.transpose(x, [0] + list(c["dims"])),
    "Dense": dense,
    "Conv2D": conv2d,
    "DepthwiseConv2D": depthwise,
    "BatchNormalization": batch_norm,
    "ReLU": relu,
    "Activation": lambda c, x, w: activation(c["activation"], x),
    "MaxPooling2D": max_pool,
    "GlobalAveragePooling2D": lambda c, x, w: x.mean(axis=(1, 2)),
    "Flatten": lambda c, x, w: x.reshape(x.shape[0], -1),
    "Dropout": lambda c, x, w: x,
}
MULTI = {
    "Add": lambda c, xs, w: sum(xs),
    "Concatenate": lambda c, xs, w: np.concatenate(xs, axis=c.get("axis", -1)),
}


def main(model_file, input_file, shape, output_file):
    f = h5py.File(model_file, "r")
    config = json.loads(text(f.attrs["model_config"]))
    if config["class_name"] not in ("Functional", "Model"):
        raise ValueError(f"not a functional model: {config['class_name']}")
    g = f["model_weights"]
    outputs = {}
    for layer in config["config"]["layers"]:
        name, cls, c = layer["name"], layer["class_name"], layer["config"]
        names = [text(n) for n in g[name].attrs["weight_names"]]
        # Keras' own weight names: "<layer>/<weight>:0".
        w = {n.split("/")[-1].split(":")[0]: np.asarray(g[name][n], dtype=np.float64) for n in names}
        if cls == "InputLayer":
            outputs[name] = np.fromfile(input_file, dtype="<f4").reshape(json.loads(shape)).astype(np.float64)
            continue
        (node,) = layer["inbound_nodes"]
        xs = [outputs[src[0]] for src in node]
        if cls in MULTI:
            outputs[name] = MULTI[cls](c, xs, w)
        elif cls in LAYERS and len(xs) == 1:
            outputs[name] = LAYERS[cls](c, xs[0], w)
        else:
            raise ValueError(f"layer {name}: {cls} not supported by this reference")
    (out,) = config["config"]["output_layers"]
    outputs[out[0]].astype("<f4").tofile(output_file)


if __name__ == "__main__":
    main(*sys.argv[1:])
