"""Execution of the real Keras models in $K2T_SHARED/models against their reference
outputs (refs/*.out.npy, tfjs-layers, cross-checked with PyTorch for the ResNet8),
the ResNet8's CIFAR-10 accuracy under two preprocessings, and the ResNet8's
per-layer activations on two CIFAR images against the oracle (--layers).
"""
import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import FIXTURES, MODELS, SHARED, done, k2t, ok, skip  # noqa: E402
from test_exec import EXEC, compare, oracle_ready, rel_err, run_oracle  # noqa: E402

TOL_OUT = 1e-4
CIFAR = os.path.join(SHARED, "data", "cifar10-ic200.bin")
RESNET = os.path.join(MODELS, "pretrainedResnet.h5")
# refs/<input>, refs/<output> per model
REFS = {
    "pretrainedResnet": ("pretrainedResnet.ic200.in.npy", "pretrainedResnet.ic200.out.npy"),
    "vww_96": ("vww_96.in.npy", "vww_96.out.npy"),
    "ad01": ("ad01.in.npy", "ad01.out.npy"),
    "str_ww_ref_model": ("str_ww_ref_model.in.npy", "str_ww_ref_model.out.npy"),
}
# From the independent runs recorded in shared/models/README.md and shared/data/README.md.
ACCURACY = {"raw": "accuracy: 171/200 (85.50%)", "unit": "accuracy: 21/200 (10.50%)"}


def outputs_vs_refs(tmp):
    for name, (inp, outp) in REFS.items():
        model = os.path.join(MODELS, name + ".h5")
        inp = os.path.join(MODELS, "refs", inp)
        ref = np.load(os.path.join(MODELS, "refs", outp))
        out = os.path.join(tmp, name + ".out.npy")
        rc, so, se = k2t("input " + inp, "run", "save output " + out, model=model)
        if not ok(rc == 0 and os.path.exists(out), "%s: input/run/save output" % name,
                  "exit %d: %s" % (rc, se.strip()[-500:])):
            continue
        got = np.load(out)
        if not ok(got.shape == ref.shape, "%s: output shape %s" % (name, ref.shape),
                  "k2t wrote %s" % (got.shape,)):
            continue
        e = rel_err(got, ref)
        ok(e <= TOL_OUT, "%s: output vs refs/%s rel=%.2g" % (name, outp, e),
           "max|diff| / max(1, max|ref|) = %.3g > %g" % (e, TOL_OUT))
        if name == "pretrainedResnet":
            agree = int((got.argmax(1) == ref.argmax(1)).sum())
            ok(agree == len(ref), "pretrainedResnet: argmax agrees with the reference on all %d images"
               % len(ref), "%d/%d agree" % (agree, len(ref)))


def accuracy():
    if not os.path.exists(CIFAR):
        skip("ResNet8 CIFAR accuracy", "%s not found" % CIFAR)
        return
    for pre, line in ACCURACY.items():
        rc, so, se = k2t("set preprocess " + pre, "eval cifar " + CIFAR, model=RESNET)
        lines = [ln.strip() for ln in so.splitlines()]
        got = [ln for ln in lines if ln.startswith("accuracy:")]
        ok(rc == 0 and line in lines, "ResNet8 eval cifar with preprocess %s: '%s'" % (pre, line),
           "exit %d, got %s; stderr: %s" % (rc, got or "no accuracy line", se.strip()[-300:]))


def cifar_images(first, count):
    """CIFAR records -> NHWC float32 raw 0..255 (each record: label byte, 1024 R, 1024 G, 1024 B)."""
    raw = np.fromfile(CIFAR, dtype=np.uint8).reshape(-1, 3073)[first:first + count]
    return raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float32)


def resnet_layers():
    if not os.path.exists(CIFAR):
        skip("ResNet8 per-layer activations", "%s not found" % CIFAR)
        return
    if not oracle_ready():
        return
    os.makedirs(os.path.join(EXEC, "real"), exist_ok=True)
    inp = os.path.join(EXEC, "real", "pretrainedResnet.cifar0_2.in.npy")
    x = cifar_images(0, 2)
    if not os.path.exists(inp) or not np.array_equal(np.load(inp), x):
        np.save(inp, x)
    refdir, per_layer, err = run_oracle("real_pretrainedResnet_cifar0_2", RESNET, inp)
    if not ok(refdir is not None and per_layer, "ResNet8: the oracle's --layers run", err or ""):
        return
    out = tempfile.mkdtemp(prefix="k2t_exec_real_")
    try:
        rc, so, se = k2t("set preprocess raw", "input cifar %s 0:2" % CIFAR, "run",
                         "save activations " + out, model=RESNET)
        if ok(rc == 0, "ResNet8: input cifar 0:2 / run / save activations", "exit %d: %s" % (rc, se.strip()[-500:])):
            compare("pretrainedResnet.h5[cifar 0:2]", refdir, out, set())
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main():
    if not os.path.isdir(MODELS):
        skip("real Keras models", "%s not found (set K2T_SHARED)" % MODELS)
        done()
    tmp = tempfile.mkdtemp(prefix="k2t_real_")
    try:
        outputs_vs_refs(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    accuracy()
    resnet_layers()
    done()


if __name__ == "__main__":
    os.makedirs(FIXTURES, exist_ok=True)
    main()
