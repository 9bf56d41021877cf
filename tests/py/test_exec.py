"""Execution: every layer's output (and fused pre-activation) of k2t against the
Keras-semantics oracle tests/oracle/keras_ref.mjs (tfjs-layers), on the fixtures of
scripts/gen_exec_fixtures.py and the models of scripts/gen_fixtures.py (several inputs fed as an .npz).

    k2t --batch --no-init -c 'input X.in.npy' -c run -c 'save activations DIR' MODEL.h5

For each activation present in the oracle's output: shapes must be equal and
rel = max|k2t - ref| / max(1, max|ref|) <= 1e-5.  One "ok"/"not ok" line per
activation, named <fixture>/<layer> (<layer>.preact for a fused pre-activation).

Oracle outputs are cached under $K2T_FIXTURES/exec/ref/<name>/, keyed by the
mtimes of the model, its input and keras_ref.mjs.
"""
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import FIXTURES, ROOT, done, k2t, ok, skip  # noqa: E402

TOL = 1e-5
EXEC = os.path.join(FIXTURES, "exec")
ORACLE_DIR = os.path.join(ROOT, "tests", "oracle")
ORACLE = os.path.join(ORACLE_DIR, "keras_ref.mjs")
GEN = os.path.join(ROOT, "scripts", "gen_exec_fixtures.py")
GEN_MAIN = os.path.join(ROOT, "scripts", "gen_fixtures.py")
MODEL_CLASSES = ("Functional", "Sequential", "Model")


def oracle_ready():
    """True when node and the oracle's node_modules are there (after trying setup.sh)."""
    if not shutil.which("node"):
        skip("execution against the Keras oracle", "node is not installed (apt-get install nodejs npm)")
        return False
    mods = os.path.join(ORACLE_DIR, "node_modules")
    need = [os.path.join(mods, "@tensorflow", "tfjs"), os.path.join(mods, "h5wasm")]
    if not all(os.path.isdir(d) for d in need):
        subprocess.run(["bash", os.path.join(ORACLE_DIR, "setup.sh")], cwd=ROOT)
    if not all(os.path.isdir(d) for d in need):
        skip("execution against the Keras oracle", "tests/oracle/node_modules is missing and setup.sh failed")
        return False
    return True


def ensure_fixtures():
    man = os.path.join(EXEC, "exec_manifest.json")
    stale = (not os.path.exists(man) or os.path.getmtime(GEN) > os.path.getmtime(man)
             or os.path.getmtime(GEN_MAIN) > os.path.getmtime(man))
    if stale:
        p = subprocess.run([sys.executable, GEN, EXEC], capture_output=True, text=True)
        if not ok(p.returncode == 0, "gen_exec_fixtures.py writes the execution fixtures", p.stderr.strip()):
            return None
    with open(man) as f:
        return json.load(f)


def config_of(path):
    with h5py.File(path, "r") as f:
        mc = f.attrs["model_config"]
    return json.loads(mc.decode() if isinstance(mc, bytes) else mc)


def input_shapes(path):
    """Per-sample input shapes from the model_config (InputLayers, or a Sequential's first layer)."""
    mc = config_of(path)
    cfg = mc["config"]
    layers = cfg if isinstance(cfg, list) else cfg["layers"]

    def shape_of(c):
        s = c.get("batch_input_shape") or c.get("batch_shape")
        return None if s is None else s[1:]
    if mc["class_name"] == "Sequential":
        for L in layers:
            s = shape_of(L["config"])
            if s is not None:
                return [s]
        return []
    by_name = {L["config"]["name"]: L for L in layers}
    ins = cfg["input_layers"]
    if isinstance(ins, dict):
        ins = list(ins.values())
    if ins and isinstance(ins[0], str):
        ins = [ins]
    return [shape_of(by_name[t[0]]["config"]) for t in ins]


