"""check's padding fixes for the ResNet8's stride-2 convolutions, verified with PyTorch.

For every Conv2D of pretrainedResnet.h5 with stride 2 and padding 'same' (found from the
file's own model_config with h5py, input sizes inferred here from the graph), k2t's check
must print either an F.pad(x, (left, right, top, bottom)) line and an nn.Conv2d(...,
padding=0) line, or an "ok" line when TF pads nothing.  The test then builds a random
input and kernel, computes TF 'same' in numpy from the formula
    out = ceil(in / s), pad_total = max((out - 1) * s + k - in, 0), before = total // 2
and checks that PyTorch's F.pad with k2t's amounts followed by conv2d(padding=0) gives the
same numbers, and that the straightforward padding=k//2 does not (when k2t says it differs).
Skips cleanly without ../shared or without torch (Debian python3-torch).
"""
import json
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import MODELS, done, k2t, ok, skip  # noqa: E402

RESNET = os.path.join(MODELS, "pretrainedResnet.h5")
HEADER = re.compile(r"^(\S+) \((\w+)\) \((\d+),(\d+),(\d+)\) -> \((\d+),(\d+),(\d+)\)$")
FPAD = re.compile(r"^\s+x = F\.pad\(x, \((\d+), (\d+), (\d+), (\d+)\)\)")
CONV = re.compile(r"^\s+nn\.Conv2d\((\d+), (\d+), (\d+), stride=(\d+), padding=(\d+)\)")


def model_config(path):
    import h5py
    with h5py.File(path, "r") as f:
        cfg = f.attrs["model_config"]
    return json.loads(cfg.decode() if isinstance(cfg, bytes) else cfg)


