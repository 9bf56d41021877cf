#!/usr/bin/python3
"""Recurrent layers against references k2t did not produce.

tfjs-layers runs LSTM, SimpleRNN, GRU reset_after=False and Embedding (test_exec.py covers
them on gen_exec_fixtures.py's recurrent.h5 and gru.h5).  It cannot run GRU reset_after=True
(tf.keras's default), so here the reference is Keras's documented equations in numpy,
checked against PyTorch's nn.GRU with the weights mapped (gates z, r, h to r, z, n; the
two bias rows to bias_ih and bias_hh): the two must agree, and k2t must agree with both.
The check findings name the GRU gate order and the LSTM bias split."""
import os
import re
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "scripts"))
from k2tlib import done, k2t, ok  # noqa: E402
from gen_fixtures import Graph, write_model  # noqa: E402

import torch  # noqa: E402

tmp = tempfile.mkdtemp(prefix="k2t_rnn_")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def keras_gru(x, W, U, b, go_backwards=False, return_sequences=True, mask=None):
    """tf.keras GRU, reset_after=True: gx = xW + b0, gh = hU + b1, blocks z, r, h.  With a mask, a
    masked step keeps h and outputs zeros (Keras's Bidirectional with return_sequences); the
    outputs are in time order then, else in the order the steps were read."""
    u = U.shape[0]
    h = np.zeros((x.shape[0], u))
    outs = np.zeros((x.shape[0], x.shape[1], u))
    steps = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    for i, t in enumerate(steps):
        gx = x[:, t] @ W + b[0]
        gh = h @ U + b[1]
        z = sigmoid(gx[:, :u] + gh[:, :u])
        r = sigmoid(gx[:, u:2 * u] + gh[:, u:2 * u])
        n = np.tanh(gx[:, 2 * u:] + r * gh[:, 2 * u:])
        hn = z * h + (1 - z) * n
        if mask is None:
            h = hn
            outs[:, i] = h
        else:
            k = mask[:, t:t + 1]
            h = np.where(k, hn, h)
            outs[:, t] = np.where(k, hn, 0.0)
    return outs if return_sequences else h


def keras_lstm(x, W, U, b, mask=None):
    """Keras's LSTM, last state; a masked step keeps h and c."""
    u = U.shape[0]
    h = np.zeros((x.shape[0], u))
    c = np.zeros((x.shape[0], u))
    for t in range(x.shape[1]):
        z = x[:, t] @ W + h @ U + b
        i, f, o = sigmoid(z[:, :u]), sigmoid(z[:, u:2 * u]), sigmoid(z[:, 3 * u:])
        cn = f * c + i * np.tanh(z[:, 2 * u:3 * u])
        hn = o * np.tanh(cn)
        k = np.ones((x.shape[0], 1), bool) if mask is None else mask[:, t:t + 1]
        h, c = np.where(k, hn, h), np.where(k, cn, c)
    return h


def torch_gru(x, W, U, b):
    u = U.shape[0]
    g = torch.nn.GRU(W.shape[0], u, batch_first=True)
    order = np.r_[u:2 * u, 0:u, 2 * u:3 * u]           # Keras z, r, h -> PyTorch r, z, n
    with torch.no_grad():
        g.weight_ih_l0.copy_(torch.from_numpy(W.T[order].copy()))
        g.weight_hh_l0.copy_(torch.from_numpy(U.T[order].copy()))
        g.bias_ih_l0.copy_(torch.from_numpy(b[0][order].copy()))
        g.bias_hh_l0.copy_(torch.from_numpy(b[1][order].copy()))
        y, _ = g(torch.from_numpy(x))
    return y.numpy()


path = os.path.join(tmp, "gru_v3.h5")
g = Graph("k214", 77)
xin = g.Input((8, 5))
a = g.add("GRU", xin, name="gru", units=6, return_sequences=True, reset_after=True)
b2 = g.add("GRU", a, name="gru_back", units=4, return_sequences=True, reset_after=True, go_backwards=True)
g.outputs = [b2]
write_model(path, g)
w = {L.name: {v: arr for v, arr, _, _ in L.weights} for L in g.layers if L.weights}
x = np.random.RandomState(78).normal(0, 1, (3, 8, 5)).astype(np.float32)
np.save(os.path.join(tmp, "x.npy"), x)

