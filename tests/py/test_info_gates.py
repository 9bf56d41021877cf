#!/usr/bin/python3
"""info LAYER shows a recurrent layer's gates, and the ranges it prints are PyTorch's own layout.

For LSTM, GRU (reset_after, tf.keras's default), SimpleRNN and Bidirectional LSTM/GRU models
(scripts/gen_fixtures.py) and the recurrent demo model, the gate table of "info LAYER" is parsed
(each gate's Keras block, "kernel[:, 0:4]" or "bias[1, 8:12]", and the PyTorch tensor's rows,
"lstm.weight_ih_l0[4:8]"), and an nn.LSTM/GRU/RNN is filled from the Keras weights by those
ranges alone, block by block.  Every row of every parameter must be filled exactly once, and the
module must compute what k2t computes for the Keras layer (itself checked against Keras's
equations and tfjs-layers in test_recurrent.py and test_exec.py).  Also: the gate names and
orders in the header (Keras z, r, h; nn.GRU r, z, n), the statistics (mean|w| of each block
against numpy), a layer without gates shows none.
"""
import os
import re
import shutil
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "scripts"))
from k2tlib import ROOT, done, k2t, ok  # noqa: E402
from gen_fixtures import Graph, write_model  # noqa: E402

import torch  # noqa: E402

tmp = tempfile.mkdtemp(prefix="k2t_gates_")
ROW = re.compile(r"^    (.{14}) (\S+(?:\[[^\]]*\])?|\(none: [^)]*\))\s+(\S+)\[(\d+):(\d+)\]\s+(-?[\d.]+)\s+(-?[\d.]+)$")
KCELL = re.compile(r"^(\w+)\[(?:(\d+), |:, )?(\d+):(\d+)\]$")


def gate_rows(out):
    """[(gate label, half, keras cell, torch name, t0, t1, mean_abs, mean)] from info's gate table."""
    rows, half, label = [], "forward", ""
    for line in out.splitlines():
        if line.strip() in ("forward:", "backward:"):
            half = line.strip()[:-1]
            continue
        m = ROW.match(line)
        if not m:
            continue
        if m.group(1).strip():
            label = m.group(1).strip()
        rows.append((label, half, m.group(2), m.group(3), int(m.group(4)), int(m.group(5)), float(m.group(6)),
                     float(m.group(7))))
    return rows


def keras_block(weights, cell):
    """The Keras block a cell names, as PyTorch rows: kernel[:, a:b] -> kernel[:, a:b].T."""
    if cell.startswith("(none"):
        return None
    m = KCELL.match(cell)
    w = weights[m.group(1)]
    a, b = int(m.group(3)), int(m.group(4))
    if m.group(2) is not None:
        return w[int(m.group(2)), a:b]
    return w[:, a:b].T if w.ndim == 2 else w[a:b]


def check(name, path, layer, cls, weights, x, seq, bi=False, header=None, tx=None):
    """Fill nn.CLS from info's ranges; compare it on tx (default x) with k2t's LAYER on x."""
    tx = x if tx is None else tx
    rc, out, err = k2t("info " + layer, model=path)
    rows = gate_rows(out)
    if not ok(rc == 0 and rows, "%s: info %s prints a gate table" % (name, layer), out[-600:] + err):
        return
    if header:
        ok(header in out, "%s: the header names both orders (%s)" % (name, header), out[-900:])
    F, u = tx.shape[2], None
    for cell in (r[2] for r in rows):
        m = KCELL.match(cell)
        if m and m.group(1).endswith("recurrent_kernel"):
            u = weights[m.group(1)].shape[0]
    mod = getattr(torch.nn, cls)(F, u, batch_first=True, bidirectional=bi)
    params = dict(mod.named_parameters())
    filled = {k: np.zeros(v.shape[0], int) for k, v in params.items()}
    stats_ok = True
    with torch.no_grad():
        for p in params.values():
            p.fill_(float("nan"))
        for label, half, cell, tname, t0, t1, mabs, mean in rows:
            pname = tname.split(".", 1)[1]
            blk = keras_block(weights, cell)
            params[pname][t0:t1] = 0 if blk is None else torch.from_numpy(np.ascontiguousarray(blk))
            filled[pname][t0:t1] += 1
            if blk is not None:
                stats_ok &= abs(np.abs(blk).mean() - mabs) < 6e-5 and abs(blk.mean() - mean) < 6e-5
    ok(all((f == 1).all() for f in filled.values()) and set(filled) == set(params),
       "%s: the printed ranges fill every row of %s's %d parameters exactly once" % (name, cls, len(params)),
       str({k: f.tolist() for k, f in filled.items() if not (f == 1).all()}))
    ok(stats_ok, "%s: each block's mean|w| and mean are numpy's" % name)
    xp = os.path.join(tmp, name + "_x.npy")
    yp = os.path.join(tmp, name + "_y.npy")
    np.save(xp, x)
    rc, out, err = k2t("input " + xp, "run", "save %s %s" % (layer, yp), model=path)
    if not ok(rc == 0, "%s: k2t runs the layer" % name, err):
        return
    with torch.no_grad():
        y, h = mod(torch.from_numpy(tx))
    if not seq:
        h = h[0] if cls == "LSTM" else h
        y = torch.cat([h[0], h[1]], 1) if bi else h[-1]
    got = np.load(yp)
    d = np.abs(y.numpy() - got).max()
    ok(d < 1e-5, "%s: nn.%s filled by info's ranges computes the Keras layer (max|diff| %.2g)" % (name, cls, d))


