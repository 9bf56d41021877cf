"""Keras 3 .keras archives (issue 11 parts 1 and 2), against independent references.

  - parameter totals: numpy sums over every dataset of the archive's own
    model.weights.h5, read here with zipfile + h5py;
  - run: the .keras output equals its legacy .h5 twin's (written from the same
    arrays by scripts/gen_keras3.py), matches a numpy forward pass written
    here from the archive's weights and the tfjs-layers oracle (tests/oracle)
    run on the twin, within 1e-4;
  - every command on an archive: summary, info (the format), stats, export
    (the exported port's own self-test passes);
  - a subclassed model and hostile archives: one clear error naming the file
    and the member, exit 1, and no file written anywhere (TMPDIR and the
    working directory are compared before and after);
  - a Keras 2.0.7 Lambda with NUL bytes in its marshalled code: it loads,
    summary lists it, run refuses naming it, info lists the names it uses.
"""
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import K2T, ROOT, FIXTURES, ok, skip, done  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402

FX = os.path.join(FIXTURES, "keras3")
if not os.path.isfile(os.path.join(FX, "expect_keras3.json")):
    skip("keras3", "fixtures not generated in %s (tests/run generates them)" % FX)
    sys.exit(77)
EXPECT = json.load(open(os.path.join(FX, "expect_keras3.json")))
tmp = tempfile.mkdtemp(prefix="k2t_keras3_")


def P(n):
    return os.path.join(FX, n)


def run(*cmds, model=None, env=None, cwd=ROOT):
    argv = [K2T, "--batch", "--no-init"]
    for c in cmds:
        argv += ["-c", c]
    if model:
        argv.append(model)
    p = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=120,
                       env=dict(os.environ, **(env or {})))
    return p.returncode, p.stdout, p.stderr


def totals(out):
    t = {}
    for line in out.splitlines():
        for key in ("Total params:", "Trainable params:"):
            if line.startswith(key):
                t[key] = int(line.split(":")[1].strip().replace(",", ""))
    return t


def archive_h5(name):
    """The archive's model.weights.h5, opened here independently of k2t."""
    with zipfile.ZipFile(P(name)) as z:
        return h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")


def all_vars(f):
    """{normalized path: array} of every dataset outside optimizer/."""
    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            n = name.replace("\\", "/").replace("_layer_checkpoint_dependencies", "layers")
            if not n.startswith("optimizer"):
                out[n] = obj[()]
    f.visititems(visit)
    return out


# ------------------------------------------------------------- parameter totals
for name in ("cnn.keras", "seq.keras", "nested.keras", "lstm.keras", "bidi.keras", "td.keras", "cnn_oldnames.keras", "k215.keras",
             "windows.keras", "unsupported.keras", "cnn_deflated.keras", "cnn_zip64.keras"):
    rc, out, err = run("summary", model=P(name))
    with archive_h5(name) as f:
        n = sum(int(np.asarray(a).size) for a in all_vars(f).values())
    t = totals(out)
    ok(rc == 0 and t.get("Total params:") == n == EXPECT[name]["total_params"],
       "%s: Total params %s = numpy sum over its model.weights.h5 (%d)" % (name, t.get("Total params:"), n),
       err.strip())
    ok(t.get("Trainable params:") == EXPECT[name]["trainable_params"],
       "%s: Trainable params %s (expected %d)" % (name, t.get("Trainable params:"),
                                                   EXPECT[name]["trainable_params"]))


# ------------------------------------------------------- numpy forward passes
def V(f, path):
    """A variable by its Keras 3 path (f: all_vars of an archive)."""
    return np.asarray(f[path], np.float64)


def conv_same(x, k, b=None, depthwise=False):
    """x (H,W,C); k (kh,kw,Cin,Cout) or depthwise (kh,kw,C,1); stride 1, 'same'."""
    kh, kw = k.shape[:2]
    H, W, C = x.shape
    ph, pw = (kh - 1) // 2, (kw - 1) // 2
    xp = np.zeros((H + kh - 1, W + kw - 1, C))
    xp[ph:ph + H, pw:pw + W] = x
    y = np.zeros((H, W, C if depthwise else k.shape[3]))
    for i in range(kh):
        for j in range(kw):
            win = xp[i:i + H, j:j + W]
            y += win * k[i, j, :, 0] if depthwise else win @ k[i, j]
    return y + (b if b is not None else 0)


def bn(x, g, b, m, v, eps=1e-3):
    return (x - m) / np.sqrt(v + eps) * g + b


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def relu(z):
    return np.maximum(z, 0)


