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


# ------------------------------------------------------------------------------
# Ports of the execution fixtures (scripts/gen_exec_fixtures.py), for
# tests/py/test_fixes.py.  Each takes bug=None (correct) or one named bug; a
# kernel "reshaped" is the forgotten transpose: Keras's buffer read in
# PyTorch's shape.  Pooling, concatenation and activations are functional, so
# only the layers with weights are dumped.

def _misread(k, shape):
    """The forgotten transpose: Keras's row-major buffer read as 'shape'."""
    return torch.from_numpy(np.ascontiguousarray(k).reshape(-1)).reshape(*shape)


def _load(mod, w):
    mod.weight.data.copy_(w)


def _bias(mod, W, name):
    if mod.bias is not None:
        mod.bias.data.copy_(torch.from_numpy(W(name, "bias")))


def _dw_weight(k, misread=False):
    """Keras depthwise (kh, kw, C, M) -> (C*M, 1, kh, kw)."""
    kh, kw, c, m = k.shape
    if misread:
        return _misread(k, (c * m, 1, kh, kw))
    return torch.from_numpy(k).permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw)


class _Sep(nn.Module):
    def __init__(self, cin, mult, cout, k, stride, padding):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin * mult, k, stride, padding=padding, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin * mult, cout, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class DepthwiseSeparable(nn.Module):
    """depthwise_separable.h5: 9x9x3 input; dw_m2_s2_same (M=2, stride 2, TF pads 1 each side, relu6),
    dw_valid_nobias (M=1), sep_m2_same (M=2, 3->5), sep_s2_valid (M=1, 5->4, relu), GAPs, head."""

    def __init__(self):
        super().__init__()
        self.dw_m2_s2_same = nn.Conv2d(3, 6, 3, 2, padding=1, groups=3)
        self.dw_valid_nobias = nn.Conv2d(3, 3, 3, groups=3, bias=False)
        self.sep_m2_same = _Sep(3, 2, 5, 3, 1, 1)
        self.sep_s2_valid = _Sep(5, 1, 4, 3, 2, 0)
        self.head = nn.Linear(13, 3)

    def forward(self, x):
        a = F.relu6(self.dw_m2_s2_same(x))
        b = self.dw_valid_nobias(x)
        c = self.sep_m2_same(x)
        d = F.relu(self.sep_s2_valid(c))
        y = torch.cat([t.mean((2, 3)) for t in (a, b, d)], 1)
        return self.head(y)


def depthwise_separable(h5, bug=None):
    """bug: 'dw_m2' / 'dw_m1' (that DepthwiseConv2D's kernel reshaped, not permuted),
    'sep_dw' (sep_m2_same's depthwise kernel reshaped, not permuted)."""
    W = _weights(h5)
    m = DepthwiseSeparable()
    _load(m.dw_m2_s2_same, _dw_weight(W("dw_m2_s2_same", "depthwise_kernel"), bug == "dw_m2"))
    _bias(m.dw_m2_s2_same, W, "dw_m2_s2_same")
    _load(m.dw_valid_nobias, _dw_weight(W("dw_valid_nobias", "depthwise_kernel"), bug == "dw_m1"))
    for name, mod in (("sep_m2_same", m.sep_m2_same), ("sep_s2_valid", m.sep_s2_valid)):
        _load(mod.depthwise, _dw_weight(W(name, "depthwise_kernel"), bug == "sep_dw" and name == "sep_m2_same"))
        _load(mod.pointwise, torch.from_numpy(W(name, "pointwise_kernel")).permute(3, 2, 0, 1))
        _bias(mod.pointwise, W, name)
    m.head.weight.data.copy_(torch.from_numpy(W("head", "kernel")).T)
    _bias(m.head, W, "head")
    return m.eval()


