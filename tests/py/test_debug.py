"""The debug commands (commands/debug.c) against independent references.

- Stepping through every layer one "step" at a time ends with the same model
  output as "run" (both saved with "save output" and compared with numpy), on
  the func_k24 fixture and on the MLPerf ResNet8; also under "set layout nchw".
- The statistics "step" prints (min max mean std over the batch) are those numpy
  computes on the layer's saved activation.
- "blocks" on the ResNet8 finds exactly 3 blocks, block 2 with the expected
  layers and its projection shortcut conv2d_5; "shapes" prints the expected
  operand shapes of the residual additions, in NHWC and in NCHW.
"""
import os
import re
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import FIXTURES, MODELS, SHARED, done, k2t, ok, skip  # noqa: E402

CIFAR = os.path.join(SHARED, "data", "cifar10-ic200.bin")
RESNET = os.path.join(MODELS, "pretrainedResnet.h5")
BLOCK2 = ("conv2d_3, batch_normalization_3, activation_3, conv2d_4, conv2d_5, "
          "batch_normalization_4, add_1, activation_4")
STEP_LINE = re.compile(r"^\s*(\d+)\s+(\S+) \((\w+)\)\s+\(([\d, ]+)\)\s+min (\S+) max (\S+) mean (\S+) std (\S+)$")


def n_layers(model):
    rc, out, err = k2t("layers", model=model)
    return sum(1 for line in out.splitlines() if re.match(r"^\s*\d+\s", line))


def step_equals_run(name, model, input_cmd, n, layout_cmds=()):
    """Save the output after n single steps and after run; compare."""
    with tempfile.TemporaryDirectory() as d:
        a, b = os.path.join(d, "step.npy"), os.path.join(d, "run.npy")
        cmds = list(layout_cmds) + [input_cmd] + ["step"] * n + ["where", "save output " + a]
        rc, out, err = k2t(*cmds, model=model)
        if not ok(rc == 0 and os.path.exists(a), "%s: %d single steps and save output" % (name, n), err.strip()):
            return
        ok("end of the model: %d of %d layers ran" % (n, n) in out, "%s: the cursor is at the end after %d steps"
           % (name, n), out.splitlines()[-3:] and "\n".join(out.splitlines()[-3:]))
        lines = [m for m in (STEP_LINE.match(x) for x in out.splitlines()) if m]
        ok([int(m.group(1)) for m in lines] == list(range(n)),
           "%s: one line per layer, nodes 0..%d in order" % (name, n - 1))
        rc, out, err = k2t(*(list(layout_cmds) + [input_cmd, "run", "save output " + b]), model=model)
        if not ok(rc == 0, "%s: run and save output" % name, err.strip()):
            return
        x, y = np.load(a), np.load(b)
        ok(x.shape == y.shape and np.array_equal(x, y), "%s: stepping gives the same output as run" % name,
           "max |diff| %g" % (np.abs(x - y).max() if x.shape == y.shape else -1))
        return x


def stats_match(name, model, input_cmd, upto, layer):
    """The statistics step prints for 'layer' are numpy's on its saved activation."""
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "a.npy")
        rc, out, err = k2t(input_cmd, "step %d" % upto, "save %s %s" % (layer, f), model=model)
        if not ok(rc == 0, "%s: step %d and save %s" % (name, upto, layer), err.strip()):
            return
        line = [m for m in (STEP_LINE.match(x) for x in out.splitlines()) if m and m.group(2) == layer]
        if not ok(len(line) == 1, "%s: step printed a line for %s" % (name, layer)):
            return
        m = line[0]
        a = np.load(f).astype(np.float64)
        shape = tuple(int(v) for v in m.group(4).split(","))
        ok(shape == a.shape, "%s: %s shape %s is the saved array's" % (name, layer, m.group(4)), str(a.shape))
        got = [float(m.group(i)) for i in (5, 6, 7, 8)]
        want = [a.min(), a.max(), a.mean(), a.std()]
        scale = max(1.0, np.abs(a).max())
        good = all(abs(g - w) <= 1e-5 * scale for g, w in zip(got, want))
        ok(good, "%s: %s min/max/mean/std over the batch match numpy" % (name, layer),
           "got %s, numpy %s" % (got, want))


def has_layout_setting():
    rc, out, err = k2t("set layout nchw")
    return rc == 0


