"""export pytorch / export safetensors against PyTorch (Debian's python3-torch).

For every fixture model (scripts/gen_fixtures.py, scripts/gen_exec_fixtures.py) and the
real models in $K2T_SHARED/models:

    k2t --batch --no-init -c 'input X.in.npy' -c 'export pytorch DIR/M.py' MODEL.h5

then
  * "python3 DIR/M.py" (the file's own self-test) prints PASS and exits 0;
  * the module, imported here, loads DIR/M.safetensors and its output on the reference
    input (NHWC converted to NCHW) matches the Keras reference within 1e-4 relative
    (max|a-b| / max(1, max|ref|)), compared in Keras's layout: the tfjs oracle's output
    cached by test_exec.py (build/fixtures/exec/ref/<name>/output.npy), k2t's own Keras
    run only when there is none, refs/<m>.out.npy for the real models;
  * the safetensors file, read by the independent reader below, is well formed (header
    length, JSON, dtypes, shapes, offsets covering the buffer exactly, alignment, order)
    and its names and shapes are exactly the module's state_dict();
  * "export safetensors" alone writes the same bytes.
Then the errors: an unsupported layer is named with its class, an existing file is kept
without --force, an unwritable directory leaves no partial file.
"""
import concurrent.futures
import glob
import importlib.util
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import FIXTURES, MODELS, done, k2t, ok, skip  # noqa: E402
from test_exec import EXEC, input_shapes, rel_err  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

TOL = 1e-4
PY = sys.executable
REAL = ["pretrainedResnet", "vww_96", "ad01", "str_ww_ref_model"]
ENV1 = dict(os.environ, OMP_NUM_THREADS="1")  # self-tests run side by side
DTYPE_SIZE = {"F64": 8, "I64": 8, "F32": 4, "I32": 4, "F16": 2, "BF16": 2, "I16": 2, "U8": 1, "I8": 1,
              "BOOL": 1}


