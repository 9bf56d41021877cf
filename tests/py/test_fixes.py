"""The fix k2t prints for a layer: the same text from check, diff and compare, and right.

1. For every layer kind with weights (Conv1D, Conv2D, DepthwiseConv2D with depth_multiplier
   1 and 2, SeparableConv2D's two kernels, Conv2DTranspose, Dense, BatchNormalization on a
   2-D map and on vectors): the finding (topic, its words, its code lines) that 'check'
   prints at the layer, that 'diff --isolated' prints with the matching emulation (profile
   torch plus 'set weights.transpose off' for kernels, 'set bn.eps torch' for BN) and that
   'compare' prints for a hand-written buggy port (tests/py/compare_ports.py, dumped with
   scripts/torch_dump.py) are the same.
2. Every transpose fix line check prints, sd["NAME"] = torch.from_numpy(VAR)..., is
   evaluated with VAR the Keras weight read with h5py; the PyTorch layer built from it (and
   the layer's bias) run on the layer's Keras input must give the tfjs oracle's activation
   of that layer (tests/oracle/keras_ref.mjs, build/fixtures/exec/ref/) within 1e-4 (the
   raw kernel reshaped must not: the comparison can fail).  Conv2DTranspose is compared
   where Keras's output and the full transposed convolution overlap, at the offset check
   names ("keeps rows A..B and columns C..D of the full output"; 0 otherwise).
3. The compare runs of 1. for a DepthwiseConv2D, a Conv1D, a SeparableConv2D and a 1-D
   BatchNormalization (and the other kinds) name the buggy layer as the first divergence,
   with a fix right for the kind (written here, not taken from k2t) and "reproduces the
   port" in the evidence line.
"""
import os
import re
import shutil
import sys
import tempfile
import json

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import FIXTURES, ROOT, done, k2t, ok, skip  # noqa: E402

try:
    import h5py
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:
    skip("fixes", "numpy, h5py or torch missing: %s" % e)
    done()

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import compare_ports  # noqa: E402
import test_exec  # noqa: E402  (fixture generation and the cached oracle runs)
from torch_dump import dump  # noqa: E402

torch.set_grad_enabled(False)
EXEC = os.path.join(FIXTURES, "exec")
TOL = 1e-4
tmp = tempfile.mkdtemp(prefix="k2t_fixes_")


def words(s):
    return " ".join(s.split())


# ------------------------------------------------------------------ parsing

def check_findings(out):
    """{layer: [(topic, text words, (code lines...))]} of check's '  ! topic: text' findings."""
    res, layer, cur = {}, None, None
    for line in out.splitlines():
        m = re.match(r"^(\S+) \((\w+)\)", line)
        if m:
            layer, cur = m.group(1), None
            res.setdefault(layer, [])
            continue
        m = re.match(r"^  ! (\S+): (.*)$", line)
        if m and layer:
            cur = [m.group(1), m.group(2), []]
            res[layer].append(cur)
            continue
        if re.match(r"^  ok ", line):
            cur = None
            continue
        if cur is not None and line.startswith("      "):
            cur[2].append(line[6:])
        elif cur is not None and line.startswith("    ") and not cur[2]:
            cur[1] += " " + line.strip()
        else:
            cur = None
    return {k: [(t, words(x), tuple(c)) for t, x, c in v] for k, v in res.items()}


def why_findings(out):
    """[(topic, text words, (code lines...))] of the '  why: topic: text' / '  fix: code' blocks."""
    res, cur, in_fix = [], None, False
    for line in out.splitlines():
        m = re.match(r"^  why: (\S+): (.*)$", line)
        if m:
            cur, in_fix = [m.group(1), m.group(2), []], False
            res.append(cur)
            continue
        if cur is None:
            continue
        if line.startswith("  fix: "):
            cur[2].append(line[7:])
            in_fix = True
        elif line.startswith("       "):
            if in_fix:
                cur[2].append(line[7:])
            else:
                cur[1] += " " + line.strip()
        else:
            cur = None
    return [(t, words(x), tuple(c)) for t, x, c in res]


def first_div(out):
    m = re.search(r"^first divergence: (\S+)", out, re.M)
    return m.group(1) if m else None