def main():
    nchw = has_layout_setting()
    if not nchw:
        skip("NCHW stepping and shapes", "this build has no \"set layout\"")

    k24 = os.path.join(FIXTURES, "func_k24.h5")
    if ok(os.path.exists(k24), "fixture func_k24.h5 exists"):
        n = n_layers(k24)
        ok(n == 11, "func_k24: 11 layers", str(n))
        ref = step_equals_run("func_k24", k24, "input random 3", n)
        if nchw and ref is not None:
            x = step_equals_run("func_k24 nchw", k24, "input random 3", n, ["set layout nchw"])
            if x is not None:
                ok(np.allclose(x, ref, rtol=1e-5, atol=1e-6), "func_k24: NCHW stepping ends where NHWC does")
        stats_match("func_k24", k24, "input random 5", 8, "add")
        rc, out, err = k2t("blocks", model=k24)
        ok("block 1: conv2d_1, batch_normalization_1, conv2d_2, add, activation_1 (shortcut: projection conv2d_2)"
           in out, "func_k24: blocks shows the projection block", out)

    if not os.path.exists(RESNET) or not os.path.exists(CIFAR):
        skip("debug commands on the ResNet8", "%s or %s not found" % (RESNET, CIFAR))
        return
    inp = "input cifar %s 0:1" % CIFAR
    n = n_layers(RESNET)
    ok(n == 30, "resnet8: 30 layers", str(n))
    ref = step_equals_run("resnet8", RESNET, inp, n)
    if nchw and ref is not None:
        x = step_equals_run("resnet8 nchw", RESNET, inp, n, ["set layout nchw"])
        if x is not None:
            ok(np.allclose(x, ref, rtol=1e-4, atol=1e-5), "resnet8: NCHW stepping ends where NHWC does")
    stats_match("resnet8", RESNET, "input cifar %s 0:2" % CIFAR, 19, "activation_4")
    stats_match("resnet8", RESNET, "input cifar %s 0:2" % CIFAR, 13, "batch_normalization_3")

    rc, out, err = k2t("blocks", "vars", model=RESNET)
    blocks = re.findall(r"^block (\d+): (.*) \(shortcut: (.*)\)$", out, re.M)
    ok(len(blocks) == 3, "resnet8: exactly 3 residual blocks", str(len(blocks)))
    ok(re.search(r"^\$blocks\s+3$", out, re.M) is not None, "resnet8: $blocks is 3")
    b2 = [b for b in blocks if b[0] == "2"]
    ok(len(b2) == 1 and b2[0][1] == BLOCK2, "resnet8: block 2 is " + BLOCK2, b2 and b2[0][1])
    ok(len(b2) == 1 and b2[0][2] == "projection conv2d_5", "resnet8: block 2's shortcut is projection conv2d_5")
    ok(blocks and blocks[0][2] == "identity", "resnet8: block 1's shortcut is identity")

    def operand_shapes(out):
        return re.findall(r"^  block \d+ \S+: \S+ (\([\d, ]+\)) \+ \S+ (\([\d, ]+\))", out, re.M)

    nhwc = [("(1, 32, 32, 16)",) * 2, ("(1, 16, 16, 32)",) * 2, ("(1, 8, 8, 64)",) * 2]
    rc, out, err = k2t("shapes", model=RESNET)
    ok(operand_shapes(out) == nhwc, "resnet8: shapes (inferred, NHWC)", out)
    ok("MISMATCH" not in out, "resnet8: no mismatch flagged")
    rc, out, err = k2t(inp, "step block 3", "shapes", model=RESNET)
    ok(operand_shapes(out) == nhwc and out.count("(ran)") == 3, "resnet8: shapes from the run, NHWC", out)
    rc, out, err = k2t(inp, "step block 2", model=RESNET)
    ok("  before add_1: conv2d_5 (1, 16, 16, 32) + batch_normalization_4 (1, 16, 16, 32)" in out,
       "resnet8: step block 2 prints the operands before add_1", out)
    ok(out.count("  before ") == 1, "resnet8: step block 2 prints only block 2's operands")
    if nchw:
        want = [("(1, 16, 32, 32)",) * 2, ("(1, 32, 16, 16)",) * 2, ("(1, 64, 8, 8)",) * 2]
        rc, out, err = k2t("set layout nchw", "shapes", model=RESNET)
        ok(operand_shapes(out) == want, "resnet8: shapes (inferred, NCHW)", out)
        rc, out, err = k2t("set layout nchw", inp, "step block 3", "shapes", model=RESNET)
        ok(operand_shapes(out) == want and out.count("(ran)") == 3, "resnet8: shapes from the run, NCHW", out)


if __name__ == "__main__":
    main()
    done()
