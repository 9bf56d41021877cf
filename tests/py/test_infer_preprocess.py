#!/usr/bin/python3
"""check infers the training preprocessing from the first BatchNormalization's statistics.

The references are facts about how the models were trained, not k2t's numbers: the MLPerf
ResNet8 on raw CIFAR-10 pixels (whose channel means are 125.3, 123.0, 113.9), the MLPerf
VWW MobileNet on pixels / 255, the demo model on raw pixels (scripts/make_demo.py)."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from k2tlib import MODELS, ROOT, done, k2t, ok, skip  # noqa: E402


def finding(model):
    rc, out, err = k2t("check", model=model)
    text = " ".join(out.split())
    m = re.search(r"(!|ok) preprocess: the moving mean of \S+ fits a mean input of (\S+)(?: \(per channel ([^)]*)\))?", text)
    return rc, text, m


rc, text, m = finding(os.path.join(ROOT, "demo", "demo.h5"))
ok(rc == 0 and m and "trained on raw pixels 0..255" in text, "demo model: trained on raw pixels", text[-300:])
res = os.path.join(MODELS, "pretrainedResnet.h5")
if not os.path.exists(res):
    skip("MLPerf models", "%s not found" % MODELS)
else:
    rc, text, m = finding(res)
    ch = [float(v) for v in m.group(3).split(",")] if m and m.group(3) else []
    ok(rc == 0 and "trained on raw pixels 0..255" in text and len(ch) == 3 and
       all(abs(a - b) < 6 for a, b in zip(ch, (125.3, 123.0, 113.9))),
       "ResNet8: raw pixels, per-channel means near CIFAR-10's", str(ch))
    rc, text, m = finding(os.path.join(MODELS, "vww_96.h5"))
    ok(rc == 0 and "divided by 255" in text, "VWW MobileNet: pixels / 255", text[:300])
    rc, out, err = k2t("set preprocess unit", "input cifar %s 0:2" % os.path.join(os.path.dirname(MODELS), "data",
                       "cifar10-ic200.bin"), model=res)
    ok("warning: preprocess is unit" in err and "set preprocess raw" in err,
       "input cifar warns when the preprocessing contradicts the statistics", err)
    rc, out, err = k2t("input cifar %s 0:2" % os.path.join(os.path.dirname(MODELS), "data", "cifar10-ic200.bin"),
                       model=res)
    ok("warning" not in err, "no warning when it agrees", err)
done()
