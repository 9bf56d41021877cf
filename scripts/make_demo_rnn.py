#!/usr/bin/python3
"""make_demo_rnn.py -- train k2t's recurrent demo model and write it, with its test set, under demo/.

    /usr/bin/python3 scripts/make_demo_rnn.py [OUTDIR]      (default: demo/ next to scripts/)

Writes:
  OUTDIR/demo-rnn.h5        Embedding(20, 16) -> GRU(32, reset_after=True) -> Dense(4, softmax), a
                            Keras 2.4 model in the legacy H5 layout, as model.save() writes it
  OUTDIR/demo-rnn-x.npy     500 test sequences, int32 (500, 32): token ids, Keras's layout
  OUTDIR/demo-rnn-y.npy     their labels, uint8 (500,)
  OUTDIR/demo-rnn.json      what was trained and the PyTorch accuracy on the test set
  OUTDIR/demo-rnn.classes   the class names, one per line, in label order

Needs Debian's python3-torch, python3-h5py and python3-numpy (run it with /usr/bin/python3).
CPU only, fixed seeds, two threads: well under a minute on two cores; two runs write
byte-identical files.

The task, drawn here: a sequence of 32 tokens holds noise tokens (5..19) and two to five
markers (1 A, 2 B, 3 C, 4 D, at least two different ones) at random places; its class is the
marker that comes first.  Which markers a sequence holds, and how often, says little: the
order says it all, so the GRU must keep the first marker it saw through everything after it,
which is the update gate's job (z near 1: keep the state).  A port that loads Keras's gates
z, r, h into nn.GRU's r, z, n slots (keras-team/keras#8720) swaps the update gate with the
reset gate, and the accuracy falls to chance (scripts/demo_rnn_port.py, lesson 12).

The PyTorch model is nn.Embedding -> nn.GRU(batch_first=True) -> nn.Linear on the last state,
softmax at the end.  nn.GRU computes what Keras's GRU(reset_after=True) computes (tf.keras 2's
default): n = tanh(W_n x + b_in + r * (U_n h + b_hn)), h = z * h + (1 - z) * n.  The Keras file
gets its gate blocks in Keras's order z, r, h from PyTorch's r, z, n (kernel = weight_ih_l0
reordered, transposed to (in, 3*units); recurrent_kernel likewise from weight_hh_l0; bias
(2, 3*units): row 0 bias_ih_l0, row 1 bias_hh_l0, both reordered), the Dense kernel as
weight.T.  Before writing, the Keras weights are run through Keras's GRU equations in numpy
(not through PyTorch): every test prediction must be the PyTorch model's, else the script fails.
tests/py/test_lessons_rnn.py checks that k2t's eval gives the same accuracy.
"""

import json
import os
import sys
import time

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # do not spin when the cores are shared
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402

CLASSES = ["A", "B", "C", "D"]   # marker tokens 1..4
VOCAB = 20                       # 0 unused, 1..4 markers, 5..19 noise
T = 32                           # sequence length
EMBED = 16
UNITS = 32
N_TRAIN = 8000
N_TEST = 500
EPOCHS = 12
BATCH = 64
LR = 4e-3
SEED_TRAIN, SEED_TEST, SEED_TORCH = 11, 12, 13


# ------------------------------------------------------------------ the data

def make_set(n, seed):
    """n sequences (int32, n x T) and labels (uint8): the class is the first marker."""
    rng = np.random.RandomState(seed)
    labels = np.arange(n) % len(CLASSES)
    rng.shuffle(labels)
    x = rng.randint(5, VOCAB, size=(n, T)).astype(np.int32)
    for i, c in enumerate(labels):
        k = rng.randint(2, 6)                                   # markers in this sequence
        pos = np.sort(rng.choice(T, k, replace=False))
        others = [m for m in range(len(CLASSES)) if m != c]
        marks = rng.randint(0, len(CLASSES), k)
        marks[0] = c                                            # the first one is the class
        if np.all(marks == c):                                  # at least two different markers
            marks[rng.randint(1, k)] = others[rng.randint(0, len(others))]
        x[i, pos] = marks + 1
    return x, labels.astype(np.uint8)


