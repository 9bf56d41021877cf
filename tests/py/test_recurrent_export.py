#!/usr/bin/python3
"""The exported PyTorch port of recurrent models nn.LSTM/GRU/RNN alone cannot express, against
references k2t did not produce.

Models: gen_exec_fixtures.py's rnn_custom.h5 (LSTM with Keras 2's hard_sigmoid, SimpleRNN sigmoid
going backwards, GRU reset_after=False relu), rnn_k3_hard_sigmoid.h5 (Keras 3's hard_sigmoid, a
Bidirectional GRU reset_after=False), gru.h5, mask_lstm.h5 (Embedding mask_zero -> LSTM returning
sequences -> LSTM), masking_gru.h5 (Masking -> GRU going backwards -> Bidirectional LSTM),
masking.h5, embed_mask.h5, time_distributed_mask.h5 (Masking -> TimeDistributed(Dense) -> LSTM),
and two built here for what tfjs-layers cannot run (GRU reset_after=True; a Bidirectional's zeros
at masked steps): Embedding mask_zero -> Bidirectional GRU (sequences, concat) -> Bidirectional
LSTM (sequences, mul) -> LSTM, and Masking -> GRU (sequences) -> SimpleRNN relu (backwards) ->
TimeDistributed(Dense); and one whose layer names are the port's own temporaries' (emb and
emb_mask, hn, keras_rnn); Bidirectional around layers that go backwards (bidi_backwards.h5, and
Masking -> two of them).

For each: "export pytorch" (its self-test input right-padded, and again left-padded: both must print
PASS), then the module, imported here, runs on right-padded, left-padded (pad_sequences' default) and
gapped inputs, and its output must equal within 1e-4 (relative to max(1, max|ref|)) both k2t's own
Keras-semantics run and Keras's equations in numpy below (read from the .h5 with h5py).  The port
takes pack_padded_sequence when every row is right-padded and the step loop otherwise (counted).
Bugs edited into the generated file (the mask dropped, Keras 3's hard_sigmoid formula for Keras 2's,
reset_after=True for False, the packed path's repeated outputs left out, TimeDistributed's steps
not folded) make its self-test print FAIL."""
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "scripts"))
from k2tlib import FIXTURES, done, k2t, ok, skip  # noqa: E402
from gen_fixtures import Graph, write_model  # noqa: E402

import torch  # noqa: E402

PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
TOL = 1e-4
EXEC = os.path.join(FIXTURES, "exec")
tmp = tempfile.mkdtemp(prefix="k2t_rexp_")
torch.set_num_threads(1)

# ------------------------------------------------------------------ Keras's equations


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def activation(name, major):
    return {"tanh": np.tanh, "sigmoid": sigmoid, "relu": lambda v: np.maximum(v, 0.0), "linear": lambda v: v,
            "softsign": lambda v: v / (1 + np.abs(v)),
            "hard_sigmoid": (lambda v: np.clip(0.2 * v + 0.5, 0, 1)) if major < 3 else
            (lambda v: np.clip(v / 6 + 0.5, 0, 1))}[name]


def keras_rnn(kind, cfg, major, w, x, mask, go_backwards, zero_output):
    """One Keras SimpleRNN/LSTM/GRU direction over x (N, T, F): (outputs in the order the steps were
    read, last state).  A masked step keeps the state; its output repeats it, or is zeros."""
    W, U, b = w["kernel"], w["recurrent_kernel"], w.get("bias")
    N, T = x.shape[:2]
    u = U.shape[0]
    act = activation(cfg.get("activation", "tanh"), major)
    rec = activation(cfg.get("recurrent_activation", "sigmoid"), major)
    reset_after = cfg.get("reset_after", major >= 3)
    h, c = np.zeros((N, u)), np.zeros((N, u))
    outs = np.zeros((N, T, u))
    for i, t in enumerate(range(T - 1, -1, -1) if go_backwards else range(T)):
        xt = x[:, t]
        c2 = c
        if kind == "LSTM":
            z = xt @ W + h @ U + (0 if b is None else b)
            c2 = rec(z[:, u:2 * u]) * c + rec(z[:, :u]) * act(z[:, 2 * u:3 * u])
            h2 = rec(z[:, 3 * u:]) * act(c2)
        elif kind == "GRU":
            if reset_after:
                gx = xt @ W + (0 if b is None else b[0])
                gh = h @ U + (0 if b is None else b[1])
                z, r = rec(gx[:, :u] + gh[:, :u]), rec(gx[:, u:2 * u] + gh[:, u:2 * u])
                n = act(gx[:, 2 * u:] + r * gh[:, 2 * u:])
            else:
                gx = xt @ W + (0 if b is None else b)
                z, r = rec(gx[:, :u] + h @ U[:, :u]), rec(gx[:, u:2 * u] + h @ U[:, u:2 * u])
                n = act(gx[:, 2 * u:] + (r * h) @ U[:, 2 * u:])
            h2 = z * h + (1 - z) * n
        else:
            h2 = act(xt @ W + h @ U + (0 if b is None else b))
        k = np.ones((N, 1), bool) if mask is None else mask[:, t:t + 1]
        h, c = np.where(k, h2, h), np.where(k, c2, c)
        outs[:, i] = np.where(k, h2, 0.0) if zero_output else h
    return outs, h


