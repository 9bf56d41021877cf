"""compare: a PyTorch port's own activations against the Keras layers.

Ports written here from the .h5 weights with h5py (tests/py/compare_ports.py),
dumped with scripts/torch_dump.py (forward hooks, __order__), then 'compare'
must say where the port goes wrong:

  the correct ResNet8 port (F.pad before the stride-2 3x3 convs, padding=0):
      no divergence (Adds and ReLUs are functional, fc returns logits);
  padding=1 on the stride-2 convs: conv2d_3 (torch: block2.conv1), with the
      exact TF pads and the F.pad fix;
  BN eps 1e-5: the first BatchNormalization whose error exceeds tolerance
      (found here independently, from the correct and the buggy port);
  conv kernels reshaped, not permuted: the first conv;
  an unpermuted Linear after a spatial Flatten (seq_dict_input.h5: 3x3x4):
      the Dense.
Plus the .npz reader (deflated, archive order, string __order__), --map, and
bad input: not a zip, a zip that is not an npz, arrays that fit no layer,
another batch, no input, no model: clear errors, and the session goes on.
"""
import os
import atexit
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import FIXTURES, ROOT, SHARED, k2t, ok, skip, done  # noqa: E402

try:
    import h5py  # noqa: F401 (compare_ports reads the .h5 weights with it)
    import numpy as np
    import torch
except ImportError as e:
    skip("compare", "numpy, h5py or torch missing: %s" % e)
    done()

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import compare_ports  # noqa: E402
from torch_dump import dump, detect_layout  # noqa: E402

torch.set_grad_enabled(False)
tmp = tempfile.mkdtemp(prefix="k2t_compare_")
atexit.register(shutil.rmtree, tmp, True)
DUMP = os.path.join(ROOT, "scripts", "torch_dump.py")
PORTS = os.path.join(ROOT, "tests", "py", "compare_ports.py")


def T(name):
    return os.path.join(tmp, name)


def first(out):
    m = re.search(r"^first divergence: (\S+) \(torch: (\S+)\)$", out, re.M)
    return (m.group(1), m.group(2)) if m else None


def rows(out):
    """{torch_name: (keras_node, class, ok)} from the alignment lines."""
    r = {}
    for m in re.finditer(r"^(\S+)\s+~ (\S+) \((\w+)[^)]*\)\s+(\S+)\s+(ok|FAIL)", out, re.M):
        r[m.group(1)] = (m.group(2), m.group(3), m.group(5) == "ok")
    return r


def why(out):
    return "\n".join(l for l in out.splitlines() if l.startswith("  ") or l.startswith("first"))


# ---------------------------------------------------------------- torch_dump
fx = os.path.join(FIXTURES, "seq_dict_input.h5")
rng = np.random.default_rng(7)
xs = rng.random((6, 8, 8, 3), dtype=np.float32)
np.save(T("sx.npy"), xs)
good = compare_ports.seqnet(fx)
items = dump(good, xs, T("seq_good.npz"))
ok([n for n, _, _ in items] == ["conv", "bn", "relu", "pool", "flatten", "fc", "softmax"] and
   items[0][1] == "Conv2d" and items[0][2] == (6, 4, 6, 6),
   "torch_dump: leaf modules in execution order, PyTorch layout", str(items))
with zipfile.ZipFile(T("seq_good.npz")) as z:
    order = np.load(z.open("__order__.npy"))
ok(bytes(order).decode().splitlines()[0] == "conv\tConv2d", "torch_dump: __order__ holds 'NAME<TAB>Class' lines")
ok(detect_layout(good, xs) == "nhwc" and detect_layout(good, xs.transpose(0, 3, 1, 2)) == "nchw" and
   detect_layout(good, np.zeros((2, 3, 5, 7))) == "nchw" and detect_layout(torch.nn.Linear(3, 3), np.zeros((2, 5, 7, 3))) == "nhwc",
   "torch_dump: the input layout from the first conv's in_channels, else the last axis")
dump(good, xs.transpose(0, 3, 1, 2), T("seq_good_nchw.npz"), compress=True)
a, b = np.load(T("seq_good.npz")), np.load(T("seq_good_nchw.npz"))
ok(all(np.array_equal(a[k], b[k]) for k in a.files), "torch_dump: an NCHW input gives the same activations")

