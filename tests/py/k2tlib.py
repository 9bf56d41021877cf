"""Helpers for the Python tests: run k2t, find fixtures and the shared models.

Every test prints "ok - ...", "not ok - ..." or "skip - ..." lines, which
tests/run counts.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
K2T = os.environ.get("K2T", os.path.join(ROOT, "k2t"))
FIXTURES = os.environ.get("K2T_FIXTURES", os.path.join(ROOT, "build", "fixtures"))
SHARED = os.environ.get("K2T_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
MODELS = os.path.join(SHARED, "models")
REAL = ["pretrainedResnet.h5", "vww_96.h5", "ad01.h5", "str_ww_ref_model.h5"]

_fails = 0


def ok(cond, what, detail=""):
    global _fails
    if cond:
        print("ok - " + what)
    else:
        _fails += 1
        print("not ok - " + what + (": " + detail if detail else ""))
    return cond


def skip(what, why):
    print("skip - %s (%s)" % (what, why))


def done():
    sys.exit(1 if _fails else 0)


def k2t(*cmds, model=None, args=()):
    """Run k2t in batch form with -c commands; returns (rc, stdout, stderr)."""
    argv = [K2T, "--batch", "--no-init"] + list(args)
    for c in cmds:
        argv += ["-c", c]
    if model:
        argv.append(model)
    p = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=600)
    return p.returncode, p.stdout, p.stderr


def real_models():
    """Paths of the real Keras models, or [] (with a skip line) when ../shared is absent."""
    if not os.path.isdir(MODELS):
        skip("real Keras models", "%s not found" % MODELS)
        return []
    return [os.path.join(MODELS, m) for m in REAL]


LAYER_ROW = re.compile(r"^\s*(\d+)\s+(\S+)\s+(\S+)\s+(\(.*?\)|\?)\s+([\d,]+)")


def parse_layers(out):
    """Rows of the 'layers' command: [(index, name, class, shape-or-None, params)]."""
    rows = []
    for line in out.splitlines():
        m = LAYER_ROW.match(line)
        if not m:
            continue
        shp = m.group(4)
        shape = None
        if shp != "?":
            dims = [d.strip() for d in shp.strip("()").split(",") if d.strip()]
            shape = [None if d == "None" else int(d) for d in dims][1:]
        rows.append((int(m.group(1)), m.group(2), m.group(3), shape, int(m.group(5).replace(",", ""))))
    return rows


def totals(out):
    t = {}
    for key, name in (("Total params", "total"), ("Trainable params", "trainable"),
                      ("Non-trainable params", "non_trainable")):
        m = re.search(r"^%s: ([\d,]+)$" % key, out, re.M)
        t[name] = int(m.group(1).replace(",", "")) if m else None
    return t