def read_safetensors(path):
    """An independent reader: returns (metadata, {name: (dtype, shape, bytes)}) or raises
    ValueError naming what is wrong."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n % 8:
        raise ValueError("header length %d is not a multiple of 8" % n)
    if 8 + n > len(data):
        raise ValueError("header length %d past the end of the file" % n)
    raw = data[8:8 + n]
    if not raw.startswith(b"{"):
        raise ValueError("the header does not start with '{'")
    if raw.rstrip(b" ") != raw.rstrip():
        raise ValueError("the header is padded with something other than spaces")
    header = json.loads(raw.decode("utf-8"))
    meta = header.pop("__metadata__", None)
    if meta is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise ValueError("__metadata__ is not a string-to-string map")
    buf = data[8 + n:]
    spans, tensors = [], {}
    for name, t in header.items():
        if set(t) != {"dtype", "shape", "data_offsets"}:
            raise ValueError("%s: keys %s" % (name, sorted(t)))
        if t["dtype"] not in DTYPE_SIZE:
            raise ValueError("%s: dtype %s" % (name, t["dtype"]))
        begin, end = t["data_offsets"]
        numel = int(np.prod(t["shape"])) if t["shape"] else 1
        if end - begin != numel * DTYPE_SIZE[t["dtype"]]:
            raise ValueError("%s: %d bytes for shape %s %s" % (name, end - begin, t["shape"], t["dtype"]))
        if begin % DTYPE_SIZE[t["dtype"]]:
            raise ValueError("%s: offset %d not aligned to its dtype" % (name, begin))
        spans.append((begin, end, name))
        tensors[name] = (t["dtype"], list(t["shape"]), buf[begin:end])
    spans.sort()
    pos = 0
    for begin, end, name in spans:
        if begin != pos:
            raise ValueError("%s starts at %d, expected %d (a hole or an overlap)" % (name, begin, pos))
        pos = end
    if pos != len(buf):
        raise ValueError("the tensors cover %d bytes of a %d-byte buffer" % (pos, len(buf)))
    order = [s[2] for s in spans if s[1] > s[0]]
    want = sorted(order, key=lambda k: (-DTYPE_SIZE[header[k]["dtype"]], k))
    if order != want:
        raise ValueError("tensors are not sorted by descending dtype size, then name")
    return meta, tensors


def to_nchw(a):
    return np.moveaxis(a, -1, 1) if a.ndim >= 3 else a


def to_nhwc(a):
    return np.moveaxis(a, 1, -1) if a.ndim >= 3 else a


def import_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def k2t_reference(model, inp, tmp, n_outputs=1):
    """Keras's output by k2t's own keras-semantics run (when there is no oracle output)."""
    out = os.path.join(tmp, "k2t_ref.npy")
    rc, so, se = k2t("input " + inp, "run", "save output " + out, model=model)
    if n_outputs > 1:  # save output writes k2t_ref_0.npy, k2t_ref_1.npy, ...
        outs = [os.path.join(tmp, "k2t_ref_%d.npy" % k) for k in range(n_outputs)]
        return [np.load(o) for o in outs] if rc == 0 and all(map(os.path.exists, outs)) else None
    return [np.load(out)] if rc == 0 and os.path.exists(out) else None


def cases():
    """(label, model, input .npy, reference output .npy or None, where the reference is from)."""
    out = []
    man_path = os.path.join(EXEC, "exec_manifest.json")
    if os.path.exists(man_path):
        for fx, m in sorted(json.load(open(man_path)).items()):
            if fx.startswith("cf_"):  # channels_first: export refuses rather than write a wrong port
                out_py = os.path.join(tempfile.gettempdir(), "k2t_cf_export.py")
                rc, so, se = k2t("export pytorch " + out_py, model=os.path.join(EXEC, fx))
                ok(rc == 1 and "channels_first" in se and not os.path.exists(out_py),
                   "%s: export refuses a channels_first model, naming why" % fx, se)
                continue
            ref = os.path.join(EXEC, "ref", fx[:-3], "output.npy")
            out.append((fx, os.path.join(EXEC, fx), os.path.join(EXEC, m["input"]),
                        ref if os.path.exists(ref) else None))
    else:
        skip("export of the execution fixtures", "%s missing (run tests/run once)" % man_path)
    expect_path = os.path.join(FIXTURES, "expect.json")
    if os.path.exists(expect_path):
        for fx, e in sorted(json.load(open(expect_path)).items()):
            path = os.path.join(FIXTURES, fx)
            if e.get("model_class") is None:
                continue  # weights only: checked with the errors
            if any(not v.get("supported", True) for v in e["layers"].values()):
                continue  # unsupported.h5: checked with the errors
            shapes = input_shapes(path)
            if len(shapes) != 1:
                # several inputs: an .npz with a member named after each ("input FILE.npz")
                inp = os.path.join(EXEC, "main", fx[:-3] + ".in.npz")
                if not os.path.exists(inp):
                    os.makedirs(os.path.dirname(inp), exist_ok=True)
                    rng = np.random.RandomState(sum(map(ord, fx)))
                    np.savez(inp, **{name: rng.normal(0, 1.5, [3] + list(sh)).astype(np.float32)
                                     for name, sh in zip(e["inputs"], shapes)})
                out.append((fx, path, inp, None))
                continue
            inp = os.path.join(EXEC, "main", fx[:-3] + ".in.npy")
            if not os.path.exists(inp):
                os.makedirs(os.path.dirname(inp), exist_ok=True)
                rng = np.random.RandomState(sum(map(ord, fx)))  # as test_exec.py makes it
                np.save(inp, rng.normal(0, 1.5, [3] + list(shapes[0])).astype(np.float32))
            ref = os.path.join(EXEC, "ref", "main_" + fx[:-3], "output.npy")
            out.append((fx, path, inp, ref if os.path.exists(ref) else None))
    else:
        skip("export of gen_fixtures.py models", "%s missing (run tests/run once)" % expect_path)
    if not os.path.isdir(MODELS):
        skip("export of the real Keras models", "%s not found" % MODELS)
    else:
        for name in REAL:
            model = os.path.join(MODELS, name + ".h5")
            ins = sorted(glob.glob(os.path.join(MODELS, "refs", name + "*.in.npy")))
            if not os.path.exists(model) or not ins:
                skip("export/%s" % name, "model or refs/%s*.in.npy missing" % name)
                continue
            out.append((name + ".h5", model, ins[0], ins[0][:-len(".in.npy")] + ".out.npy"))
    return out


def export_one(c, tmp):
    """Export and self-test one case (run in a worker thread); returns a result dict."""
    label, model, inp, ref = c
    stem = label[:-3] if label.endswith(".h5") else label
    d = os.path.join(tmp, stem)
    os.makedirs(d)
    py = os.path.join(d, stem + ".py")
    r = {"py": py, "st": os.path.join(d, stem + ".safetensors")}
    r["export"] = k2t("input " + inp, "export pytorch " + py, model=model)
    if r["export"][0] == 0:
        p = subprocess.run([PY, py], capture_output=True, text=True, timeout=600, env=ENV1)
        r["selftest"] = (p.returncode, p.stdout, p.stderr)
        alone = os.path.join(d, "alone.safetensors")
        r["alone"] = k2t("export safetensors " + alone, model=model)
        r["alone_path"] = alone
    return r


PADS = re.compile(r"(?:TF pads top (\d+), bottom (\d+), left (\d+), right (\d+)|pads left (\d+), right (\d+))")


def pad_style(py):
    """Windows whose TF pads are symmetric yet written with F.pad (issue 10: they belong in the
    module's or pool's padding=N), and asymmetric ones written without F.pad."""
    bad = []
    lines = open(py).read().splitlines()
    for k, line in enumerate(lines):
        m = PADS.search(line) if line.strip().startswith("#") else None
        if not m or k + 1 >= len(lines):
            continue
        v = [int(x) for x in m.groups() if x is not None]
        sym = v[0] == v[1] and (len(v) == 2 or v[2] == v[3])
        code = lines[k + 1]
        if code.strip().startswith("# causal"):
            code = lines[k + 2]
        if sym and "F.pad(" in code:
            bad.append("symmetric pads through F.pad: " + code.strip())
        if not sym and "F.pad(" not in code:
            bad.append("asymmetric pads without F.pad: " + code.strip())
    return bad


def check_case(c, r, tmp):
    label, model, inp, ref = c
    rc, so, se = r["export"]
    if not ok(rc == 0 and os.path.exists(r["py"]) and os.path.exists(r["st"]),
              "%s: export pytorch" % label, "exit %d: %s" % (rc, se.strip()[-600:])):
        return
    bad = pad_style(r["py"])
    ok(not bad, "%s: symmetric pads as padding=N, asymmetric ones through F.pad" % label, "; ".join(bad[:3]))
    src, so2, se2 = r["selftest"]
    ok(src == 0 and so2.startswith("PASS"), "%s: self-test %s" % (label, so2.strip()),
       "exit %d: %s %s" % (src, so2.strip(), se2.strip()[-600:]))
    # The safetensors file, independently.
    try:
        meta, tensors = read_safetensors(r["st"])
    except ValueError as e:
        ok(False, "%s: safetensors layout" % label, str(e))
        return
    ok(meta is not None and {"source", "keras_version", "k2t_version"} <= set(meta),
       "%s: safetensors header, offsets and __metadata__" % label, "metadata %s" % meta)
    # The module against the reference.
    try:
        mod = import_module(r["py"], "export_" + label.replace(".", "_").replace("-", "_"))
        net = mod.load_model(r["st"])
    except Exception as e:  # noqa: BLE001
        ok(False, "%s: import and load_model" % label, "%s: %s" % (type(e).__name__, e))
        return
    sd = net.state_dict()
    ok(list(sorted(sd)) == sorted(tensors), "%s: safetensors names == state_dict() keys (%d)" % (label, len(sd)),
       "only in the file: %s; only in the module: %s" % (sorted(set(tensors) - set(sd))[:5],
                                                        sorted(set(sd) - set(tensors))[:5]))
    bad = [k for k in sd if k in tensors and list(sd[k].shape) != tensors[k][1]]
    bad += [k for k in sd if k in tensors and
            {"F32": torch.float32, "I64": torch.int64}.get(tensors[k][0]) != sd[k].dtype]
    ok(not bad, "%s: shapes and dtypes equal the state_dict()'s" % label,
       ", ".join("%s %s vs %s %s" % (k, list(sd[k].shape), tensors[k][1], tensors[k][0]) for k in bad[:4]))
    if inp.endswith(".npz"):
        z = np.load(inp)
        xs = [z[k].astype(np.float32) for k in z.files]  # the model's input order
    else:
        x = np.load(inp).astype(np.float32)
        xs = [x[None] if x.ndim == len(input_shapes(model)[0]) else x]
    with torch.no_grad():
        y = net(*[torch.from_numpy(np.ascontiguousarray(to_nchw(x))) for x in xs])
    gots = [to_nhwc(t.numpy()) for t in (y if isinstance(y, tuple) else (y,))]
    if ref is None:
        wants, where = k2t_reference(model, inp, os.path.dirname(r["py"]), len(gots)), "k2t keras run"
    else:
        wants = [np.load(ref)]
        where = ("the oracle (ref/%s)" % os.path.basename(os.path.dirname(ref)) if ref.startswith(EXEC)
                 else "refs/" + os.path.basename(ref))
    if wants is None:
        ok(False, "%s: a reference output" % label, "k2t could not run it")
        wants = []
    elif len(gots) != len(wants):
        ok(False, "%s: %d outputs" % (label, len(wants)), "the module returns %d" % len(gots))
        wants = []
    for k, (got, want) in enumerate(zip(gots, wants)):
        what = "%s: output%s" % (label, " %d" % k if len(wants) > 1 else "")
        if ok(got.shape == want.shape, "%s shape %s" % (what, want.shape), "module gives %s" % (got.shape,)):
            e = rel_err(got, want)
            ok(e <= TOL, "%s vs %s rel=%.2g" % (what, where, e),
               "max|diff| / max(1, max|ref|) = %.3g > %g" % (e, TOL))
    arc, aso, ase = r["alone"]
    same = arc == 0 and open(r["alone_path"], "rb").read() == open(r["st"], "rb").read()
    ok(same, "%s: export safetensors writes the same bytes" % label, "exit %d: %s" % (arc, ase.strip()[-300:]))


def leftovers(d):
    return [f for f in os.listdir(d) if ".tmp." in f] if os.path.isdir(d) else []


def errors(tmp):
    d = os.path.join(tmp, "errors")
    os.makedirs(d)
    unsup = os.path.join(FIXTURES, "unsupported.h5")
    if os.path.exists(unsup):
        for kind, name in (("pytorch", "u.py"), ("safetensors", "u.safetensors")):
            rc, so, se = k2t("export %s %s" % (kind, os.path.join(d, name)), model=unsup)
            ok(rc != 0 and "'lambda'" in se and "Lambda" in se and not os.listdir(d),
               "unsupported.h5: export %s names the layer and its class and writes nothing" % kind,
               "exit %d, stderr %s, files %s" % (rc, se.strip(), os.listdir(d)))
    wo = os.path.join(FIXTURES, "weights_only.h5")
    if os.path.exists(wo):
        rc, so, se = k2t("export safetensors " + os.path.join(d, "w.safetensors"), model=wo)
        ok(rc != 0 and not os.listdir(d), "weights_only.h5: refused", "exit %d: %s" % (rc, se.strip()))
    model = os.path.join(FIXTURES, "func_k24.h5")
    if not os.path.exists(model):
        skip("export file errors", "func_k24.h5 missing")
        return
    # An existing file is left untouched without --force, replaced with it.
    st = os.path.join(d, "keep.safetensors")
    with open(st, "w") as f:
        f.write("keep me")
    rc, so, se = k2t("export safetensors " + st, model=model)
    ok(rc != 0 and "exists" in se and "--force" in se and open(st).read() == "keep me" and not leftovers(d),
       "an existing safetensors file is refused without --force and left untouched", se.strip())
    rc, so, se = k2t("export safetensors %s --force" % st, model=model)
    try:
        read_safetensors(st)
        good = rc == 0
    except ValueError:
        good = False
    ok(good, "--force replaces it with a valid safetensors file", se.strip())
    py = os.path.join(d, "keep.py")
    with open(py, "w") as f:
        f.write("# keep me\n")
    os.remove(st)
    rc, so, se = k2t("export pytorch " + py, model=model)
    ok(rc != 0 and "exists" in se and open(py).read() == "# keep me\n" and not os.path.exists(st),
       "an existing .py is refused without --force, and no weights file is written", se.strip())
    os.remove(py)
    with open(st, "w") as f:
        f.write("keep me")
    rc, so, se = k2t("export pytorch " + py, model=model)
    ok(rc != 0 and "keep.safetensors" in se and open(st).read() == "keep me" and not os.path.exists(py),
       "export pytorch refuses when FILE.safetensors exists next to it, writing nothing", se.strip())
    rc, so, se = k2t("export pytorch %s --force" % py, model=model)
    p = subprocess.run([PY, py], capture_output=True, text=True, timeout=600)
    ok(rc == 0 and p.returncode == 0 and p.stdout.startswith("PASS"),
       "export pytorch --force replaces both; the self-test passes", se.strip() + p.stdout + p.stderr)
    # An unwritable directory: a clear error and nothing left behind.
    targets = []
    if os.geteuid() != 0:
        ro = os.path.join(tmp, "readonly")
        os.makedirs(ro)
        os.chmod(ro, 0o555)
        targets.append(ro)
    if not os.access("/sys", os.W_OK) or os.geteuid() == 0:
        try:
            open("/sys/k2t_probe", "w").close()
            os.remove("/sys/k2t_probe")
        except OSError:
            targets.append("/sys")
    if not targets:
        skip("export into an unwritable directory", "no unwritable directory found")
    for t in targets:
        for kind, name in (("safetensors", "x.safetensors"), ("pytorch", "x.py")):
            path = os.path.join(t, name)
            rc, so, se = k2t("export %s %s" % (kind, path), model=model)
            left = [f for f in os.listdir(t) if f.startswith("x.")]
            vec = os.path.join(t, "x.selftest.safetensors")  # the pytorch export writes it first
            ok(rc != 0 and ("cannot write '%s'" % path in se or "cannot write '%s'" % vec in se)
               and not left,
               "export %s into unwritable %s: clear error, no partial file" % (kind, t),
               "exit %d: %s; left %s" % (rc, se.strip(), left))
    rc, so, se = k2t("export pytorch " + os.path.join(d, "no", "such", "dir", "m.py"), model=model)
    ok(rc != 0 and "No such file or directory" in se, "a missing directory is reported", se.strip())


def multi_input(tmp):
    """Models with several inputs: the self-test runs on recorded random inputs, then on the
    user's inputs ("input random 5" sets every input; test_multi_io.py compares a two-input
    model's outputs against the oracle)."""
    expect_path = os.path.join(FIXTURES, "expect.json")
    if not os.path.exists(expect_path):
        return
    for fx, e in sorted(json.load(open(expect_path)).items()):
        model = os.path.join(FIXTURES, fx)
        if e.get("model_class") is None or len(e.get("inputs", [])) < 2:
            continue
        py = os.path.join(tmp, "multi", fx[:-3] + ".py")
        os.makedirs(os.path.dirname(py), exist_ok=True)
        rc, so, se = k2t("export pytorch " + py, model=model)
        if not ok(rc == 0, "%s: export pytorch (%d inputs, random)" % (fx, len(e["inputs"])), se.strip()):
            continue
        p = subprocess.run([PY, py], capture_output=True, text=True, timeout=600)
        ok(p.returncode == 0 and p.stdout.startswith("PASS"), "%s: self-test %s" % (fx, p.stdout.strip()),
           p.stdout + p.stderr[-600:])
        rc, so, se = k2t("input random 5", "export pytorch %s --force" % py, model=model)
        ok(rc == 0 and "self-test inputs " in so and so.count("seed 5 (stream") == 2 * len(e["inputs"]),
           "%s: export pytorch's self-test on the user's %d inputs" % (fx, len(e["inputs"])), so + se.strip())
        p = subprocess.run([PY, py], capture_output=True, text=True, timeout=600)
        ok(p.returncode == 0 and p.stdout.startswith("PASS"), "%s: self-test on the user's inputs %s"
           % (fx, p.stdout.strip()), p.stdout + p.stderr[-600:])