# ---------------------------------------------------------------- the fixture
IN = "input " + T("sx.npy")
rc, out, err = k2t(IN, "compare " + T("seq_good.npz"), "expect $first_divergence == none", model=fx)
r = rows(out)
ok(rc == 0 and "no divergence" in out and r.get("fc", ("",))[0] == "dense" and "dense (Dense, pre-activation)" in out
   and r.get("softmax", ("",))[0] == "dense" and r.get("flatten", ("",))[0] == "flatten",
   "fixture, correct port: no divergence; the Linear on the Dense's pre-activation, the Softmax on its output",
   out + err)
rc, out, err = k2t(IN, "compare " + T("seq_good_nchw.npz"), model=fx)
ok(rc == 0 and "no divergence" in out, "a deflated .npz is read", err)

dump(compare_ports.seqnet(fx, flatten_fix=False), xs, T("seq_flat.npz"))
rc, out, err = k2t(IN, "compare " + T("seq_flat.npz"), "expect $first_divergence == dense", model=fx)
ok(rc == 0 and first(out) == ("dense", "fc") and "H=3, W=3, C=4" in out and "reproduces the port" in out,
   "fixture, unpermuted Linear after Flatten: first divergence dense (torch: fc), flatten order", why(out) + err)

dump(compare_ports.seqnet(fx, transpose=False), xs, T("seq_tr.npz"))
rc, out, err = k2t(IN, "compare " + T("seq_tr.npz"), model=fx)
ok(first(out) == ("conv2d", "conv") and "weights.transpose" in out and "permute(3, 2, 0, 1)" in out,
   "fixture, conv kernel reshaped: first divergence conv2d, forgotten transpose", why(out))

# numpy.savez without __order__: the archive's order; a string __order__ too
acts = dict(np.load(T("seq_flat.npz")))
names = [l.split("\t")[0] for l in bytes(acts.pop("__order__")).decode().splitlines()]
np.savez(T("plain.npz"), **{n: acts[n] for n in names})
rc, out, err = k2t(IN, "compare " + T("plain.npz"), model=fx)
ok(first(out) == ("dense", "fc") and "(order: the archive's)" in out, "numpy.savez without __order__: archive order", why(out))
np.savez(T("strorder.npz"), __order__=np.array(names), **{n: acts[n] for n in reversed(names)})
rc, out, err = k2t(IN, "compare " + T("strorder.npz"), model=fx)
listed = [l.split()[0] for l in out.splitlines() if " ~ " in l]
ok(listed == names and first(out) == ("dense", "fc"), "a string-array __order__ orders a reversed archive",
   str(listed))

# containers: the Sequential's output repeats its last child
root = torch.nn.Sequential()
root.add_module("net", compare_ports.seqnet(fx))
dump(root, xs, T("seq_cont.npz"), containers=True)
rc, out, err = k2t(IN, "compare " + T("seq_cont.npz"), model=fx)
ok(rc == 0 and "no divergence" in out and re.search(r"^net\s+= net.softmax ", out, re.M),
   "a container's array (the same tensor as its last child) is skipped", out)

# --map
with open(T("good.map"), "w") as f:
    f.write("# pairs\nrelu activation\nsoftmax -   # skip it\n")
rc, out, err = k2t(IN, "compare %s --map %s" % (T("seq_good.npz"), T("good.map")), model=fx)
ok(rc == 0 and "no divergence" in out and re.search(r"^relu\s+~ activation .*\(--map\)", out, re.M) and
   re.search(r"^softmax\s+unmatched: skipped", out, re.M), "--map pairs and skips arrays", out + err)
with open(T("wrong.map"), "w") as f:
    f.write("bn activation\n")
rc, out, err = k2t(IN, "compare %s --map %s" % (T("seq_good.npz"), T("wrong.map")), model=fx)
ok(first(out) == ("activation", "bn"), "--map overrides the alignment (a wrong pair is the divergence)", why(out))
for text, want in (("conv conv2d\n\nbn nosuch\n", "wrong.map:3: unknown layer 'nosuch'"),
                   ("nothere dense\n", "wrong.map:1: no array 'nothere'"),
                   ("fc flatten\n", "wrong.map:1: 'fc' has shape (6,3)"),
                   ("fc\n", "wrong.map:1: expected 'TORCH_NAME KERAS_LAYER'")):
    with open(T("wrong.map"), "w") as f:
        f.write(text)
    rc, out, err = k2t(IN, "compare %s --map %s" % (T("seq_good.npz"), T("wrong.map")), model=fx)
    ok(rc == 1 and want in err, "--map error names the file and line: %s" % want, err.strip())

