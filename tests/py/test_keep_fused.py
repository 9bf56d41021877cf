"""run's fused output passes against stepping, layer by layer, bit for bit.

'run' executes the whole graph in one call, so each convolution's output pass
also stores the BatchNormalization and activation after it, reads a
ZeroPadding2D's input with the pad's zeros as its own padding, and leaves the
BatchNormalization between them (and the pad) to be computed when read.
'step 1', one layer per call, never fuses: every layer runs its own kernel.
Both must give the same activations, pre-activations included, to the bit:
saved after each, every .npy file is identical; and the same after a second
input on the kept plan (the lazy layers are computed again, not left over).
A batch of one on 3 threads (each convolution's channels or rows split
between them, on the 128x128 model written here: smaller images are not
split) gives one thread's activations bit for bit.
The fused values themselves are checked against tfjs-layers by test_exec
(fixture fused_chains.h5); these models are the fixture and the two real
MobileNet-style/ResNet models of ../shared.
"""
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile

from k2tlib import FIXTURES, MODELS, ROOT, SHARED, done, k2t, ok, skip

FUSED = os.path.join(FIXTURES, "exec", "fused_chains.h5")
FUSED_IN = os.path.join(FIXTURES, "exec", "fused_chains.in.npy")
DATA = os.path.join(SHARED, "data", "cifar10-ic200.bin")


def same_dirs(a, b):
    fa, fb = sorted(os.listdir(a)), sorted(os.listdir(b))
    if fa != fb or not fa:
        return False, "files differ: %s vs %s" % (len(fa), len(fb))
    bad = [f for f in fa if not filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False)]
    return not bad, ", ".join(bad[:5])


def check(tmp, name, model, inputs, n_layers, fused_in=None):
    """run vs stepping for each input in turn on one plan."""
    os.makedirs(os.path.join(tmp, name))
    a, b = os.path.join(tmp, name, "run"), os.path.join(tmp, name, "step")
    cmds_a, cmds_b = [], []
    for i, inp in enumerate(inputs):
        cmds_a += [inp, "run", "save activations %s%d" % (a, i)]
        cmds_b += [inp, "step %d" % n_layers, "save activations %s%d" % (b, i)]
    rc1, _, e1 = k2t("set threads 2", *cmds_a, model=model)
    rc2, _, e2 = k2t("set threads 2", *cmds_b, model=model)
    if not ok(rc1 == 0 and rc2 == 0, "%s: run and step 1 by 1 save every activation" % name, e1 + e2):
        return
    for i, inp in enumerate(inputs):
        same, why = same_dirs(a + str(i), b + str(i))
        ok(same, "%s: %s: run's fused passes = layer by layer, every activation and pre-activation "
           "bit for bit" % (name, inp), why)
    # one image split between 3 threads (kern_slice) = one thread, bit for bit
    c = os.path.join(tmp, name, "one")
    rc3, _, e3 = k2t("set threads 1", inputs[-1], "run", "save activations " + c, model=model)
    d = os.path.join(tmp, name, "three")
    rc4, _, e4 = k2t("set threads 3", inputs[-1], "run", "save activations " + d, model=model)
    same, why = same_dirs(c, d) if rc3 == 0 and rc4 == 0 else (False, e3 + e4)
    ok(same, "%s: %s: run on 3 threads (the image split between them) = on one thread" % (name, inputs[-1]),
       why)
    # a lazy BatchNormalization (and pad) printed right after run: the stepped values
    if name == "fused_chains":
        tail = lambda s: s[s.find("stem_bn: shape"):] if "stem_bn: shape" in s else ""
        rc, out_a, err = k2t("input " + fused_in, "run", "print stem_bn", "print dw2_pad", model=model)
        rc2, out_b, err2 = k2t("input " + fused_in, "step %d" % n_layers, "print stem_bn", "print dw2_pad",
                               model=model)
        ok(rc == 0 and rc2 == 0 and tail(out_a) and "dw2_pad: shape" in out_a and tail(out_a) == tail(out_b),
           "fused_chains: print of the BN and the pad the pass left to be computed = after stepping",
           err + err2)