ref1 = keras_gru(x.astype(np.float64), *(w["gru"][k].astype(np.float64) for k in ("kernel", "recurrent_kernel", "bias")))
pt1 = torch_gru(x, w["gru"]["kernel"], w["gru"]["recurrent_kernel"], w["gru"]["bias"])
ok(np.abs(ref1 - pt1).max() < 1e-5, "Keras's GRU equations (reset_after=True) agree with nn.GRU with mapped weights",
   "max %g" % np.abs(ref1 - pt1).max())
ref2 = keras_gru(ref1, *(w["gru_back"][k].astype(np.float64) for k in ("kernel", "recurrent_kernel", "bias")),
                 go_backwards=True)

rc, out, err = k2t("input " + os.path.join(tmp, "x.npy"), "run", "save gru " + os.path.join(tmp, "g1.npy"),
                   "save gru_back " + os.path.join(tmp, "g2.npy"), model=path)
if ok(rc == 0, "k2t runs two GRUs (reset_after=True, one going backwards)", err):
    g1, g2 = np.load(os.path.join(tmp, "g1.npy")), np.load(os.path.join(tmp, "g2.npy"))
    ok(np.abs(g1 - ref1).max() < 1e-5, "gru matches Keras's equations and nn.GRU", "max %g" % np.abs(g1 - ref1).max())
    ok(np.abs(g2 - ref2).max() < 1e-5, "go_backwards: steps read last to first, outputs in that order",
       "max %g" % np.abs(g2 - ref2).max())

rc, out, err = k2t("check", model=path)
text = " ".join(out.split())
ok("z, r, h; nn.GRU reads its rows as r, z, n" in text, "check names the GRU gate order", text[:400])
ok("batch_first=True" in text, "check gives batch_first=True for nn.GRU")
rc, out, err = k2t("profile torch", "input " + os.path.join(tmp, "x.npy"), "diff", model=path)
ok(rc == 0 and "no divergence" in out, "profile torch (NCHW emulation) reproduces Keras on the GRUs", out[-300:])


def exported(model, x, stem):
    """Export MODEL, import the module, run it on Keras-layout x; returns Keras-layout output or None."""
    import importlib.util
    py = os.path.join(tmp, stem + ".py")
    rc, out, err = k2t("export pytorch " + py, model=model)
    if not ok(rc == 0, "%s: export pytorch writes the port" % stem, err[-400:]):
        return None
    spec = importlib.util.spec_from_file_location(stem, py)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    net = mod.load_model(os.path.join(tmp, stem + ".safetensors"))
    with torch.no_grad():
        y = net(torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 1)))).numpy()
    return np.moveaxis(y, 1, -1) if y.ndim >= 3 else y


# The port: nn.GRU with the gate blocks reordered and the two bias rows split, written by export.
y = exported(path, x, "gru_port")
if y is not None:
    ok(np.abs(y - ref2).max() < 1e-5, "exported nn.GRU port (gates r, z, n; bias_ih, bias_hh) matches Keras",
       "max %g" % np.abs(y - ref2).max())
rc, out, err = k2t("check", model=path)
text = " ".join(out.split())
ok(".reshape(3, 6, 5)[[1, 0, 2]].reshape(18, 5)" in text, "check's fix reorders the GRU kernel's gate blocks",
   text[:600])

# A hand-written port that transposed the GRU kernels but kept Keras's gate order z, r, h: compare names
# the reorder, and the printed fix, applied in PyTorch, gives the tensor nn.GRU wants.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "scripts"))
from torch_dump import dump  # noqa: E402


class GruPort(torch.nn.Module):
    def __init__(self, reorder):
        super().__init__()
        self.gru = torch.nn.GRU(5, 6, batch_first=True)
        self.gru_back = torch.nn.GRU(6, 4, batch_first=True)
        for m, n in ((self.gru, "gru"), (self.gru_back, "gru_back")):
            u = m.hidden_size
            o = np.r_[u:2 * u, 0:u, 2 * u:3 * u] if reorder else np.arange(3 * u)
            with torch.no_grad():
                m.weight_ih_l0.copy_(torch.from_numpy(w[n]["kernel"].T[o].copy()))
                m.weight_hh_l0.copy_(torch.from_numpy(w[n]["recurrent_kernel"].T[o].copy()))
                m.bias_ih_l0.copy_(torch.from_numpy(w[n]["bias"][0][o].copy()))
                m.bias_hh_l0.copy_(torch.from_numpy(w[n]["bias"][1][o].copy()))

    def forward(self, x):
        y, _ = self.gru(x)
        y2, _ = self.gru_back(y.flip(1))  # go_backwards: nn.GRU reads the flipped sequence
        return y2


