#!/usr/bin/python3
"""demo_port.py -- a hand-written PyTorch port of the demo model, with the bugs of a first try.

    /usr/bin/python3 scripts/demo_port.py [OUTDIR]     (default: demo/ next to scripts/)

Lesson 11 (scripts/lessons/11-port-end-to-end.k2t) fixes this port with k2t's compare.  The port is
what a careful person writes from the Keras summary: weights permuted into PyTorch's layouts, the
BatchNorm epsilon and model.eval() right; and, as most first ports do, nn.Conv2d(padding=1) on the
two stride-2 3x3 convolutions and a plain x.flatten(1) before the Dense.  DemoPort(fixed=...) takes
the fixes the lesson applies, one at a time:

  "pad"      F.pad(x, (0, 1, 0, 1)) then padding=0 on conv2d_3 and conv2d_6 (TF's 'same' at stride 2)
  "flatten"  x.permute(0, 2, 3, 1).flatten(1): the Dense reads H, W, C as Keras's Flatten does

Writes three activation dumps of the port, made with scripts/torch_dump.py on the first two images
of demo/demo-test.bin (raw pixels, as the demo was trained):

  OUTDIR/port-1.npz   the first try (both bugs)
  OUTDIR/port-2.npz   the padding fixed
  OUTDIR/port-3.npz   both fixed: the port computes what Keras computes

Deterministic (no randomness, one thread): two runs give the same arrays.  Needs Debian's
python3-torch, python3-h5py and python3-numpy; a few seconds.
"""
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torch_dump import dump  # noqa: E402


class DemoPort(nn.Module):
    """demo.h5 in PyTorch: stem, three residual blocks (16, 32, 48 filters), 2x2 average pool, Dense."""

    def __init__(self, fixed=()):
        super().__init__()
        self.fixed = set(fixed)
        s2 = 0 if "pad" in self.fixed else 1     # the bug: padding=1 pads top and left too
        self.conv2d, self.bn = nn.Conv2d(3, 16, 3, 1, 1), nn.BatchNorm2d(16, eps=1e-3)
        self.conv2d_1, self.bn_1 = nn.Conv2d(16, 16, 3, 1, 1), nn.BatchNorm2d(16, eps=1e-3)
        self.conv2d_2, self.bn_2 = nn.Conv2d(16, 16, 3, 1, 1), nn.BatchNorm2d(16, eps=1e-3)
        self.conv2d_3, self.bn_3 = nn.Conv2d(16, 32, 3, 2, s2), nn.BatchNorm2d(32, eps=1e-3)
        self.conv2d_4, self.bn_4 = nn.Conv2d(32, 32, 3, 1, 1), nn.BatchNorm2d(32, eps=1e-3)
        self.conv2d_5 = nn.Conv2d(16, 32, 1, 2)
        self.conv2d_6, self.bn_5 = nn.Conv2d(32, 48, 3, 2, s2), nn.BatchNorm2d(48, eps=1e-3)
        self.conv2d_7, self.bn_6 = nn.Conv2d(48, 48, 3, 1, 1), nn.BatchNorm2d(48, eps=1e-3)
        self.conv2d_8 = nn.Conv2d(32, 48, 1, 2)
        self.dense = nn.Linear(192, 10)

    def pad(self, x):
        return F.pad(x, (0, 1, 0, 1)) if "pad" in self.fixed else x

    def forward(self, x):              # x: N,3,32,32 raw pixels
        x = F.relu(self.bn(self.conv2d(x)))
        y = F.relu(self.bn_1(self.conv2d_1(x)))
        x = F.relu(x + self.bn_2(self.conv2d_2(y)))
        y = F.relu(self.bn_3(self.conv2d_3(self.pad(x))))
        x = F.relu(self.conv2d_5(x) + self.bn_4(self.conv2d_4(y)))
        y = F.relu(self.bn_5(self.conv2d_6(self.pad(x))))
        x = F.relu(self.conv2d_8(x) + self.bn_6(self.conv2d_7(y)))
        x = F.avg_pool2d(x, 4)
        if "flatten" in self.fixed:
            x = x.permute(0, 2, 3, 1)  # Keras flattens H, W, C
        return F.softmax(self.dense(x.flatten(1)), 1)


def load_keras(port, h5):
    """Copy demo.h5's weights into the port: kernels HWIO -> OIHW, Dense (in, out) -> (out, in)."""
    with h5py.File(h5, "r") as f:
        g = f["model_weights"]

        def w(layer, var):
            return torch.from_numpy(np.array(g[layer][layer][var + ":0"]))
        for name, mod in port.named_children():
            if isinstance(mod, nn.Conv2d):
                mod.weight.data.copy_(w(name, "kernel").permute(3, 2, 0, 1))
                mod.bias.data.copy_(w(name, "bias"))
            elif isinstance(mod, nn.BatchNorm2d):
                k = "batch_normalization" + name[2:]        # bn_3 -> batch_normalization_3
                mod.weight.data.copy_(w(k, "gamma"))
                mod.bias.data.copy_(w(k, "beta"))
                mod.running_mean.copy_(w(k, "moving_mean"))
                mod.running_var.copy_(w(k, "moving_variance"))
            elif isinstance(mod, nn.Linear):
                mod.weight.data.copy_(w(name, "kernel").T)
                mod.bias.data.copy_(w(name, "bias"))
    return port.eval()


def cifar_images(path, first, count):
    """Images first..first+count-1 of a CIFAR-10 binary file, uint8 NHWC."""
    raw = np.fromfile(path, dtype=np.uint8).reshape(-1, 3073)[first:first + count]
    return raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.join(HERE, "..", "demo")
    torch.set_num_threads(1)
    h5 = os.path.join(out, "demo.h5")
    x = cifar_images(os.path.join(out, "demo-test.bin"), 0, 2)
    for name, fixed in (("port-1.npz", ()), ("port-2.npz", ("pad",)), ("port-3.npz", ("pad", "flatten"))):
        dump(load_keras(DemoPort(fixed), h5), x, os.path.join(out, name), compress=True)
        print("wrote %s" % os.path.join(out, name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