def build(name, cls, seed, **kw):
    path = os.path.join(tmp, name + ".h5")
    g = Graph("k214", seed)
    xin = g.Input((6, 3))
    g.outputs = [g.add(cls, xin, name="rnn", **kw)]
    write_model(path, g)
    weights = {}
    for L in g.layers:
        for v, arr, _, full in L.weights:
            weights[("backward_" if "/backward_" in full else "") + v] = arr.astype(np.float32)
    return path, weights


x = np.random.RandomState(7).normal(0, 1, (3, 6, 3)).astype(np.float32)
cases = [
    ("lstm", "LSTM", dict(units=4, return_sequences=True), "LSTM", False,
     "LSTM, 4 units: Keras's columns i, f, c, o; nn.LSTM's rows i, f, g, o"),
    ("gru", "GRU", dict(units=5, return_sequences=True, reset_after=True), "GRU", False,
     "GRU, 5 units: Keras's columns z, r, h; nn.GRU's rows r, z, n"),
    ("simple_rnn", "SimpleRNN", dict(units=4, return_sequences=True), "RNN", False,
     "RNN, 4 units: Keras's columns h; nn.RNN's rows h"),
    ("bi_lstm", "Bidirectional", dict(layer=("LSTM", {"units": 3, "return_sequences": True})), "LSTM", True, None),
    ("bi_gru", "Bidirectional", dict(layer=("GRU", {"units": 3, "return_sequences": True, "reset_after": True})),
     "GRU", True, None),
]
for i, (name, kcls, kw, tcls, bi, header) in enumerate(cases):
    path, w = build(name, kcls, 30 + i, **kw)
    check(name, path, "rnn", tcls, w, x, True, bi=bi, header=header)
    if bi:
        rc, out, err = k2t("info rnn", model=path)
        ok("    forward:\n" in out and "    backward:\n" in out and "rnn.weight_ih_l0_reverse[" in out
           and "backward_recurrent_kernel[:, " in out, "%s: both halves, the backward one as *_reverse" % name,
           out[-1500:])

# The recurrent demo model: its GRU returns its last state.
demo = os.path.join(ROOT, "demo", "demo-rnn.h5")
with h5py.File(demo, "r") as f:
    dw = {k: f["model_weights/gru/gru/gru_cell/%s:0" % k][()] for k in ("kernel", "recurrent_kernel", "bias")}
    emb = f["model_weights/embedding/embedding/embeddings:0"][()]
ids = np.load(os.path.join(ROOT, "demo", "demo-rnn-x.npy"))[:8]
rc, out, err = k2t("info gru", model=demo)
rows = gate_rows(out)
ok([r[0] for r in rows if r[0]] and rows[0][0] == "z update" and rows[0][4:6] == (32, 64)
   and any(r[2] == "bias[1, 0:32]" and r[3] == "gru.bias_hh_l0" and r[4:6] == (32, 64) for r in rows),
   "demo GRU: the update gate z is Keras's columns 0:32 and nn.GRU's rows 32:64, bias[1] is bias_hh_l0",
   out[-1200:])
# k2t's GRU on the embedded ids (the demo's own layer, fed through the Embedding)
x_emb = emb[ids].astype(np.float32)
np.save(os.path.join(tmp, "demo_ids.npy"), ids)
rc2, out2, err2 = k2t("input " + os.path.join(tmp, "demo_ids.npy"), "run", "save embedding " +
                      os.path.join(tmp, "demo_emb.npy"), model=demo)
ok(rc2 == 0 and np.abs(np.load(os.path.join(tmp, "demo_emb.npy")) - x_emb).max() == 0,
   "demo: k2t's Embedding gathers the rows of its matrix", err2)
check("demo_gru", demo, "gru", "GRU", dw, ids, False, tx=x_emb)  # k2t reads the ids, the GRU their embedding

rc, out, err = k2t("info dense", model=demo)
ok(rc == 0 and "gates:" not in out, "a layer without gates shows none", out)
shutil.rmtree(tmp, ignore_errors=True)
done()
