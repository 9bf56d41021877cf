#!/usr/bin/python3
"""The recurrent pitfalls, emulated, against PyTorch itself.

Each setting (rnn.gates copied, rnn.bias both, rnn.activation torch, weights.transpose off
on a GRU) claims to compute what a PyTorch port with that bug computes.  Here the buggy port
is built in PyTorch from the Keras file's weights (nn.GRU, nn.LSTM), run on the same input,
and k2t's emulation must match it; the right port must match Keras.  Then diff and compare
must name the pitfall (its topic and setting) at the recurrent layer, and explain must teach it.
"""
import os
import re
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "scripts"))
from k2tlib import done, k2t, ok  # noqa: E402
from gen_fixtures import Graph, write_model  # noqa: E402

import torch  # noqa: E402
from torch_dump import dump  # noqa: E402

tmp = tempfile.mkdtemp(prefix="k2t_rnnpit_")
T, F, U = 7, 5, 6


def model(cls, stem=None, **kw):
    g = Graph("k214", 301 if cls == "GRU" else 302)
    x = g.Input((T, F))
    y = g.add(cls, x, name=stem or cls.lower(), units=U, **kw)
    g.outputs = [y]
    path = os.path.join(tmp, "%s.h5" % (stem or cls.lower()))
    write_model(path, g)
    return path, {v: arr for L in g.layers for v, arr, _, _ in L.weights}


def k2t_run(path, *settings):
    out = os.path.join(tmp, "y.npy")
    name = os.path.basename(path)[:-3]
    rc, so, se = k2t(*settings, "input " + os.path.join(tmp, "x.npy"), "run", "save %s %s --force" % (name, out), model=path)
    return np.load(out) if rc == 0 else None, se


def torch_rnn(cls, w, gates_right=True, bias_mode="right", transposed=True):
    """nn.GRU / nn.LSTM loaded from Keras weights the right way, or with one bug."""
    m = (torch.nn.GRU if cls == "GRU" else torch.nn.LSTM)(F, U, batch_first=True)
    k, rk, b = w["kernel"], w["recurrent_kernel"], w["bias"]
    o = np.arange(k.shape[1])
    if cls == "GRU" and gates_right:
        o = np.r_[U:2 * U, 0:U, 2 * U:3 * U]            # Keras z, r, h -> PyTorch r, z, n
    wi = k.T[o] if transposed else k.reshape(k.shape[1], k.shape[0])
    wh = rk.T[o] if transposed else rk.reshape(rk.shape[1], rk.shape[0])
    if cls == "GRU":
        bi, bh = b[0][o], b[1][o]
        if bias_mode == "both":
            bh = bi                                     # row 0 in both
    else:
        bi, bh = b[o], np.zeros_like(b)
        if bias_mode == "both":
            bh = b[o]
    with torch.no_grad():
        for name, v in (("weight_ih_l0", wi), ("weight_hh_l0", wh), ("bias_ih_l0", bi), ("bias_hh_l0", bh)):
            getattr(m, name).copy_(torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)))
    return m


def torch_out(m, x):
    with torch.no_grad():
        y, _ = m(torch.from_numpy(x))
    return y.numpy()


x = np.random.RandomState(7).normal(0, 1, (3, T, F)).astype(np.float32)
np.save(os.path.join(tmp, "x.npy"), x)

gru, gw = model("GRU", return_sequences=True, reset_after=True)
lstm, lw = model("LSTM", return_sequences=True, recurrent_activation="hard_sigmoid")
plain, pw = model("LSTM", stem="plain", return_sequences=True)      # sigmoid: nn.LSTM can port it

right, _ = k2t_run(gru)
ok(right is not None and np.abs(right - torch_out(torch_rnn("GRU", gw), x)).max() < 1e-5,
   "the right nn.GRU port matches Keras (k2t)")
cases = [
    (gru, "GRU", ("set rnn.gates copied",), dict(gates_right=False), "rnn.gates copied: nn.GRU with z, r, h copied"),
    (gru, "GRU", ("set rnn.bias both",), dict(bias_mode="both"), "rnn.bias both: nn.GRU with bias row 0 in both"),
    (gru, "GRU", ("set weights.transpose off",), dict(transposed=False),
     "weights.transpose off: nn.GRU given Keras's buffers reshaped"),
    (gru, "GRU", ("set rnn.gates copied", "set rnn.bias both"), dict(gates_right=False, bias_mode="both"),
     "rnn.gates copied and rnn.bias both together"),
    (lstm, "LSTM", ("set rnn.activation torch",), {}, "rnn.activation torch: nn.LSTM's sigmoid for hard_sigmoid"),
    (lstm, "LSTM", ("set rnn.activation torch", "set rnn.bias both"), dict(bias_mode="both"),
     "rnn.bias both: nn.LSTM with the bias in bias_ih and bias_hh"),
]
for path, cls, settings, bug, what in cases:
    got, err = k2t_run(path, *settings)
    want = torch_out(torch_rnn(cls, gw if cls == "GRU" else lw, **bug), x)
    if ok(got is not None, what + ": k2t runs", err):
        ok(np.abs(got - want).max() < 1e-5, what + ": k2t's emulation is that PyTorch module",
           "max %g" % np.abs(got - want).max())
        keras = right if cls == "GRU" else k2t_run(lstm)[0]
        ok(np.abs(got - keras).max() > 1e-3, what + ": and differs from Keras", "max %g" % np.abs(got - keras).max())

# hard_sigmoid in Keras: without the setting, k2t is not nn.LSTM (sigmoid)
kl, _ = k2t_run(lstm)
ok(kl is not None and np.abs(kl - torch_out(torch_rnn("LSTM", lw), x)).max() > 1e-3,
   "an LSTM with hard_sigmoid is not nn.LSTM (which has sigmoid)")

