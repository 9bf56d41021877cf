"""The demo model (demo/, made by scripts/make_demo.py) against independent references.

  * the files: sizes, the CIFAR-10 binary format, the Keras 2.4 legacy H5 layout of the real
    MLPerf file (string attribute types, weight_names order, groups in name order, the same
    layer names and wiring as ../shared/models/pretrainedResnet.h5 when it is there);
  * a PyTorch port written here from the h5 weights alone (NCHW, nn.Conv2d with F.pad for
    TF 'same', nn.BatchNorm2d(eps=1e-3), a CHW flatten with the Linear's columns permuted):
    its accuracy equals the one make_demo.py recorded in demo/demo.json, and so does k2t's;
  * the tfjs-layers Keras reference (tests/oracle/keras_ref.mjs) on 64 test images: its
    output equals the PyTorch port's and k2t's within rel 1e-4;
  * demo-unloaded.h5 differs from demo.h5 only in conv2d_8, which holds fresh Keras weights;
  * the test set is what make_demo.py's generator draws (byte for byte);
  * a plain interactive "k2t" opens the demo model; -c, -x and MODEL do not.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import K2T, ROOT, SHARED, done, k2t, ok, skip  # noqa: E402

DEMO = os.path.join(ROOT, "demo")
MODEL = os.path.join(DEMO, "demo.h5")
UNLOADED = os.path.join(DEMO, "demo-unloaded.h5")
TEST = os.path.join(DEMO, "demo-test.bin")
INFO = os.path.join(DEMO, "demo.json")
ORACLE_DIR = os.path.join(ROOT, "tests", "oracle")
ORACLE = os.path.join(ORACLE_DIR, "keras_ref.mjs")
REL = 1e-4


def rel_err(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(np.abs(a - b).max()) / max(1.0, float(np.abs(b).max()))


def read_cifar(path):
    raw = np.fromfile(path, dtype=np.uint8)
    rec = raw.reshape(-1, 3073)
    return rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), rec[:, 0].copy()


for p in (MODEL, UNLOADED, TEST, INFO):
    if not ok(os.path.exists(p), "demo file %s exists" % os.path.relpath(p, ROOT)):
        done()
info = json.load(open(INFO))

# ------------------------------------------------------------------ the files
ok(os.path.getsize(MODEL) < 400 * 1024, "demo.h5 is under 400 KB (%d bytes)" % os.path.getsize(MODEL))
ok(os.path.getsize(TEST) < 2 * 1024 * 1024 and os.path.getsize(TEST) % 3073 == 0,
   "demo-test.bin: %d CIFAR records under 2 MB" % (os.path.getsize(TEST) // 3073))
x_u8, labels = read_cifar(TEST)
ok(len(x_u8) == info["pytorch_test_total"] and np.bincount(labels, minlength=10).min() > 0
   and labels.max() < 10, "demo-test.bin: %d images, labels 0..9, every class present" % len(x_u8))

try:
    import h5py
except ImportError as e:
    skip("the demo's H5 layout", "h5py missing: %s" % e)
    h5py = None

if h5py:
    with h5py.File(MODEL, "r") as f:
        root_ok = all(h5py.check_string_dtype(f.attrs.get_id(k).dtype) is not None and
                      f.attrs.get_id(k).shape == () for k in ("keras_version", "backend", "model_config"))
        enc = {k: h5py.check_string_dtype(f.attrs.get_id(k).dtype).encoding
               for k in ("keras_version", "backend", "model_config")}
        ok(root_ok and enc == {"keras_version": "utf-8", "backend": "utf-8", "model_config": "ascii"}
           and f.attrs["keras_version"] == "2.4.0" and "training_config" in f.attrs,
           "root attributes: scalar strings, keras_version/backend UTF-8, model_config ASCII, Keras 2.4.0", str(enc))
        mw = f["model_weights"]
        ln = mw.attrs["layer_names"]
        ok(ln.dtype.kind == "S" and list(mw.keys()) == sorted(mw.keys()),
           "layer_names is a fixed-length string array (h5py 2.x, as Keras 2.4 wrote it)", str(ln.dtype))
        names = [n.decode() for n in ln]
        bn_w = [n.decode() for n in mw["batch_normalization_3"].attrs["weight_names"]]
        ok(bn_w == ["batch_normalization_3/%s:0" % v for v in ("gamma", "beta", "moving_mean", "moving_variance")],
           "BN weight_names: gamma, beta, moving_mean, moving_variance", str(bn_w))
        add_w = mw["add"].attrs["weight_names"]
        ok(add_w.dtype == np.float64 and add_w.shape == (0,), "a weightless layer's weight_names is an empty float64 array")
        mc = json.loads(f.attrs["model_config"])
        layers = mc["config"]["layers"]
        wiring = [(L["class_name"], L["name"], [r[0] for r in (L["inbound_nodes"][0] if L["inbound_nodes"] else [])])
                  for L in layers]
        ok(mc["class_name"] == "Functional" and [w[1] for w in wiring] == names,
           "Functional model_config; layer_names in model order")
        pool = next(L for L in layers if L["class_name"] == "AveragePooling2D")["config"]
        ok(pool["pool_size"] == [4, 4], "AveragePooling2D 8x8 -> 2x2: the Flatten sees a spatial map")
        stride2 = [L["name"] for L in layers if L["class_name"] == "Conv2D" and L["config"]["strides"] == [2, 2]]
        ok(stride2 == ["conv2d_3", "conv2d_5", "conv2d_6", "conv2d_8"], "stride-2 convs: %s" % ", ".join(stride2))
        kernels = {n: mw[n][n]["kernel:0"].shape for n in names if n.startswith("conv2d")}
        ok(kernels["conv2d"] == (3, 3, 3, 16) and kernels["conv2d_5"] == (1, 1, 16, 32),
           "conv kernels are HWIO", str(kernels["conv2d"]))
        resnet = os.path.join(SHARED, "models", "pretrainedResnet.h5")
        if os.path.exists(resnet):
            with h5py.File(resnet, "r") as g:
                ref = json.loads(g.attrs["model_config"])["config"]["layers"]
                ref_wiring = [(L["class_name"], L["name"], [r[0] for r in (L["inbound_nodes"][0] if L["inbound_nodes"] else [])])
                              for L in ref]
                ref_keys = {L["name"]: sorted(L["config"]) for L in ref}
            ok(wiring == ref_wiring, "same layer names, classes and wiring as the MLPerf ResNet8")
            ok(all(sorted(L["config"]) == ref_keys[L["name"]] for L in layers),
               "every layer config has the MLPerf file's keys")
        else:
            skip("comparison with the MLPerf ResNet8", "%s not found" % resnet)

    with h5py.File(MODEL, "r") as a, h5py.File(UNLOADED, "r") as b:
        differ = []
        for n in names:
            for w in a["model_weights"][n].attrs["weight_names"] if n not in ("add", "add_1", "add_2") else []:
                w = w.decode()
                if not np.array_equal(a["model_weights"][n][w][()], b["model_weights"][n][w][()]):
                    differ.append(w)
        k = b["model_weights/conv2d_8/conv2d_8/kernel:0"][()]
        lim = np.sqrt(6.0 / (32 + 48))
        ok(differ == ["conv2d_8/kernel:0", "conv2d_8/bias:0"] and np.abs(k).max() <= lim
           and not b["model_weights/conv2d_8/conv2d_8/bias:0"][()].any(),
           "demo-unloaded.h5: only conv2d_8 differs, GlorotUniform kernel (|w| <= %.4f) and zero bias" % lim, str(differ))

# ------------------------------------------- the test set is make_demo's draw
sys.path.insert(0, os.path.join(ROOT, "scripts"))
try:
    import make_demo
    xs, ys = make_demo.make_set(make_demo.N_TEST, make_demo.SEED_TEST)
    ok(np.array_equal(xs, x_u8) and np.array_equal(ys, labels), "make_demo.py's generator redraws demo-test.bin exactly")
    ok(info["classes"] == make_demo.CLASSES, "demo.json names the classes make_demo.py draws")
except ImportError as e:
    skip("make_demo.py's generator", "python3-torch missing: %s" % e)
    make_demo = None

# --------------------------------------------------- a PyTorch port from the h5
port_out = None
try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    skip("PyTorch port of the demo", "python3-torch missing: %s" % e)
    torch = None


def torch_port(path):
    """The demo as a PyTorch user ports it, from the h5 weights: returns f(uint8 NHWC) -> probs."""
    f = h5py.File(path, "r")
    mc = json.loads(f.attrs["model_config"])["config"]["layers"]
    cfg = {L["name"]: L for L in mc}
    W = {}
    for n in cfg:
        g = f["model_weights"][n]
        W[n] = {w.decode().split("/")[-1][:-2]: torch.from_numpy(g[w.decode()][()])
                for w in g.attrs["weight_names"]} if len(g.attrs["weight_names"]) else {}
    mods = {}
    for n, L in cfg.items():
        c = L["config"]
        if L["class_name"] == "Conv2D":
            m = nn.Conv2d(W[n]["kernel"].shape[2], c["filters"], c["kernel_size"], c["strides"], padding=0)
            m.weight.data = W[n]["kernel"].permute(3, 2, 0, 1).contiguous()
            m.bias.data = W[n]["bias"]
            mods[n] = m
        elif L["class_name"] == "BatchNormalization":
            m = nn.BatchNorm2d(W[n]["gamma"].shape[0], eps=c["epsilon"])
            m.weight.data, m.bias.data = W[n]["gamma"], W[n]["beta"]
            m.running_mean.data, m.running_var.data = W[n]["moving_mean"], W[n]["moving_variance"]
            mods[n] = m.eval()
        elif L["class_name"] == "Dense":
            k = W[n]["kernel"]                      # (H*W*C, units), rows in H, W, C order
            m = nn.Linear(k.shape[0], k.shape[1])
            C, H, Wd = 48, 2, 2
            # the Linear reads a CHW flatten: column c*H*W + h*W + w is Keras row (h*W + w)*C + c
            perm = [(h * Wd + w) * C + c for c in range(C) for h in range(H) for w in range(Wd)]
            m.weight.data = k[perm].t().contiguous()
            m.bias.data = W[n]["bias"]
            mods[n] = m
    f.close()

    def pads(n, size):
        c = cfg[n]["config"]
        k, s = c["kernel_size"][0], c["strides"][0]
        out = -(-size // s)
        tot = max((out - 1) * s + k - size, 0)
        return (tot // 2, tot - tot // 2) * 2

    def run(x_u8):
        vals = {}
        with torch.no_grad():
            for L in mc:
                n, cls = L["name"], L["class_name"]
                ins = [vals[r[0]] for r in L["inbound_nodes"][0]] if L["inbound_nodes"] else []
                if cls == "InputLayer":
                    y = torch.from_numpy(x_u8).float().permute(0, 3, 1, 2)
                elif cls == "Conv2D":
                    y = mods[n](F.pad(ins[0], pads(n, ins[0].shape[-1])))
                elif cls == "BatchNormalization":
                    y = mods[n](ins[0])
                elif cls == "Activation":
                    y = F.relu(ins[0])
                elif cls == "Add":
                    y = ins[0] + ins[1]
                elif cls == "AveragePooling2D":
                    y = F.avg_pool2d(ins[0], L["config"]["pool_size"])
                elif cls == "Flatten":
                    y = ins[0].flatten(1)
                elif cls == "Dense":
                    y = torch.softmax(mods[n](ins[0]), dim=1)
                else:
                    raise ValueError(cls)
                vals[n] = y
        return y.numpy()
    return run


def batched(fn, x, b=100):
    return np.concatenate([fn(x[i:i + b]) for i in range(0, len(x), b)])


if torch is not None and h5py:
    torch.set_num_threads(2)
    port_out = batched(torch_port(MODEL), x_u8)
    correct = int((port_out.argmax(1) == labels).sum())
    ok(correct == info["pytorch_test_correct"],
       "PyTorch port from the h5: %d/%d, as make_demo.py recorded (%d)" % (correct, len(labels), info["pytorch_test_correct"]))
    un = batched(torch_port(UNLOADED), x_u8)
    uc = int((un.argmax(1) == labels).sum())
    ok(uc == info["pytorch_unloaded_correct"],
       "PyTorch port of demo-unloaded.h5: %d/%d, as recorded (%d)" % (uc, len(labels), info["pytorch_unloaded_correct"]))

# ------------------------------------------------------------------------ k2t
for path, key in ((MODEL, "pytorch_test_correct"), (UNLOADED, "pytorch_unloaded_correct")):
    rc, out, err = k2t("eval cifar %s" % TEST, model=path)
    m = re.search(r"accuracy: (\d+)/(\d+)", out)
    ok(rc == 0 and m and int(m.group(1)) == info[key],
       "k2t eval on %s: %s, PyTorch recorded %d" % (os.path.basename(path), m.group(0) if m else err.strip(), info[key]))

tmp = tempfile.mkdtemp(prefix="k2t-demo-")
N = 64
inp = os.path.join(tmp, "in.npy")
np.save(inp, x_u8[:N].astype(np.float32))
kout = os.path.join(tmp, "k2t.npy")
rc, out, err = k2t("input %s" % inp, "run", "save output %s" % kout, model=MODEL)
k2t_out = np.load(kout) if rc == 0 and os.path.exists(kout) else None
ok(k2t_out is not None, "k2t runs %d test images and saves the output" % N, err.strip())
if k2t_out is not None and port_out is not None:
    e = rel_err(k2t_out, port_out[:N])
    ok(e <= REL, "k2t's output equals the PyTorch port's on %d images (rel %.2g)" % (N, e))

# ------------------------------------------------------ the tfjs Keras oracle
if not shutil.which("node"):
    skip("the demo against the Keras oracle", "node is not installed")
else:
    mods_dir = os.path.join(ORACLE_DIR, "node_modules")
    if not os.path.isdir(os.path.join(mods_dir, "@tensorflow", "tfjs")):
        subprocess.run(["bash", os.path.join(ORACLE_DIR, "setup.sh")], cwd=ROOT)
    if not os.path.isdir(os.path.join(mods_dir, "@tensorflow", "tfjs")):
        skip("the demo against the Keras oracle", "tests/oracle/setup.sh failed")
    else:
        outdir = os.path.join(tmp, "oracle")
        p = subprocess.run(["node", ORACLE, MODEL, inp, outdir], capture_output=True, text=True, timeout=600)
        ref = os.path.join(outdir, "output.npy")
        if ok(p.returncode == 0 and os.path.exists(ref), "tfjs-layers runs demo.h5", p.stderr.strip()[-400:]):
            r = np.load(ref)
            if port_out is not None:
                e = rel_err(port_out[:N], r)
                ok(e <= REL, "the PyTorch port equals the tfjs Keras reference on %d images (rel %.2g)" % (N, e))
            if k2t_out is not None:
                e = rel_err(k2t_out, r)
                ok(e <= REL, "k2t equals the tfjs Keras reference on %d images (rel %.2g)" % (N, e))
            ok(int((r.argmax(1) == labels[:N]).sum()) == int((port_out[:N].argmax(1) == labels[:N]).sum())
               if port_out is not None else True, "the same predictions from tfjs and the PyTorch port")

# ------------------------------------------------- a plain "k2t" opens the demo


def shell(args, stdin="quit\n", env_extra=None):
    env = dict(os.environ, K2T_FAKETTY="1", NO_COLOR="1")
    env.pop("K2T_DEMO", None)
    env.update(env_extra or {})
    p = subprocess.run([K2T, "--no-init"] + args, input=stdin, capture_output=True, text=True,
                       cwd=tmp, env=env, timeout=120)
    return p.returncode, p.stdout, p.stderr


rc, out, err = shell([], stdin="echo $layers\nquit\n")
ok(rc == 0 and "no model given: opened the demo model %s (see demo/README.md)" % MODEL in out and "\n30\n" in out.replace("k2t> ", ""),
   "plain interactive k2t opens demo/demo.h5 beside the executable", (out + err)[-300:])
rc, out, err = shell([], env_extra={"K2T_DEMO": UNLOADED})
ok(rc == 0 and "opened the demo model %s" % UNLOADED in out, "K2T_DEMO names another demo model", (out + err)[-300:])
rc, out, err = shell([], stdin="vars\nquit\n", env_extra={"K2T_DEMO": ""})
ok(rc == 0 and "demo model" not in out and "loaded" not in out, "K2T_DEMO= (empty) opens no model", out[-300:])
rc, out, err = shell(["-c", "vars"], stdin="")
ok("demo model" not in out and "loaded" not in out, "k2t -c CMD does not open the demo", out[-300:])
rc, out, err = shell([os.path.join(ROOT, "..", "no-such-model.h5")])
ok("demo model" not in out, "k2t MODEL does not open the demo, even when MODEL fails to load", out[-300:])
rc, out, err = shell(["--batch"], stdin="vars\n")
ok("demo model" not in out and "loaded" not in out, "k2t --batch reading stdin does not open the demo", out[-300:])

shutil.rmtree(tmp, ignore_errors=True)
done()
