"""Breakpoints beyond a layer name (commands/debug.c), against numpy and diff.

- break nan on fresh_init.h5 (NaN and Inf weights) stops after the first layer
  whose saved activation numpy finds non-finite, with numpy's count; every
  layer before it is finite; "break LAYER if nan" stops only at that layer and
  only when it holds NaN; step N stops there early.
- break diff > X under profile torch-naive stops after the first layer whose
  max|a-b| in diff's own table exceeds X (the demo model, and the MLPerf
  ResNet8 when ../shared is present), with diff's value.
- tbreak stops once and is gone; disable/enable (no argument: all) and
  condition N change what stops; info breakpoints shows Enb y/n and the
  condition.
- Every reset of the kept run or the stepping cursor prints one note, and
  nothing is printed when there was nothing to lose.
"""
import glob
import os
import re
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import FIXTURES, MODELS, SHARED, ROOT, done, k2t, ok, parse_layers, skip  # noqa: E402

FRESH = os.path.join(FIXTURES, "fresh_init.h5")
DEMO = os.path.join(ROOT, "demo", "demo.h5")
DEMO_BIN = os.path.join(ROOT, "demo", "demo-test.bin")
RESNET = os.path.join(MODELS, "pretrainedResnet.h5")
CIFAR = os.path.join(SHARED, "data", "cifar10-ic200.bin")
COND_STOP = re.compile(r"^(temporary )?breakpoint (\d+) \((.*?)\) at (\S+) \((\w+)\), node (\d+): (.*)$", re.M)
DIFF_ROW = re.compile(r"^\s*(\d+)\s+(\S+)\s+(\w+)\s+(\S+)\s+(\S+)\s+\S+\s+(ok|FAIL)\s*$", re.M)
NOTE = re.compile(r"^note: .*kept run is dropped.*$", re.M)


def nan_checks():
    if not os.path.exists(FRESH):
        skip("break nan", "%s not generated" % FRESH)
        return
    rc, out, err = k2t("layers", model=FRESH)
    order = [r[1] for r in parse_layers(out)]
    with tempfile.TemporaryDirectory() as d:
        rc, out, err = k2t("input random 1", "run", "save activations " + d, model=FRESH)
        if not ok(rc == 0, "fresh_init: run and save activations", err.strip()):
            return
        bad = {}
        for name in order:
            f = os.path.join(d, name + ".npy")
            if os.path.exists(f):
                bad[name] = int((~np.isfinite(np.load(f))).sum())
    first = next((n for n in order if bad.get(n, 0) > 0), None)
    if not ok(first is not None, "fresh_init: numpy finds a layer with NaN or Inf", str(bad)):
        return
    rc, out, err = k2t("input random 1", "break nan", "continue", "vars", model=FRESH)
    m = COND_STOP.search(out)
    ok(rc == 0 and m and m.group(4) == first, "break nan stops after %s, the first non-finite layer numpy finds"
       % first, out + err)
    if m:
        cnt = int(re.match(r"(\d+) of", m.group(7)).group(1))
        ok(cnt == bad[first], "break nan: the count of NaN/Inf values is numpy's (%d)" % bad[first], m.group(7))
        ok(all(bad.get(n, 0) == 0 for n in order[:order.index(first)]),
           "every layer before %s is finite in numpy" % first)
        ok("cursor: node %d " % (int(m.group(6)) + 1) in out, "break nan: the cursor is on the layer after it")
        ok(re.search(r"break_layer\s*=?\s*%s" % first, out) is not None, "break nan: $break_layer is %s" % first,
           out[-400:])
    before = order[order.index(first) - 1]
    rc, out, err = k2t("input random 1", "break %s if nan" % before, "continue", model=FRESH)
    ok(rc == 0 and not COND_STOP.search(out) and "end of the model" in out,
       "break %s if nan: a finite layer does not stop" % before, out + err)
    rc, out, err = k2t("input random 1", "break %s if nan" % first, "continue", model=FRESH)
    m = COND_STOP.search(out)
    ok(m and m.group(4) == first and m.group(3) == "%s if nan" % first,
       "break %s if nan stops there, naming the breakpoint's layer and condition" % first, out + err)
    rc, out, err = k2t("input random 1", "break nan", "step %d" % len(order), model=FRESH)
    m = COND_STOP.search(out)
    steps = re.findall(r"^\s*(\d+)\s+\S+ \(\w+\)\s+\(", out, re.M)
    ok(m and m.group(4) == first and len(steps) == order.index(first) + 1,
       "step N stops early after %s when break nan holds" % first, out + err)