class Conv1DNet(nn.Module):
    """conv1d.h5: (11, 4) input; five Conv1D branches, 1-D pooling (functional), a softmax head."""

    def __init__(self):
        super().__init__()
        self.c1_valid = nn.Conv1d(4, 5, 3)
        self.c1_same = nn.Conv1d(4, 5, 3, padding=1)
        self.c1_s2_same = nn.Conv1d(4, 5, 3, 2, padding=1)
        self.c1_s2_valid = nn.Conv1d(4, 5, 4, 2)
        self.c1_d2 = nn.Conv1d(4, 5, 3, padding=2, dilation=2)
        self.head = nn.Linear(30, 4)

    def forward(self, x):
        a = F.relu(self.c1_valid(x))
        b = torch.tanh(self.c1_same(x))
        c = self.c1_s2_same(x)
        d = self.c1_s2_valid(x)
        e = self.c1_d2(x)
        p1 = F.max_pool1d(a, 2)
        p2 = F.avg_pool1d(b, 3, 2, padding=1, count_include_pad=False)
        p3 = F.max_pool1d(F.pad(b, (0, 1), value=float("-inf")), 2)
        p4 = F.avg_pool1d(e, 3, 2)
        gs = [p1.amax(2), p2.mean(2), p3.amax(2), p4.mean(2), c.amax(2), d.mean(2)]
        return torch.softmax(self.head(torch.cat(gs, 1)), 1)


def conv1d(h5, bug=None):
    """bug: 'c1_valid' (that Conv1D's kernel (k, in, out) reshaped to (out, in, k), not permuted)."""
    W = _weights(h5)
    m = Conv1DNet()
    for name in ("c1_valid", "c1_same", "c1_s2_same", "c1_s2_valid", "c1_d2"):
        k = W(name, "kernel")
        mod = getattr(m, name)
        _load(mod, _misread(k, (k.shape[2], k.shape[1], k.shape[0])) if bug == name
              else torch.from_numpy(k).permute(2, 1, 0))
        _bias(mod, W, name)
    m.head.weight.data.copy_(torch.from_numpy(W("head", "kernel")).T)
    _bias(m.head, W, "head")
    return m.eval()


class DenseNet(nn.Module):
    """dense.h5: (6, 5) input; Dense on the last axis (relu), LayerNorm, Flatten, Dense, a 1-D
    BatchNormalization, LayerNorm, Dense softmax."""

    def __init__(self, bn_eps=1e-3):
        super().__init__()
        self.dense_rank3 = nn.Linear(5, 4)
        self.ln_rank3 = nn.LayerNorm(4, eps=1e-3)
        self.dense_rank2 = nn.Linear(24, 7)
        self.bn_2d = nn.BatchNorm1d(7, eps=bn_eps)
        self.ln_rank2 = nn.LayerNorm(7, eps=1e-5)
        self.dense_softmax = nn.Linear(7, 4)

    def forward(self, x):
        x = self.ln_rank3(F.relu(self.dense_rank3(x)))
        x = self.ln_rank2(self.bn_2d(self.dense_rank2(x.flatten(1))))
        return torch.softmax(self.dense_softmax(x), 1)


def dense_bn(h5, bug=None):
    """bug: 'bn_eps' (nn.BatchNorm1d with PyTorch's eps 1e-5), 'dense_T' (dense_rank3's kernel
    reshaped to (out, in) instead of .T)."""
    W = _weights(h5)
    m = DenseNet(1e-5 if bug == "bn_eps" else 1e-3)
    for name in ("dense_rank3", "dense_rank2", "dense_softmax"):
        k = W(name, "kernel")
        mod = getattr(m, name)
        _load(mod, _misread(k, k.shape[::-1]) if bug == "dense_T" and name == "dense_rank3"
              else torch.from_numpy(k).T)
        _bias(mod, W, name)
    for name in ("ln_rank3", "ln_rank2"):
        getattr(m, name).weight.data.copy_(torch.from_numpy(W(name, "gamma")))
        getattr(m, name).bias.data.copy_(torch.from_numpy(W(name, "beta")))
    _set_bn(m.bn_2d, W, "bn_2d")
    return m.eval()