# ----------------------------------------------------------------- the model

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, EMBED)
        self.gru = nn.GRU(EMBED, UNITS, batch_first=True)
        self.dense = nn.Linear(UNITS, len(CLASSES))

    def forward(self, ids):             # ids: N x T, int64; returns logits
        out, h = self.gru(self.embedding(ids))
        return self.dense(h[-1])


def train(model, x, labels, log):
    n = len(x)
    steps = EPOCHS * ((n + BATCH - 1) // BATCH)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps, pct_start=0.2)
    g = torch.Generator().manual_seed(SEED_TORCH)
    xt = torch.from_numpy(x.astype(np.int64))
    yt = torch.from_numpy(labels.astype(np.int64))
    for ep in range(EPOCHS):
        model.train()
        perm = torch.randperm(n, generator=g)
        tot, t0 = 0.0, time.time()
        for i in range(0, n, BATCH):
            idx = perm[i:i + BATCH]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss) * len(idx)
        log("epoch %d/%d: loss %.4f (%.0f s)" % (ep + 1, EPOCHS, tot / n, time.time() - t0))


def torch_probs(model, x):
    model.eval()
    with torch.no_grad():
        return F.softmax(model(torch.from_numpy(x.astype(np.int64))), 1).numpy()


# ------------------------------------------------------------ the Keras file

def np32(t):
    return t.detach().cpu().numpy().astype(np.float32)


def keras_gru_weights(gru):
    """nn.GRU's parameters as Keras's GRU(reset_after=True) holds them: gate blocks z, r, h."""
    u = gru.hidden_size
    zrh = np.r_[u:2 * u, 0:u, 2 * u:3 * u]    # Keras block order, as rows of PyTorch's r, z, n
    return {"kernel": np32(gru.weight_ih_l0)[zrh].T.copy(),
            "recurrent_kernel": np32(gru.weight_hh_l0)[zrh].T.copy(),
            "bias": np.stack([np32(gru.bias_ih_l0)[zrh], np32(gru.bias_hh_l0)[zrh]])}


def keras_graph(model):
    g = gf.Graph("k24", 0, name="model")
    i = g.Input((T,))
    x = g.add("Embedding", i, input_dim=VOCAB, output_dim=EMBED,
              values={"embeddings": np32(model.embedding.weight)})
    x = g.add("GRU", x, units=UNITS, reset_after=True, values=keras_gru_weights(model.gru))
    d = model.dense
    x = g.add("Dense", x, units=len(CLASSES), activation="softmax",
              values={"kernel": np32(d.weight.t()), "bias": np32(d.bias)})
    g.outputs = [x]
    return g