def fast_vs_kept(tmp, model):
    """eval's fast path (BatchNormalization folded, the Concatenate written by
    its producers, buffers reused) against stepping layer by layer (nothing
    fused): with the stepped output as regression targets, eval's error is
    that of the folding's rounding."""
    import re
    import numpy as np
    x = np.random.RandomState(7).uniform(0, 1, (6, 128, 128, 3)).astype(np.float32)
    xs, out = os.path.join(tmp, "x.npy"), os.path.join(tmp, "out.npy")
    np.save(xs, x)
    rc, _, err = k2t("input " + xs, "step 100", "save output " + out, model=model)
    if not ok(rc == 0 and os.path.isfile(out), "wide: stepping saves its output", err):
        return
    for th in (1, 2):
        rc, o, err = k2t("set threads %d" % th, "eval %s %s" % (xs, out), model=model)
        mae = re.search(r"^mae: (\S+)", o, re.M)
        ok(rc == 0 and mae and float(mae.group(1)) < 1e-6,
           "wide: eval's fast path on %d thread(s) = stepping's outputs (mae %s < 1e-6)" % (th, mae.group(1) if mae else "?"),
           err + o[-300:])


def wide_model(path):
    """A 128x128 MobileNet-style block, large enough that a batch of one is split
    between threads (each convolution writes 512K floats or more)."""
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import gen_fixtures as gf
    g = gf.Graph("k24", 3131, name="wide")
    x = g.Input((128, 128, 3))
    x = g.add("ZeroPadding2D", x, name="pad", padding=[[1, 1], [1, 1]])
    a = g.add("Conv2D", x, name="stem", filters=48, kernel_size=[3, 3], padding="valid", use_bias=False)
    a = g.add("BatchNormalization", a, name="stem_bn", axis=[3])
    a = g.add("ReLU", a, name="stem_relu", max_value=6.0)
    d = g.add("DepthwiseConv2D", a, name="dw", kernel_size=[3, 3], padding="same")
    d = g.add("BatchNormalization", d, name="dw_bn", axis=[3])
    d = g.add("ReLU", d, name="dw_relu", max_value=6.0)
    e = g.add("Conv2D", d, name="project", filters=48, kernel_size=[1, 1], use_bias=False)
    e = g.add("BatchNormalization", e, name="project_bn", axis=[3])
    e = g.add("Add", [a, e], name="add")
    # a fire module: expand convolutions that write into the Concatenate's output
    q = g.add("Conv2D", e, name="squeeze", filters=16, kernel_size=[1, 1], activation="relu")
    e1 = g.add("Conv2D", q, name="expand1x1", filters=32, kernel_size=[1, 1], activation="relu")
    e3 = g.add("Conv2D", q, name="expand3x3", filters=48, kernel_size=[3, 3], padding="same")
    e3 = g.add("Activation", e3, name="expand3x3_relu", activation="relu")
    f = g.add("Concatenate", [e1, e3], name="concat", axis=-1)
    c = g.add("Conv2D", f, name="conv_relu", filters=40, kernel_size=[3, 3], strides=[2, 2], padding="same",
              activation="relu")
    c = g.add("GlobalAveragePooling2D", c, name="gap")
    y = g.add("Dense", c, name="head", units=10, activation="softmax")
    g.outputs = [y]
    gf.write_model(path, g)


def main():
    tmp = tempfile.mkdtemp(prefix="k2t-fused-")
    try:
        wide = os.path.join(tmp, "wide.h5")
        wide_model(wide)
        if ok(os.path.isfile(wide), "a 128x128 model to split between threads"):
            check(tmp, "wide", wide, ["input random 2", "input random 5"], 21)
            fast_vs_kept(tmp, wide)
        fused, fused_in = FUSED, FUSED_IN
        if not (os.path.isfile(fused) and os.path.isfile(fused_in)):  # test_exec writes it; else here
            gen = os.path.join(tmp, "fx")
            subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "gen_exec_fixtures.py"), gen],
                           capture_output=True, timeout=600)
            fused, fused_in = os.path.join(gen, "fused_chains.h5"), os.path.join(gen, "fused_chains.in.npy")
        if ok(os.path.isfile(fused), "fused_chains.h5 written by scripts/gen_exec_fixtures.py"):
            check(tmp, "fused_chains", fused, ["input " + fused_in, "input random 4"], 21, fused_in)
        vww = os.path.join(MODELS, "vww_96.h5")
        resnet = os.path.join(MODELS, "pretrainedResnet.h5")
        if os.path.isfile(vww):
            check(tmp, "vww_96", vww, ["input random 3", "input random 8"], 200)
        else:
            skip("vww_96.h5 run vs step", "%s not found" % vww)
        if os.path.isfile(resnet) and os.path.isfile(DATA):
            check(tmp, "pretrainedResnet", resnet, ["input cifar %s 0:2" % DATA, "input cifar %s 9" % DATA],
                  200)
        else:
            skip("pretrainedResnet.h5 run vs step", "the shared model or CIFAR data are missing")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    done()


main()
