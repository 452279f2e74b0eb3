#!/usr/bin/env python3
"""PyTorch peer for bench/src/models.ts: the same architectures as fersweep's tfjs variants, on CPU,
one thread (or `threads` intra-op threads: the scaling bench), measured the same way (train steps and inference on random 48x48 grayscale batches).

Run by the models benchmark with Debian's python3-torch (system python):
  /usr/bin/python3 bench/peer/torch_peer.py '{"model":"cnn","params":{"width":1},"batch":64,"steps":3}'
Prints one JSON line: {"train_img_s": ..., "infer_img_s": ..., "params": ...}.
"""
import json
import resource
import sys
import time

import torch
import torch.nn as nn

torch.set_num_threads(1)
torch.manual_seed(0)


def cnn(width=1.0, blocks=4, dense=None, classes=7, size=48):
    layers, c_in = [], 1
    for b in range(blocks):
        f = max(1, round(64 * 2**b * width))
        layers += [
            nn.Conv2d(c_in, f, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(f),
            nn.Conv2d(f, f, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(f),
            nn.MaxPool2d(2), nn.Dropout(0.25),
        ]
        c_in = f
    side = size // 2**blocks
    units = dense or [max(1, round(256 * width)), max(1, round(512 * width))]
    layers.append(nn.Flatten())
    prev = c_in * side * side
    for u in units:
        layers += [nn.Linear(prev, u), nn.ReLU(), nn.BatchNorm1d(u), nn.Dropout(0.5)]
        prev = u
    layers.append(nn.Linear(prev, classes))
    return nn.Sequential(*layers)


def make_divisible(v, divisor=8):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class InvertedResidual(nn.Module):
    def __init__(self, c_in, c_out, stride, expand):
        super().__init__()
        hidden = c_in * expand
        layers = []
        if expand != 1:
            layers += [nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden, eps=1e-3), nn.ReLU6()]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden, eps=1e-3), nn.ReLU6(),
            nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out, eps=1e-3),
        ]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        y = self.block(x)
        return x + y if self.residual else y


class MobileNetV2(nn.Module):
    """keras.applications.MobileNetV2 structure (alpha, 1280-wide top conv) with a 7-class head."""

    def __init__(self, alpha=1.0, input_size=48, classes=7):
        super().__init__()
        self.input_size = input_size
        first = make_divisible(32 * alpha)
        layers = [nn.Conv2d(3, first, 3, 2, 1, bias=False), nn.BatchNorm2d(first, eps=1e-3), nn.ReLU6()]
        c_in = first
        for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
            c_out = make_divisible(c * alpha)
            for i in range(n):
                layers.append(InvertedResidual(c_in, c_out, s if i == 0 else 1, t))
                c_in = c_out
        last = make_divisible(1280 * alpha) if alpha > 1.0 else 1280
        layers += [nn.Conv2d(c_in, last, 1, bias=False), nn.BatchNorm2d(last, eps=1e-3), nn.ReLU6()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(last, classes))

    def forward(self, x):
        x = x.repeat(1, 3, 1, 1)  # grayscale into 3 channels, as fersweep's model does
        if self.input_size != x.shape[-1]:
            x = nn.functional.interpolate(x, size=(self.input_size, self.input_size), mode='bilinear', align_corners=False)
        return self.head(self.features(x))


def build(spec):
    p = spec.get('params', {})
    if spec['model'] == 'cnn':
        return cnn(width=p.get('width', 1.0), blocks=p.get('blocks', 4))
    return MobileNetV2(alpha=p.get('alpha', 1.0), input_size=p.get('inputSize', 48))


def main():
    spec = json.loads(sys.argv[1])
    torch.set_num_threads(int(spec.get('threads', 1)))
    batch, steps, min_seconds = spec.get('batch', 64), spec.get('steps', 3), spec.get('minSeconds', 0)
    model = build(spec)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch, 1, 48, 48)
    y = torch.randint(0, 7, (batch,))
    model.train()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    def images_per_second(fn):
        # At least `steps` batches and `minSeconds` seconds, as bench/src/model-once.ts measures.
        t, n = time.perf_counter(), 0
        while n < steps or time.perf_counter() - t < min_seconds:
            fn()
            n += 1
        return batch * n / (time.perf_counter() - t)

    step()  # warm-up, for at least `warmupSeconds` as bench/src/scaling-once.ts does
    warm = time.perf_counter()
    while time.perf_counter() - warm < spec.get('warmupSeconds', 0):
        step()
    train = images_per_second(step)
    model.eval()
    with torch.no_grad():
        model(x)
        infer = images_per_second(lambda: model(x))
    print(json.dumps({'train_img_s': train, 'infer_img_s': infer, 'params': sum(p.numel() for p in model.parameters()), 'torch': torch.__version__, 'threads': torch.get_num_threads(), 'max_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == '__main__':
    main()