with torch.no_grad():
    dump(GruPort(False).eval(), x, os.path.join(tmp, "gru_bug.npz"), layout="nchw")
rc, out, err = k2t("input " + os.path.join(tmp, "x.npy"), "compare " + os.path.join(tmp, "gru_bug.npz"), model=path)
text = " ".join(out.split())
ok(re.search(r"^gru\.1\s+~ gru \(final state h_n\)\s+\S+\s+FAIL", out, re.M) is not None,
   "compare: the buggy port's h_n differs from Keras's last state too", out[-900:])
ok("first divergence: gru " in text and "blocks in Keras's order" in text,
   "compare: a port keeping Keras's GRU gate order is told so at the first GRU", text[-1500:])
m = re.search(r'fix: sd\["gru.weight_ih_l0"\] = torch.from_numpy\(kernel\)([^\n]+)', out)
if ok(m is not None, "compare prints the weight_ih_l0 fix", out[-800:]):
    t = eval("torch.from_numpy(w['gru']['kernel'])" + m.group(1))  # noqa: S307 (our own output, checked)
    want = GruPort(True).gru.weight_ih_l0.detach()
    ok(tuple(t.shape) == tuple(want.shape) and torch.allclose(t, want), "the printed fix is nn.GRU's weight_ih_l0",
       m.group(1))
for tn in ("bias_ih_l0", "bias_hh_l0"):
    m = re.search(r'sd\["gru.%s"\] = (torch.from_numpy\(bias\[[01]\]\)[^\n]+)' % tn, out)
    if ok(m is not None, "compare prints the %s fix (its bias row, reordered)" % tn, out[-800:]):
        t = eval(m.group(1), {"torch": torch, "bias": w["gru"]["bias"]})  # noqa: S307 (our own output, checked)
        want = getattr(GruPort(True).gru, tn).detach()
        ok(torch.allclose(t, want), "the printed bias fix is nn.GRU's %s" % tn, m.group(1))

# A sequence model whose time axis is None (text and audio models): the input's own length is run.
vpath = os.path.join(tmp, "varlen.h5")
g = Graph("k214", 85)
xin = g.Input((None, 3))
v1 = g.add("LSTM", xin, name="vlstm", units=4)
g.outputs = [v1]
write_model(vpath, g)
vw = {v: arr.astype(np.float64) for L in g.layers for v, arr, _, _ in L.weights}
for T in (5, 9):
    xv = np.random.RandomState(T).normal(0, 1, (2, T, 3)).astype(np.float32)
    np.save(os.path.join(tmp, "xv%d.npy" % T), xv)
    rc, out, err = k2t("input " + os.path.join(tmp, "xv%d.npy" % T), "run",
                       "save vlstm " + os.path.join(tmp, "yv%d.npy" % T), model=vpath)
    if ok(rc == 0, "an LSTM over (None, 3) runs on %d steps" % T, err):
        h = keras_lstm(xv.astype(np.float64), vw["kernel"], vw["recurrent_kernel"], vw["bias"])
        got = np.load(os.path.join(tmp, "yv%d.npy" % T))
        ok(np.abs(got - h).max() < 1e-5, "variable length %d: matches Keras's equations" % T,
           "max %g" % np.abs(got - h).max())

# weights.transpose off reaches the recurrent kernels: k2t then computes what nn.LSTM computes when a port
# copies Keras's kernel buffers into weight_ih_l0 / weight_hh_l0 as they are (reshaped, not transposed).
rc, out, err = k2t("set weights.transpose off", "input " + os.path.join(tmp, "xv5.npy"), "run",
                   "save vlstm " + os.path.join(tmp, "yv_nt.npy"), model=vpath)
if ok(rc == 0, "an LSTM runs with weights.transpose off", err):
    lt = torch.nn.LSTM(3, 4, batch_first=True)
    with torch.no_grad():
        lt.weight_ih_l0.copy_(torch.from_numpy(vw["kernel"].astype(np.float32).reshape(16, 3)))
        lt.weight_hh_l0.copy_(torch.from_numpy(vw["recurrent_kernel"].astype(np.float32).reshape(16, 4)))
        lt.bias_ih_l0.copy_(torch.from_numpy(vw["bias"].astype(np.float32)))
        lt.bias_hh_l0.zero_()
        _, (hn, _) = lt(torch.from_numpy(np.load(os.path.join(tmp, "xv5.npy"))))
    got, want = np.load(os.path.join(tmp, "yv_nt.npy")), hn[0].numpy()
    ok(np.abs(got - want).max() < 1e-5, "weights.transpose off: k2t computes nn.LSTM with the untransposed buffers",
       "max %g" % np.abs(got - want).max())
    right = np.load(os.path.join(tmp, "yv5.npy"))
    ok(np.abs(got - right).max() > 1e-3, "weights.transpose off changes the LSTM's output",
       "max %g" % np.abs(got - right).max())

