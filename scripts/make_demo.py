#!/usr/bin/python3
"""make_demo.py -- train k2t's demo model and write it, with its test set, under demo/.

    /usr/bin/python3 scripts/make_demo.py [OUTDIR]      (default: demo/ next to scripts/)

Writes:
  OUTDIR/demo.h5            a ResNet8-shaped Keras 2.4 model (legacy H5, as model.save() writes it)
  OUTDIR/demo-unloaded.h5   the same file with the projection shortcut conv2d_8 left at its
                            fresh Keras initialization (a port whose weight copy skipped it)
  OUTDIR/demo-test.bin      500 test images in the CIFAR-10 binary format
  OUTDIR/demo.json          what was trained and the PyTorch accuracies on the test set
  OUTDIR/demo.classes,      the class names, one per line, in label order: k2t reads
  OUTDIR/demo-unloaded.classes  MODEL.classes beside a model and prints them

Needs Debian's python3-torch, python3-h5py and python3-numpy (run it with /usr/bin/python3).
CPU only, fixed seeds, two threads: two to three minutes on two cores; two runs
write byte-identical files.

The data set is drawn here: 32x32 RGB images of ten classes of patterns and
shapes (stripes three ways, a checkerboard, a disc, a ring, a square, a cross,
a triangle, a hollow square), each in a random foreground colour on a random
background colour with a brightness ramp, at a random place and size, with a
few specks of clutter and Gaussian pixel noise.  Colour carries no class
information.  Training sees raw 0..255 pixels (as the MLPerf ResNet8 does), so
the right preprocessing is "raw".

The PyTorch model computes exactly what the Keras model computes at inference:
TensorFlow 'same' padding (F.pad before every convolution: 1 on each side at
stride 1, 0 before and 1 after at stride 2 on an even input), BatchNormalization
with epsilon 1e-3 and momentum 0.99 (torch momentum 0.01), the activations
permuted to NHWC before the Flatten so the Dense reads H, W, C order, and a
softmax after the Dense.  The Keras file gets conv kernels as
weight.permute(2, 3, 1, 0) (HWIO), the Dense kernel as weight.T (its input
columns are already in HWC order), BN gamma/beta/moving_mean/moving_variance
from weight/bias/running_mean/running_var.  Kernel L2 regularization 1e-4 is in
both the loss and the saved config, like the MLPerf model.

The Keras layout itself comes from scripts/gen_fixtures.py (style "k24", the
layout of ../shared/models/pretrainedResnet.h5: fixed-length string attributes,
weight_names in Keras order, groups in name order, a training_config).
"""

import json
import os
import sys
import time

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # do not spin when the cores are shared
import torch  # noqa: E402
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402

CLASSES = ["hstripes", "vstripes", "diagonal", "checker", "disc",
           "ring", "square", "cross", "triangle", "frame"]
N_TRAIN = 20000          # 2000 per class
N_TEST = 500             # 50 per class
EPOCHS = 5
BATCH = 128
LR = 2e-3
L2 = 1e-4                # Keras kernel_regularizer L2(1e-4): loss += 1e-4 * sum(w**2)
BN_EPS = 1e-3
BN_MOMENTUM = 0.99       # Keras; torch's momentum is 1 - this
SEED_TRAIN, SEED_TEST, SEED_TORCH, SEED_RESET = 1, 2, 3, 4
H = W = 32
POOL = 4                 # AveragePooling2D 8x8 -> 2x2, so the Flatten sees a spatial map
FILTERS = (16, 32, 48)
MIN_CONTRAST = 70        # least RGB distance between foreground and background
NOISE = (4, 32)          # range of the per-image Gaussian noise sigma
RAMP = 60                # largest background ramp, per channel
SPECKS = 3               # at most this many clutter squares


# ------------------------------------------------------------------ the data

YY, XX = np.mgrid[0:H, 0:W].astype(np.float32)


