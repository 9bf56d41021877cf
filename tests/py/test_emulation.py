"""The PyTorch-port emulation, checked against PyTorch itself and against the
measured references of the issue (independent PyTorch and tfjs-layers runs on
the MLPerf ResNet8 and the 200 CIFAR-10 images):

  keras 171/200; torch 171/200; torch-naive 116/200; torch + padding torch 116/200;
  torch + bn.eps 1e-5 171/200 with probabilities moved by up to 6.2e-3;
  torch + weights.transpose off 26/200.

Here an independent PyTorch port of the ResNet8 is written from the .h5 weights
(nn.Conv2d, nn.BatchNorm2d, nn.Linear), once correctly and once with each
classic bug, and k2t's output under the matching setting must equal it.
"""
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import SHARED, k2t, ok, skip, done  # noqa: E402

from k2tlib import FIXTURES  # noqa: E402

# Flatten of a spatial map before a Dense (seq_dict_input.h5: 3x3x4 -> Dense):
# with the CHW flatten the divergence lands on the Dense, not on the Flatten.
fx = os.path.join(FIXTURES, "seq_dict_input.h5")
rc, out, err = k2t("input random 5", "profile torch", "set flatten torch", "diff",
                   "expect $first_divergence == dense", model=fx)
ok(rc == 0 and "first divergence: dense (Dense)" in out and "H=3, W=3, C=4" in out,
   "diff with flatten torch: first divergence at the Dense after the Flatten", err.strip())
rc, out, err = k2t("input random 5", "profile torch", "diff", "diff --isolated",
                   "expect $first_divergence == none", model=fx)
ok(rc == 0 and out.count("no divergence") == 2, "profile torch: no divergence, isolated or not", err.strip())
for setting, layer in (("set weights.transpose off", "conv2d"), ("set bn.mode train", "batch_normalization"),
                       ("set softmax drop", "dense")):
    rc, out, err = k2t("input random 5", "profile torch", setting, "diff --isolated", model=fx)
    ok("first divergence: %s " % layer in out, "%s: first divergence %s" % (setting, layer),
       [l for l in out.splitlines() if "first" in l or "why" in l].__str__())

# BN left in train mode: the damage depends on the batch.  The demo model's
# PyTorch accuracies per batch size were recorded by scripts/make_demo.py.
import json  # noqa: E402
from k2tlib import ROOT  # noqa: E402
demo = json.load(open(os.path.join(ROOT, "demo", "demo.json")))
for b, want in sorted(demo["pytorch_bn_train_mode_correct_by_batch"].items(), key=lambda kv: int(kv[0])):
    rc, out, err = k2t("set bn.mode train", "eval cifar demo/demo-test.bin --batch %s" % b,
                       model=os.path.join(ROOT, "demo", "demo.h5"))
    ok("accuracy: %d/500" % want in out, "bn.mode train, batch %s: %d/500 as PyTorch in train mode" % (b, want),
       (re.findall(r"accuracy: .*", out) or [err.strip()])[0])

model = os.path.join(SHARED, "models", "pretrainedResnet.h5")
data = os.path.join(SHARED, "data", "cifar10-ic200.bin")
if not os.path.exists(model):
    skip("emulation on the ResNet8", "%s not found" % model)
    done()

EVAL = "eval cifar " + data
cases = [
    ("keras", ["profile keras"], 171),
    ("torch", ["profile torch"], 171),
    ("torch-naive", ["profile torch-naive"], 116),
    ("torch + padding torch", ["profile torch", "set padding torch"], 116),
    ("torch + bn.eps 1e-5", ["profile torch", "set bn.eps 1e-5"], 171),
    ("torch + weights.transpose off", ["profile torch", "set weights.transpose off"], 26),
    ("keras + preprocess unit", ["set preprocess unit"], 21),
]
for name, cmds, want in cases:
    rc, out, err = k2t(*cmds, EVAL, model=model)
    ok(rc == 0 and ("accuracy: %d/200" % want) in out, "eval under %s: %d/200" % (name, want),
       (re.findall(r"accuracy: .*", out) or [err.strip()])[0])

# diff: where and why
rc, out, err = k2t("input cifar %s 0:4" % data, "profile torch", "set padding torch", "diff", model=model)
ok("first divergence: conv2d_3 (Conv2D)" in out and "pads top 0, bottom 1, left 0, right 1" in out,
   "diff with padding torch: first divergence conv2d_3, with the exact pads")
rc, out, err = k2t("input cifar %s 0:200" % data, "profile torch", "set bn.eps 1e-5", "diff",
                   "echo max=$max_abs_diff first=$first_divergence", model=model)
