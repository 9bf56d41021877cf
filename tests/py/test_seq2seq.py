#!/usr/bin/python3
"""Several tensors per call, masked: an encoder-decoder with padded token sequences.

Keras's lstm_seq2seq shape with masks: Embedding(mask_zero) -> LSTM(return_state) whose h and c
start the decoder LSTM (initial_state), itself over an Embedding(mask_zero); a Bidirectional GRU
with merge_mode None and return_state beside it.  The reference is Keras's equations in numpy
from the file's weights (masked steps keep the state; zeros at masked steps in a Bidirectional's
sequences).  k2t's run must match it, on right- and left-padded (pad_sequences' default) inputs,
and so must the exported PyTorch port (keras_rnn with init and return_state), whose self-test
must pass.
"""
import importlib.util
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "scripts"))
from k2tlib import done, k2t, ok  # noqa: E402
from gen_fixtures import T, Graph, write_model  # noqa: E402

import torch  # noqa: E402

tmp = tempfile.mkdtemp(prefix="k2t_s2s_")
TE, TD, V, E, U = 7, 5, 12, 4, 5


def sig(v):
    return 1 / (1 + np.exp(-v))


def lstm(x, w, mask, h=None, c=None):
    """Keras's LSTM (i, f, c, o): outputs per step (the previous one repeated at masked steps), h, c."""
    N, u = x.shape[0], w["recurrent_kernel"].shape[0]
    h = np.zeros((N, u)) if h is None else h
    c = np.zeros((N, u)) if c is None else c
    outs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ w["kernel"] + h @ w["recurrent_kernel"] + w["bias"]
        cn = sig(z[:, u:2 * u]) * c + sig(z[:, :u]) * np.tanh(z[:, 2 * u:3 * u])
        hn = sig(z[:, 3 * u:]) * np.tanh(cn)
        k = mask[:, t:t + 1]
        h, c = np.where(k, hn, h), np.where(k, cn, c)
        outs.append(h)
    return np.stack(outs, 1), h, c


def gru_v1(x, w, mask, backwards):
    """Keras's GRU reset_after=False (z, r, h); zeros at masked steps, outputs in time order."""
    N, u = x.shape[0], w["recurrent_kernel"].shape[0]
    W, R, b = w["kernel"], w["recurrent_kernel"], w["bias"]
    h = np.zeros((N, u))
    outs = np.zeros((N, x.shape[1], u))
    for t in (range(x.shape[1] - 1, -1, -1) if backwards else range(x.shape[1])):
        gx = x[:, t] @ W + b
        z = sig(gx[:, :u] + h @ R[:, :u])
        r = sig(gx[:, u:2 * u] + h @ R[:, u:2 * u])
        hn = z * h + (1 - z) * np.tanh(gx[:, 2 * u:] + (r * h) @ R[:, 2 * u:])
        k = mask[:, t:t + 1]
        h = np.where(k, hn, h)
        outs[:, t] = np.where(k, hn, 0.0)
    return outs, h


g = Graph("k214", 401)
src = g.Input((TE,), name="source")
tgt = g.Input((TD,), name="target")
es = g.add("Embedding", src, name="src_emb", input_dim=V, output_dim=E, mask_zero=True)
ed = g.add("Embedding", tgt, name="tgt_emb", input_dim=V, output_dim=E, mask_zero=True)
EN = g.layer("LSTM", name="encoder", units=U, return_state=True)
e = g.call(EN, es)
DE = g.layer("LSTM", name="decoder", units=U, return_sequences=True)
d = g.call(DE, [ed, T(EN, e.call, 1, [U]), T(EN, e.call, 2, [U])])
BI = g.layer("Bidirectional", name="bi", merge_mode=None,
             layer=("GRU", {"units": 3, "return_sequences": True, "reset_after": False, "return_state": True}))
b = g.call(BI, es)
sums = g.add("Concatenate", [T(BI, b.call, 2, [3]), T(BI, b.call, 3, [3]), e], name="states")
head = g.add("Dense", d, name="head", units=V, activation="softmax")
summary = g.add("Dense", sums, name="summary", units=2)
g.outputs = [head, summary]
path = os.path.join(tmp, "s2s.h5")
write_model(path, g)
W = {}
for L in g.layers:
    for v, arr, _, full in L.weights:
        side = "b" if "/backward_" in full else "f"
        W.setdefault(L.name, {})[(side, v)] = arr.astype(np.float64)


def fw(name, side="f"):
    return {k: a for (s, k), a in W[name].items() if s == side}