def reference(path, x):
    """The model (a chain of Input, Embedding, Masking, SimpleRNN/LSTM/GRU, Bidirectional, Dense,
    Dropout, TimeDistributed(Dense)) on x in float64, with Keras's masks: the model's output."""
    with h5py.File(path, "r") as f:
        major = int(str(f.attrs["keras_version"]).split(".")[0])
        mc = json.loads(f.attrs["model_config"])
        weights = {}
        for name in f["model_weights"]:
            d = {}
            f["model_weights"][name].visititems(
                lambda p, o: d.__setitem__(("backward" if "backward_" in p else "forward",
                                            p.split("/")[-1].split(":")[0]), o[()].astype(np.float64))
                if isinstance(o, h5py.Dataset) else None)
            weights[name] = d
    v, mask = x.astype(np.float64), None
    for L in mc["config"]["layers"]:
        cls, cfg = L["class_name"], L["config"]
        w = {k: a for (side, k), a in weights.get(cfg["name"], {}).items() if side == "forward"}
        wb = {k: a for (side, k), a in weights.get(cfg["name"], {}).items() if side == "backward"}
        if cls == "InputLayer" or cls == "Dropout":
            continue
        if cls == "Embedding":
            ids = v.astype(np.int64)
            if cfg.get("mask_zero"):
                mask = ids != 0
            v = w["embeddings"][ids]
        elif cls == "Masking":
            mask = np.any(v != cfg.get("mask_value", 0.0), axis=-1)
            v = v * mask[..., None]
        elif cls in ("Dense", "TimeDistributed"):
            if cls == "TimeDistributed":
                assert cfg["layer"]["class_name"] == "Dense"
                cfg = cfg["layer"]["config"]
            v = activation(cfg.get("activation", "linear"), major)(v @ w["kernel"] + w.get("bias", 0))
        elif cls in ("LSTM", "GRU", "SimpleRNN"):
            rs = cfg.get("return_sequences", False)
            outs, h = keras_rnn(cls, cfg, major, w, v, mask, cfg.get("go_backwards", False),
                                cfg.get("zero_output_for_mask", False))
            v, mask = (outs, mask) if rs else (h, None)
        elif cls == "Bidirectional":
            icls, icfg = cfg["layer"]["class_name"], cfg["layer"]["config"]
            rs = icfg.get("return_sequences", False)
            back = icfg.get("go_backwards", False)  # the backward half reads the other way
            fo, fh = keras_rnn(icls, icfg, major, w, v, mask, back, rs)
            bo, bh = keras_rnn(icls, icfg, major, wb, v, mask, not back, rs)
            a, b = (fo, bo[:, ::-1]) if rs else (fh, bh)  # the backward half's outputs reversed
            mode = cfg.get("merge_mode", "concat")
            v = {"concat": lambda: np.concatenate([a, b], -1), "sum": lambda: a + b, "mul": lambda: a * b,
                 "ave": lambda: (a + b) / 2}[mode]()
            mask = mask if rs else None
        else:
            raise ValueError("no reference for " + cls)
    return v


# ------------------------------------------------------------------ the models