def main_fixture_cases():
    """(name, model, input, description) for the models of gen_fixtures.py."""
    cases = []
    expect_path = os.path.join(FIXTURES, "expect.json")
    if not os.path.exists(expect_path):
        skip("gen_fixtures.py models", "%s missing (run tests/run once)" % expect_path)
        return cases
    expect = json.load(open(expect_path))
    os.makedirs(os.path.join(EXEC, "main"), exist_ok=True)
    for fx, e in sorted(expect.items()):
        path = os.path.join(FIXTURES, fx)
        if e.get("model_class") is None:
            continue  # weights only: nothing to run
        if fx == "fresh_init.h5":
            skip("exec/%s" % fx, "NaN/Inf weights: the outputs are NaN, nothing to compare")
            continue
        if any(not v.get("supported", True) for v in e["layers"].values()):
            skip("exec/%s" % fx, "has layers neither k2t nor the oracle runs (Lambda, LSTM)")
            continue
        shapes = input_shapes(path)
        if len(shapes) != 1:
            # several inputs: one .npy each for the oracle (INPUT1.npy,INPUT2.npy), and the
            # same arrays in an .npz named after the input layers for k2t ("input FILE.npz")
            inp = os.path.join(EXEC, "main", fx[:-3] + ".in.npz")
            parts = [os.path.join(EXEC, "main", "%s.in%d.npy" % (fx[:-3], k)) for k in range(len(shapes))]
            if any(not os.path.exists(f) or os.path.getmtime(f) < os.path.getmtime(path) for f in [inp] + parts):
                rng = np.random.RandomState(sum(map(ord, fx)))
                xs = [rng.normal(0, 1.5, [3] + list(sh)).astype(np.float32) for sh in shapes]
                for part, x in zip(parts, xs):
                    np.save(part, x)
                np.savez(inp, **dict(zip(e["inputs"], xs)))
            cases.append(dict(fx=fx, model=path, input=inp, oracle_input=",".join(parts), oracle_model=path,
                              oracle_only=[], desc=e.get("description", ""), ref="main_" + fx[:-3]))
            continue
        inp = os.path.join(EXEC, "main", fx[:-3] + ".in.npy")
        if not os.path.exists(inp) or os.path.getmtime(inp) < os.path.getmtime(path):
            rng = np.random.RandomState(sum(map(ord, fx)))
            np.save(inp, (rng.normal(0, 1.5, [3] + list(shapes[0]))).astype(np.float32))
        cases.append(dict(fx=fx, model=path, input=inp, oracle_model=path, oracle_only=[],
                          desc=e.get("description", ""), ref="main_" + fx[:-3]))
    return cases


