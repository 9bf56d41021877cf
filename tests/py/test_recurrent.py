#!/usr/bin/python3
"""Recurrent layers against references k2t did not produce.

tfjs-layers runs LSTM, SimpleRNN, GRU reset_after=False and Embedding (test_exec.py covers
them on gen_exec_fixtures.py's recurrent.h5 and gru.h5).  It cannot run GRU reset_after=True
(tf.keras's default), so here the reference is Keras's documented equations in numpy,
checked against PyTorch's nn.GRU with the weights mapped (gates z, r, h to r, z, n; the
two bias rows to bias_ih and bias_hh): the two must agree, and k2t must agree with both.
The check findings name the GRU gate order and the LSTM bias split."""
import os
import sys
import tempfile

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


def keras_gru(x, W, U, b, go_backwards=False, return_sequences=True):
    """tf.keras GRU, reset_after=True: gx = xW + b0, gh = hU + b1, blocks z, r, h."""
    u = U.shape[0]
    h = np.zeros((x.shape[0], u))
    outs = []
    steps = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    for t in steps:
        gx = x[:, t] @ W + b[0]
        gh = h @ U + b[1]
        z = sigmoid(gx[:, :u] + gh[:, :u])
        r = sigmoid(gx[:, u:2 * u] + gh[:, u:2 * u])
        n = np.tanh(gx[:, 2 * u:] + r * gh[:, 2 * u:])
        h = z * h + (1 - z) * n
        outs.append(h)
    return np.stack(outs, 1) if return_sequences else h


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
ok("gates z, r, h; nn.GRU orders them r, z, n" in text, "check names the GRU gate order", text[:400])
ok("batch_first=True" in text, "check gives batch_first=True for nn.GRU")
rc, out, err = k2t("profile torch", "input " + os.path.join(tmp, "x.npy"), "diff", model=path)
ok(rc == 0 and "no divergence" in out, "profile torch (NCHW emulation) reproduces Keras on the GRUs", out[-300:])
done()