def build_extra():
    """The two models built here; returns their paths."""
    p1 = os.path.join(tmp, "bi_mask.h5")
    g = Graph("k214", 131)
    xin = g.Input((7,))
    e = g.add("Embedding", xin, name="emb", input_dim=11, output_dim=4, mask_zero=True)
    a = g.add("Bidirectional", e, name="bi_gru",
              layer=("GRU", {"units": 3, "return_sequences": True, "reset_after": True}))
    b = g.add("Bidirectional", a, name="bi_lstm", merge_mode="mul", layer=("LSTM", {"units": 4, "return_sequences": True}))
    c = g.add("LSTM", b, name="last", units=2)
    g.outputs = [c]
    write_model(p1, g)
    p2 = os.path.join(tmp, "gru_mask_td.h5")
    g = Graph("k214", 133)
    xin = g.Input((6, 3))
    m = g.add("Masking", xin, name="masking", mask_value=0.0)
    a = g.add("GRU", m, name="gru", units=4, return_sequences=True, reset_after=True)
    b = g.add("SimpleRNN", a, name="rnn_relu", units=3, activation="relu", go_backwards=True, return_sequences=True)
    c = g.add("TimeDistributed", b, name="td_dense", layer=("Dense", {"units": 2, "activation": "tanh"}))
    g.outputs = [c]
    write_model(p2, g)
    # layer names that the port's own temporaries would take: renamed, not shadowed
    p3 = os.path.join(tmp, "names.h5")
    g = Graph("k214", 135)
    xin = g.Input((5,))
    e = g.add("Embedding", xin, name="emb", input_dim=7, output_dim=3, mask_zero=True)
    d = g.add("Dense", e, name="emb_mask", units=3)
    h = g.add("LSTM", d, name="hn", units=2, return_sequences=True)
    k = g.add("GRU", h, name="keras_rnn", units=2, reset_after=False)
    g.outputs = [k]
    write_model(p3, g)
    # Bidirectional around layers that go backwards, over a masked sequence
    p4 = os.path.join(tmp, "bi_back_mask.h5")
    g = Graph("k214", 137)
    xin = g.Input((6, 3))
    m = g.add("Masking", xin, name="masking", mask_value=0.0)
    a = g.add("Bidirectional", m, name="bi_lstm",
              layer=("LSTM", {"units": 3, "return_sequences": True, "go_backwards": True}))
    b = g.add("Bidirectional", a, name="bi_gru", merge_mode="ave",
              layer=("GRU", {"units": 2, "go_backwards": True, "reset_after": False}))
    g.outputs = [b]
    write_model(p4, g)
    return [p1, p2, p3, p4]


def input_spec(path):
    """(kind, T, F or vocabulary, mask value) of the model's input: 'ids' for an Embedding, 'masking'
    for a Masking, else 'plain'."""
    with h5py.File(path, "r") as f:
        mc = json.loads(f.attrs["model_config"])
    layers = mc["config"]["layers"]
    shape = layers[0]["config"].get("batch_input_shape") or layers[0]["config"].get("batch_shape")
    for L in layers:
        if L["class_name"] == "Embedding":
            return "ids", shape[1], L["config"]["input_dim"], 0.0 if L["config"].get("mask_zero") else None
        if L["class_name"] == "Masking":
            return "masking", shape[1], shape[2], L["config"].get("mask_value", 0.0)
    return "plain", shape[1], shape[2], None


def make_input(path, padding, seed):
    """A batch of 4 with lengths T, T-2, 3, 1 padded at the end ('right'), at the start ('left'), or with
    gaps and an empty row ('mixed'); without a mask, just random."""
    kind, T, F, mv = input_spec(path)
    rng = np.random.RandomState(seed)
    x = rng.randint(1, F, (4, T)).astype(np.float32) if kind == "ids" else \
        rng.normal(0, 1.5, (4, T, F)).astype(np.float32)
    if kind == "plain" or mv is None:
        return x
    keep = np.zeros((4, T), bool)
    for r, n in enumerate((T, T - 2, 3, 1)):
        if padding == "right":
            keep[r, :n] = True
        elif padding == "left":
            keep[r, T - n:] = True
        else:
            keep[r] = rng.rand(T) < 0.6
    if padding == "mixed":
        keep[0] = True
        keep[3] = False
    x[~keep] = mv
    return x


def to_module(x):
    return np.ascontiguousarray(np.moveaxis(x, -1, 1)) if x.ndim >= 3 else x


def from_module(y):
    return np.moveaxis(y, 1, -1) if y.ndim >= 3 else y


