#!/usr/bin/python3
"""h5params.py -- numpy reference for k2t's `Total params:`.

    /usr/bin/python3 tests/py/h5params.py FILE.h5 [--verbose]

Prints the total number of weight elements in the file: the sum, over every
layer group listed in layer_names (plus top_level_model_weights when present),
of the sizes of the datasets its weight_names lists.  A nested model's group
lists every sublayer variable, so nested weights are counted once.
optimizer_weights is not counted.  --verbose prints "layer count" lines first.
"""

import os
import sys

import h5py
import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h5common import layer_names, weight_names, weights_root  # noqa: E402


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        sys.stderr.write("usage: h5params.py FILE.h5 [--verbose]\n")
        return 2
    path = args[0]
    total = 0
    try:
        with h5py.File(path, "r") as f:
            root = weights_root(f)
            groups = list(layer_names(root))
            if "top_level_model_weights" in root and "top_level_model_weights" not in groups:
                groups.append("top_level_model_weights")
            for ln in groups:
                if ln not in root:
                    raise KeyError("layer '%s' is listed in layer_names but has no group" % ln)
                g = root[ln]
                n = 0
                for w in weight_names(g):
                    if w not in g:
                        raise KeyError("layer '%s': dataset '%s' is missing" % (ln, w))
                    n += int(np.prod(g[w].shape, dtype=np.int64))
                if "--verbose" in argv:
                    print("%s %d" % (ln, n))
                total += n
    except (OSError, KeyError, ValueError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        sys.stderr.write("h5params: %s: %s\n" % (path, msg))
        return 1
    print(total)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