class _Head(nn.Module):
    """One layer with weights, then GlobalAveragePooling2D and a Dense head."""

    def __init__(self, layer, act, cout, units):
        super().__init__()
        self.layer, self.act = layer, act
        self.head = nn.Linear(cout, units)

    def forward(self, x):
        return self.head(self.act(getattr(self, "first")(x)).mean((2, 3)))


def _head_port(W, first, act, cout):
    m = _Head(None, act, cout, 3)
    del m.layer
    m.first = first
    m.head.weight.data.copy_(torch.from_numpy(W("head", "kernel")).T)
    _bias(m.head, W, "head")
    return m


def depthwise_m1(h5, bug=None):
    """depthwise_m1.h5: DepthwiseConv2D 'dw' (M=1, 3x3 'same' on 7x7x4), GAP, Dense.
    bug 'dw': its kernel (3,3,4,1) reshaped to (4,1,3,3), not permuted."""
    W = _weights(h5)
    dw = nn.Conv2d(4, 4, 3, padding=1, groups=4)
    _load(dw, _dw_weight(W("dw", "depthwise_kernel"), bug == "dw"))
    _bias(dw, W, "dw")
    m = _head_port(W, dw, lambda t: t, 4)
    return m.eval()


def separable_m1(h5, bug=None):
    """separable_m1.h5: SeparableConv2D 'sep' (M=1, 4->6, 3x3 'same', relu), GAP, Dense.
    bug 'sep_dw': its depthwise kernel reshaped, not permuted; 'sep_pw': its pointwise kernel."""
    W = _weights(h5)
    sep = _Sep(4, 1, 6, 3, 1, 1)
    _load(sep.depthwise, _dw_weight(W("sep", "depthwise_kernel"), bug == "sep_dw"))
    pk = W("sep", "pointwise_kernel")
    _load(sep.pointwise, _misread(pk, (6, 4, 1, 1)) if bug == "sep_pw"
          else torch.from_numpy(pk).permute(3, 2, 0, 1))
    _bias(sep.pointwise, W, "sep")
    m = _head_port(W, sep, F.relu, 6)
    return m.eval()


class BatchNormNet(nn.Module):
    """batchnorm.h5: five BatchNormalization on a 6x5x4 map (eps 1e-3, 1e-5 (Keras 2 fused:
    1.001e-5), no center, no scale, neither), a LayerNorm on the channels, Add, GAP."""

    def __init__(self, eps):
        super().__init__()
        for name, e in (("bn_eps1e3", 1e-3), ("bn_eps1e5", 1.001e-5), ("bn_nocenter", 1e-3),
                        ("bn_noscale", 1e-3), ("bn_neither", 1e-3)):
            setattr(self, name, nn.BatchNorm2d(4, eps=e if eps is None else eps))
        self.ln = None

    def forward(self, x):
        ys = [getattr(self, n)(x) for n in ("bn_eps1e3", "bn_eps1e5", "bn_nocenter", "bn_noscale", "bn_neither")]
        g, b = self.ln
        ys.append(F.layer_norm(x.permute(0, 2, 3, 1), (4,), g, b, eps=1e-3).permute(0, 3, 1, 2))
        return sum(ys).mean((2, 3))


