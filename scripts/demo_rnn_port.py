#!/usr/bin/python3
"""demo_rnn_port.py -- a hand-written PyTorch port of the recurrent demo model, with the bugs of a first try.

    /usr/bin/python3 scripts/demo_rnn_port.py [OUTDIR]     (default: demo/ next to scripts/)

Lesson 12 (scripts/lessons/12-gru-gates.k2t) fixes this port with k2t's compare.  The port is what
a careful person writes from the Keras summary of demo/demo-rnn.h5 (Embedding -> GRU -> Dense):
ids as a LongTensor, batch_first=True, every kernel transposed, the Dense on the last state,
model.eval(); and, as in keras-team/keras#8720, the GRU's weights copied block for block:
Keras keeps its gates in the order z, r, h, nn.GRU in the order r, z, n, so the update gate's
weights land in the reset gate's rows and back.  Keras's GRU (reset_after=True, tf.keras 2's
default) has two bias rows, for the input and for the recurrent product; they go to bias_ih_l0
and bias_hh_l0, which this port does right.  RnnPort(fixed=("gates",)) takes the fix.

Writes two activation dumps of the port, made with scripts/torch_dump.py on the first four
sequences of demo/demo-rnn-x.npy:

  OUTDIR/rnn-port-1.npz   the first try (gate blocks in Keras's order)
  OUTDIR/rnn-port-2.npz   the gates reordered: the port computes what Keras computes

Deterministic (no randomness, one thread): two runs give the same arrays.  Needs Debian's
python3-torch, python3-h5py and python3-numpy; a few seconds.
"""
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torch_dump import dump  # noqa: E402


class RnnPort(nn.Module):
    """demo-rnn.h5 in PyTorch: Embedding(20, 16), GRU(16 -> 32), Dense(32 -> 4) with softmax."""

    def __init__(self, fixed=()):
        super().__init__()
        self.fixed = set(fixed)
        self.embedding = nn.Embedding(20, 16)
        self.gru = nn.GRU(16, 32, batch_first=True)
        self.dense = nn.Linear(32, 4)

    def forward(self, ids):            # ids: N x 32 token ids
        out, h = self.gru(self.embedding(ids.long()))
        return F.softmax(self.dense(h[-1]), 1)


def load_keras(port, h5):
    """Copy demo-rnn.h5's weights into the port."""
    with h5py.File(h5, "r") as f:
        g = f["model_weights"]

        def w(path):
            return torch.from_numpy(np.array(g[path]))
        u = port.gru.hidden_size
        # The fix: nn.GRU's rows r, z, n are Keras's blocks 1, 0, 2 (z, r, h).
        rzn = torch.cat([torch.arange(u, 2 * u), torch.arange(0, u), torch.arange(2 * u, 3 * u)])
        gates = (lambda t: t[rzn]) if "gates" in port.fixed else (lambda t: t)   # the bug: t as it is
        with torch.no_grad():
            port.embedding.weight.copy_(w("embedding/embedding/embeddings:0"))
            port.gru.weight_ih_l0.copy_(gates(w("gru/gru/gru_cell/kernel:0").T))
            port.gru.weight_hh_l0.copy_(gates(w("gru/gru/gru_cell/recurrent_kernel:0").T))
            bias = w("gru/gru/gru_cell/bias:0")          # (2, 96): input bias, recurrent bias
            port.gru.bias_ih_l0.copy_(gates(bias[0]))
            port.gru.bias_hh_l0.copy_(gates(bias[1]))
            port.dense.weight.copy_(w("dense/dense/kernel:0").T)
            port.dense.bias.copy_(w("dense/dense/bias:0"))
    return port.eval()


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.join(HERE, "..", "demo")
    torch.set_num_threads(1)
    h5 = os.path.join(out, "demo-rnn.h5")
    x = np.load(os.path.join(out, "demo-rnn-x.npy"))[:4]
    for name, fixed in (("rnn-port-1.npz", ()), ("rnn-port-2.npz", ("gates",))):
        dump(load_keras(RnnPort(fixed), h5), x, os.path.join(out, name), compress=True)
        print("wrote %s" % os.path.join(out, name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