def pick(fs, topic, var=None):
    """The findings of 'topic' (for kernel VAR when given)."""
    return [f for f in fs if f[0] == topic and (var is None or "torch.from_numpy(%s)" % var in " ".join(f[2]))]


# ------------------------------------------------------------ the fixtures

manifest = test_exec.ensure_fixtures()
if manifest is None:
    done()
have_oracle = test_exec.oracle_ready()


def fx(name):
    return os.path.join(EXEC, name + ".h5")


def fin(name):
    return os.path.join(EXEC, name + ".in.npy")


# ------------------------------------------------- 1 and 3: check, diff, compare
# (kind, fixture, layer, topic, kernel var or None, diff settings, port factory, bug, dump layout,
#  the fix that is right for the kind: strings its code must contain)
KSET = ["set weights.transpose off"]
BSET = ["set bn.eps torch"]
seq = os.path.join(FIXTURES, "seq_dict_input.h5")
xs = np.random.default_rng(11).random((4, 8, 8, 3), dtype=np.float32)
np.save(os.path.join(tmp, "seq.in.npy"), xs)
CASES = [
    ("Conv1D", "conv1d", "c1_valid", "transpose", "kernel", KSET, compare_ports.conv1d, "c1_valid", "nhwc",
     ['sd["c1_valid.weight"] = torch.from_numpy(kernel).permute(2, 1, 0)']),
    ("Conv2D", seq, "conv2d", "transpose", "kernel", KSET,
     lambda h5, bug: compare_ports.seqnet(h5, transpose=False), "tr", None,
     ['sd["conv2d.weight"] = torch.from_numpy(kernel).permute(3, 2, 0, 1)']),
    ("DepthwiseConv2D M=1", "depthwise_m1", "dw", "transpose", "depthwise_kernel", KSET,
     compare_ports.depthwise_m1, "dw", None, ['sd["dw.weight"] = torch.from_numpy(depthwise_kernel).permute(2, 3, 0, 1)']),
    ("DepthwiseConv2D M=2", "depthwise_separable", "dw_m2_s2_same", "transpose", "depthwise_kernel", KSET,
     compare_ports.depthwise_separable, "dw_m2", None,
     ['sd["dw_m2_s2_same.weight"] = torch.from_numpy(depthwise_kernel).permute(2, 3, 0, 1).reshape(6, 1, 3, 3)']),
    ("SeparableConv2D depthwise kernel", "separable_m1", "sep", "transpose", "depthwise_kernel", KSET,
     compare_ports.separable_m1, "sep_dw", None,
     ['sd["sep.depthwise.weight"] = torch.from_numpy(depthwise_kernel).permute(2, 3, 0, 1)']),
    ("SeparableConv2D pointwise kernel", "separable_m1", "sep", "transpose", "pointwise_kernel", KSET,
     compare_ports.separable_m1, "sep_pw", None,
     ['sd["sep.pointwise.weight"] = torch.from_numpy(pointwise_kernel).permute(3, 2, 0, 1)']),
    ("Conv2DTranspose", "conv_transpose_valid", "t_valid_s2_k3", "transpose", "kernel", KSET,
     compare_ports.conv_transpose_valid, "t_valid_s2_k3", None,
     ['sd["t_valid_s2_k3.weight"] = torch.from_numpy(kernel).permute(3, 2, 0, 1)']),
    ("Dense", "dense", "dense_rank3", "transpose", "kernel", KSET, compare_ports.dense_bn, "dense_T", None,
     ['sd["dense_rank3.weight"] = torch.from_numpy(kernel).T']),
    ("BatchNormalization 2-D map", "batchnorm", "bn_eps1e3", "bn-eps", None, BSET, compare_ports.batchnorm,
     "bn_eps", "nhwc", ["nn.BatchNorm2d(4, eps=0.001"]),
    ("BatchNormalization vectors", "dense", "bn_2d", "bn-eps", None, BSET, compare_ports.dense_bn, "bn_eps", None,
     ["nn.BatchNorm1d(7, eps=0.001"]),
]

check_cache, check_raw = {}, {}


def run_check(model):
    if model not in check_cache:
        rc, out, err = k2t("check", model=model)
        check_cache[model] = check_findings(out) if rc == 0 else None
        check_raw[model] = out
        ok(rc == 0, "check %s runs" % os.path.basename(model), err.strip()[-300:])
    return check_cache[model]