# diff names each pitfall at the recurrent layer, with its setting
for path, setting, topic in ((gru, "rnn.gates copied", "gates"), (gru, "rnn.bias both", "rnn-bias"),
                             (lstm, "rnn.activation torch", "activation"), (lstm, "rnn.bias both", "rnn-bias")):
    name = os.path.basename(path)[:-3]
    rc, out, err = k2t("input " + os.path.join(tmp, "x.npy"), "set " + setting, "diff keras", model=path)
    text = " ".join(out.split())
    ok(rc == 0 and "first divergence: %s" % name in text and "why: %s:" % topic in text,
       "diff with %s: first divergence at %s, why: %s" % (setting, name, topic), text[-700:])

# compare: hand-written buggy ports, each diagnosed by emulation with its setting
for path, cls, w, bug, setting in ((gru, "GRU", gw, dict(gates_right=False), "rnn.gates copied"),
                                   (gru, "GRU", gw, dict(bias_mode="both"), "rnn.bias both"),
                                   (plain, "LSTM", pw, dict(bias_mode="both"), "rnn.bias both")):
    name = os.path.basename(path)[:-3]

    class Port(torch.nn.Module):
        def __init__(self):
            super().__init__()
            setattr(self, name, torch_rnn(cls, w, **bug))

        def forward(self, x):
            y, _ = getattr(self, name)(x)
            return y

    npz = os.path.join(tmp, "port_%s_%s.npz" % (name, setting.split()[0].replace(".", "_")))
    with torch.no_grad():
        dump(Port().eval(), x, npz, layout="nchw")
    rc, out, err = k2t("input " + os.path.join(tmp, "x.npy"), "compare " + npz, model=path)
    text = " ".join(out.split())
    ok(rc == 0 and "first divergence: %s" % name in text and "(set %s)" % setting in text,
       "compare: a %s port with its bug is told 'set %s' at %s" % (cls, setting, name), text[-900:])
    if setting == "rnn.gates copied":
        ok("why: gates: gate order:" in text, "compare: the unreordered GRU's cause is its gate order", text[-900:])

# rnn.last output: a Bidirectional GRU's last states taken from out[:, -1] instead of h_n
g = Graph("k214", 303)
xin = g.Input((T, F))
g.outputs = [g.add("Bidirectional", xin, name="bi", layer=("GRU", {"units": U, "reset_after": True}))]
bpath = os.path.join(tmp, "bi.h5")
write_model(bpath, g)
bw = {}
for L in g.layers:
    for v, arr, _, full in L.weights:
        bw[("b" if "/backward_" in full else "f", v)] = arr
bi_t = torch.nn.GRU(F, U, batch_first=True, bidirectional=True)
o = np.r_[U:2 * U, 0:U, 2 * U:3 * U]
with torch.no_grad():
    for half, suf in (("f", ""), ("b", "_reverse")):
        for tn, v in (("weight_ih_l0", bw[(half, "kernel")].T[o]), ("weight_hh_l0", bw[(half, "recurrent_kernel")].T[o]),
                      ("bias_ih_l0", bw[(half, "bias")][0][o]), ("bias_hh_l0", bw[(half, "bias")][1][o])):
            getattr(bi_t, tn + suf).copy_(torch.from_numpy(np.ascontiguousarray(v)))
    out_t, hn_t = bi_t(torch.from_numpy(x))
right_t, last_t = torch.cat([hn_t[0], hn_t[1]], 1).numpy(), out_t[:, -1].numpy()
got, err = k2t_run(bpath)
ok(got is not None and np.abs(got - right_t).max() < 1e-5, "Bidirectional GRU: Keras's last states are h_n's", err)
got, err = k2t_run(bpath, "set rnn.last output")
if ok(got is not None, "rnn.last output runs", err):
    ok(np.abs(got - last_t).max() < 1e-5, "rnn.last output: k2t's emulation is the port's out[:, -1]",
       "max %g" % np.abs(got - last_t).max())
    ok(np.abs(got - right_t).max() > 1e-3, "rnn.last output differs from Keras")
rc, out, err = k2t("input " + os.path.join(tmp, "x.npy"), "set rnn.last output", "diff keras", model=bpath)
text = " ".join(out.split())
ok("first divergence: bi" in text and "why: rnn-last:" in text, "diff with rnn.last output names rnn-last at bi",
   text[-600:])

# check and explain teach them
rc, out, err = k2t("check", model=gru)
text = " ".join(out.split())
ok("! gates:" in out and "! rnn-bias:" in out, "check tags the GRU's gates and bias rows", text[:900])
m = re.search(r'sd\["gru.bias_hh_l0"\] = (torch.from_numpy\(bias\[1\]\)[^\n]+)', out)
if ok(m is not None, "check prints bias_hh_l0 from the GRU's row 1", out[-900:]):
    t = eval(m.group(1), {"torch": torch, "bias": gw["bias"]})  # noqa: S307 (k2t's own output, checked)
    ok(torch.allclose(t, torch_rnn("GRU", gw).bias_hh_l0.detach()), "check's bias_hh_l0 fix is nn.GRU's tensor")
for topic in ("gates", "rnn-bias"):
    rc, out, err = k2t("explain " + topic, model=gru)
    ok(rc == 0 and "set rnn." in out and "gru" in out,
       "explain %s teaches it on the model" % topic, out[:600])
rc, out, err = k2t("set rnn.gates copyed", model=gru)
ok("copied" in out + err, "a mistyped value is refused with the right one suggested", (out + err)[:300])
done()
