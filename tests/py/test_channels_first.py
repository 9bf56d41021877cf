"""channels_first models (issue 11 part 5).

On the cf_*.h5 fixtures of scripts/gen_exec_fixtures.py (Conv2D, Conv1D,
DepthwiseConv2D, SeparableConv2D, Conv2DTranspose, the pools, BatchNormalization
axis=1, ZeroPadding2D/Cropping2D/UpSampling2D, both Flattens, all with
data_format channels_first):
  - every layer's output of k2t against the tfjs-layers oracle (tests/oracle), its
    twin where tfjs gets channels_first wrong, within test_exec's tolerance
    (max|diff| / max(1, max|ref|) <= 1e-5);
  - the same under 'set layout nchw': a channels_first model is already in
    PyTorch's layout, so the emulation must not move anything;
  - the fast path (BN folded into the channels_first conv) and the layout check
    node by node: build/tests/test_channels_first on these fixtures;
  - 'set flatten torch' on cf_flatten: only the Dense after Flatten(channels_first)
    (Keras's H,W,C order) moves, not the one after the channels_last Flatten
    (C,H,W in both); 'check' says so;
  - PyTorch: torch.nn.functional.conv2d/conv1d on the oracle's inputs with the
    kernels permuted as check's transpose findings say (HWIO -> OIHW, (k, in, out)
    -> (out, in, k), depthwise (kh, kw, C, M) -> (C*M, 1, kh, kw)) and TF's pads
    gives the oracle's output;
  - export refuses a channels_first model with a message saying why.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import test_exec as te  # noqa: E402
from k2tlib import ROOT, done, k2t, ok, skip  # noqa: E402

CF = ("cf_conv.h5", "cf_flatten.h5", "cf_depthwise.h5", "cf_reshape.h5", "cf_conv1d.h5")


def run_save(model, inp, *prefix):
    out = tempfile.mkdtemp(prefix="k2t_cf_")
    rc, so, se = k2t(*prefix, "input " + inp, "run", "save activations " + out, model=model)
    return out, rc, se


def kernel(model, layer, var):
    with h5py.File(model, "r") as f:
        g = f["model_weights"][layer][layer]
        for k in g:
            if k.split(":")[0] == var:
                return g[k][()]
    raise KeyError(var)


def tf_pads(n, k, s, d=1):
    """TF 'same' pads (before, after) of one axis."""
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def torch_checks(torch, refs):
    F = torch.nn.functional
    fx = os.path.join(te.EXEC, "cf_conv.h5")
    x = torch.from_numpy(np.load(os.path.join(refs["cf_conv.h5"], "input_1.npy")))
    # cf_s2_same: 3x3 stride 2 'same' on 7x10: TF pads H (1, 1), W (0, 1)
    w = torch.from_numpy(kernel(fx, "cf_s2_same", "kernel")).permute(3, 2, 0, 1)
    b = torch.from_numpy(kernel(fx, "cf_s2_same", "bias"))
    ph, pw = tf_pads(7, 3, 2), tf_pads(10, 3, 2)
    y = F.conv2d(F.pad(x, (pw[0], pw[1], ph[0], ph[1])), w, b, stride=2)
    r = np.load(os.path.join(refs["cf_conv.h5"], "cf_s2_same.npy"))
    e = te.rel_err(y.numpy(), r)
    ok(e <= te.TOL, "torch: F.conv2d with kernel.permute(3, 2, 0, 1) and TF's pads is cf_s2_same rel=%.2g" % e)
    # cf_d2: dilation 2 valid
    w = torch.from_numpy(kernel(fx, "cf_d2", "kernel")).permute(3, 2, 0, 1)
    b = torch.from_numpy(kernel(fx, "cf_d2", "bias"))
    y = F.conv2d(x, w, b, dilation=2)
    e = te.rel_err(y.numpy(), np.load(os.path.join(refs["cf_conv.h5"], "cf_d2.npy")))
    ok(e <= te.TOL, "torch: F.conv2d dilation 2 is cf_d2 rel=%.2g" % e)
    # depthwise multiplier 2 stride 2 same on 9x8
    fx = os.path.join(te.EXEC, "cf_depthwise.h5")
    x = torch.from_numpy(np.load(os.path.join(refs["cf_depthwise.h5"], "input_1.npy")))
    k = kernel(fx, "dw_m2_s2", "depthwise_kernel")                    # (3, 3, C, M)
    C, M = k.shape[2], k.shape[3]
    w = torch.from_numpy(k).permute(2, 3, 0, 1).reshape(C * M, 1, 3, 3)
    b = torch.from_numpy(kernel(fx, "dw_m2_s2", "bias"))
    ph, pw = tf_pads(9, 3, 2), tf_pads(8, 3, 2)
    y = F.conv2d(F.pad(x, (pw[0], pw[1], ph[0], ph[1])), w, b, stride=2, groups=C)
    # the oracle's dw_m2_s2 is the depthwise output itself
    e = te.rel_err(y.numpy(), np.load(os.path.join(refs["cf_depthwise.h5"], "dw_m2_s2.npy")))
    ok(e <= te.TOL, "torch: depthwise .permute(2, 3, 0, 1).reshape(C*M, 1, 3, 3), groups=C is dw_m2_s2 rel=%.2g" % e)
    # Conv1D valid + relu, (C, L)
    fx = os.path.join(te.EXEC, "cf_conv1d.h5")
    x = torch.from_numpy(np.load(os.path.join(refs["cf_conv1d.h5"], "input_1.npy")))
    w = torch.from_numpy(kernel(fx, "c1_valid", "kernel")).permute(2, 1, 0)
    b = torch.from_numpy(kernel(fx, "c1_valid", "bias"))
    y = torch.relu(F.conv1d(x, w, b))
    e = te.rel_err(y.numpy(), np.load(os.path.join(refs["cf_conv1d.h5"], "c1_valid.npy")))
    ok(e <= te.TOL, "torch: F.conv1d with kernel.permute(2, 1, 0) is c1_valid rel=%.2g" % e)


def main():
    if not te.oracle_ready():
        done()
    manifest = te.ensure_fixtures()
    if manifest is None:
        done()
    refs = {}
    for fx in CF:
        if not ok(fx in manifest, "%s is a fixture" % fx):
            continue
        m = manifest[fx]
        model = os.path.join(te.EXEC, fx)
        inp = os.path.join(te.EXEC, m["input"])
        om = os.path.join(te.EXEC, m["oracle_model"]) if m.get("oracle_model") else model
        refdir, per_layer, err = te.run_oracle(fx[:-3], om, inp)
        if not ok(refdir is not None and per_layer, "%s: the oracle runs every layer" % fx, str(err)[-600:]):
            continue
        refs[fx] = refdir
        for tag, prefix in (("", ()), ("nchw/", ("set layout nchw",))):
            out, rc, se = run_save(model, inp, *prefix)
            try:
                if ok(rc == 0, "%s%s: k2t runs it" % (tag, fx), se.strip()[-600:]):
                    te.compare(tag + fx, refdir, out, set(m.get("oracle_only", [])))
            finally:
                shutil.rmtree(out, ignore_errors=True)

    # The fast path and layout nchw node by node (the C test on these fixtures).
    unit = os.path.join(ROOT, "build", "tests", "test_channels_first")
    if os.path.exists(unit):
        p = subprocess.run([unit, te.EXEC], capture_output=True, text=True, timeout=600)
        ok(p.returncode == 0 and "not ok" not in p.stdout and "skip" not in p.stdout,
           "test_channels_first on the exec fixtures (fast path, layout nchw)", p.stdout[-800:])
    else:
        skip("fast path on channels_first", "build/tests/test_channels_first is not built (make unit)")

    # flatten torch: only the Flatten that reorders (channels_first: H,W,C) moves.
    fx = "cf_flatten.h5"
    if fx in refs:
        model = os.path.join(te.EXEC, fx)
        inp = os.path.join(te.EXEC, manifest[fx]["input"])
        a, rca, _ = run_save(model, inp)
        b, rcb, seb = run_save(model, inp, "set flatten torch")
        try:
            if ok(rca == 0 and rcb == 0, "cf_flatten: runs under flatten torch", seb[-400:]):
                def moved(name):
                    return te.rel_err(np.load(os.path.join(b, name + ".npy")), np.load(os.path.join(a, name + ".npy")))
                ok(moved("dense_cl") == 0 and moved("flat_cl") == 0,
                   "cf_flatten: flatten torch leaves the channels_last Flatten and its Dense alone "
                   "(C,H,W in Keras as in PyTorch)")
                ok(moved("dense_cf") > 1e-3 and moved("flat_cf") == 0,
                   "cf_flatten: flatten torch moves the Dense after Flatten(channels_first) (rel %.2g), "
                   "the Flatten's own output read back in Keras's order does not" % moved("dense_cf"))
        finally:
            shutil.rmtree(a, ignore_errors=True)
            shutil.rmtree(b, ignore_errors=True)
        rc, so, se = k2t("check", model=model)
        text = so + se
        ok(rc == 0 and "! flatten: flat_cf" in text and "ok flatten: flat_cl" in text
           and "! layout" not in text and "nn.BatchNorm2d(4," in text,
           "cf_flatten: check reports the flatten pitfall at Flatten(channels_first) only, no layout "
           "finding, nn.BatchNorm2d over the 4 channels", text[-1500:])

    rc, so, se = k2t("export pytorch %s" % os.path.join(tempfile.gettempdir(), "k2t_cf_port.py"),
                     model=os.path.join(te.EXEC, "cf_conv.h5"))
    ok(rc != 0 and "channels_first" in se and "cannot be exported" in se,
       "export refuses a channels_first model, saying why", se[-400:])

    try:
        import torch
    except ImportError:
        skip("torch checks", "PyTorch is not installed (apt-get install python3-torch)")
        done()
    if all(f in refs for f in ("cf_conv.h5", "cf_depthwise.h5", "cf_conv1d.h5")):
        torch_checks(torch, refs)
    done()


if __name__ == "__main__":
    main()
