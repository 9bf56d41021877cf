"""Loading: every fixture variant and the real models load; shapes, the
topological order and the parameter totals agree with references computed
independently (the generator's own Keras shape rules, h5py's weight sizes).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import FIXTURES, k2t, ok, done, real_models, parse_layers, totals  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402

SUMMARY_ROW = re.compile(r"^(\S+) \((\S+)\)(?: !)?\s+(?:\(.*?\)|\?)\s+(?:\(.*?\)|\?)\s+([\d,]+)(?:  (.*))?$")


def h5params(path):
    p = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "h5params.py"), path],
                       capture_output=True, text=True)
    return int(p.stdout) if p.returncode == 0 else None

expect = json.load(open(os.path.join(FIXTURES, "expect.json")))


def node_name(n):
    # the generator names a shared layer's calls name#0, name#1; k2t keeps the
    # bare name for the first call
    return n[:-2] if n.endswith("#0") else n


for fx, e in sorted(expect.items()):
    path = os.path.join(FIXTURES, fx)
    rc, out, err = k2t("summary", "layers", model=path)
    if not ok(rc == 0, "%s loads" % fx, err.strip()):
        continue
    t = totals(out)
    ref = h5params(path)
    ok(t["total"] == e["total_params"], "%s Total params %s == %s" % (fx, t["total"], e["total_params"]))
    if ref is not None:
        ok(t["total"] == ref, "%s Total params == h5py's sum of weight sizes (%s)" % (fx, ref))
    ok(t["trainable"] == e["trainable_params"] and t["non_trainable"] == e["non_trainable_params"],
       "%s trainable/non-trainable %s/%s == %s/%s" % (fx, t["trainable"], t["non_trainable"],
                                                      e["trainable_params"], e["non_trainable_params"]))
    if e.get("model_class") is None:
        ok("no architecture" in out, "%s: summary says there is no architecture" % fx)
        continue
    rows = parse_layers(out)
    got = {r[1]: r for r in rows}
    want = {node_name(n): v for n, v in e["layers"].items() if v["class"] not in ("Functional", "Sequential")}
    missing = sorted(set(want) - set(got))
    extra = sorted(n for n in set(got) - set(want) if not n.endswith("_input"))
    ok(not missing and not extra, "%s: the graph has exactly the expected nodes" % fx,
       "missing %s, extra %s" % (missing, extra))
    bad = []
    for n, v in want.items():
        # past an unsupported layer (a Lambda) shapes are unknowable: '?'
        unknowable = fx == "unsupported.h5" and got.get(n, (0, 0, 0, 1))[3] is None
        if n in got and v.get("supported", True) and got[n][3] != v["shape"] and not unknowable:
            bad.append("%s %s != %s" % (n, got[n][3], v["shape"]))
        if n in got and got[n][2] != v["class"]:
            bad.append("%s class %s != %s" % (n, got[n][2], v["class"]))
    ok(not bad, "%s: every node's class and NHWC output shape match" % fx, "; ".join(bad[:5]))
    # Topological: every layer's inputs ("Connected to") come before it.
    seen, viol = set(), []
    for line in out.splitlines():
        m = SUMMARY_ROW.match(line)
        if not m:
            continue
        for src in (m.group(4) or "").split(", "):
            if src and src not in seen:
                viol.append("%s before its input %s" % (m.group(1), src))
        seen.add(m.group(1))
    ok(seen and not viol, "%s: layers are in topological order" % fx, "; ".join(viol[:3]))
    if "inputs" in e:
        ins = [r[1] for r in rows if r[2] == "InputLayer"]
        ok(all(node_name(i) in ins for i in e["inputs"]), "%s: inputs %s" % (fx, e["inputs"]))


for path in real_models():
    rc, out, err = k2t("summary", model=path)
    name = os.path.basename(path)
    ok(rc == 0, "%s loads" % name, err.strip())
    t = totals(out)
    ref = h5params(path)
    ok(ref is not None and t["total"] == ref, "%s Total params %s == h5py's %s" % (name, t["total"], ref))
    ok(t["trainable"] + t["non_trainable"] == t["total"], "%s trainable + non-trainable == total" % name)

done()
