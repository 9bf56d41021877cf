"""Deep and wide generated graphs load (issue 14): the loader's ordering, name
lookup and shape inference are linear in the number of layers, so a 20,000-layer
Functional chain, the same chain listed in reverse order, a Sequential of the
same depth and a 2,000-way fan-in all load and report the right layer count.

No wall-clock bound is asserted (the machine is shared); the timings in the
issue's report were measured by hand with:
    python3 tests/py/test_deep_graph.py --write N OUT.h5 [chain|reverse|seq|wide]
    time ./k2t --batch --no-init -c summary OUT.h5 >/dev/null
"""
import json
import os
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import k2t, ok, done  # noqa: E402


def _act(name, src, relu=True):
    cfg = {"name": name, "trainable": True, "dtype": "float32", "activation": "relu" if relu else "linear"}
    return {"class_name": "Activation", "config": cfg, "name": name, "inbound_nodes": [[[src, 0, 0, {}]]]}


def _input(name, dim):
    return {"class_name": "InputLayer", "name": name, "inbound_nodes": [],
            "config": {"batch_input_shape": [None, dim], "dtype": "float32", "sparse": False,
                       "ragged": False, "name": name}}


def _dense(name, src, units, inbound=True):
    e = {"class_name": "Dense", "name": name,
         "config": {"name": name, "trainable": True, "dtype": "float32", "units": units,
                    "activation": "linear", "use_bias": True}}
    if inbound:
        e["inbound_nodes"] = [[[src, 0, 0, {}]]]
    return e


def write(path, n, kind):
    """input (4,) -> dense (3) -> n Activation layers [-> Add for 'wide']."""
    layers = [_input("input_1", 4), _dense("dense", "input_1", 3)]
    last = "dense"
    if kind == "wide":
        # n branches from dense, summed 50 at a time, then one Add of the sums
        def add(name, srcs):
            return {"class_name": "Add", "name": name,
                    "config": {"name": name, "trainable": True, "dtype": "float32"},
                    "inbound_nodes": [[[s, 0, 0, {}] for s in srcs]]}
        for i in range(n):
            layers.append(_act("a%d" % i, "dense"))
        sums = []
        for k in range(0, n, 50):
            sums.append("add_%d" % (k // 50))
            layers.append(add(sums[-1], ["a%d" % i for i in range(k, min(n, k + 50))]))
        layers.append(add("add", sums))
        last = "add"
    else:
        for i in range(n):
            layers.append(_act("a%d" % i, last))
            last = "a%d" % i
    if kind == "reverse":
        layers.reverse()
    if kind == "seq":
        seq = [dict(l) for l in layers[1:]]
        for l in seq:
            l.pop("inbound_nodes", None)
            l.pop("name", None)
        seq[0]["config"]["batch_input_shape"] = [None, 4]
        mc = {"class_name": "Sequential", "config": {"name": "sequential", "layers": seq}}
    else:
        mc = {"class_name": "Functional", "config": {"name": "model", "layers": layers,
                                                     "input_layers": [["input_1", 0, 0]],
                                                     "output_layers": [[last, 0, 0]]}}
    vs = h5py.string_dtype("utf-8")
    with h5py.File(path, "w", libver="latest") as f:
        f.attrs.create("keras_version", "2.14.0", dtype=vs)
        f.attrs.create("backend", "tensorflow", dtype=vs)
        f.attrs.create("model_config", json.dumps(mc), dtype=vs)
        w = f.create_group("model_weights")
        w.attrs["layer_names"] = np.array([b"dense"])
        w.attrs["backend"] = b"tensorflow"
        w.attrs["keras_version"] = b"2.14.0"
        g = w.create_group("dense")
        g.attrs["weight_names"] = np.array([b"dense/kernel:0", b"dense/bias:0"])
        g.create_dataset("dense/kernel:0", data=np.full((4, 3), 0.5, np.float32))
        g.create_dataset("dense/bias:0", data=np.zeros(3, np.float32))
    return n + 2 + ((n + 49) // 50 + 1 if kind == "wide" else 0)


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "--write":
        write(sys.argv[3], int(sys.argv[2]), sys.argv[4] if len(sys.argv) > 4 else "chain")
        return 0
    with tempfile.TemporaryDirectory() as d:
        for n, kind in ((20000, "chain"), (3000, "reverse"), (20000, "seq"), (2000, "wide")):
            path = os.path.join(d, "%s_%d.h5" % (kind, n))
            want = write(path, n, kind)
            rc, out, err = k2t("layers a%d" % (n - 1), "echo loaded-ok", model=path)
            ok(rc == 0 and ("%d layers" % want) in out and "loaded-ok" in out and ("a%d" % (n - 1)) in out,
               "%s of %d layers loads (%d layers reported)" % (kind, n, want), (err or out)[-300:])
        # A cycle deep in a long chain is found and named, not reported as "cannot be ordered".
        path = os.path.join(d, "cycle.h5")
        write(path, 5000, "chain")
        with h5py.File(path, "r+") as f:
            mc = json.loads(f.attrs["model_config"])
            for l in mc["config"]["layers"]:
                if l["name"] == "a100":
                    l["inbound_nodes"] = [[["a4000", 0, 0, {}]]]
            f.attrs.create("model_config", json.dumps(mc), dtype=h5py.string_dtype("utf-8"))
        rc, out, err = k2t("echo after", model=path)
        ok(rc == 1 and "is part of a cycle" in err and "layer 'a" in err, "a cycle in a deep chain is named",
           err.strip()[-300:])
    done()


if __name__ == "__main__":
    sys.exit(main())