def k2t_output(model, x, name):
    xp, yp = os.path.join(tmp, name + ".x.npy"), os.path.join(tmp, name + ".y.npy")
    np.save(xp, x)
    rc, out, err = k2t("input " + xp, "run", "save output " + yp, model=model)
    return np.load(yp) if rc == 0 and os.path.exists(yp) else None


def export(model, x, stem):
    """Export with x as the self-test's input; returns (the .py path, self-test rc, stdout) or None."""
    d = os.path.join(tmp, stem)
    os.makedirs(d, exist_ok=True)
    xp, py = os.path.join(d, "x.npy"), os.path.join(d, stem + ".py")
    np.save(xp, x)
    rc, out, err = k2t("input " + xp, "export pytorch " + py, model=model)
    if not ok(rc == 0 and os.path.exists(py), "%s: export pytorch" % stem, err.strip()[-500:]):
        return None
    return py


def self_test(py):
    p = subprocess.run([PY, py], capture_output=True, text=True, timeout=600, cwd=os.path.dirname(py),
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    return p.returncode, p.stdout + p.stderr


packs = [0]
_pack = torch.nn.utils.rnn.pack_padded_sequence


def counting_pack(*a, **k):
    packs[0] += 1
    return _pack(*a, **k)


torch.nn.utils.rnn.pack_padded_sequence = counting_pack


def load(py, stem):
    spec = importlib.util.spec_from_file_location(stem, py)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, mod.load_model(py[:-3] + ".safetensors")


def rel(a, b):
    return float(np.abs(a - b).max()) / max(1.0, float(np.abs(b).max()))


# ------------------------------------------------------------------ the checks

names = ["rnn_custom", "rnn_k3_hard_sigmoid", "gru", "bidi_backwards", "mask_lstm", "masking_gru", "masking", "embed_mask",
         "time_distributed_mask"]
models = [os.path.join(EXEC, n + ".h5") for n in names]
missing = [m for m in models if not os.path.exists(m)]
if missing:
    skip("the execution fixtures", "%s missing (tests/run generates them)" % ", ".join(missing))
    models = [m for m in models if os.path.exists(m)]
models += build_extra()
ports = {}

for seed, model in enumerate(models):
    stem = os.path.basename(model)[:-3]
    kind, T, F, mv = input_spec(model)
    masked = mv is not None
    for padding in (("right", "left") if masked else ("plain",)):
        name = "%s_%s" % (stem, padding)
        x = make_input(model, padding, 200 + seed)
        py = export(model, x, name)
        if py is None:
            continue
        rc, out = self_test(py)
        ok(rc == 0 and out.startswith("PASS"), "%s: the port's self-test on %s: %s" %
           (stem, "a %s-padded input" % padding if masked else "its input",
            out.strip().splitlines()[-1] if out.strip() else "?"), out[-600:])
        ports.setdefault(stem, py)
        if padding == "left":
            ports[stem + ":left"] = py
    py = ports.get(stem)
    if py is None:
        continue
    try:
        mod, net = load(py, "port_" + stem)
    except Exception as e:  # noqa: BLE001
        ok(False, "%s: the port imports and loads its weights" % stem, "%s: %s" % (type(e).__name__, e))
        continue
    src = open(py).read()
    # The masked layers that run an nn module: each packs when its mask, read in its order, is a prefix.
    nn_attrs = set(re.findall(r"self\.(\w+) = nn\.(?:LSTM|GRU|RNN)\(", src))
    calls = re.findall(r"keras_rnn\(self\.(\w+), \w+\.movedim\(1, -1\), (\w+)(, go_backwards=True)?", src)
    expect = {"right": sum(1 for a, mk, back in calls if a in nn_attrs and mk != "None" and not back),
              "left": sum(1 for a, mk, back in calls if a in nn_attrs and mk != "None" and back), "mixed": 0}
    for padding in (("right", "left", "mixed") if masked else ("plain",)):
        x = make_input(model, padding, 300 + seed)
        packs[0] = 0
        with torch.no_grad():
            got = from_module(net(torch.from_numpy(to_module(x))).numpy())
        want = k2t_output(model, x, "%s_%s" % (stem, padding))
        ref = reference(model, x)
        if not ok(want is not None, "%s (%s): k2t runs it" % (stem, padding)):
            continue
        ok(got.shape == ref.shape and rel(got, want) < TOL and rel(got, ref) < TOL and rel(want, ref) < TOL,
           "%s (%s): the port == k2t's Keras run == Keras's equations in numpy" % (stem, padding),
           "port vs k2t %.3g, port vs numpy %.3g, k2t vs numpy %.3g" % (rel(got, want), rel(got, ref), rel(want, ref))
           if got.shape == ref.shape else "shapes %s %s" % (got.shape, ref.shape))
        if masked:
            ok(packs[0] == expect[padding], "%s (%s): %d of its masked nn layers run packed (the mask a prefix in "
               "their reading order), the others step by step" % (stem, padding, expect[padding]),
               "%d packed" % packs[0])
    if "KerasRNN(" in src:
        ok(all(k.endswith(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "_reverse", ".weight",
                           ".bias")) for k in net.state_dict()),
           "%s: KerasRNN's state_dict keeps nn's names" % stem, str(list(net.state_dict())))