def batchnorm(h5, bug=None):
    """bug 'bn_eps': every BatchNorm2d with PyTorch's default eps 1e-5."""
    f = h5py.File(h5, "r")
    g = f["model_weights"]
    m = BatchNormNet(1e-5 if bug == "bn_eps" else None)
    for name in ("bn_eps1e3", "bn_eps1e5", "bn_nocenter", "bn_noscale", "bn_neither"):
        d = g[name][name]
        bn = getattr(m, name)
        bn.weight.data.copy_(torch.from_numpy(np.array(d["gamma:0"])) if "gamma:0" in d else torch.ones(4))
        bn.bias.data.copy_(torch.from_numpy(np.array(d["beta:0"])) if "beta:0" in d else torch.zeros(4))
        bn.running_mean.copy_(torch.from_numpy(np.array(d["moving_mean:0"])))
        bn.running_var.copy_(torch.from_numpy(np.array(d["moving_variance:0"])))
    d = g["ln_4d"]["ln_4d"]
    m.ln = (torch.from_numpy(np.array(d["gamma:0"])), torch.from_numpy(np.array(d["beta:0"])))
    return m.eval()


class TransposeValid(nn.Module):
    """conv_transpose_valid.h5: five Conv2DTranspose 'valid' branches on 5x4x3 (the one with kernel 2 <
    stride 3 padded by one row and column: Keras's output is longer than the full one), GMP, Dense."""
    SPECS = [("t_valid_s2_k3", 3, 2, torch.tanh), ("t_valid_s2_k4", 4, 2, None), ("t_valid_s3_k3", 3, 3, None),
             ("t_valid_s3_k4", 4, 3, None), ("t_valid_s3_k2", 2, 3, None)]

    def __init__(self):
        super().__init__()
        for name, k, s, _ in self.SPECS:
            setattr(self, name, nn.ConvTranspose2d(3, 3, k, s, bias=name not in ("t_valid_s3_k4", "t_valid_s3_k2")))
        self.k2_bias = None
        self.head = nn.Linear(15, 3)

    def forward(self, x):
        gs = []
        for name, k, s, act in self.SPECS:
            y = getattr(self, name)(x)
            if name == "t_valid_s3_k2":
                y = F.pad(y, (0, 1, 0, 1)) + self.k2_bias.view(1, -1, 1, 1)
            if act is not None:
                y = act(y)
            gs.append(y.amax((2, 3)))
        return self.head(torch.cat(gs, 1))


def conv_transpose_valid(h5, bug=None):
    """bug 't_valid_s2_k3': that Conv2DTranspose's kernel (kh, kw, out, in) reshaped to (in, out, kh, kw)."""
    W = _weights(h5)
    m = TransposeValid()
    for name, k, s, _ in m.SPECS:
        kk = W(name, "kernel")
        mod = getattr(m, name)
        _load(mod, _misread(kk, (kk.shape[3], kk.shape[2], kk.shape[0], kk.shape[1])) if bug == name
              else torch.from_numpy(kk).permute(3, 2, 0, 1))
        if mod.bias is not None:
            _bias(mod, W, name)
    m.k2_bias = torch.from_numpy(W("t_valid_s3_k2", "bias"))
    m.head.weight.data.copy_(torch.from_numpy(W("head", "kernel")).T)
    _bias(m.head, W, "head")
    return m.eval()


# ------------------------------------------------------------------------------
# Ports with one (or several) classic bugs each, for tests/py/test_compare_bugs.py.

class ResNet8Bugs(ResNet8):
    """ResNet8 whose forward() can scale the input (x/255) and swap the stem's activation."""

    def __init__(self, pad_fix=True, eps=1e-3, scale=None, stem_act=F.relu, offset=0.0):
        super().__init__(pad_fix, eps)
        self.scale, self.stem_act, self.offset = scale, stem_act, offset

    def forward(self, x):
        if self.scale is not None:
            x = x * self.scale  # the input scaled inside the port, not in Keras
        if getattr(self, "bgr", False):
            x = (x.flip(1) - 120.0) / 60.0  # channels reversed and normalised inside the port
        x = self.stem_act(self.stem(x) + self.offset)  # offset: a bug no port convention explains
        x = self.block3(self.block2(self.block1(x)))
        x = F.avg_pool2d(x, 8).flatten(1)
        return self.fc(x)