def pattern_mask(cls, rng):
    """Boolean HxW mask of the foreground pixels of one image of class cls."""
    if cls <= 3:
        # A striped or checkered patch covering a random rectangle.
        ph, pw = rng.randint(16, 33), rng.randint(16, 33)
        y0, x0 = rng.randint(0, H - ph + 1), rng.randint(0, W - pw + 1)
        box = (YY >= y0) & (YY < y0 + ph) & (XX >= x0) & (XX < x0 + pw)
        p = rng.randint(2 if cls < 2 else 3, 8)   # period in pixels (2 on a diagonal is a checkerboard)
        on = max(1, p // 2)            # width of the foreground band
        o = rng.randint(0, p)
        if cls == 0:
            band = ((YY + o) % p) < on
        elif cls == 1:
            band = ((XX + o) % p) < on
        elif cls == 2:
            band = ((XX + YY + o) % p) < on
        else:
            c = rng.randint(2, 5)
            band = (((YY + o) // c + (XX + o) // c) % 2) == 0
        return box & band
    cy, cx = rng.uniform(9, 23), rng.uniform(9, 23)
    if cls == 4:                       # disc
        r = rng.uniform(4.5, 9)
        return (YY - cy) ** 2 + (XX - cx) ** 2 <= r * r
    if cls == 5:                       # ring
        r = rng.uniform(5.5, 9.5)
        t = rng.uniform(1.6, 3.0)
        d = np.sqrt((YY - cy) ** 2 + (XX - cx) ** 2)
        return (d <= r) & (d >= r - t)
    if cls == 6:                       # filled square
        s = rng.uniform(4.5, 9)
        return (np.abs(YY - cy) <= s) & (np.abs(XX - cx) <= s)
    if cls == 7:                       # cross (plus sign)
        a = rng.uniform(5, 9.5)
        t = rng.uniform(1.0, 2.2)
        return (((np.abs(YY - cy) <= t) & (np.abs(XX - cx) <= a)) |
                ((np.abs(XX - cx) <= t) & (np.abs(YY - cy) <= a)))
    if cls == 8:                       # triangle pointing up
        h = rng.uniform(9, 18)
        top = cy - h / 2
        rel = (YY - top) / h           # 0 at the apex, 1 at the base
        return (rel >= 0) & (rel <= 1) & (np.abs(XX - cx) <= rel * h * 0.6)
    # 9: hollow square (frame)
    s = rng.uniform(5.5, 9.5)
    t = rng.uniform(1.6, 3.0)
    m = np.maximum(np.abs(YY - cy), np.abs(XX - cx))
    return (m <= s) & (m >= s - t)


def colours(rng):
    """A foreground and a background colour far enough apart to see."""
    while True:
        fg, bg = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        if np.linalg.norm(fg - bg) >= MIN_CONTRAST:
            return fg, bg


def background(rng, bg):
    """A flat colour with a linear ramp of random direction and strength."""
    t = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(t) * (XX - 15.5) + np.sin(t) * (YY - 15.5)) / 16.0
    return bg + rng.uniform(0, RAMP, 3) * ramp[..., None]


def specks(rng, img):
    """A few small squares of random colour: clutter that belongs to no class."""
    for _ in range(rng.randint(0, SPECKS + 1)):
        s = rng.randint(1, 4)
        y, x = rng.randint(0, H - s + 1), rng.randint(0, W - s + 1)
        img[y:y + s, x:x + s] = rng.uniform(0, 255, 3)
    return img


def make_set(n, seed):
    """n images (uint8, N x 32 x 32 x 3, HWC) and labels, classes balanced and shuffled."""
    rng = np.random.RandomState(seed)
    labels = np.arange(n) % len(CLASSES)
    rng.shuffle(labels)
    x = np.empty((n, H, W, 3), dtype=np.uint8)
    for i, c in enumerate(labels):
        m = pattern_mask(int(c), rng)[..., None]
        fg, bg = colours(rng)
        img = specks(rng, np.where(m, fg, background(rng, bg)))
        img = img + rng.normal(0, rng.uniform(NOISE[0], NOISE[1]), (H, W, 3))
        x[i] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return x, labels.astype(np.uint8)


def write_cifar(path, x, labels):
    """The CIFAR-10 binary format: per image 1 label byte, then R, G, B planes (32x32 each)."""
    rec = np.empty((len(x), 1 + 3 * H * W), dtype=np.uint8)
    rec[:, 0] = labels
    rec[:, 1:] = x.transpose(0, 3, 1, 2).reshape(len(x), -1)
    with open(path, "wb") as f:
        f.write(rec.tobytes())


# ----------------------------------------------------------------- the model

def same_pads(k, s, n):
    """TF 'same' padding of one spatial axis: (before, after)."""
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


class Conv(nn.Module):
    """A Keras Conv2D(padding='same') in NCHW: explicit TF padding, then a padless conv."""

    def __init__(self, cin, cout, k, s, n_in):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, padding=0)
        b, a = same_pads(k, s, n_in)
        self.pad = (b, a, b, a)        # left, right, top, bottom
        nn.init.xavier_uniform_(self.conv.weight)   # Keras glorot_uniform
        nn.init.zeros_(self.conv.bias)

    def forward(self, x):
        return self.conv(F.pad(x, self.pad))


def BN(c):
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=1 - BN_MOMENTUM)