# The right port (gates reordered; the go_backwards GRU fed the flipped sequence, since nn.GRU has no
# go_backwards): no divergence, and no bug claimed at the reversed module input either.
with torch.no_grad():
    dump(GruPort(True).eval(), x, os.path.join(tmp, "gru_ok.npz"), layout="nchw")
rc, out, err = k2t("input " + os.path.join(tmp, "x.npy"), "compare " + os.path.join(tmp, "gru_ok.npz"), model=path)
ok(rc == 0 and "no divergence" in out and "bug" not in out and "own input: FAIL" not in out,
   "compare: a correct GRU port that flips the sequence for go_backwards is right on its own input", out[-900:])
# nn.GRU's h_n (1, N, units) is the module's final state: compare checks it against Keras's last state (the
# last step of a layer returning sequences; go_backwards outputs in reading order) instead of "unmatched".
for mod in ("gru", "gru_back"):
    ok(re.search(r"^%s\.1\s+~ %s \(final state h_n\)\s+\S+\s+ok" % (mod, mod), out, re.M) is not None,
       "compare pairs %s's h_n with Keras's last state of %s" % (mod, mod), out[-900:])
ok("unmatched:" not in out, "compare: no h_n left unmatched", out[-900:])

# Bidirectional GRU (reset_after=True, tf.keras's default), last states concatenated: the backward half's
# state is the one after reading the whole sequence from the end (t = 0), what h_n[1] holds.
bpath = os.path.join(tmp, "bigru.h5")
g = Graph("k214", 79)
xin = g.Input((7, 3))
bi = g.add("Bidirectional", xin, name="bi", layer=("GRU", {"units": 4, "reset_after": True}))
g.outputs = [bi]
write_model(bpath, g)
bw = {}
for L in g.layers:
    for v, arr, _, full in L.weights:
        bw[("backward" if "/backward_" in full else "forward", v)] = arr.astype(np.float64)
xb = np.random.RandomState(80).normal(0, 1, (2, 7, 3)).astype(np.float32)
np.save(os.path.join(tmp, "xb.npy"), xb)
fw = keras_gru(xb.astype(np.float64), *(bw[("forward", k)] for k in ("kernel", "recurrent_kernel", "bias")),
               return_sequences=False)
bk = keras_gru(xb.astype(np.float64), *(bw[("backward", k)] for k in ("kernel", "recurrent_kernel", "bias")),
               go_backwards=True, return_sequences=False)
bref = np.concatenate([fw, bk], 1)
rc, out, err = k2t("input " + os.path.join(tmp, "xb.npy"), "run", "save bi " + os.path.join(tmp, "bi.npy"),
                   model=bpath)
if ok(rc == 0, "k2t runs a Bidirectional GRU", err):
    got = np.load(os.path.join(tmp, "bi.npy"))
    ok(np.abs(got - bref).max() < 1e-5, "Bidirectional GRU: forward last state, then backward state at t = 0",
       "max %g" % np.abs(got - bref).max())
y = exported(bpath, xb, "bigru_port")
if y is not None:
    ok(np.abs(y - bref).max() < 1e-5, "exported nn.GRU(bidirectional=True) port uses h_n, matches Keras",
       "max %g" % np.abs(y - bref).max())
rc, out, err = k2t("check", model=bpath)
text = " ".join(out.split())
ok("out[:, -1]" in text and "h_n" in text, "check warns that out[:, -1] is not the backward half's state", text[:800])

# Keras 3 writes backward_layer (the mirror of 'layer': named backward_..., go_backwards flipped) in every
# Bidirectional config: that is the usual Bidirectional; a backward_layer that is not the mirror is refused.
import h5py  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402