def rename_layers(src, dst, names):
    """A copy of a Keras 2 .h5 with layers renamed (config, weight groups, weight names)."""
    import h5py
    shutil.copy(src, dst)

    def walk(v):
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return names.get(v, v) if isinstance(v, str) else v
    with h5py.File(dst, "r+") as f:
        mc = f.attrs["model_config"]
        mc = json.loads(mc.decode() if isinstance(mc, bytes) else mc)
        f.attrs["model_config"] = json.dumps(walk(mc)).encode()
        g = f["model_weights"]
        g.attrs["layer_names"] = np.array([names.get(n.decode(), n.decode()).encode()
                                           for n in g.attrs["layer_names"]])
        for old, new in names.items():
            if old not in g:
                continue
            g.move(old, new)
            if old in g[new]:
                g[new].move(old, new)
            wn = [w.decode() for w in g[new].attrs["weight_names"]]
            g[new].attrs["weight_names"] = np.array([(new + w[len(old):]).encode() for w in wn])


def odd_names(tmp):
    """Layer names that are no Python identifiers: the module's attributes, the safetensors
    names and k2t's own PyTorch names (info) agree."""
    src = os.path.join(EXEC, "flatten_dense.h5")
    if not os.path.exists(src):
        skip("layer names that need sanitizing", "flatten_dense.h5 missing")
        return
    d = os.path.join(tmp, "names")
    os.makedirs(d)
    model = os.path.join(d, "odd.h5")
    try:
        rename_layers(src, model, {"conv": "1st.conv-a#b", "dense": "for", "flatten": "x"})
    except Exception as e:  # noqa: BLE001
        skip("layer names that need sanitizing", "cannot rewrite the fixture: %s" % e)
        return
    py = os.path.join(d, "odd.py")
    rc, so, se = k2t("export pytorch " + py, model=model)
    if not ok(rc == 0, "odd layer names: export pytorch", se.strip()):
        return
    p = subprocess.run([PY, py], capture_output=True, text=True, timeout=600)
    ok(p.returncode == 0 and p.stdout.startswith("PASS"), "odd layer names: self-test " + p.stdout.strip(),
       p.stdout + p.stderr[-600:])
    meta, tensors = read_safetensors(os.path.join(d, "odd.safetensors"))
    want = {"layer_1st_conv_a_b.weight", "layer_1st_conv_a_b.bias", "for_.weight", "for_.bias"}
    ok(set(tensors) == want, "odd layer names: sanitized to %s" % sorted(want), "got %s" % sorted(tensors))
    rc, so, se = k2t("info 1st.conv-a#b", "info for", model=model)
    ok(rc == 0 and "layer_1st_conv_a_b.weight" in so and "for_.weight" in so,
       "odd layer names: info shows the same PyTorch names", so[-400:] + se)


def main():
    if torch is None:
        skip("export", "PyTorch is not importable by %s" % PY)
        done()
    tmp = tempfile.mkdtemp(prefix="k2t_export_")
    try:
        cs = cases()
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 2))) as pool:
            results = list(pool.map(lambda c: export_one(c, tmp), cs))
        for c, r in zip(cs, results):
            check_case(c, r, tmp)
        multi_input(tmp)
        odd_names(tmp)
        errors(tmp)
    finally:
        for root, dirs, files in os.walk(tmp):
            os.chmod(root, 0o755)
        shutil.rmtree(tmp, ignore_errors=True)
    done()


if __name__ == "__main__":
    main()