def run_oracle(name, model, inp):
    """Oracle outputs for (model, input), cached.  Returns (dir, per_layer, error): per_layer
    is False when only output.npy could be made (the oracle's --layers probe failed)."""
    ref = os.path.join(EXEC, "ref", name)
    key = {"model": os.path.getmtime(model), "input": max(os.path.getmtime(f) for f in inp.split(",")),
           "oracle": os.path.getmtime(ORACLE), "model_path": model}
    stamp = os.path.join(ref, "stamp.json")
    try:
        st = json.load(open(stamp))
        if st["key"] == key:
            return ref, st["per_layer"], st["error"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    shutil.rmtree(ref, ignore_errors=True)
    os.makedirs(ref)
    per_layer, err = True, None
    p = subprocess.run(["node", ORACLE, model, inp, ref, "--layers"], capture_output=True, text=True,
                       timeout=600)
    if p.returncode != 0:
        per_layer, err = False, p.stderr.strip()
        p = subprocess.run(["node", ORACLE, model, inp, ref], capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            return None, False, p.stderr.strip()[-800:]
    with open(stamp, "w") as f:
        json.dump({"key": key, "per_layer": per_layer, "error": err}, f)
    return ref, per_layer, err


def output_layers(path):
    """Names of the model's output nodes, from model_config."""
    mc = config_of(path)
    cfg = mc["config"]
    if mc["class_name"] == "Sequential":
        layers = cfg if isinstance(cfg, list) else cfg["layers"]
        return [layers[-1]["config"]["name"]]
    outs = cfg["output_layers"]
    if isinstance(outs, dict):
        outs = list(outs.values())
    if outs and isinstance(outs[0], str):
        outs = [outs]
    return [t[0] if t[1] == 0 else "%s#%d" % (t[0], t[1]) for t in outs]


def rel_err(a, b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    d = np.where(same, 0.0, np.abs(a - b))
    if not np.all(np.isfinite(d)):
        return float("inf")
    fb = b[np.isfinite(b)]
    scale = max(1.0, float(np.abs(fb).max()) if fb.size else 1.0)
    return float(d.max()) / scale if d.size else 0.0


def k2t_names(entry):
    """k2t file names (without .npy) that may hold the oracle entry's activation."""
    base = entry["name"].split("/")[-1]     # nested models are flattened
    if entry.get("output_index"):           # tensor j of a call returning several: k2t's node "name:j"
        base += ":%d" % entry["output_index"]
    node = entry.get("node")
    if node is None:
        return [base]
    if node == 0:
        return [base, base + "#0"]
    return ["%s#%d" % (base, node)]


def compare(fx, refdir, outdir, oracle_only):
    compare_entries(fx, refdir, outdir, json.load(open(os.path.join(refdir, "layers.json"))), oracle_only)


def compare_entries(fx, refdir, outdir, listing, oracle_only):
    for entry in listing:
        name = entry["name"].split("/")[-1]
        if name in oracle_only:
            continue
        cands = k2t_names(entry)
        got = next((c for c in cands if os.path.exists(os.path.join(outdir, c + ".npy"))), None)
        optional = entry["class"] == "InputLayer" or entry["class"] in MODEL_CLASSES
        label = "%s/%s" % (fx, cands[0] if entry.get("node", 0) == 0 else cands[-1])
        if got is None:
            if not optional:
                ok(False, label, "k2t wrote no activation %s.npy (%s)" % (cands[0], entry["class"]))
            continue
        pairs = [("", entry["file"], got + ".npy")]
        if entry.get("preact"):
            pairs.append((".preact", entry["preact"], got + ".preact.npy"))
        for suffix, rfile, kfile in pairs:
            what = label + suffix
            kpath = os.path.join(outdir, kfile)
            if not os.path.exists(kpath):
                ok(False, what, "k2t wrote no %s (%s, activation %s)" % (kfile, entry["class"],
                                                                         entry.get("activation")))
                continue
            r = np.load(os.path.join(refdir, rfile))
            try:
                a = np.load(kpath)
            except Exception as e:  # noqa: BLE001
                ok(False, what, "cannot read k2t's %s: %s" % (kfile, e))
                continue
            if a.shape != r.shape:
                ok(False, what, "shape %s, oracle %s (%s)" % (a.shape, r.shape, entry["class"]))
                continue
            e = rel_err(a, r)
            ok(e <= TOL, "%s rel=%.2g" % (what, e),
               "%s: max|diff| / max(1, max|ref|) = %.3g > %g (max|ref| %.3g)"
               % (entry["class"], e, TOL, float(np.abs(r).max()) if r.size else 0.0))


def compare_output(fx, model, refdir, outdir):
    outs = output_layers(model)
    if len(outs) != 1:
        skip("%s output" % fx, "several outputs")
        return
    entry = {"name": outs[0], "class": "output", "file": "output.npy"}
    compare_entries(fx, refdir, outdir, [entry], set())


def main(prefix=(), tag=""):
    """prefix: k2t commands run before 'run' (a profile); tag: a label for the ok lines."""
    if not oracle_ready():
        done()
    manifest = ensure_fixtures()
    if manifest is None:
        done()
    cases = []
    for fx, m in sorted(manifest.items()):
        model = os.path.join(EXEC, fx)
        om = os.path.join(EXEC, m["oracle_model"]) if m.get("oracle_model") else model
        c = dict(fx=fx, model=model, input=os.path.join(EXEC, m["input"]), oracle_model=om,
                 oracle_only=m.get("oracle_only", []), desc=m["description"], ref=fx[:-3])
        if m.get("oracle_input"):  # several inputs: one .npy each for the oracle
            c["oracle_input"] = ",".join(os.path.join(EXEC, f) for f in m["oracle_input"])
        cases.append(c)
    cases += main_fixture_cases()

    def oracle_job(c):
        return run_oracle(c["ref"], c["oracle_model"], c.get("oracle_input", c["input"]))
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        refs = list(pool.map(oracle_job, cases))

    for c, (refdir, per_layer, err) in zip(cases, refs):
        fx, model, inp, oracle_only, desc = c["fx"], c["model"], c["input"], c["oracle_only"], c["desc"]
        if refdir is None:
            ok(False, "%s: the oracle runs" % fx, err)
            continue
        if not per_layer:
            lines = [ln.strip() for ln in err.splitlines() if ln.strip()]
            why = next((ln for ln in lines if re.match(r"(\w*Error\b|keras_ref:)", ln)),
                       lines[-1] if lines else "")
            skip("%s per-layer comparison" % fx, "the oracle's --layers run fails (%s); only the output "
                 "is compared" % why[:200])
        out = tempfile.mkdtemp(prefix="k2t_exec_")
        try:
            rc, so, se = k2t(*prefix, "input " + inp, "run", "save activations " + out, model=model)
            if not ok(rc == 0, "%s%s: k2t input/run/save activations" % (tag, fx),
                      "exit %d: %s [fixture: %s]" % (rc, se.strip()[-600:], desc)):
                continue
            if per_layer:
                compare(tag + fx, refdir, out, set(oracle_only))
            else:
                compare_output(tag + fx, model, refdir, out)
        finally:
            shutil.rmtree(out, ignore_errors=True)
    done()


if __name__ == "__main__":
    main()