for kind, fixture, layer, topic, var, settings, port, bug, layout, want in CASES:
    model = fixture if fixture.endswith(".h5") else fx(fixture)
    inp = os.path.join(tmp, "seq.in.npy") if fixture == seq else fin(fixture)
    cf = run_check(model)
    if cf is None:
        continue
    c = pick(cf.get(layer, []), topic, var)
    rc, out, err = k2t("input " + inp, "profile torch", *settings, "diff --isolated", model=model)
    d = pick(why_findings(out), topic, var)
    ok(rc == 0 and first_div(out) == layer, "%s: diff's first divergence is %s" % (kind, layer),
       "first divergence %s; %s" % (first_div(out), err.strip()[-300:]))
    npz = os.path.join(tmp, "%s_%s.npz" % (os.path.basename(model)[:-3], bug))
    dump(port(model, bug), np.load(inp), npz, layout=layout)
    rc, cout, err = k2t("input " + inp, "compare " + npz, model=model)
    p = pick(why_findings(cout), topic, var)
    ok(len(c) == 1 and c == d == p, "%s (%s): check, diff and compare print the same %s finding"
       % (kind, layer, topic), "check %s\ndiff %s\ncompare %s" % (c, d, p))
    ev = [ln for ln in cout.splitlines() if ln.startswith("  evidence:")]
    code = "\n".join(p[0][2]) if p else ""
    ok(first_div(cout) == layer and all(w in code for w in want) and len(ev) == 1 and
       "reproduces the port" in ev[0],
       "%s: compare on a port with the bug '%s': first divergence %s, the right fix, reproduces the port"
       % (kind, bug, layer), "first divergence %s; fix %r; want %s; %s" % (first_div(cout), code, want, ev))

# A BatchNormalization on vectors gets nn.BatchNorm1d, never nn.BatchNorm2d.
bn1 = pick((check_cache.get(fx("dense")) or {}).get("bn_2d", []), "bn-eps")
ok(bn1 and all("BatchNorm1d" in " ".join(f[2]) and "BatchNorm2d" not in f[1] + " ".join(f[2]) for f in bn1),
   "BatchNormalization on vectors: check's fix is nn.BatchNorm1d, never BatchNorm2d", str(bn1))

# ------------------------------------------------------- 2: the fix, applied
if not have_oracle:
    skip("the printed kernel fixes against Keras's activations", "the tfjs oracle is not available")
    shutil.rmtree(tmp, True)
    done()


def layer_cfg(model, name):
    with h5py.File(model, "r") as f:
        mc = f.attrs["model_config"]
    mc = json.loads(mc.decode() if isinstance(mc, bytes) else mc)
    for L in mc["config"]["layers"]:
        if L["config"]["name"] == name:
            ib = L.get("inbound_nodes") or []
            if not ib:
                return L["class_name"], L["config"], None
            if isinstance(ib[0], dict):  # Keras 3: {"args": [{"config": {"keras_history": [name, 0, 0]}}]}
                a = ib[0]["args"][0]
                a = a[0] if isinstance(a, list) else a  # a merge layer's list of inputs
                return L["class_name"], L["config"], a["config"]["keras_history"][0]
            return L["class_name"], L["config"], ib[0][0][0]
    raise KeyError(name)


def keras_var(model, layer, var):
    """Weight 'var' of 'layer' as the .h5 stores it (Keras 2: "kernel:0"; Keras 3: "kernel", and a
    DepthwiseConv2D's depthwise_kernel is called "kernel")."""
    names = [var + ":0", var] + (["kernel"] if var == "depthwise_kernel" else [])
    with h5py.File(model, "r") as f:
        g = f["model_weights"][layer][layer]
        for n in names:
            if n in g:
                return np.array(g[n])
    return None


def tf_same(x, k, s, d, n_sp):
    """TF 'same' padding of the spatial axes (torch layout, last n_sp axes)."""
    pads = []
    for a in range(n_sp):
        n = x.shape[2 + a]
        out = -(-n // s[a])
        tot = max((out - 1) * s[a] + (k[a] - 1) * d[a] + 1 - n, 0)
        pads.append((tot // 2, tot - tot // 2))
    flat = []
    for lo, hi in reversed(pads):
        flat += [lo, hi]
    return F.pad(x, flat)


def to_torch(x):
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 1)))