# bad input, and the session goes on
open(T("text.npz"), "w").write("not a zip\n")
with zipfile.ZipFile(T("notnpz.npz"), "w") as z:
    z.writestr("config.json", "{}")
np.savez(T("nofit.npz"), a=np.zeros((6, 7), np.float32), b=np.zeros((6, 2, 5), np.float32))
np.savez(T("batch.npz"), conv=np.zeros((2, 4, 6, 6), np.float32))
with zipfile.ZipFile(T("trunc.npz"), "w") as z:
    z.writestr("conv.npy", open(T("sx.npy"), "rb").read()[:200])
cases = [("text.npz", "is not an .npz file: not a zip archive"),
         ("notnpz.npz", "is a zip archive but not an .npz: member 'config.json' is not a .npy array"),
         ("nofit.npz", "no array in '%s' fits a layer of the model ('a' (6,7), 'b' (6,2,5))" % T("nofit.npz")),
         ("batch.npz", "no array in '%s' holds a batch of 6 samples" % T("batch.npz")),
         ("trunc.npz", "member 'conv.npy' is truncated")]
for name, want in cases:
    rc, out, err = k2t(IN, "compare " + T(name), "compare " + T("seq_good.npz"), model=fx)
    ok(rc == 1 and want in err and "no divergence" in out, "bad file %s: %s; the session goes on" % (name, want),
       err.strip())
# a dump of the old format: module outputs and __order__ only (no __input__)
with zipfile.ZipFile(T("seq_good.npz")) as zi, zipfile.ZipFile(T("seq_old.npz"), "w") as zo:
    for n in zi.namelist():
        if not (n.startswith("__input__") or n.startswith("__mode__") or n.startswith("state_dict/") or
                re.search(r"\.in\d*\.npy$", n)):
            zo.writestr(n, zi.read(n))
rc, out, err = k2t("compare " + T("seq_old.npz"), "load " + fx, "compare " + T("seq_old.npz"), IN,
                   "compare " + T("seq_old.npz"))
ok(rc == 1 and "compare: no model loaded" in err and "compare: no input" in err and "no divergence" in out,
   "compare before a model and without input (an old dump): clear errors, then it works", err.strip())
# a dump with __input__: used when no input is set; refused when the current input differs
rc, out, err = k2t("compare " + T("seq_good.npz"), model=fx)
ok(rc == 0 and "no input set: using" in out and "no divergence" in out,
   "compare without input uses the dump's __input__", out + err)
xo = xs.copy()
xo[0, 0, 0, 0] += 0.5
np.save(T("sx_other.npy"), xo)
rc, out, err = k2t("input " + T("sx_other.npy"), "compare " + T("seq_good.npz"), model=fx)
ok(rc == 1 and "was dumped on another input" in err and "differs from the current input" in err and
   "sx_other.npy" in err and "first divergence" not in out,
   "compare refuses a dump made on other values than the current input, naming both", err.strip())
np.save(T("sx_255.npy"), xs * 255)
rc, out, err = k2t("input " + T("sx_255.npy"), "compare " + T("seq_good.npz"), model=fx)
ok(rc == 1 and "was dumped on another input" in err and "it is the current input x 0.00392157 + 0" in err,
   "compare refuses a dump made on the same samples scaled otherwise, and says by how much", err.strip())
np.save(T("sx_shape.npy"), xs[:4])
rc, out, err = k2t("load " + os.path.join(FIXTURES, "seq_dict_input.h5"), "input " + T("sx_shape.npy"),
                   "compare " + T("seq_good.npz"))
ok(rc == 1 and "was dumped on another input: its __input__ has shape (6,3,8,8)" in err and "(4,8,8,3)" in err,
   "compare refuses a dump made on an input of another shape", err.strip())
# torch_dump records inputs, the state_dict, the model input and the mode; it no longer forces eval
with zipfile.ZipFile(T("seq_good.npz")) as zi:
    names = set(zi.namelist())