def ref_cnn(f, x):
    L = lambda p: "layers/" + p + "/vars/"  # noqa: E731
    a = relu(conv_same(x, V(f, L("conv2d") + "0"), V(f, L("conv2d") + "1")))
    a = bn(a, *[V(f, L("batch_normalization") + str(i)) for i in range(4)])
    a = conv_same(a, V(f, L("depthwise_conv2d") + "0"), V(f, L("depthwise_conv2d") + "1"), depthwise=True)
    a = bn(a, *[V(f, L("batch_normalization_1") + str(i)) for i in range(4)])
    s = x @ V(f, L("conv2d_1") + "0")[0, 0] + V(f, L("conv2d_1") + "1")
    a = a + s
    a = a.reshape(4, 2, 4, 2, -1).max(axis=(1, 3))
    h = a.mean(axis=(0, 1))
    for i in range(12):
        d = "dense" if i == 0 else "dense_%d" % i
        h = h @ V(f, L(d) + "0") + V(f, L(d) + "1")
        h = softmax(h) if i == 11 else relu(h)
    return h


def ref_seq(f, x):
    h = relu(x @ V(f, "layers/dense/vars/0") + V(f, "layers/dense/vars/1"))
    return softmax(h @ V(f, "layers/dense_1/vars/0") + V(f, "layers/dense_1/vars/1"))


def ref_nested(f, x):
    p = "layers/functional/layers/"
    h = np.tanh(x @ V(f, p + "dense/vars/0") + V(f, p + "dense/vars/1"))
    h = bn(h, *[V(f, p + "batch_normalization/vars/%d" % i) for i in range(4)])
    h = relu(h @ V(f, "layers/sequential/layers/dense/vars/0") + V(f, "layers/sequential/layers/dense/vars/1"))
    return h @ V(f, "layers/dense/vars/0") + V(f, "layers/dense/vars/1")


def ref_lstm(f, x):
    k, r, b = (V(f, "layers/lstm/cell/vars/%d" % i) for i in range(3))
    u = r.shape[0]
    h, c = np.zeros(u), np.zeros(u)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    for t in range(x.shape[0]):
        z = x[t] @ k + h @ r + b
        i, fg, g, o = sig(z[:u]), sig(z[u:2 * u]), np.tanh(z[2 * u:3 * u]), sig(z[3 * u:])
        c = fg * c + i * g
        h = o * np.tanh(c)
    return h @ V(f, "layers/dense/vars/0") + V(f, "layers/dense/vars/1")


def k2t_output(model, x):
    inp = os.path.join(tmp, "in.npy")
    outp = os.path.join(tmp, "out.npy")
    np.save(inp, x[None].astype(np.float32))
    if os.path.exists(outp):
        os.remove(outp)
    rc, out, err = run("input %s" % inp, "run", "save output %s" % outp, model=model)
    return (np.load(outp)[0] if rc == 0 and os.path.exists(outp) else None), err


ORACLE = os.path.join(ROOT, "tests", "oracle", "keras_ref.mjs")
_oracle = {}


def oracle_output(model, x):
    """tfjs-layers (tests/oracle) on a legacy .h5 twin, or None with a skip line."""
    if "ready" not in _oracle:
        mods = os.path.join(ROOT, "tests", "oracle", "node_modules")
        _oracle["ready"] = bool(shutil.which("node")) and os.path.isdir(os.path.join(mods, "@tensorflow", "tfjs"))
        if not _oracle["ready"]:
            skip("the tfjs oracle on the .h5 twins", "tests/oracle/node_modules missing (tests/oracle/setup.sh)")
    if not _oracle["ready"]:
        return None
    inp, od = os.path.join(tmp, "oin.npy"), os.path.join(tmp, "oracle")
    np.save(inp, x[None].astype(np.float32))
    shutil.rmtree(od, ignore_errors=True)
    p = subprocess.run(["node", ORACLE, model, inp, od], capture_output=True, text=True, timeout=300)
    return np.load(os.path.join(od, "output.npy"))[0] if p.returncode == 0 else p.stderr[-500:]