m = re.search(r"max=(\S+) first=(\S+)", out)
ok(m and m.group(2).startswith("batch_normalization") and 1e-3 < float(m.group(1)) <= 6.3e-3,
   "diff with bn.eps 1e-5: a BatchNormalization layer first, output moved by %s (up to 6.2e-3)" %
   (m.group(1) if m else "?"))
rc, out, err = k2t("input cifar %s 0:4" % data, "profile torch", "diff", model=model)
ok("no divergence" in out, "profile torch reproduces Keras within tolerance on every layer")

# An independent PyTorch port, written here from the h5 weights.
try:
    import h5py
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:
    skip("PyTorch port comparison", "python3-torch missing: %s" % e)
    done()

torch.set_grad_enabled(False)
f = h5py.File(model, "r")
W = lambda layer, var: np.array(f["model_weights"][layer][layer][var + ":0"])  # noqa: E731


def conv(name, transpose=True):
    k = W(name, "kernel")
    w = torch.from_numpy(k).permute(3, 2, 0, 1).contiguous() if transpose else \
        torch.from_numpy(k.reshape(-1)).reshape(k.shape[3], k.shape[2], k.shape[0], k.shape[1])
    return w, torch.from_numpy(W(name, "bias"))


def port(x, pad_torch=False, eps=None, transpose=True, train=False):
    """ResNet8 forward in PyTorch; x NCHW raw pixels."""
    def c(x, name, stride=1):
        w, b = conv(name, transpose)
        k = w.shape[-1]
        if k == 1:
            return F.conv2d(x, w, b, stride=stride)
        if stride == 1 or pad_torch:
            return F.conv2d(x, w, b, stride=stride, padding=1)
        return F.conv2d(F.pad(x, (0, 1, 0, 1)), w, b, stride=stride)   # TF 'same' at stride 2, even size

    def bn(x, name):
        g = f["model_weights"][name][name]
        e = eps if eps else 1e-3
        return F.batch_norm(x, torch.tensor(np.array(g["moving_mean:0"])), torch.tensor(np.array(g["moving_variance:0"])),
                            torch.tensor(np.array(g["gamma:0"])), torch.tensor(np.array(g["beta:0"])), train, 0.0, e)
    r = F.relu
    x = r(bn(c(x, "conv2d"), "batch_normalization"))
    y = r(bn(c(x, "conv2d_1"), "batch_normalization_1"))
    x = r(x + bn(c(y, "conv2d_2"), "batch_normalization_2"))
    y = r(bn(c(x, "conv2d_3", 2), "batch_normalization_3"))
    x = r(c(x, "conv2d_5", 2) + bn(c(y, "conv2d_4"), "batch_normalization_4"))
    y = r(bn(c(x, "conv2d_6", 2), "batch_normalization_5"))
    x = r(c(x, "conv2d_8", 2) + bn(c(y, "conv2d_7"), "batch_normalization_6"))
    x = F.avg_pool2d(x, 8).flatten(1)
    k = W("dense", "kernel")
    wd = torch.from_numpy(k).T if transpose else torch.from_numpy(k.reshape(-1)).reshape(k.shape[1], k.shape[0])
    return torch.softmax(F.linear(x, wd, torch.from_numpy(W("dense", "bias"))), 1)


raw = np.fromfile(data, dtype=np.uint8).reshape(-1, 3073)[:16]
x = torch.from_numpy(raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32))
tmp = tempfile.mkdtemp()
variants = [
    ("profile torch", ["profile torch"], dict()),
    ("padding torch", ["profile torch", "set padding torch"], dict(pad_torch=True)),
    ("bn.eps 1e-5", ["profile torch", "set bn.eps 1e-5"], dict(eps=1e-5)),
    ("weights.transpose off", ["profile torch", "set weights.transpose off"], dict(transpose=False)),
    ("torch-naive", ["profile torch-naive"], dict(pad_torch=True, eps=1e-5)),
    ("bn.mode train", ["profile torch", "set bn.mode train"], dict(train=True)),
]
for name, cmds, kw in variants:
    out_path = os.path.join(tmp, "out.npy")
    # one file for every variant: each run replaces the last one's (save refuses without --force)
    rc, out, err = k2t("input cifar %s 0:16" % data, *cmds, "run", "save output %s --force" % out_path, model=model)
    if not ok(rc == 0, "k2t runs under %s" % name, err.strip()):
        continue
    got = np.load(out_path)
    ref = port(x, **kw).numpy()
    d = float(np.abs(got - ref).max())
    ok(d <= 1e-5, "k2t under %s equals a PyTorch port with that convention (max diff %.2g)" % (name, d))
done()