for tag, change in (("mirror", None), ("mirror_ids", "ids"), ("custom", 5)):
    p2 = os.path.join(tmp, "bigru_%s.h5" % tag)
    shutil.copy(bpath, p2)
    with h5py.File(p2, "r+") as f:
        mc = json.loads(f.attrs["model_config"])
        for L in mc["config"]["layers"]:
            if L["class_name"] == "Bidirectional":
                back = json.loads(json.dumps(L["config"]["layer"]))
                back["config"]["name"] = "backward_" + back["config"]["name"]
                back["config"]["go_backwards"] = not back["config"].get("go_backwards", False)
                if change == "ids":  # Keras 3: each initializer with its own shared_object_id
                    for k in ("kernel_initializer", "recurrent_initializer", "bias_initializer"):
                        for half, sid in ((L["config"]["layer"]["config"], 2193658652432), (back["config"], 2193658655632)):
                            half[k] = {"module": "keras.initializers", "class_name": "GlorotUniform",
                                       "config": {"seed": None}, "registered_name": None, "shared_object_id": sid}
                elif change:
                    back["config"]["units"] = change
                L["config"]["backward_layer"] = back
        f.attrs["model_config"] = json.dumps(mc)
    rc, out, err = k2t("input " + os.path.join(tmp, "xb.npy"), "run", "save bi " + os.path.join(tmp, "bi_%s.npy" % tag),
                       model=p2)
    if tag.startswith("mirror"):
        ok(rc == 0 and np.abs(np.load(os.path.join(tmp, "bi_%s.npy" % tag)) - bref).max() < 1e-5,
           "a Bidirectional config with its mirrored backward_layer (Keras 3%s) runs as the usual one"
           % (", initializers with their own shared_object_id" if tag == "mirror_ids" else ""), err)
    else:
        ok(rc == 1 and "backward_layer" in err, "a backward_layer that is not the mirror is refused by name", err)

# Masks: Embedding(mask_zero) into a Bidirectional GRU returning sequences and an LSTM.  Keras's
# Bidirectional outputs zeros at masked steps (tfjs-layers repeats the previous output, so the
# reference here is Keras's rule in numpy); the LSTM after it carries its state over them.



mpath = os.path.join(tmp, "mask_bi.h5")
g = Graph("k214", 81)
xin = g.Input((6,))
emb = g.add("Embedding", xin, name="emb", input_dim=9, output_dim=4, mask_zero=True)
bi = g.add("Bidirectional", emb, name="bi", layer=("GRU", {"units": 3, "return_sequences": True, "reset_after": True}))
last = g.add("LSTM", bi, name="last", units=2)
g.outputs = [last]
write_model(mpath, g)
mw = {}
for L in g.layers:
    for v, arr, _, full in L.weights:
        key = ("backward" if "/backward_" in full else "forward") if L.name == "bi" else L.name
        mw[(key, v)] = arr.astype(np.float64)
ids = np.array([[3, 5, 1, 0, 0, 0], [2, 0, 7, 8, 4, 6], [1, 1, 0, 0, 0, 0]], dtype=np.float32)
np.save(os.path.join(tmp, "ids.npy"), ids)
mask = ids != 0
e = mw[("emb", "embeddings")][ids.astype(int)]
fwd = keras_gru(e, *(mw[("forward", k)] for k in ("kernel", "recurrent_kernel", "bias")), mask=mask)
bwd = keras_gru(e, *(mw[("backward", k)] for k in ("kernel", "recurrent_kernel", "bias")), go_backwards=True, mask=mask)
bref = np.concatenate([fwd, bwd], 2)
lref = keras_lstm(bref, *(mw[("last", k)] for k in ("kernel", "recurrent_kernel", "bias")), mask)
rc, out, err = k2t("input " + os.path.join(tmp, "ids.npy"), "run", "save bi " + os.path.join(tmp, "mbi.npy"),
                   "save last " + os.path.join(tmp, "mlast.npy"), model=mpath)
if ok(rc == 0, "k2t runs Embedding(mask_zero) -> Bidirectional GRU -> LSTM", err):
    got = np.load(os.path.join(tmp, "mbi.npy"))
    ok(np.abs(got - bref).max() < 1e-5, "masked Bidirectional: zeros at padded steps, both halves skip them",
       "max %g" % np.abs(got - bref).max())
    got = np.load(os.path.join(tmp, "mlast.npy"))
    ok(np.abs(got - lref).max() < 1e-5, "the mask passes on through return_sequences: the LSTM carries its state "
       "over the padded steps", "max %g" % np.abs(got - lref).max())