rng = np.random.RandomState(5)
CASES = [("cnn.keras", "cnn.twin.h5", ref_cnn, (8, 8, 3)), ("cnn_oldnames.keras", "cnn.twin.h5", ref_cnn, (8, 8, 3)),
         ("k215.keras", "cnn.twin.h5", None, (8, 8, 3)),  # 2.15 numbering (conv2d, conv2d_2): the twin checks it ("seq.keras", "seq.twin.h5", ref_seq, (6,)),
         ("windows.keras", "seq.twin.h5", ref_seq, (6,)), ("nested.keras", "nested.twin.h5", ref_nested, (6,)),
         ("lstm.keras", "lstm.twin.h5", ref_lstm, (5, 3)),
         ("bidi.keras", "bidi.twin.h5", None, (6, 4)),
         ("td.keras", "td.twin.h5", None, (3, 5, 5, 2)),
         ("cnn_deflated.keras", "cnn.twin.h5", ref_cnn, (8, 8, 3)), ("cnn_zip64.keras", "cnn.twin.h5", ref_cnn, (8, 8, 3))]
for name, twin, ref, shape in CASES:
    x = rng.uniform(-1, 1, shape)
    got, err = k2t_output(P(name), x)
    tw, err2 = k2t_output(P(twin), x)
    with archive_h5(name) as f:
        want = ref(all_vars(f), x) if ref else None
    if not ok(got is not None and tw is not None, "%s: run and save output" % name, err + err2):
        continue
    ok(np.array_equal(got, tw), "%s: output equals its legacy .h5 twin %s" % (name, twin),
       "max diff %g" % float(np.abs(got - tw).max()))
    if want is not None:
        d = float(np.abs(got - want).max())
        ok(d < 1e-4, "%s: output matches the numpy forward pass (max diff %.2e)" % (name, d))
    orc = oracle_output(P(twin), x)
    if isinstance(orc, str):
        ok(False, "%s: the tfjs oracle runs on %s" % (name, twin), orc)
    elif orc is not None:
        d = float(np.abs(got - orc).max())
        ok(d < 1e-4, "%s: output matches Keras semantics (tfjs-layers on %s, max diff %.2e)" % (name, twin, d))

# ----------------------------------------------------------- every command
rc, out, err = run("info", "info depthwise_conv2d", "stats layer batch_normalization_1",
                   model=P("cnn.keras"))
ok(rc == 0 and "format:     Keras 3 archive (.keras)" in out and "keras:      3.10.0" in out,
   "info names the format and metadata.json's keras_version", out + err)
ok("depthwise_kernel" in out and "(3,3,4,1)" in out and "moving_variance" in out,
   "vars/i get their Keras names (info, stats)", out)
with archive_h5("cnn.keras") as f:
    mv = V(all_vars(f), "layers/batch_normalization_1/vars/3")
row = [l for l in out.splitlines() if l.strip().startswith("moving_variance")]
ok(row and abs(float(row[0].split()[2]) - mv.min()) < 1e-5 and abs(float(row[0].split()[3]) - mv.max()) < 1e-5,
   "stats layer: moving_variance min/max equal numpy's on vars/3", row[0] if row else out)
rc, out, err = run("info", model=P("really_h5.keras"))
ok(rc == 0 and "legacy HDF5 (.h5)" in out, "a .keras that is really HDF5 loads as H5 (by content)", out + err)
port = os.path.join(tmp, "port.py")
rc, out, err = run("export pytorch %s" % port, model=P("cnn.keras"))
if ok(rc == 0 and os.path.exists(port), "export pytorch from a .keras", err):
    try:
        import torch  # noqa: F401
        p = subprocess.run([sys.executable, port], capture_output=True, text=True, timeout=300, cwd=tmp)
        ok(p.returncode == 0 and "PASS" in p.stdout, "the exported port's self-test passes", p.stdout + p.stderr)
    except ImportError:
        skip("exported port self-test", "no torch")
rc, out, err = run("info mha", model=P("unsupported.keras"))
ok(rc == 0 and "_query_dense/vars/0" in out and "_output_dense/vars/1" in out and "params:     125" in out,
   "an unsupported layer keeps every nested variable, named by relative path", out + err)
rc2, out2, err2 = run("input random", "run", model=P("unsupported.keras"))
ok(rc2 == 1 and "'mha' (MultiHeadAttention)" in err2, "run refuses naming the unsupported layer", err2)
order = [l.split()[0] for l in out.splitlines() if "/" in l and l.strip().startswith(("vars/", "_"))]
want = ["vars/%d" % i for i in range(12)] + ["_key_dense/vars/0", "_key_dense/vars/1", "_output_dense/vars/0",
                                             "_output_dense/vars/1", "_query_dense/vars/0", "_query_dense/vars/1"]
ok(order == want, "own vars first, numerically (vars/10 after vars/9), then sub-objects by name", str(order))