def keras_probs(g, x):
    """The Keras model's outputs from Keras's own equations (numpy, float64), not from PyTorch."""
    w = {L.name: {v: a.astype(np.float64) for v, a, _, _ in L.weights} for L in g.layers if L.weights}
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    e = w["embedding"]["embeddings"][x]
    W, U, b = w["gru"]["kernel"], w["gru"]["recurrent_kernel"], w["gru"]["bias"]
    u = U.shape[0]
    h = np.zeros((len(x), u))
    for t in range(x.shape[1]):
        gx, gh = e[:, t] @ W + b[0], h @ U + b[1]
        z, r = sig(gx[:, :u] + gh[:, :u]), sig(gx[:, u:2 * u] + gh[:, u:2 * u])
        h = z * h + (1 - z) * np.tanh(gx[:, 2 * u:] + r * gh[:, 2 * u:])
    logits = h @ w["dense"]["kernel"] + w["dense"]["bias"]
    p = np.exp(logits - logits.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = argv[1] if len(argv) > 1 else os.path.join(root, "demo")
    os.makedirs(out, exist_ok=True)
    t_start = time.time()

    def log(msg):
        print("[%5.1f s] %s" % (time.time() - t_start, msg), flush=True)

    torch.manual_seed(SEED_TORCH)
    torch.set_num_threads(2)
    xtr, ytr = make_set(N_TRAIN, SEED_TRAIN)
    xte, yte = make_set(N_TEST, SEED_TEST)
    log("data: %d training and %d test sequences of %d tokens" % (N_TRAIN, N_TEST, T))

    model = Net()
    train(model, xtr, ytr, log)
    pt = torch_probs(model, xte)
    correct = int((pt.argmax(1) == yte).sum())
    train_correct = int((torch_probs(model, xtr[:2000]).argmax(1) == ytr[:2000]).sum())
    log("PyTorch accuracy: test %d/%d, training (first 2000) %d/2000" % (correct, N_TEST, train_correct))

    g = keras_graph(model)
    kp = keras_probs(g, xte)
    diff = float(np.abs(kp - pt).max())
    if not (kp.argmax(1) == pt.argmax(1)).all() or diff > 1e-4:
        raise SystemExit("make_demo_rnn: Keras's equations on the converted weights disagree with PyTorch "
                         "(max |p| difference %g)" % diff)
    log("Keras's GRU equations on the file's weights: the same %d predictions (max |p| difference %.1e)"
        % (N_TEST, diff))

    # The gate-order bug of a port, measured in PyTorch: Keras's blocks z, r, h loaded as r, z, n.
    kw = keras_gru_weights(model.gru)
    with torch.no_grad():
        model.gru.weight_ih_l0.copy_(torch.from_numpy(kw["kernel"].T.copy()))
        model.gru.weight_hh_l0.copy_(torch.from_numpy(kw["recurrent_kernel"].T.copy()))
        model.gru.bias_ih_l0.copy_(torch.from_numpy(kw["bias"][0]))
        model.gru.bias_hh_l0.copy_(torch.from_numpy(kw["bias"][1]))
    swapped = int((torch_probs(model, xte).argmax(1) == yte).sum())
    log("PyTorch accuracy with the gates in Keras's order (the port bug): %d/%d" % (swapped, N_TEST))

    gf.write_model(os.path.join(out, "demo-rnn.h5"), g, compiled=True)
    np.save(os.path.join(out, "demo-rnn-x.npy"), xte)
    np.save(os.path.join(out, "demo-rnn-y.npy"), yte)
    info = {
        "model": "demo-rnn.h5", "test_x": "demo-rnn-x.npy", "test_y": "demo-rnn-y.npy", "classes": CLASSES,
        "task": "the class is the marker (token 1 A, 2 B, 3 C, 4 D) that comes first in the sequence; "
                "tokens 5..19 are noise",
        "pytorch_test_correct": correct, "pytorch_test_total": N_TEST,
        "pytorch_test_accuracy": round(100.0 * correct / N_TEST, 2),
        "pytorch_train_correct_first_2000": train_correct,
        "pytorch_gates_in_keras_order_correct": swapped,
        "training": {"sequences": N_TRAIN, "length": T, "vocab": VOCAB, "epochs": EPOCHS, "batch": BATCH,
                     "optimizer": "Adam", "max_lr": LR, "schedule": "one-cycle",
                     "seeds": {"train_data": SEED_TRAIN, "test_data": SEED_TEST, "torch": SEED_TORCH},
                     "torch": torch.__version__, "threads": 2},
    }
    with open(os.path.join(out, "demo-rnn.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    with open(os.path.join(out, "demo-rnn.classes"), "w") as f:
        f.write("".join(c + "\n" for c in CLASSES))
    for n in ("demo-rnn.h5", "demo-rnn-x.npy", "demo-rnn-y.npy", "demo-rnn.json", "demo-rnn.classes"):
        log("wrote %s (%d bytes)" % (os.path.join(out, n), os.path.getsize(os.path.join(out, n))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