def reference(xs, xt):
    ms, mt = xs != 0, xt != 0
    vs, vt = fw("src_emb")["embeddings"][xs], fw("tgt_emb")["embeddings"][xt]
    _, h, c = lstm(vs, fw("encoder"), ms)
    seq, _, _ = lstm(vt, fw("decoder"), mt, h, c)
    y = seq @ fw("head")["kernel"] + fw("head")["bias"]
    y = np.exp(y - y.max(-1, keepdims=True))
    y /= y.sum(-1, keepdims=True)
    _, hf = gru_v1(vs, fw("bi", "f"), ms, False)
    _, hb = gru_v1(vs, fw("bi", "b"), ms, True)
    s = np.concatenate([hf, hb, h], 1) @ fw("summary")["kernel"] + fw("summary")["bias"]
    return y, s


def ids(rng, n, T_, padding):
    x = rng.randint(1, V, (n, T_))
    for i, L in enumerate((T_, T_ - 2, 3)[:n]):
        if padding == "right":
            x[i, L:] = 0
        else:
            x[i, :T_ - L] = 0
    return x.astype(np.float32)


for k, padding in enumerate(("right", "left")):
    rng = np.random.RandomState(50 + k)
    xs, xt = ids(rng, 3, TE, padding), ids(rng, 3, TD, padding)
    npz = os.path.join(tmp, "in_%s.npz" % padding)
    np.savez(npz, source=xs, target=xt)
    y_ref, s_ref = reference(xs.astype(np.int64), xt.astype(np.int64))
    o1, o2 = os.path.join(tmp, "head.npy"), os.path.join(tmp, "summary.npy")
    py = os.path.join(tmp, "port_%s.py" % padding)
    rc, out, err = k2t("input " + npz, "run", "save head %s --force" % o1, "save summary %s --force" % o2,
                       "export pytorch %s --force" % py, model=path)
    if not ok(rc == 0, "%s-padded: k2t runs and exports the encoder-decoder" % padding, err[-600:]):
        continue
    ok(np.abs(np.load(o1) - y_ref).max() < 1e-5 and np.abs(np.load(o2) - s_ref).max() < 1e-5,
       "%s-padded: k2t == Keras's equations (initial_state from return_state, masks, merge_mode None)" % padding,
       "head %g, summary %g" % (np.abs(np.load(o1) - y_ref).max(), np.abs(np.load(o2) - s_ref).max()))
    p = subprocess.run([sys.executable, py], capture_output=True, text=True, timeout=300)
    ok(p.returncode == 0 and p.stdout.startswith("PASS"), "%s-padded: the port's self-test passes" % padding,
       (p.stdout + p.stderr)[-600:])
    spec = importlib.util.spec_from_file_location("port_" + padding, py)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    net = mod.load_model()
    with torch.no_grad():
        got = net(torch.from_numpy(xs), torch.from_numpy(xt))
    gy, gs = got[0].numpy(), got[1].numpy()
    gy = np.moveaxis(gy, 1, -1) if gy.shape != y_ref.shape else gy
    ok(gy.shape == y_ref.shape and np.abs(gy - y_ref).max() < 1e-5 and np.abs(gs - s_ref).max() < 1e-5,
       "%s-padded: the exported port == Keras's equations" % padding,
       "shapes %s %s" % (gy.shape, y_ref.shape) if gy.shape != y_ref.shape else
       "head %g, summary %g" % (np.abs(gy - y_ref).max(), np.abs(gs - s_ref).max()))
# Without an input, export's self-test draws ids the Embeddings can read (not floats in [0, 1),
# which would all be id 0), with the last steps 0 where mask_zero marks padding.
py = os.path.join(tmp, "port_noinput.py")
rc, out, err = k2t("export pytorch %s --force" % py, model=path)
text = " ".join(out.split())
ok(rc == 0 and "ids in [1, 12)" in text and "mask_zero" in text, "export without an input: ids in [1, V), padded",
   text[-400:] + err[-300:])
if rc == 0:
    p = subprocess.run([sys.executable, py], capture_output=True, text=True, timeout=300)
    ok(p.returncode == 0 and p.stdout.startswith("PASS"), "the port's self-test on those ids passes",
       (p.stdout + p.stderr)[-600:])
# compare on dumps of a port (the unmasked exec fixture seq2seq.h5: nn.LSTM modules, which the hooks
# record): the encoder's h_n and c_n pair with its return_state tensors (encoder:1, encoder:2); a port
# that hands the decoder (c, h) instead of (h, c) diverges at the decoder.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "scripts"))
from torch_dump import dump  # noqa: E402
from k2tlib import FIXTURES  # noqa: E402