def to_keras(y):
    return np.moveaxis(y.numpy(), 1, -1)


def forward(cls, cfg, x, W, b, crop=None):
    """The layer in PyTorch with parameters W ({suffix: tensor}) on Keras input x; Keras layout out."""
    if cls == "Dense":
        return F.linear(torch.from_numpy(x), W["weight"], b).numpy()
    xt = to_torch(x)
    n_sp = xt.dim() - 2
    k, s = cfg["kernel_size"], cfg["strides"]
    d = cfg.get("dilation_rate", [1] * n_sp)
    if cls == "Conv2DTranspose":
        y = F.conv_transpose2d(xt, W["weight"], b, stride=s)
        return to_keras(y)
    if cfg["padding"] == "same":
        xt = tf_same(xt, k, s, d, n_sp)
    conv = F.conv1d if n_sp == 1 else F.conv2d
    if cls == "SeparableConv2D":
        y = conv(xt, W["depthwise.weight"], None, s, 0, d, groups=xt.shape[1])
        return to_keras(conv(y, W["pointwise.weight"], b))
    groups = xt.shape[1] if cls == "DepthwiseConv2D" else cfg.get("groups", 1)
    return to_keras(conv(xt, W["weight"], b, s, 0, d, groups=groups))


def rel(a, r):
    return float(np.abs(a.astype(np.float64) - r).max()) / max(1.0, float(np.abs(r).max()))


FIX_LINE = re.compile(r'^sd\["([^"]+)"\] = (torch\.from_numpy\((\w+)\).*)$')
KERNEL_FIXTURES = ["conv1d", "conv_8x8_a", "conv_8x8_b", "depthwise_separable", "depthwise_m1", "separable_m1",
                   "conv_transpose_valid", "conv_transpose_same", "conv_transpose_outpad", "dense", "keras3_act"]


def oracle(name):
    """The oracle's per-layer run of fixture 'name' (on its oracle twin when it has one, whose layers
    of the same name compute the same)."""
    om = manifest.get(name + ".h5", {}).get("oracle_model")
    return test_exec.run_oracle(name, os.path.join(EXEC, om) if om else fx(name), fin(name))
WEIGHTED = ("Conv1D", "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose", "Dense")
for name in KERNEL_FIXTURES:
    model = fx(name)
    refdir, per_layer, err = oracle(name)
    if not ok(refdir is not None and per_layer, "%s: the oracle's per-layer activations" % name, str(err)[-300:]):
        continue
    listing = {e["name"]: e for e in json.load(open(os.path.join(refdir, "layers.json")))}
    cf = run_check(model)
    if cf is None:
        continue
    for layer, fs in cf.items():
        cls, cfg, src = layer_cfg(model, layer)
        if cls not in WEIGHTED:
            continue
        fixes = [ln for f in pick(fs, "transpose") for ln in f[2] if FIX_LINE.match(ln)]
        want_n = 2 if cls == "SeparableConv2D" else 1
        if not ok(len(fixes) == want_n, "%s/%s (%s): check prints %d transpose fix line(s)" % (name, layer, cls, want_n),
                  str(fs)):
            continue
        W, Wbad = {}, {}
        for ln in fixes:
            m = FIX_LINE.match(ln)
            kv = keras_var(model, layer, m.group(3))
            t = eval(m.group(2), {"torch": torch, m.group(3): kv})  # the printed code, run
            suffix = m.group(1)[len(layer) + 1:]
            W[suffix] = t.contiguous()
            Wbad[suffix] = torch.from_numpy(kv.reshape(-1).copy()).reshape(t.shape)  # the forgotten transpose
        b = keras_var(model, layer, "bias")
        b = torch.from_numpy(b) if b is not None else None
        e = listing[layer]
        rfile = e.get("preact") or e["file"]
        if e.get("activation") not in (None, "linear") and not e.get("preact"):
            skip("%s/%s" % (name, layer), "the oracle has no pre-activation for it")
            continue
        ref = np.load(os.path.join(refdir, rfile))
        x = np.load(os.path.join(refdir, listing[src]["file"]))
        y, ybad = forward(cls, cfg, x, W, b), forward(cls, cfg, x, Wbad, b)
        what = "%s/%s (%s): the printed fix %s" % (name, layer, cls, " and ".join(
            ln.split(" = ")[1] for ln in fixes))
        if cls == "Conv2DTranspose":
            # the layer's block of check's output, "ok padding" lines included
            r0 = c0 = 0
            blk = check_raw[model].split("\n%s (" % layer, 1)[1].split("\n", 1)[1]
            end = re.search(r"^\S", blk, re.M)
            blk = blk[:end.start()] if end else blk
            mt = re.search(r"keeps rows (\d+)\.\.(\d+) and columns (\d+)\.\.(\d+) of the full", words(blk))
            if mt:
                r0, c0 = int(mt.group(1)), int(mt.group(3))
            H = min(ref.shape[1], y.shape[1] - r0)
            Wd = min(ref.shape[2], y.shape[2] - c0)
            y, ybad = y[:, r0:r0 + H, c0:c0 + Wd], ybad[:, r0:r0 + H, c0:c0 + Wd]
            ref = ref[:, :H, :Wd]
            what += " (rows %d.., columns %d.. of the full output, %dx%d of Keras's %dx%d)" % (
                r0, c0, H, Wd, listing[layer]["shape"][1], listing[layer]["shape"][2])
        if y.shape != ref.shape:
            ok(False, what, "shape %s, Keras %s" % (y.shape, ref.shape))
            continue
        e1, e2 = rel(y, ref), rel(ybad, ref)
        ok(e1 <= TOL and e2 > 100 * TOL, what + " gives Keras's output (rel %.2g; reshaped instead: %.2g)" % (e1, e2),
           "rel %.3g (tolerance %g); the reshaped kernel %.3g" % (e1, TOL, e2))