ok({"__input__.npy", "__mode__.npy", "conv.in.npy", "fc.in.npy", "state_dict/conv.weight.npy",
    "state_dict/bn.running_var.npy"} <= names, "torch_dump records inputs, state_dict, __input__, __mode__",
   str(sorted(names)[:12]))
tm = compare_ports.seqnet(fx).train()
dump(tm, xs, T("seq_train.npz"))
with np.load(T("seq_train.npz")) as zz:
    mode_t = bytes(zz["__mode__"]).decode()
    bn_in, bn_out = zz["bn.in"], zz["bn"]
bnm = torch.nn.functional.batch_norm(torch.from_numpy(bn_in), None, None, tm.bn.weight, tm.bn.bias, True, 0.0,
                                     tm.bn.eps).numpy()
ok(mode_t == "train" and tm.training and np.abs(bnm - bn_out).max() < 1e-4,
   "torch_dump leaves a model in train mode as it is (batch statistics), records __mode__ train, restores it",
   "%s %s" % (mode_t, np.abs(bnm - bn_out).max()))
dump(tm, xs, T("seq_eval.npz"), mode="eval")
with np.load(T("seq_eval.npz")) as zz:
    ok(bytes(zz["__mode__"]).decode() == "eval" and tm.training, "dump(mode='eval') forces eval, then restores")

# ------------------------------------------------------------------- ResNet8
model = os.path.join(SHARED, "models", "pretrainedResnet.h5")
data = os.path.join(SHARED, "data", "cifar10-ic200.bin")
if not os.path.exists(model) or not os.path.exists(data):
    skip("compare on the ResNet8", "%s not found" % model)
    done()

raw = np.fromfile(data, dtype=np.uint8).reshape(-1, 3073)


def cifar(n):
    return raw[:n, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float32)  # NHWC, raw pixels


x4 = cifar(4)
np.save(T("x4.npy"), x4)
CIF4 = "input cifar %s 0:4" % data


def resnet(name, x=x4, **kw):
    path = T(name + ".npz")
    dump(compare_ports.resnet8(model, **kw), x, path)
    return path


rc, out, err = k2t(CIF4, "compare " + resnet("good"), "expect $first_divergence == none",
                   "echo max=$max_abs_diff", model=model)
r = rows(out)
ok(rc == 0 and "no divergence" in out and r.get("block2.conv1", ("",))[0] == "conv2d_3" and
   r.get("block2.shortcut", ("",))[0] == "conv2d_5" and r.get("fc", ("",))[0] == "dense" and len(r) == 17 and
   all(v[2] for v in r.values()), "ResNet8, correct port: no divergence; shortcut after the body, fc on logits",
   out + err)
m = re.search(r"max=(\S+)", out)
ok(m and float(m.group(1)) < 1e-3, "$max_abs_diff published (%s)" % (m.group(1) if m else "?"))

rc, out, err = k2t(CIF4, "compare " + resnet("pad", pad_fix=False), "expect $first_divergence == conv2d_3",
                   model=model)
ok(rc == 0 and first(out) == ("conv2d_3", "block2.conv1") and "pads top 0, bottom 1, left 0, right 1" in out and
   "F.pad(x, (0, 1, 0, 1))" in out and "reproduces the port" in out,
   "ResNet8, padding=1 on stride 2: first divergence conv2d_3 (torch: block2.conv1), exact pads and the fix",
   why(out) + err)
r = rows(out)
ok(r.get("block2.shortcut", ("", "", False))[2] and not r.get("block3.conv1", ("", "", True))[2],
   "after the divergence: the shortcut (its input is right) still ok, block 3 FAIL")

rc, out, err = k2t(CIF4, "compare " + resnet("sf", shortcut_first=True), model=model)
ok("no divergence" in out and rows(out).get("block2.conv1", ("",))[0] == "conv2d_3",
   "shortcut run before the body: aligned by going back within the block", out)
rc, out, err = k2t(CIF4, "compare " + resnet("sfpad", shortcut_first=True, pad_fix=False), model=model)
ok(first(out) == ("conv2d_3", "block2.conv1"), "shortcut first, padding=1: still conv2d_3", why(out))

rc, out, err = k2t(CIF4, "compare " + resnet("tr", transpose=False), model=model)
ok(first(out) == ("conv2d", "stem.0") and "weights.transpose" in out,
   "ResNet8, kernels reshaped: first divergence conv2d (torch: stem.0)", why(out))