fx = os.path.join(FIXTURES, "exec", "seq2seq.h5")
npz = os.path.join(FIXTURES, "exec", "seq2seq.in.npz")
if os.path.exists(fx) and os.path.exists(npz):
    py = os.path.join(tmp, "fx_port.py")
    rc, out, err = k2t("input " + npz, "export pytorch %s --force" % py, model=fx)
    srcpy = open(py).read() if rc == 0 else ""
    bad = srcpy.replace("(encoder_1[None], encoder_2[None])", "(encoder_2[None], encoder_1[None])")
    ok(rc == 0 and bad != srcpy, "the port hands the encoder's (h, c) to the decoder as nn.LSTM's (h0, c0)",
       err + srcpy[-1500:])
    swapped = os.path.join(tmp, "fx_swapped.py")
    open(swapped, "w").write(bad)
    z = np.load(npz)
    for stem, f in (("ok", py), ("swapped", swapped)):
        spec = importlib.util.spec_from_file_location("dump_" + stem, f)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        out_npz = os.path.join(tmp, "dump_%s.npz" % stem)
        with torch.no_grad():
            dump(mod.load_model().eval(), {"encoder_inputs": z["encoder_inputs"], "decoder_inputs": z["decoder_inputs"]},
                 out_npz, layout="nhwc")
        rc, out, err = k2t("input " + npz, "compare " + out_npz, model=fx)
        text = " ".join(out.split())
        if stem == "ok":
            ok(rc == 0 and "encoder:2 (final cell state c_n)" in text and "no divergence" in text,
               "compare: the right port's c_n is checked against the encoder's c (encoder:2), no divergence",
               text[-900:])
        else:
            ok(rc == 0 and "first divergence: decoder" in text and "(set rnn.state swapped)" in text,
               "compare: (c, h) handed to the decoder: the first divergence is the decoder, its cause the state "
               "order, confirmed by emulation", text[-900:])
# rnn.state swapped against PyTorch: the decoder nn.LSTM started from (c, h)
if os.path.exists(fx) and os.path.exists(npz):
    o1 = os.path.join(tmp, "dec_sw.npy")
    rc, out, err = k2t("input " + npz, "set rnn.state swapped", "run", "save decoder %s --force" % o1, model=fx)
    spec = importlib.util.spec_from_file_location("sw", swapped)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    tr = {}
    with torch.no_grad():
        mod.load_model().eval()(torch.from_numpy(z["encoder_inputs"]).movedim(-1, 1),
                                torch.from_numpy(z["decoder_inputs"]).movedim(-1, 1), trace=tr)
    want = tr["decoder"].movedim(1, -1).numpy()
    ok(rc == 0 and np.abs(np.load(o1) - want).max() < 1e-5,
       "rnn.state swapped: k2t's decoder is the port's nn.LSTM started from (c, h)", err[-300:])
else:
    ok(False, "the exec fixture seq2seq.h5 exists (tests/run generates it)")

# Bad files: an LSTM given h without c, a state of the wrong size, a tensor index the call has not.
import h5py  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402

if os.path.exists(fx):
    for tag, inbound, must in (
            ("no_c", [["decoder_inputs", 0, 0, {}], ["encoder", 0, 1, {}]], ["decoder", "initial states h, c", "2 inputs"]),
            ("wrong_size", [["decoder_inputs", 0, 0, {}], ["to_gru", 0, 0, {}], ["encoder", 0, 2, {}]],
             ["decoder", "initial state 0 must be (5,)"]),
            ("no_tensor", [["decoder_inputs", 0, 0, {}], ["encoder", 0, 1, {}], ["encoder", 0, 3, {}]],
             ["decoder", "output tensor 3 of layer 'encoder'", "3 outputs"])):
        bad = os.path.join(tmp, "s2s_%s.h5" % tag)
        shutil.copy(fx, bad)
        with h5py.File(bad, "r+") as f:
            mc = json.loads(f.attrs["model_config"])
            for L in mc["config"]["layers"]:
                if L["config"]["name"] == "decoder":
                    L["inbound_nodes"] = [inbound]
            f.attrs["model_config"] = json.dumps(mc)
        rc, out, err = k2t("load " + bad, "echo still here")
        ok(rc == 1 and all(w in err for w in must) and "still here" in out,
           "a decoder LSTM with %s: refused at load, naming the layer and why; the session goes on" % tag,
           err[-400:])
done()
