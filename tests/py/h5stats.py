#!/usr/bin/python3
"""h5stats.py -- numpy reference for k2t's `stats` command.

    /usr/bin/python3 tests/py/h5stats.py FILE.h5 LAYER [--json]

For each weight of LAYER, in weight_names order (chunked weight_names0/1...
and fixed- or variable-length strings handled), prints its name, shape and
statistics accumulated in float64:

    n          number of elements
    min, max   over finite elements (null if there is none)
    mean, std  over finite elements; std is the population std (ddof=0)
    mean_abs   mean of |x| over finite elements
    zero_frac  elements equal to 0, divided by n (all elements)
    n_nan, n_inf, nonfinite (= n_nan + n_inf)

LAYER is a group in layer_names.  If no such group exists, LAYER may name a
sublayer of a nested model: the weights of every group whose weight_names
entries have LAYER as a path component before the variable are printed
(e.g. 'inner_conv' finds inner_model's 'inner_conv/kernel:0').

--json prints one JSON object per line; otherwise a table.  Exit status 1
with a message on stderr if the layer or a dataset is missing.
"""

import json
import os
import sys

import h5py
import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h5common import layer_names, var_name, weight_names, weights_root  # noqa: E402


def stats(a):
    x = np.asarray(a, dtype=np.float64).reshape(-1)
    n = int(x.size)
    nan = int(np.isnan(x).sum())
    inf = int(np.isinf(x).sum())
    fin = x[np.isfinite(x)]
    r = {"n": n, "n_nan": nan, "n_inf": inf, "nonfinite": nan + inf,
         "zero_frac": float((x == 0).sum()) / n if n else 0.0}
    if fin.size:
        mean = float(fin.sum(dtype=np.float64) / fin.size)
        r.update(min=float(fin.min()), max=float(fin.max()), mean=mean,
                 std=float(np.sqrt(np.mean((fin - mean) ** 2, dtype=np.float64))),
                 mean_abs=float(np.abs(fin).sum(dtype=np.float64) / fin.size))
    else:
        r.update(min=None, max=None, mean=None, std=None, mean_abs=None)
    return r


def find_weights(root, layer):
    """[(group, weight_name)] for LAYER."""
    names = layer_names(root)
    if layer in names:
        if layer not in root:
            raise KeyError("layer '%s' is listed in layer_names but has no group" % layer)
        g = root[layer]
        return [(g, w) for w in weight_names(g)]
    out = []
    for ln in names:
        if ln not in root:
            continue
        g = root[ln]
        for w in weight_names(g):
            if layer in w.split("/")[:-1]:
                out.append((g, w))
    if not out:
        raise KeyError("no layer '%s' in %s" % (layer, root.file.filename))
    return out


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    as_json = "--json" in argv[1:]
    if len(args) != 2:
        sys.stderr.write("usage: h5stats.py FILE.h5 LAYER [--json]\n")
        return 2
    path, layer = args
    try:
        with h5py.File(path, "r") as f:
            root = weights_root(f)
            rows = []
            for g, w in find_weights(root, layer):
                if w not in g:
                    raise KeyError("weight '%s' of layer '%s' is missing" % (var_name(w), g.name.split("/")[-1]))
                ds = g[w]
                if ds.dtype.kind not in "fiu":
                    raise ValueError("weight '%s' has non-numeric dtype %s" % (var_name(w), ds.dtype))
                row = {"layer": g.name.split("/")[-1], "name": var_name(w), "weight_name": w,
                       "shape": list(ds.shape), "dtype": str(ds.dtype)}
                row.update(stats(ds[()]))
                rows.append(row)
    except (OSError, KeyError, ValueError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        sys.stderr.write("h5stats: %s: %s\n" % (path, msg))
        return 1
    if as_json:
        for r in rows:
            print(json.dumps(r))
        return 0
    wn = max([len("weight")] + [len(r["weight_name"]) for r in rows])
    fmt = "%-" + str(wn) + "s %-14s %8s %12s %12s %12s %12s %12s %7s %7s"
    print(fmt % ("weight", "shape", "n", "min", "max", "mean", "std", "mean|x|", "zero%", "nan+inf"))
    g = lambda v: "-" if v is None else "%.6g" % v  # noqa: E731
    for r in rows:
        print(fmt % (r["weight_name"], "(" + ",".join(map(str, r["shape"])) + ")", r["n"],
                     g(r["min"]), g(r["max"]), g(r["mean"]), g(r["std"]), g(r["mean_abs"]),
                     "%.2f" % (100 * r["zero_frac"]), r["nonfinite"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