# The BatchNormalization fixes, applied: nn.BatchNorm1d/2d as printed, with the Keras statistics.
# Keras 2 raises a 4-D BN's epsilon to 1.001e-5 (fused batch norm), Keras 3 does not (keras3_act).
for name, layer in (("dense", "bn_2d"), ("batchnorm", "bn_eps1e3"), ("batchnorm", "bn_eps1e5"),
                    ("bn_eps_clamp", "bn_small_var"), ("bn_eps_clamp", "bn_2d_small_var"),
                    ("keras3_act", "bn_small_var")):
    model = fx(name)
    refdir, per_layer, err = oracle(name)
    cf = run_check(model)
    if refdir is None or not per_layer or cf is None:
        ok(False, "%s/%s: the oracle and check run" % (name, layer), str(err)[-300:])
        continue
    listing = {e["name"]: e for e in json.load(open(os.path.join(refdir, "layers.json")))}
    fs = pick(cf.get(layer, []), "bn-eps")
    code = fs[0][2][0] if fs and fs[0][2] else ""
    if not ok(re.match(r"^nn\.BatchNorm[12]d\(", code), "%s/%s: check prints an nn.BatchNorm fix" % (name, layer),
              str(cf.get(layer))):
        continue
    bn = eval(code, {"nn": torch.nn})
    cls, cfg, src = layer_cfg(model, layer)
    g, bt = keras_var(model, layer, "gamma"), keras_var(model, layer, "beta")
    if g is not None:
        bn.weight.data.copy_(torch.from_numpy(g))
    if bt is not None:
        bn.bias.data.copy_(torch.from_numpy(bt))
    bn.running_mean.copy_(torch.from_numpy(keras_var(model, layer, "moving_mean")))
    bn.running_var.copy_(torch.from_numpy(keras_var(model, layer, "moving_variance")))
    bn.eval()
    x = np.load(os.path.join(refdir, listing[src]["file"]))
    ref = np.load(os.path.join(refdir, listing[layer]["file"]))
    y = to_keras(bn(to_torch(x))) if x.ndim > 2 else bn(torch.from_numpy(x)).numpy()
    e1 = rel(y, ref)
    ok(e1 <= TOL, "%s/%s: the printed %s gives Keras's output (rel %.2g)" % (name, layer, code, e1),
       "rel %.3g > %g" % (e1, TOL))

shutil.rmtree(tmp, True)
done()