def resnet8_bugs(h5, bugs=()):
    """pretrainedResnet.h5 with the bugs named in 'bugs':
    'input255' forward() divides the input by 255; 'never_copied' block2.conv2 keeps PyTorch's initial
    weights; 'hw_swap' block1.conv1's kernel permuted (3, 2, 1, 0) (H and W swapped); 'stem_sigmoid' /
    'stem_noact' the stem's relu replaced by sigmoid / left out; 'train' the port left in train mode;
    'eps' every BatchNorm2d with eps 1e-5; 'pad' padding=1 on the stride-2 convs; 'fc_never' fc never
    copied; 'offset' 0.25 added to the stem's output before its relu (no known convention); 'bgr'
    forward() reverses the channels and normalises ((x - 120) / 60); 'bn_nostats' the stem's
    BatchNorm2d built with track_running_stats=False (batch statistics in eval mode too)."""
    torch.manual_seed(1234)
    W = _weights(h5)
    act = torch.sigmoid if "stem_sigmoid" in bugs else (lambda t: t) if "stem_noact" in bugs else F.relu
    m = ResNet8Bugs("pad" not in bugs, 1e-5 if "eps" in bugs else 1e-3, 1 / 255 if "input255" in bugs else None,
                    act, 0.25 if "offset" in bugs else 0.0)
    m.bgr = "bgr" in bugs
    _set_conv(m.stem[0], W, "conv2d")
    if "bn_nostats" in bugs:
        m.stem[1] = nn.BatchNorm2d(16, eps=1e-3, track_running_stats=False)
        m.stem[1].weight.data.copy_(torch.from_numpy(W("batch_normalization", "gamma")))
        m.stem[1].bias.data.copy_(torch.from_numpy(W("batch_normalization", "beta")))
    else:
        _set_bn(m.stem[1], W, "batch_normalization")
    names = [("conv2d_1", "batch_normalization_1", "conv2d_2", "batch_normalization_2", None),
             ("conv2d_3", "batch_normalization_3", "conv2d_4", "batch_normalization_4", "conv2d_5"),
             ("conv2d_6", "batch_normalization_5", "conv2d_7", "batch_normalization_6", "conv2d_8")]
    for blk, (c1, b1, c2, b2, sc) in zip((m.block1, m.block2, m.block3), names):
        _set_conv(blk.conv1, W, c1)
        _set_bn(blk.bn1, W, b1)
        if not ("never_copied" in bugs and blk is m.block2):
            _set_conv(blk.conv2, W, c2)
        _set_bn(blk.bn2, W, b2)
        if sc:
            _set_conv(blk.shortcut, W, sc)
    if "hw_swap" in bugs:
        m.block1.conv1.weight.data.copy_(torch.from_numpy(W("conv2d_1", "kernel")).permute(3, 2, 1, 0))
    if "fc_never" not in bugs:
        m.fc.weight.data.copy_(torch.from_numpy(W("dense", "kernel")).T)
        m.fc.bias.data.copy_(torch.from_numpy(W("dense", "bias")))
    return m.train() if "train" in bugs else m.eval()


class _SepEq(nn.Module):
    def __init__(self):
        super().__init__()
        self.sep_a = _Sep(4, 1, 4, 3, 1, 1)
        self.sep_b = _Sep(4, 1, 4, 3, 2, 0)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        x = self.sep_b(F.relu(self.sep_a(x)))
        return self.head(x.mean((2, 3)))


def separable_eq(h5, bug=None):
    """separable_eq.h5 (Xception-style: SeparableConv2D 4->4): a correct port, every half a module."""
    W = _weights(h5)
    m = _SepEq()
    for name in ("sep_a", "sep_b"):
        mod = getattr(m, name)
        _load(mod.depthwise, _dw_weight(W(name, "depthwise_kernel")))
        _load(mod.pointwise, torch.from_numpy(W(name, "pointwise_kernel")).permute(3, 2, 0, 1))
        _bias(mod.pointwise, W, name)
    m.head.weight.data.copy_(torch.from_numpy(W("head", "kernel")).T)
    _bias(m.head, W, "head")
    return m.eval()