def diff_checks(name, model, input_cmd, x):
    rc, out, err = k2t(input_cmd, "profile torch-naive", "diff", model=model)
    rows = [(int(r[0]), r[1], float(r[3])) for r in DIFF_ROW.findall(out)]
    fd = re.search(r"^first divergence: (\S+)", out, re.M)
    want = next((r for r in rows if r[2] > x), None)
    if not ok(rc == 0 and rows and want, "%s: diff under torch-naive names a layer over %g" % (name, x), out + err):
        return
    rc, out, err = k2t(input_cmd, "profile torch-naive", "break diff > %g" % x, "continue", model=model)
    m = COND_STOP.search(out)
    ok(rc == 0 and m and m.group(4) == want[1] and int(m.group(6)) == want[0],
       "%s: break diff > %g stops after %s, the first layer diff shows over %g" % (name, x, want[1], x), out + err)
    if m:
        v = float(re.search(r"max\|diff\| (\S+)", m.group(7)).group(1))
        ok(abs(v - want[2]) <= 1e-3 * max(abs(want[2]), 1e-12), "%s: the stop's max|diff| %g is diff's %g"
           % (name, v, want[2]))
        if fd:
            ok(fd.group(1) == m.group(4) or rows[[r[1] for r in rows].index(fd.group(1))][2] <= x,
               "%s: the stop agrees with diff's first divergence %s at threshold %g" % (name, fd.group(1), x))
    # Under Keras's own settings nothing departs: continue runs to the end.
    rc, out, err = k2t(input_cmd, "break diff > %g" % x, "continue", model=model)
    ok(rc == 0 and not COND_STOP.search(out) and "end of the model" in out,
       "%s: break diff under keras never stops" % name, out + err)


def control_checks():
    inp = "input cifar %s 0:2" % DEMO_BIN
    rc, out, err = k2t(inp, "tbreak conv2d_3", "info breakpoints", "continue", "info breakpoints", "restart",
                       "continue", model=DEMO)
    ok(rc == 0 and re.search(r"^1\s+del\s+y\s+conv2d_3", out, re.M), "tbreak: info breakpoints shows Disp del", out)
    ok(out.count("temporary breakpoint 1 (conv2d_3), before node 11") == 1 and "(deleted)" in out,
       "tbreak: stops once before conv2d_3", out)
    ok("no breakpoints" in out and out.rstrip().endswith("end of the model: 30 of 30 layers ran"),
       "tbreak: deleted after the stop; the next continue runs to the end", out[-300:])

    rc, out, err = k2t(inp, "break conv2d_3", "break add", "disable", "info breakpoints", "continue", "restart",
                       "enable 2", "info breakpoints", "continue", "enable", "restart", "continue", "continue",
                       model=DEMO)
    ok(rc == 0 and re.search(r"^1\s+keep\s+n\s+conv2d_3", out, re.M) and re.search(r"^2\s+keep\s+n\s+add", out, re.M),
       "disable with no argument disables every breakpoint (Enb n)", out)
    stops = re.findall(r"^breakpoint (\d+) \(", out, re.M)
    ok(stops == ["2", "2", "1"], "disable/enable: nothing stops while disabled; add (2) once enabled; after enable "
       "with no argument add then conv2d_3 (1)",
       str(stops) + "\n" + out)
    ok(re.search(r"^1\s+keep\s+n\s+conv2d_3.*\n2\s+keep\s+y\s+add", out, re.M) is not None,
       "enable 2 enables only breakpoint 2", out)

    rc, out, err = k2t(inp, "break conv2d_3", "condition 1 diff > 0.5", "info breakpoints", "condition 1",
                       "info breakpoints", "condition 9 nan", model=DEMO)
    ok(re.search(r"^1\s+keep\s+y\s+conv2d_3\s+layer\s+1\s+0\s+diff > 0.5$", out, re.M) is not None,
       "condition N COND: info breakpoints shows the condition", out)
    ok("breakpoint 1 now unconditional" in out and out.rstrip().splitlines()[-1].rstrip().endswith("0"),
       "condition N alone clears it", out)
    ok(rc == 1 and "no breakpoint 9" in err, "condition on an unknown breakpoint is refused", err)
    rc, out, err = k2t(inp, "break diff > x", model=DEMO)
    ok(rc == 1 and "number" in err, "break diff > x is refused", err)
    rc, out, err = k2t(inp, "break nonsense_layer", model=DEMO)
    ok(rc == 1 and "unknown layer" in err, "an unknown layer is still refused as one", err)


