"""Hand-written PyTorch ports for the compare tests (tests/py/test_compare.py).

Each factory builds an nn.Module from a Keras .h5's weights (read with h5py,
not with k2t), once correctly and once with a classic porting bug, so that
scripts/torch_dump.py can dump its activations and 'compare' must find the
layer where the bug is:

  resnet8(h5, pad_fix=True, eps=1e-3, transpose=True)
      ../shared/models/pretrainedResnet.h5: stem (conv+bn), block1..block3
      (conv1, bn1, conv2, bn2, a 1x1 shortcut conv in 2 and 3), fc (a Linear
      without the softmax); F.relu(x + y) in forward, so the Adds and ReLUs
      have no module, and the shortcut runs after the block's body.
      pad_fix=False: the stride-2 3x3 convs use padding=1 (TF pads 0 before,
      1 after); eps: every BatchNorm2d's epsilon; transpose=False: the conv
      kernels reshaped instead of permuted; shortcut_first: blocks 2 and 3
      run their shortcut conv before the body.
  seqnet(h5, flatten_fix=True, transpose=True)
      build/fixtures/seq_dict_input.h5: Conv2d, BatchNorm2d, ReLU, MaxPool2d,
      Flatten (3x3x4), Linear, Softmax, all modules.  flatten_fix=False: the
      Linear's columns are not permuted for the CHW flatten.
"""
import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def _weights(h5):
    f = h5py.File(h5, "r")
    g = f["model_weights"]

    def W(layer, var):
        return np.array(g[layer][layer][var + ":0"])
    return W


def _set_conv(conv, W, name, transpose=True):
    k = W(name, "kernel")  # (kh, kw, cin, cout)
    if transpose:
        w = torch.from_numpy(k).permute(3, 2, 0, 1).contiguous()
    else:  # the forgotten transpose: the same buffer read as (cout, cin, kh, kw)
        w = torch.from_numpy(k.reshape(-1)).reshape(k.shape[3], k.shape[2], k.shape[0], k.shape[1])
    conv.weight.data.copy_(w)
    conv.bias.data.copy_(torch.from_numpy(W(name, "bias")))


def _set_bn(bn, W, name):
    bn.weight.data.copy_(torch.from_numpy(W(name, "gamma")))
    bn.bias.data.copy_(torch.from_numpy(W(name, "beta")))
    bn.running_mean.copy_(torch.from_numpy(W(name, "moving_mean")))
    bn.running_var.copy_(torch.from_numpy(W(name, "moving_variance")))


class Block(nn.Module):
    def __init__(self, cin, cout, stride, pad_fix, eps, shortcut_first=False):
        super().__init__()
        self.stride, self.pad_fix, self.shortcut_first = stride, pad_fix, shortcut_first
        explicit = stride > 1 and pad_fix
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, padding=0 if explicit else 1)
        self.bn1 = nn.BatchNorm2d(cout, eps=eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, padding=1)
        self.bn2 = nn.BatchNorm2d(cout, eps=eps)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride) if stride > 1 else None

    def forward(self, x):
        s = x
        if self.shortcut is not None and self.shortcut_first:
            s = self.shortcut(x)
        y = F.pad(x, (0, 1, 0, 1)) if self.stride > 1 and self.pad_fix else x
        y = F.relu(self.bn1(self.conv1(y)))
        y = self.bn2(self.conv2(y))
        if self.shortcut is not None and not self.shortcut_first:
            s = self.shortcut(x)
        return F.relu(s + y)


class ResNet8(nn.Module):
    def __init__(self, pad_fix=True, eps=1e-3, shortcut_first=False):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, padding=1), nn.BatchNorm2d(16, eps=eps))
        self.block1 = Block(16, 16, 1, pad_fix, eps)
        self.block2 = Block(16, 32, 2, pad_fix, eps, shortcut_first)
        self.block3 = Block(32, 64, 2, pad_fix, eps, shortcut_first)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = self.block3(self.block2(self.block1(x)))
        x = F.avg_pool2d(x, 8).flatten(1)
        return self.fc(x)  # logits: the softmax is left to the loss


def resnet8(h5, pad_fix=True, eps=1e-3, transpose=True, shortcut_first=False):
    W = _weights(h5)
    m = ResNet8(pad_fix, eps, shortcut_first)
    _set_conv(m.stem[0], W, "conv2d", transpose)
    _set_bn(m.stem[1], W, "batch_normalization")
    names = [("conv2d_1", "batch_normalization_1", "conv2d_2", "batch_normalization_2", None),
             ("conv2d_3", "batch_normalization_3", "conv2d_4", "batch_normalization_4", "conv2d_5"),
             ("conv2d_6", "batch_normalization_5", "conv2d_7", "batch_normalization_6", "conv2d_8")]
    for blk, (c1, b1, c2, b2, sc) in zip((m.block1, m.block2, m.block3), names):
        _set_conv(blk.conv1, W, c1, transpose)
        _set_bn(blk.bn1, W, b1)
        _set_conv(blk.conv2, W, c2, transpose)
        _set_bn(blk.bn2, W, b2)
        if sc:
            _set_conv(blk.shortcut, W, sc, transpose)
    m.fc.weight.data.copy_(torch.from_numpy(W("dense", "kernel")).T)
    m.fc.bias.data.copy_(torch.from_numpy(W("dense", "bias")))
    return m.eval()


def seqnet(h5, flatten_fix=True, transpose=True):
    W = _weights(h5)
    m = nn.Sequential()
    m.add_module("conv", nn.Conv2d(3, 4, 3))
    m.add_module("bn", nn.BatchNorm2d(4, eps=1e-3))
    m.add_module("relu", nn.ReLU())
    m.add_module("pool", nn.MaxPool2d(2))
    m.add_module("flatten", nn.Flatten())
    m.add_module("fc", nn.Linear(36, 3))
    m.add_module("softmax", nn.Softmax(dim=1))
    _set_conv(m.conv, W, "conv2d", transpose)
    _set_bn(m.bn, W, "batch_normalization")
    k = W("dense", "kernel")  # (36, 3), rows in HWC order (h*W + w)*C + c
    if flatten_fix:  # the Linear's columns in CHW order: c*H*W + h*W + w
        H, Wd, C = 3, 3, 4
        k = k.reshape(H, Wd, C, -1).transpose(2, 0, 1, 3).reshape(H * Wd * C, -1)
    m.fc.weight.data.copy_(torch.from_numpy(np.ascontiguousarray(k.T)))
    m.fc.bias.data.copy_(torch.from_numpy(W("dense", "bias")))
    return m.eval()