class ResNet8(nn.Module):
    """The MLPerf Tiny ResNet8 topology with a 2x2 map before Flatten."""

    def __init__(self):
        super().__init__()
        a, b, c = FILTERS
        self.conv2d = Conv(3, a, 3, 1, 32)
        self.bn = BN(a)
        self.conv2d_1, self.bn_1 = Conv(a, a, 3, 1, 32), BN(a)
        self.conv2d_2, self.bn_2 = Conv(a, a, 3, 1, 32), BN(a)
        self.conv2d_3, self.bn_3 = Conv(a, b, 3, 2, 32), BN(b)
        self.conv2d_4, self.bn_4 = Conv(b, b, 3, 1, 16), BN(b)
        self.conv2d_5 = Conv(a, b, 1, 2, 32)
        self.conv2d_6, self.bn_5 = Conv(b, c, 3, 2, 16), BN(c)
        self.conv2d_7, self.bn_6 = Conv(c, c, 3, 1, 8), BN(c)
        self.conv2d_8 = Conv(b, c, 1, 2, 16)
        self.dense = nn.Linear(c * (8 // POOL) ** 2, len(CLASSES))
        nn.init.xavier_uniform_(self.dense.weight)
        nn.init.zeros_(self.dense.bias)

    def forward(self, x):              # x: N,3,32,32 raw pixels; returns logits
        x = F.relu(self.bn(self.conv2d(x)))
        y = F.relu(self.bn_1(self.conv2d_1(x)))
        y = self.bn_2(self.conv2d_2(y))
        x = F.relu(x + y)
        y = F.relu(self.bn_3(self.conv2d_3(x)))
        y = self.bn_4(self.conv2d_4(y))
        x = F.relu(self.conv2d_5(x) + y)
        y = F.relu(self.bn_5(self.conv2d_6(x)))
        y = self.bn_6(self.conv2d_7(y))
        x = F.relu(self.conv2d_8(x) + y)
        x = F.avg_pool2d(x, POOL)
        x = x.permute(0, 2, 3, 1).flatten(1)        # Keras Flatten: H, W, C order
        return self.dense(x)

    def kernels(self):
        return [m.weight for m in self.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def to_nchw(x_uint8):
    """uint8 NHWC images -> float32 NCHW tensor of raw 0..255 pixels."""
    return torch.from_numpy(x_uint8).float().permute(0, 3, 1, 2).contiguous(
        memory_format=torch.channels_last)


def accuracy(model, x, labels, batch=500, bn_train=False):
    """Correct predictions on x, in batches; bn_train: BatchNorm on each batch's own statistics."""
    model.train(bn_train)
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            pred = model(to_nchw(x[i:i + batch])).argmax(1).numpy()
            correct += int((pred == labels[i:i + batch]).sum())
    model.eval()
    return correct


def train(model, x, labels, log):
    n = len(x)
    steps = EPOCHS * ((n + BATCH - 1) // BATCH)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps, pct_start=0.15)
    g = torch.Generator().manual_seed(SEED_TORCH)
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(labels.astype(np.int64))
    for ep in range(EPOCHS):
        model.train()
        perm = torch.randperm(n, generator=g)
        tot, t0 = 0.0, time.time()
        for i in range(0, n, BATCH):
            idx = perm[i:i + BATCH]
            xb = xt[idx].float().permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(model(xb), yt[idx])
            loss = loss + L2 * sum((w ** 2).sum() for w in model.kernels())
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss) * len(idx)
        log("epoch %d/%d: loss %.4f (%.0f s)" % (ep + 1, EPOCHS, tot / n, time.time() - t0))


# ------------------------------------------------------------ the Keras file

def np32(t):
    return t.detach().cpu().numpy().astype(np.float32)


def conv_values(c):
    return {"kernel": np32(c.conv.weight.permute(2, 3, 1, 0)), "bias": np32(c.conv.bias)}


def bn_values(b):
    return {"gamma": np32(b.weight), "beta": np32(b.bias),
            "moving_mean": np32(b.running_mean), "moving_variance": np32(b.running_var)}


def keras_graph(model):
    """The Keras Functional model (gen_fixtures.Graph, style k24) holding the trained weights.

    Layers are created in the order the MLPerf ResNet8 creates them, so Keras's
    automatic names are the same (conv2d_3 and conv2d_6 are the stride-2 convs,
    conv2d_5 and conv2d_8 the projection shortcuts)."""
    g = gf.Graph("k24", 0, name="model")
    l2 = gf.Init("L2", {"l2": gf.f32(L2)})
    a, b, c = FILTERS

    def conv(x, m, filters, k, s):
        return g.add("Conv2D", x, filters=filters, kernel_size=[k, k], strides=[s, s], padding="same",
                     kernel_regularizer=l2, values=conv_values(m))

    def bn(x, m):
        return g.add("BatchNormalization", x, axis=[3], momentum=BN_MOMENTUM, epsilon=BN_EPS,
                     values=bn_values(m))

    def relu(x):
        return g.add("Activation", x, activation="relu")

    i = g.Input((H, W, 3))
    x = relu(bn(conv(i, model.conv2d, a, 3, 1), model.bn))
    y = relu(bn(conv(x, model.conv2d_1, a, 3, 1), model.bn_1))
    y = bn(conv(y, model.conv2d_2, a, 3, 1), model.bn_2)
    x = relu(g.add("Add", [x, y]))
    y = relu(bn(conv(x, model.conv2d_3, b, 3, 2), model.bn_3))
    y = conv(y, model.conv2d_4, b, 3, 1)
    s = conv(x, model.conv2d_5, b, 1, 2)
    y = bn(y, model.bn_4)
    x = relu(g.add("Add", [s, y]))
    y = relu(bn(conv(x, model.conv2d_6, c, 3, 2), model.bn_5))
    y = conv(y, model.conv2d_7, c, 3, 1)
    s = conv(x, model.conv2d_8, c, 1, 2)
    y = bn(y, model.bn_6)
    x = relu(g.add("Add", [s, y]))
    x = g.add("AveragePooling2D", x, pool_size=[POOL, POOL])
    x = g.add("Flatten", x)
    d = model.dense
    x = g.add("Dense", x, units=len(CLASSES), activation="softmax",
              values={"kernel": np32(d.weight.t()), "bias": np32(d.bias)})
    g.outputs = [x]
    return g


def glorot_uniform(rng, shape):
    """Keras's GlorotUniform for a conv kernel (kh, kw, cin, cout) or a Dense kernel (in, out)."""
    rf = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    fan_in, fan_out = shape[-2] * rf, shape[-1] * rf
    lim = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-lim, lim, shape).astype(np.float32)


def reset_layer(g, name, seed):
    """Put one layer's weights back to what a freshly built Keras layer holds."""
    rng = np.random.RandomState(seed)
    L = g.by_name[name]
    new = []
    for var, arr, tr, full in L.weights:
        if var == "kernel":
            arr = glorot_uniform(rng, arr.shape)
        elif var in ("bias", "beta", "moving_mean"):
            arr = np.zeros_like(arr)
        else:                           # gamma, moving_variance
            arr = np.ones_like(arr)
        new.append((var, arr, tr, full))
    L.weights = new


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
    log("data: %d training and %d test images" % (N_TRAIN, N_TEST))
    write_cifar(os.path.join(out, "demo-test.bin"), xte, yte)

    model = ResNet8().to(memory_format=torch.channels_last)
    train(model, xtr, ytr, log)
    correct = accuracy(model, xte, yte)
    train_correct = accuracy(model, xtr[:5000], ytr[:5000])
    log("PyTorch accuracy: test %d/%d, training (first 5000) %d/5000" % (correct, N_TEST, train_correct))
    # A model left in train mode: BatchNorm uses each batch's own statistics (the running
    # statistics would drift too, but the outputs do not depend on them in train mode).
    state = {k: v.clone() for k, v in model.state_dict().items()}
    bn_train = {}
    for b in (1, 4, 16, 64, 256):
        bn_train[str(b)] = accuracy(model, xte, yte, batch=b, bn_train=True)
        model.load_state_dict(state)
    log("PyTorch accuracy with BatchNorm in train mode, by batch size: %s" % bn_train)

    g = keras_graph(model)
    gf.write_model(os.path.join(out, "demo.h5"), g, compiled=True)
    reset_layer(g, "conv2d_8", SEED_RESET)
    gf.write_model(os.path.join(out, "demo-unloaded.h5"), g, compiled=True)
    # The accuracy of the unloaded copy, computed by the same PyTorch model.
    with torch.no_grad():
        L = g.by_name["conv2d_8"]
        w = dict((v, a) for v, a, _, _ in L.weights)
        model.conv2d_8.conv.weight.copy_(torch.from_numpy(w["kernel"]).permute(3, 2, 0, 1))
        model.conv2d_8.conv.bias.copy_(torch.from_numpy(w["bias"]))
    unloaded = accuracy(model, xte, yte)
    log("PyTorch accuracy with conv2d_8 reset: %d/%d" % (unloaded, N_TEST))

    info = {
        "model": "demo.h5", "test_set": "demo-test.bin", "classes": CLASSES,
        "preprocess": "raw",
        "pytorch_test_correct": correct, "pytorch_test_total": N_TEST,
        "pytorch_test_accuracy": round(100.0 * correct / N_TEST, 2),
        "pytorch_train_correct_first_5000": train_correct,
        "pytorch_bn_train_mode_correct_by_batch": bn_train,
        "unloaded_model": "demo-unloaded.h5", "unloaded_layer": "conv2d_8",
        "pytorch_unloaded_correct": unloaded,
        "training": {"images": N_TRAIN, "epochs": EPOCHS, "batch": BATCH, "optimizer": "Adam",
                     "max_lr": LR, "schedule": "one-cycle", "l2": L2,
                     "seeds": {"train_data": SEED_TRAIN, "test_data": SEED_TEST,
                               "torch": SEED_TORCH, "reset": SEED_RESET},
                     "torch": torch.__version__, "threads": 2},
    }
    with open(os.path.join(out, "demo.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    for n in ("demo.classes", "demo-unloaded.classes"):
        with open(os.path.join(out, n), "w") as f:
            f.write("".join(c + "\n" for c in CLASSES))
    for n in ("demo.h5", "demo-unloaded.h5", "demo-test.bin", "demo.json", "demo.classes"):
        log("wrote %s (%d bytes)" % (os.path.join(out, n), os.path.getsize(os.path.join(out, n))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