path = T("cont.npz")
dump(compare_ports.resnet8(model), x4, path, containers=True)
rc, out, err = k2t(CIF4, "compare " + path, model=model)
r = rows(out)
ok("no divergence" in out and r.get("block1", ("",))[0] == "activation_2" and re.search(r"^stem\s+= stem.1", out, re.M),
   "containers: a block's output on the Activation after its Add, the stem's repeat skipped", out)

# BN eps 1e-5: the first BatchNormalization out of tolerance, found here from
# the ports alone (the correct port reproduces Keras within tolerance).
N = 16
x16 = cifar(N)
pg, pe = resnet("good16", x16), resnet("eps16", x16, eps=1e-5)
ga, ea = np.load(pg), np.load(pe)
bns = [l.split("\t")[0] for l in bytes(ga["__order__"]).decode().splitlines() if l.endswith("BatchNorm2d")]
keras_bn = {"stem.1": "batch_normalization", "block1.bn1": "batch_normalization_1",
            "block1.bn2": "batch_normalization_2", "block2.bn1": "batch_normalization_3",
            "block2.bn2": "batch_normalization_4", "block3.bn1": "batch_normalization_5",
            "block3.bn2": "batch_normalization_6"}
want = None
for n in bns:
    ref = ga[n]
    if np.abs(ea[n] - ref).max() > 1e-5 + 1e-4 * np.abs(ref).max():
        want = n
        break
rc, out, err = k2t("input cifar %s 0:%d" % (data, N), "compare " + pe, model=model)
f = first(out)
ok(want and f == (keras_bn[want], want) and "bn.eps" in out and "eps=0.001" in out,
   "ResNet8, BN eps 1e-5: first divergence %s (torch: %s), the first BN out of tolerance" %
   (keras_bn.get(want), want), str(f) + "\n" + why(out))

# The command line: MODULE.py:FACTORY [WEIGHTS] INPUT.npy OUT.npz
p = subprocess.run([sys.executable, DUMP, PORTS + ":resnet8", "--arg", "h5=" + model, "--arg", "pad_fix=False",
                    T("x4.npy"), T("cli.npz")], capture_output=True, text=True)
ok(p.returncode == 0 and "17 arrays" in p.stdout, "torch_dump.py MODULE:FACTORY --arg ... runs", p.stderr[-500:])
rc, out, err = k2t(CIF4, "compare " + T("cli.npz"), model=model)
ok(first(out) == ("conv2d_3", "block2.conv1"), "the CLI's dump: conv2d_3 (torch: block2.conv1)", why(out))
torch.save(compare_ports.resnet8(model).state_dict(), T("good.pt"))
p = subprocess.run([sys.executable, DUMP, "--module", PORTS, "--factory", "resnet8", "--weights", T("good.pt"),
                    "--arg", "h5=" + model, "--arg", "transpose=False", "--layout", "nhwc", T("x4.npy"),
                    T("cli2.npz")], capture_output=True, text=True)
rc, out, err = k2t(CIF4, "compare " + T("cli2.npz"), model=model)
ok(p.returncode == 0 and "no divergence" in out, "torch_dump.py --weights loads a state_dict over the factory's",
   p.stderr[-500:] + why(out))
# The mode: resnet8_bugs(train) leaves the port in train mode; the CLI keeps it, --eval forces eval
for flag, want in (([], "train"), (["--eval"], "eval")):
    p = subprocess.run([sys.executable, DUMP, PORTS + ":resnet8_bugs", "--arg", "h5=" + model, "--arg",
                        "bugs=('train',)", T("x4.npy"), T("cli_mode.npz")] + flag, capture_output=True, text=True)
    with np.load(T("cli_mode.npz")) as zz:
        got = bytes(zz["__mode__"]).decode() if "__mode__" in zz else None
    ok(p.returncode == 0 and got == want and ("%s mode" % want) in p.stdout,
       "torch_dump.py %s: __mode__ %s" % (" ".join(flag) or "(no flag)", want), p.stdout + p.stderr[-500:])
p = subprocess.run([sys.executable, DUMP, "--help"], capture_output=True, text=True)
ok(p.returncode == 0 and "__order__" in p.stdout and "--factory" in p.stdout and "--eval" in p.stdout and
   "state_dict/KEY" in p.stdout, "torch_dump.py --help documents the CLI")
done()