# nn.LSTM/GRU/RNN where PyTorch has them; KerasRNN only where it has none.
src = {k: open(v).read() for k, v in ports.items()}
if "rnn_custom" in src:
    s = src["rnn_custom"]
    ok(s.count("KerasRNN(\"LSTM\"") == 1 and "KerasRNN(\"RNN\"" in s and "reset_after=False" in s and
       "torch.clamp(0.2 * v + 0.5, 0.0, 1.0)" in s, "rnn_custom: KerasRNN for hard_sigmoid, sigmoid and "
       "reset_after=False, with Keras 2's formula", s[:300])
if "rnn_k3_hard_sigmoid" in src:
    ok("torch.clamp(v / 6.0 + 0.5, 0.0, 1.0)" in src["rnn_k3_hard_sigmoid"],
       "rnn_k3_hard_sigmoid: KerasRNN with Keras 3's hard_sigmoid formula")
if "mask_lstm" in src:
    s = src["mask_lstm"]
    ok("nn.LSTM(" in s and "class KerasRNN" not in s and "embedding_mask = input_1.long() != 0" in s,
       "mask_lstm: nn.LSTM kept, the mask computed from the ids in forward()", s[-2000:])
if "bi_mask" in src:
    ok("nn.GRU(4, 3, batch_first=True, bidirectional=True)" in src["bi_mask"] and
       "class KerasRNN" not in src["bi_mask"],
       "bi_mask: a masked Bidirectional GRU stays nn.GRU(bidirectional=True)")
if "gru_mask_td" in src:
    s = src["gru_mask_td"]
    ok(".movedim(2, 1).flatten(0, 1)" in s and ".unflatten(0, (-1, 6)).movedim(1, 2)" in s and
       "nn.Linear(3, 2)" in s, "gru_mask_td: TimeDistributed(Dense) folds the steps into the batch and back")


def bug(stem, what, old, new, pattern=None):
    """Edit a bug into a copy of the port; its self-test must print FAIL."""
    py = ports.get(stem)
    if py is None:
        return
    s = open(py).read()
    if not ok(old in s, "%s: the code the bug '%s' edits is there" % (stem, what)):
        return
    bad = os.path.join(os.path.dirname(py), "bug_" + os.path.basename(py))
    open(bad, "w").write(s.replace(old, new))
    rc, out = self_test(bad)
    ok(rc == 1 and "FAIL" in out, "%s: the self-test catches %s" % (stem, what), out[-400:])


bug("mask_lstm:left", "a mask not passed on (every step read)", ", embedding_mask, return_sequences", ", None, return_sequences")
bug("masking_gru:left", "the Masking mask left out", ", masking_mask, go_backwards", ", None, go_backwards")
bug("rnn_custom", "Keras 3's hard_sigmoid in a Keras 2 model", "0.2 * v + 0.5", "v / 6.0 + 0.5")
bug("gru", "reset_after=True for a GRU with reset_after=False", ", reset_after=False)", ")")
bug("mask_lstm", "a right-padded packed LSTM returning zeros past each length (not the last output)",
    "if D == 1 and not zero_output:", "if False:")
bug("bi_mask:left", "a masked Bidirectional repeating the last output instead of zeros",
    "return_sequences=True, zero_output=True)", "return_sequences=True)")
bug("time_distributed_mask", "TimeDistributed's steps unfolded in the wrong order",
    ".unflatten(0, (-1, 6)).movedim(1, 2)", ".unflatten(0, (6, -1)).movedim(0, 1).movedim(1, 2)")

done()