# ------------------------------------------------------------------------------
# A correct port of any plain chain of Conv2D, DepthwiseConv2D, BatchNormalization, Activation,
# pooling, Flatten and Dense (vww_96.h5, MobileNet v1), built from the .h5's config and weights:
# TF's 'same' pads with F.pad (asymmetric when they must be), modules named as the Keras layers.

def _tf_pads(n, k, s, d=1):
    ke = (k - 1) * d + 1
    out = -(-n // s)
    total = max((out - 1) * s + ke - n, 0)
    return total // 2, total - total // 2


class Chain(nn.Module):
    def __init__(self, steps):
        super().__init__()
        self.steps = steps  # [(name, kind, extra)]
        for name, kind, extra in steps:
            if isinstance(extra, dict) and "module" in extra:
                self.add_module(name, extra["module"])

    def forward(self, x):
        for name, kind, extra in self.steps:
            if extra.get("pad"):
                x = F.pad(x, extra["pad"])
            x = getattr(self, name)(x)
            act = extra.get("act", "linear")
            if act == "relu":
                x = F.relu(x)
            elif act == "softmax":
                x = torch.softmax(x, 1)
            elif act != "linear":
                raise ValueError(act)
        return x


def chain(h5, bugs=()):
    """bugs: 'eps' (every BatchNorm2d with eps 1e-5), 'pad' (nn.Conv2d(padding=k//2) for 'same', no
    F.pad: wrong where TF pads asymmetrically), 'dw_hw' (the first DepthwiseConv2D's kernel with H and W
    swapped)."""
    import json
    f = h5py.File(h5, "r")
    mc = f.attrs["model_config"]
    cfg = json.loads(mc.decode() if isinstance(mc, bytes) else mc)["config"]
    W = _weights(h5)
    layers = cfg["layers"] if isinstance(cfg, dict) else cfg
    shape = None
    steps = []
    for l in layers:
        cls, c, name = l["class_name"], l["config"], l["config"]["name"]
        if cls == "InputLayer":
            shape = list(c["batch_input_shape"][1:])  # H, W, C
            continue
        H, Wd, C = shape if len(shape) == 3 else (None, None, shape[-1])
        if cls in ("Conv2D", "DepthwiseConv2D"):
            k, s, d = c["kernel_size"], c["strides"], c.get("dilation_rate", [1, 1])
            if cls == "Conv2D":
                kk = W(name, "kernel")
                mod = nn.Conv2d(kk.shape[2], kk.shape[3], k, s, dilation=d, bias=c["use_bias"])
                mod.weight.data.copy_(torch.from_numpy(kk).permute(3, 2, 0, 1))
                cout = kk.shape[3]
            else:
                kk = W(name, "depthwise_kernel")
                mod = nn.Conv2d(C, C * kk.shape[3], k, s, dilation=d, groups=C, bias=c["use_bias"])
                mod.weight.data.copy_(_dw_weight(kk))
                cout = C * kk.shape[3]
            if c["use_bias"]:
                mod.bias.data.copy_(torch.from_numpy(W(name, "bias")))
            if cls == "DepthwiseConv2D" and "dw_hw" in bugs and not any(t == cls for _, t, _ in steps):
                mod.weight.data.copy_(mod.weight.data.transpose(2, 3).clone())
            pad = None
            if c["padding"] == "same" and "pad" in bugs:
                mod.padding = (k[0] // 2 * d[0], k[1] // 2 * d[1])
            if c["padding"] == "same":
                ph, pw = _tf_pads(H, k[0], s[0], d[0]), _tf_pads(Wd, k[1], s[1], d[1])
                pad = None if "pad" in bugs else (pw[0], pw[1], ph[0], ph[1])
                H, Wd = -(-H // s[0]), -(-Wd // s[1])
            else:
                H = (H - (k[0] - 1) * d[0] - 1) // s[0] + 1
                Wd = (Wd - (k[1] - 1) * d[1] - 1) // s[1] + 1
            steps.append((name, cls, {"module": mod, "pad": pad, "act": c["activation"]}))
            shape = [H, Wd, cout]
        elif cls == "BatchNormalization":
            mod = nn.BatchNorm2d(C, eps=1e-5 if "eps" in bugs else c["epsilon"])
            _set_bn(mod, W, name)
            steps.append((name, cls, {"module": mod}))
        elif cls == "Activation":
            mod = {"relu": nn.ReLU(), "softmax": nn.Softmax(dim=1), "linear": nn.Identity()}[c["activation"]]
            steps.append((name, cls, {"module": mod}))
        elif cls in ("AveragePooling2D", "MaxPooling2D"):
            assert c["padding"] == "valid"
            p, s = c["pool_size"], c["strides"]
            mod = (nn.AvgPool2d if cls == "AveragePooling2D" else nn.MaxPool2d)(p, s)
            steps.append((name, cls, {"module": mod}))
            shape = [(H - p[0]) // s[0] + 1, (Wd - p[1]) // s[1] + 1, C]
        elif cls == "Flatten":
            assert shape[0] * shape[1] == 1 or shape[2] == 1, "a spatial Flatten needs the CHW fix"
            steps.append((name, cls, {"module": nn.Flatten()}))
            shape = [shape[0] * shape[1] * shape[2]]
        elif cls == "Dense":
            kk = W(name, "kernel")
            mod = nn.Linear(kk.shape[0], kk.shape[1])
            mod.weight.data.copy_(torch.from_numpy(kk).T)
            mod.bias.data.copy_(torch.from_numpy(W(name, "bias")))
            steps.append((name, cls, {"module": mod, "act": c["activation"]}))
            shape = [kk.shape[1]]
        elif cls == "Dropout":
            continue
        else:
            raise ValueError("chain: %s is not handled" % cls)
    return Chain(steps).eval()


class _ActConv(nn.Module):
    NAMES = ["linear", "relu", "relu6", "sigmoid", "hard_sigmoid", "tanh", "softmax"]

    def __init__(self, bugs):
        super().__init__()
        for a in self.NAMES:
            setattr(self, "conv_" + a, nn.Conv2d(3, 2, 3, padding=1))
        self.act_relu = nn.ReLU()
        self.act_relu6 = nn.ReLU() if "relu6" in bugs else nn.ReLU6()
        self.act_sigmoid = nn.Sigmoid()
        self.act_hard_sigmoid = nn.Hardsigmoid() if "hsig" in bugs else None
        self.act_tanh = nn.Sigmoid() if "tanh" in bugs else nn.Tanh()
        self.act_softmax = nn.Softmax(dim=1)

    def forward(self, x):
        ys = []
        for a in self.NAMES:
            y = getattr(self, "conv_" + a)(x)
            mod = getattr(self, "act_" + a, None)
            if a == "hard_sigmoid" and mod is None:
                y = torch.clamp(0.2 * y + 0.5, 0, 1)  # Keras 2's hard_sigmoid
            elif mod is not None:
                y = mod(y)
            ys.append(y)
        return torch.cat(ys, 1)


def act_conv_a(h5, bugs=()):
    """act_conv_a.h5: seven Conv2D with fused activations, an activation module after each but linear
    (Keras 2's hard_sigmoid functional).  bugs: 'relu6' nn.ReLU for relu6, 'hsig' nn.Hardsigmoid for Keras
    2's hard_sigmoid, 'tanh' nn.Sigmoid for tanh."""
    W = _weights(h5)
    m = _ActConv(bugs)
    for a in m.NAMES:
        _set_conv(getattr(m, "conv_" + a), W, "conv_" + a)
    return m.eval()