rc, out, err = k2t("input " + os.path.join(tmp, "ids.npy"), "set mask ignore", "diff", model=mpath)
text = " ".join(out.split())
ok("first divergence: bi " in text and "why: mask:" in text and "pack_padded_sequence" in text,
   "set mask ignore: diff puts the first divergence at the Bidirectional and names the mask", text[-900:])
y = exported(mpath, ids, "mask_port")
if y is not None:
    ok(np.abs(y - lref).max() < 1e-5, "the exported masked port (keras_rnn: packed or step by step) matches "
       "Keras's equations", "max %g" % np.abs(y - lref).max())

# A mask that reaches a layer Keras applies it in (average pooling) or a merge: run refuses, naming both.
for what, build in (("GlobalAveragePooling1D", lambda g, x: g.add("GlobalAveragePooling1D", x, name="gap")),
                    ("Add", lambda g, x: g.add("Add", [x, g.add("Dense", x, name="side", units=4)], name="add"))):
    rpath = os.path.join(tmp, "refuse_%s.h5" % what)
    g = Graph("k214", 83)
    xin = g.Input((5,))
    emb = g.add("Embedding", xin, name="emb", input_dim=6, output_dim=4, mask_zero=True)
    g.outputs = [build(g, emb)]
    write_model(rpath, g)
    rc, out, err = k2t("input random", "run", "echo alive", model=rpath)
    ok(rc == 1 and "'emb'" in err and ("gap" in err or "add" in err) and "alive" in out,
       "a mask reaching %s: run refuses, naming the layer and the mask's source" % what, err)
# An nn.LSTM port of an LSTM without return_sequences: its out (N, T, units) has no Keras twin, but its h_n
# (lstm.1.0, (1, N, units)) is Keras's output, which compare checks; c_n (lstm.1.1) is named, not unmatched.
lpath = os.path.join(tmp, "lstm_last.h5")
g = Graph("k214", 5)
xin = g.Input((6, 3))
g.outputs = [g.add("Dense", g.add("LSTM", xin, name="lstm", units=4), name="dense", units=2)]
write_model(lpath, g)
with h5py.File(lpath, "r") as f:
    lw = {k: f["model_weights/lstm/lstm/lstm_cell/%s:0" % k][()] for k in ("kernel", "recurrent_kernel", "bias")}
    dw = {k: f["model_weights/dense/dense/%s:0" % k][()] for k in ("kernel", "bias")}


class LstmPort(torch.nn.Module):
    def __init__(self, bias_twice):
        super().__init__()
        self.lstm = torch.nn.LSTM(3, 4, batch_first=True)
        self.dense = torch.nn.Linear(4, 2)
        with torch.no_grad():
            self.lstm.weight_ih_l0.copy_(torch.from_numpy(lw["kernel"].T.copy()))
            self.lstm.weight_hh_l0.copy_(torch.from_numpy(lw["recurrent_kernel"].T.copy()))
            self.lstm.bias_ih_l0.copy_(torch.from_numpy(lw["bias"]))
            self.lstm.bias_hh_l0.copy_(torch.from_numpy(lw["bias"]) if bias_twice else torch.zeros(16))
            self.dense.weight.copy_(torch.from_numpy(dw["kernel"].T.copy()))
            self.dense.bias.copy_(torch.from_numpy(dw["bias"]))

    def forward(self, x):
        o, (h, c) = self.lstm(x)
        return self.dense(h[-1])


xl = np.random.RandomState(11).randn(3, 6, 3).astype(np.float32)
np.save(os.path.join(tmp, "xl.npy"), xl)
for bug in (False, True):
    npz = os.path.join(tmp, "lstm_port%d.npz" % bug)
    with torch.no_grad():
        dump(LstmPort(bug).eval(), xl, npz, layout="nchw")
    rc, out, err = k2t("input " + os.path.join(tmp, "xl.npy"), "compare " + npz, model=lpath)
    ok(re.search(r"^lstm\.1\.0\s+~ lstm \(final state h_n\)\s+\S+\s+%s" % ("FAIL" if bug else "ok"), out, re.M)
       is not None, "compare checks nn.LSTM's h_n against the LSTM's output (%s port)" % ("buggy" if bug else "right"),
       out[-900:])
    ok(re.search(r"^lstm\.1\.1\s+the module's final cell state \(c_n\), not compared", out, re.M) is not None,
       "compare names nn.LSTM's c_n as the final cell state", out[-900:])

done()