# ------------------------------------------------- subclassed and hostile
HOSTILE = [("subclassed.keras", ["MyModel", "config.json", "no layers", "Functional and Sequential"]),
           ("h_dotdot.keras", ["'../evil.txt'"]),
           ("h_absolute.keras", ["'/tmp/k2t_evil.txt'"]),
           ("h_noconfig.keras", ["'config.json'"]),
           ("h_noweights.keras", ["'model.weights.h5'"]),
           ("h_npz.keras", ["'model.weights.npz'", "not read yet"]),
           ("h_badjson.keras", ["'config.json'", "not valid JSON"]),
           ("h_truncated.keras", ["truncated or corrupt"]),
           ("h_garbage.keras", ["truncated or corrupt"]),
           ("h_huge.keras", ["'model.weights.h5'", "declares 3221225472 bytes"]),
           ("h_encrypted.keras", ["encrypted"]),
           ("h_crc.keras", ["'config.json'", "CRC", "truncated or corrupt"]),
           ("h_duplicate.keras", ["two zip members have the same name"]),
           ("h_wrongname.keras", ["'dense_1'", "'dense'", "layers/dense/vars"]),
           ("h_extravar.keras", ["'dense'", "3 variables", "implies 2", "'layers/dense'"]),
           ("h_missinggroup.keras", ["'dense_1'", "0 variables", "implies 2 (kernel, bias)", "'layers/dense_1'",
                                     "model.weights.h5"])]
scratch = tempfile.mkdtemp(prefix="k2t_keras3_tmpdir_")
work = tempfile.mkdtemp(prefix="k2t_keras3_cwd_")


def listing():
    return sorted(os.listdir(scratch)), sorted(os.listdir(work)), sorted(os.listdir(FX))


before = listing()
for name, want in HOSTILE:
    rc, out, err = run("summary", model=P(name), env={"TMPDIR": scratch}, cwd=work)
    errs = [l for l in err.splitlines() if "error:" in l]
    ok(rc == 1 and len(errs) == 1 and P(name) in errs[0] and all(w in errs[0] for w in want),
       "%s: one error naming the file and %s" % (name, ", ".join(want)), err.strip())
    # In-process too (K2T_NO_FORK): the same error, and under ASan no leak on the error path.
    rc2, out2, err2 = run("summary", model=P(name), env={"TMPDIR": scratch, "K2T_NO_FORK": "1"}, cwd=work)
    ok(rc2 == 1 and [l for l in err2.splitlines() if "error:" in l] == errs,
       "%s: the same error without the loading child" % name, err2.strip()[-600:])
ok(listing() == before and not os.path.exists("/tmp/k2t_evil.txt") and not os.path.exists(os.path.join(FX, "..",
   "evil.txt")), "hostile archives write nothing (TMPDIR, cwd, the fixture directory)")

# ----------------------------------------------------- a Lambda with NULs
L7 = P("lambda_nul.h5")
rc, out, err = run("summary", model=L7)
ok(rc == 0 and "lambda (Lambda) !" in out and "Total params: %d" % EXPECT["lambda_nul.h5"]["total_params"]
   in out.replace(",", ""), "a Lambda holding raw marshal bytes with NULs loads and shows in summary", out + err)
rc, out, err = run("input random", "run", model=L7)
ok(rc == 1 and "'lambda' (Lambda)" in err, "run refuses naming the Lambda", err)
rc, out, err = run("info lambda", model=L7)
names = [l for l in out.splitlines() if l.strip().startswith("names:")]
ok(rc == 0 and "Python bytecode" in out and names and all(n in names[0] for n in ("x", "scale", "offset_value")),
   "info shows the Lambda's bytecode and the names it uses", out + err)
rc, out, err = run("info lam_code", "info lam_fn", "info lam_src", "info after", model=P("lambda_k3.keras"))
ok(rc == 0 and "gain_k3" in out and "my_fn from module my_module" in out and "source: lambda x: x * 3.0" in out,
   "Keras 3 Lambdas: __lambda__ bytecode names, a named function, source text", out + err)
ok(" kernel " in out and " bias " in out and "vars/0" not in out,
   "a Dense after a Lambda (unknown input shape) still gets kernel and bias", out)
unsup = os.path.join(FIXTURES, "unsupported.h5")
if os.path.exists(unsup):
    rc, out, err = run("info lambda", model=unsup)
    ok(rc == 0 and "Python bytecode" in out and "x" in out, "a base64 Lambda (Keras 2.4+) decodes too", out + err)
done()