def reset_checks():
    inp = "input cifar %s 0:2" % DEMO_BIN
    cases = [
        (["set bn.eps torch"], 0, "set bn.eps with nothing run"),
        (["profile torch-naive"], 0, "profile with nothing run"),
        ([inp, "set bn.eps torch"], 0, "set after input, before anything ran"),
        ([inp, "step 12", "set bn.eps keras"], 0, "set to the value it has"),
        ([inp, "step 12", "set bn.eps torch"], 1, "set bn.eps torch at node 12"),
        ([inp, "step 12", "profile torch-naive"], 1, "profile at node 12"),
        ([inp, "run", "profile torch-naive"], 1, "profile after run"),
        ([inp, "step 3", "input cifar %s 2:2" % DEMO_BIN], 1, "input at node 3"),
        ([inp, "run", "load " + DEMO], 1, "load after run"),
        ([inp, "step 3", "set threads 1"], 1, "set threads at node 3"),
    ]
    for cmds, n, what in cases:
        rc, out, err = k2t(*cmds, model=DEMO)
        notes = NOTE.findall(out)
        ok(rc == 0 and len(notes) == n, "%s: %s" % (what, "one note" if n else "no note"), out + err)
        if n and "at node 12" in what:
            ok("stepping restarts at node 0 (the cursor was at node 12" in notes[0], "%s: names the cursor" % what,
               notes[0])
    rc, out, err = k2t(inp, "step 5", "run", model=DEMO)
    ok("note: run starts again from node 0 (stepping was at node 5" in out, "run while stepping says so", out)
    rc, out, err = k2t(inp, "step 12", "set bn.eps torch", "where", model=DEMO)
    ok("cursor: node 0 " in out, "after the note the cursor is at node 0", out)


def main():
    nan_checks()
    if os.path.exists(DEMO) and os.path.exists(DEMO_BIN):
        diff_checks("demo", DEMO, "input cifar %s 0:4" % DEMO_BIN, 1e-3)
        diff_checks("demo", DEMO, "input cifar %s 0:4" % DEMO_BIN, 0.5)
        control_checks()
        reset_checks()
    else:
        skip("break diff, tbreak, disable on the demo", "demo/demo.h5 or demo/demo-test.bin missing")
    if os.path.exists(RESNET) and os.path.exists(CIFAR):
        diff_checks("ResNet8", RESNET, "input cifar %s 0:4" % CIFAR, 1e-3)
    else:
        skip("break diff on the ResNet8", "%s or %s not found" % (RESNET, CIFAR))
    done()


if __name__ == "__main__":
    main()