def conv_inputs(cfg):
    """Conv2D layers of a Keras 2 functional config: name -> (config, input (H, W, C)).
    Shapes are inferred for the layer classes the ResNet8 uses."""
    layers = cfg["config"]["layers"]
    shape, convs = {}, {}
    for L in layers:  # config order is a topological order for this file
        cls, c, name = L["class_name"], L["config"], L["name"]
        ins = [shape[n[0]] for node in L.get("inbound_nodes", []) for n in node]
        if cls == "InputLayer":
            shape[name] = tuple(c["batch_input_shape"][1:])
        elif cls == "Conv2D":
            h, w, _ = ins[0]
            s = c["strides"]
            k = c["kernel_size"]
            if c["padding"] == "same":
                shape[name] = (-(-h // s[0]), -(-w // s[1]), c["filters"])
            else:
                shape[name] = ((h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1, c["filters"])
            convs[name] = (c, ins[0])
        elif cls == "AveragePooling2D":
            h, w, ch = ins[0]
            p, s = c["pool_size"], c["strides"] or c["pool_size"]
            shape[name] = ((h - p[0]) // s[0] + 1, (w - p[1]) // s[1] + 1, ch)
        elif cls == "Flatten":
            shape[name] = (int(np.prod(ins[0])),)
        elif cls == "Dense":
            shape[name] = (c["units"],)
        else:  # BatchNormalization, Activation, Add keep the shape
            shape[name] = ins[0]
    return convs


def parse_check(out):
    """k2t's check output: layer -> {in, out, fpad, conv, ok_nothing}."""
    rep, cur = {}, None
    lines = []
    for line in out.splitlines():  # join wrapped text (4-space continuation lines)
        if lines and line.startswith("    ") and not line.startswith("     "):
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    for line in lines:
        m = HEADER.match(line)
        if m:
            cur = rep.setdefault(m.group(1), {"in": tuple(map(int, m.group(3, 4, 5))),
                                              "out": tuple(map(int, m.group(6, 7, 8))),
                                              "fpad": None, "conv": None, "ok_nothing": False})
            continue
        if cur is None:
            continue
        m = FPAD.match(line)
        if m:
            cur["fpad"] = tuple(map(int, m.groups()))
        m = CONV.match(line)
        if m:
            cur["conv"] = tuple(map(int, m.groups()))
        if "ok padding:" in line and "TF pads nothing" in line:
            cur["ok_nothing"] = True
    return rep


def tf_same(x, w, s):
    """TF 'same' convolution in numpy: x (C, H, W), w (O, C, k, k), stride s."""
    _, h, wd = x.shape
    k = w.shape[2]
    pads = []
    for n in (h, wd):
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    xp = np.pad(x, ((0, 0), pads[0], pads[1]))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(1, 2))[:, ::s, ::s]
    return np.einsum("chwij,ocij->ohw", win, w), pads


def main():
    if not os.path.exists(RESNET):
        skip("check padding vs PyTorch", "%s not found" % RESNET)
        return
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        skip("check padding vs PyTorch", "torch is not installed (Debian: python3-torch)")
        return
    rc, so, se = k2t("check", model=RESNET)
    if not ok(rc == 0, "check on pretrainedResnet.h5 exits 0", "exit %d: %s" % (rc, se.strip())):
        return
    rep = parse_check(so)
    convs = {n: v for n, v in conv_inputs(model_config(RESNET)).items()
             if v[0]["strides"] == [2, 2] and v[0]["padding"] == "same"}
    ok(sorted(convs) == ["conv2d_3", "conv2d_5", "conv2d_6", "conv2d_8"],
       "the file's stride-2 'same' convolutions: %s" % ", ".join(sorted(convs)))
    rng = np.random.default_rng(8)
    for name in sorted(convs):
        c, (h, w, cin) = convs[name]
        k, cout = c["kernel_size"][0], c["filters"]
        r = rep.get(name)
        if not ok(r is not None, "%s: reported by check" % name):
            continue
        ok(r["in"] == (h, w, cin), "%s: input %s as the graph gives" % (name, r["in"]), "expected %s" % ((h, w, cin),))
        x = rng.standard_normal((cin, h, w))
        kern = rng.standard_normal((cout, cin, k, k))
        ref, pads = tf_same(x, kern, 2)
        want = (pads[1][0], pads[1][1], pads[0][0], pads[0][1])  # (left, right, top, bottom)
        xt, wt = torch.from_numpy(x)[None], torch.from_numpy(kern)
        if r["fpad"] is None:
            ok(r["ok_nothing"] and want == (0, 0, 0, 0),
               "%s: check says TF pads nothing, and the formula agrees" % name, "formula pads %s" % (want,))
            got = F.conv2d(xt, wt, stride=2, padding=0)[0].numpy()
        else:
            ok(r["fpad"] == want, "%s: F.pad%s = the formula's (left, right, top, bottom)" % (name, r["fpad"]),
               "formula %s" % (want,))
            ok(r["conv"] == (cin, cout, k, 2, 0), "%s: nn.Conv2d(%d, %d, %d, stride=2, padding=0)" % (name, cin, cout, k),
               "check printed %s" % (r["conv"],))
            got = F.conv2d(F.pad(xt, r["fpad"]), wt, stride=2, padding=0)[0].numpy()
            naive = F.conv2d(xt, wt, stride=2, padding=k // 2)[0].numpy()
            ok(naive.shape == ref.shape and np.abs(naive - ref).max() > 1e-3,
               "%s: padding=%d gives the same shape %s but other numbers" % (name, k // 2, ref.shape))
        ok(got.shape == ref.shape and got.shape == (cout,) + r["out"][:2],
           "%s: output %s matches TF 'same' and check's %s" % (name, got.shape, r["out"]),
           "reference %s" % (ref.shape,))
        if got.shape == ref.shape:
            err = np.abs(got - ref).max()
            ok(err < 1e-9, "%s: PyTorch with check's padding = TF 'same' (max |diff| %.1e)" % (name, err))


if __name__ == "__main__":
    main()
    done()
