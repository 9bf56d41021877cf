"""stats: k2t's weight statistics equal numpy's on the same arrays (read
with h5py), and the never-trained / never-loaded flags fire exactly where the
fixture generator planted them and nowhere in the real, trained models.
"""
import json
import math
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(__file__))
import h5py  # noqa: E402
from k2tlib import FIXTURES, k2t, ok, done, real_models  # noqa: E402
from h5common import layer_names, weight_names, weights_root, var_name  # noqa: E402
from h5stats import stats  # noqa: E402

ROW = re.compile(r"^  (\S+)\s+(\(\S*\))\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)%\s+(\d+)$")
FLAG_WORDS = [("freshly initialized", "INIT_LIKE"), ("BatchNormalization's initial", "BN_DEFAULT"),
              ("NaN", "NONFINITE"), ("all zero", "ALL_ZERO"), ("constant", "CONSTANT")]


def parse_stats_all(out):
    rows, last = {}, None
    for line in out.splitlines():
        m = ROW.match(line)
        if m:
            last = m.group(1)
            v = [float(x) for x in m.groups()[2:8]]
            rows[last] = {"shape": m.group(2), "min": v[0], "max": v[1], "mean": v[2], "std": v[3],
                          "mean_abs": v[4], "zero_pct": v[5], "nonfinite": int(m.group(9)), "flags": set()}
        elif line.startswith("  ! ") and last:
            rows[last]["flags"] |= {f for w, f in FLAG_WORDS if w in line}
    return rows


def reference(path):
    """{layer/var: numpy stats} for every weight, in the file's own terms."""
    ref = {}
    with h5py.File(path, "r") as f:
        root = weights_root(f)
        for ln in layer_names(root):
            g = root[ln]
            for w in weight_names(g):
                segs = w.split("/")
                owner = ln
                if g.name.split("/")[-1] != segs[0] and len(segs) > 1:
                    owner = segs[-2]  # a nested model's sublayer
                elif len(segs) > 2 and segs[-2] != ln:
                    owner = segs[-2] if segs[-2] in layer_names(root) else ln
                ref["%s/%s" % (owner if owner != ln or len(segs) < 2 else ln, var_name(w))] = stats(g[w][()])
    return ref


def close(a, b):
    if b is None or (isinstance(b, float) and math.isnan(b)):
        return math.isnan(a)
    return abs(a - b) <= 2e-5 * max(abs(b), 1e-30) + 1e-12


def check(path, planted=None):
    name = os.path.basename(path)
    rc, out, err = k2t("stats all", model=path)
    if not ok(rc == 0, "%s: stats all runs" % name, err.strip()):
        return
    got = parse_stats_all(out)
    ref = reference(path)
    bad = []
    for key, r in ref.items():
        g = got.get(key)
        if g is None:
            # nested/lstm naming differs: find by suffix
            cands = [k for k in got if k.endswith("/" + key.split("/")[-1]) and k.split("/")[0] == key.split("/")[0]]
            g = got[cands[0]] if cands else None
        if g is None and key.endswith("/kernel"):
            g = got.get(key[:-len("kernel")] + "depthwise_kernel")  # Keras 3's name for it
        if g is None:
            bad.append("%s missing" % key)
            continue
        for k in ("min", "max", "mean", "std", "mean_abs"):
            if not close(g[k], r[k]):
                bad.append("%s %s %r != numpy %r" % (key, k, g[k], r[k]))
        if abs(g["zero_pct"] - 100 * r["zero_frac"]) > 0.006:
            bad.append("%s zeros %r%% != %r" % (key, g["zero_pct"], 100 * r["zero_frac"]))
        if g["nonfinite"] != r["nonfinite"]:
            bad.append("%s nan/inf %d != %d" % (key, g["nonfinite"], r["nonfinite"]))
    ok(not bad and len(got) == len(ref), "%s: %d weight tensors, statistics equal numpy's" % (name, len(ref)),
       "; ".join(bad[:4]) + (" (k2t has %d rows, numpy %d)" % (len(got), len(ref))))
    if planted is None:
        flagged = sorted(k for k, g in got.items() if g["flags"])
        ok(not flagged, "%s: no weight flagged as untrained" % name, ", ".join(flagged[:5]))
    else:
        miss = []
        for layer, ws in planted.items():
            for w, flags in ws.items():
                g = got.get("%s/%s" % (layer, w))
                if g is None or set(flags) - g["flags"] or (not flags and g["flags"]):
                    miss.append("%s/%s want %s got %s" % (layer, w, flags, g and sorted(g["flags"])))
        ok(not miss, "%s: flags fire exactly on the planted weights" % name, "; ".join(miss[:4]))


expect = json.load(open(os.path.join(FIXTURES, "expect.json")))
for fx in sorted(expect):
    check(os.path.join(FIXTURES, fx), expect[fx].get("flags", None if fx != "fresh_init.h5" else {}))
for path in real_models():
    check(path)

# The example, checked against numpy above and spelled out here.
for path in real_models()[:1]:
    rc, out, err = k2t("stats layer conv2d_3", model=path)
    ok(re.search(r"kernel\s+\(3,3,16,32\)\s+-0\.48301\s+0\.37584\s+-0\.00599364\s+0\.0998276", out) is not None,
       "stats layer conv2d_3: kernel (3,3,16,32) min -0.48301 max 0.37584 mean -0.00599364 std 0.0998276")
done()
