#!/usr/bin/python3
"""check_fixtures.py -- sanity-check generated fixtures against expect.json.

    /usr/bin/python3 tests/py/check_fixtures.py FIXTURE_DIR [BROKEN_DIR]

For every file in FIXTURE_DIR/expect.json: the weight elements counted by
h5params.py's rule equal total_params, every weight_names entry has a
float32 dataset, every layer in layer_names has a group, and each expected
node's shape has no negative dimension.  With BROKEN_DIR, checks that every
file listed in broken.tsv exists.  Prints one line per problem; exit status 1
if there was any.
"""

import json
import os
import sys

import h5py
import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h5common import layer_names, weight_names, weights_root  # noqa: E402


def check_fixture(path, exp):
    problems = []
    with h5py.File(path, "r") as f:
        root = weights_root(f)
        total = 0
        for ln in layer_names(root):
            if ln not in root:
                problems.append("layer '%s' has no group" % ln)
                continue
            g = root[ln]
            for w in weight_names(g):
                if w not in g:
                    problems.append("layer '%s': no dataset '%s'" % (ln, w))
                    continue
                ds = g[w]
                if ds.dtype != np.float32:
                    problems.append("layer '%s': '%s' is %s" % (ln, w, ds.dtype))
                total += int(np.prod(ds.shape, dtype=np.int64))
        if total != exp["total_params"]:
            problems.append("params %d, expect.json says %d" % (total, exp["total_params"]))
        if exp["trainable_params"] + exp["non_trainable_params"] != exp["total_params"]:
            problems.append("trainable + non_trainable != total")
        has_cfg = "model_config" in f.attrs
        if has_cfg != (exp["model_class"] is not None):
            problems.append("model_config presence disagrees with model_class")
    for name, node in exp["layers"].items():
        shp = node["shape"]
        if shp is not None and any(d is not None and d < 0 for d in shp):
            problems.append("node '%s' has shape %s" % (name, shp))
    for name in exp.get("order", []):
        if name not in exp["layers"]:
            problems.append("order names unknown node '%s'" % name)
    return problems


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write("usage: check_fixtures.py FIXTURE_DIR [BROKEN_DIR]\n")
        return 2
    bad = 0
    with open(os.path.join(argv[1], "expect.json")) as fh:
        expect = json.load(fh)
    for fname, exp in sorted(expect.items()):
        for p in check_fixture(os.path.join(argv[1], fname), exp):
            print("%s: %s" % (fname, p))
            bad += 1
    if len(argv) == 3:
        with open(os.path.join(argv[2], "broken.tsv")) as fh:
            for line in fh:
                fname, sub = line.rstrip("\n").split("\t")
                if not os.path.exists(os.path.join(argv[2], fname)) or not sub:
                    print("%s: listed in broken.tsv but missing or without a substring" % fname)
                    bad += 1
    print("%d fixtures checked, %d problems" % (len(expect), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
