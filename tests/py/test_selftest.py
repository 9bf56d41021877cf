"""The exported module's self-test bites (issue 10, item 8).

For the ResNet8 ($K2T_SHARED/models/pretrainedResnet.h5; skipped when ../shared is absent)
and several gen_fixtures.py models, "export pytorch DIR/M.py" (random input in the range the
model was trained for; the ResNet8 also with its reference input set) writes M.py, its
weights and its test vectors M.selftest.safetensors, and then:
  * the vectors file exists and holds the input, the outputs, every layer's output and the
    logits; M.py holds no base64 test data and names the file and where the input came from;
  * "python3 M.py" prints PASS and exits 0;
  * each bug edited into a copy of M.py makes it print FAIL and exit 1: every BatchNorm's
    eps 1e-3 -> 1e-5, a symmetric padding=1 in place of the F.pad of a 3x3 stride-2 'same'
    conv, one conv kernel transposed after loading, the Flatten in H,W,C order;
  * a wrong input size raises ValueError naming the size the pads were computed for;
  * Dropout layers are nn.Dropout modules; the code uses nothing outside PyTorch 1.13..2.x.
"""
import concurrent.futures
import importlib.util
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import FIXTURES, MODELS, done, k2t, ok, skip  # noqa: E402

PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
ENV1 = dict(os.environ, OMP_NUM_THREADS="1")
# Fixtures and the bugs that must apply to each (a bug whose pattern is absent cannot).
FIXTURE_BUGS = {
    "all_layers.h5": ["eps", "transpose", "flatten"],
    "func_k24.h5": ["eps", "pad", "transpose"],
    "keras3.h5": ["eps", "pad", "transpose"],
    "func_k214.h5": ["eps", "transpose", "flatten"],
    "seq_dict_input.h5": ["eps", "transpose", "flatten"],
    "func_chunked.h5": ["eps", "transpose"],
    "func_multi_io.h5": ["transpose", "flatten"],
}
RESNET_BUGS = ["eps", "pad", "transpose"]  # its Flatten is of a 1x1 map: any order is right
NOT_IN_1_13 = ["torch.func", "set_submodule", "weights_only", "torch.compile", "nn.Buffer",
               "register_module_forward_hook", "torch.export", "nn.RMSNorm"]


def inject(src, bug):
    """src with the bug edited in, or None when it has nowhere to go."""
    if bug == "eps":
        t = re.sub(r"eps=0\.001\b", "eps=1e-05", src)
        return t if t != src else None
    if bug == "pad":
        # conv(F.pad(v, (0, 1, 0, 1))) of a 3x3 stride-2 conv -> conv(v) with padding=1
        for m in re.finditer(r"self\.(\w+)\(F\.pad\((\w+), \(0, 1, 0, 1\)\)\)", src):
            decl = re.search(r"self\.%s = nn\.Conv2d\([^\n]*?, 3, stride=2, padding=0(, groups=\d+)?\)"
                             % m.group(1), src)
            if decl:
                t = src.replace(m.group(0), "self.%s(%s)" % (m.group(1), m.group(2)))
                return t.replace(decl.group(0), decl.group(0).replace("padding=0", "padding=1"))
        return None
    if bug == "transpose":
        m = re.search(r"self\.(\w+) = nn\.Conv2d\([^\n]*?, [3-9][,)]", src)
        if not m:
            return None
        line = "    model.load_state_dict(load_weights(path))"
        return src.replace(line, "    w = load_weights(path)\n    w[%r] = w[%r].transpose(2, 3).contiguous()\n"
                           "    model.load_state_dict(w)" % (m.group(1) + ".weight", m.group(1) + ".weight"))
    if bug == "flatten":
        # the NCHW Flatten before a permuted Linear in H,W,C order, or a Keras-order one in C,H,W
        t = src.replace(".flatten(1)  # C,H,W order", ".permute(0, 2, 3, 1).flatten(1)  # C,H,W order")
        t = t.replace(".movedim(1, -1).flatten(1)  # Keras's H,W,C order", ".flatten(1)  # Keras's H,W,C order")
        return t if t != src else None
    raise ValueError(bug)


def run_py(path):
    p = subprocess.run([PY, path], capture_output=True, text=True, env=ENV1, timeout=600,
                       cwd=os.path.dirname(path))
    return p.returncode, p.stdout, p.stderr


def read_header(path):
    import json
    import struct
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))


def import_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def one(label, model, bugs, tmp, inp=None):
    """Export, self-test, inject each bug; returns a list of (cond, what, detail)."""
    res = []
    d = os.path.join(tmp, label.replace(" ", "_"))
    os.makedirs(d)
    stem = re.sub(r"\W", "_", label)
    py = os.path.join(d, stem + ".py")
    vec = os.path.join(d, stem + ".selftest.safetensors")
    cmds = (["input " + inp] if inp else []) + ["export pytorch " + py]
    rc, so, se = k2t(*cmds, model=model)
    res.append((rc == 0, "%s: export pytorch" % label, se.strip()[-400:]))
    if rc != 0:
        return res
    src = open(py).read()
    res.append((os.path.exists(vec), "%s: the test vectors file %s exists" % (label, os.path.basename(vec)), ""))
    hdr = read_header(vec) if os.path.exists(vec) else {}
    names = set(hdr) - {"__metadata__"}
    layers = [n for n in names if ":" not in n]
    res.append(("input:0" in names and "output:0" in names and len(layers) >= 3,
                "%s: the vectors hold the input, the outputs and %d layer outputs" % (label, len(layers)),
                str(sorted(names))[:300]))
    b64 = [ln for ln in src.splitlines() if re.fullmatch(r'\s*"[A-Za-z0-9+/=]{60,}"\s*,?', ln)]
    res.append(("base64" not in src and not b64, "%s: no base64 test data in the .py" % label,
                (b64[:1] or [""])[0][:80]))
    res.append(('TEST_VECTORS = "%s"' % os.path.basename(vec) in src and
                (re.search(r"its first (sample|\d+ samples)", src) if inp else
                 re.search(r"random, seeds? 1(\.\.\d+)?, uniform", src)) is not None,
                "%s: the .py names its vectors file and where the input came from" % label, ""))
    bad = [a for a in NOT_IN_1_13 if a in src]
    res.append((not bad, "%s: no API outside PyTorch 1.13..2.x" % label, str(bad)))
    rc, so, se = run_py(py)
    res.append((rc == 0 and so.startswith("PASS"), "%s: self-test %s" % (label, so.strip()),
                "exit %d: %s" % (rc, (so + se).strip()[-400:])))
    for bug in bugs:
        t = inject(src, bug)
        if t is None:
            res.append((False, "%s: the %s bug has a place to go in the file" % (label, bug), ""))
            continue
        bp = os.path.join(d, "%s_%s.py" % (stem, bug))
        with open(bp, "w") as f:
            f.write(t)
        rc, so, se = run_py(bp)
        res.append((rc == 1 and so.startswith("FAIL"), "%s: the %s bug fails the self-test: %s"
                    % (label, bug, so.strip()[:160]), "exit %d: %s" % (rc, (so + se).strip()[-400:])))
    return res


def wrong_size(tmp):
    """The input-size check and the Dropout modules, on the module imported here."""
    try:
        import torch
        import torch.nn as nn
    except ImportError:
        skip("input-size check", "no torch")
        return
    py = os.path.join(tmp, "all_layers", "all_layers.py")
    if not os.path.exists(py):
        skip("input-size check", "all_layers.h5 not exported")
        return
    mod = import_module(py, "k2t_selftest_all_layers")
    model = mod.load_model()
    shape = None
    src = open(py).read()
    m = re.search(r"if tuple\((\w+)\.shape\[1:\]\) != \(([\d, ]+)\):", src)
    ok(m is not None, "the module checks its input's size", src[:0])
    if not m:
        return
    shape = [int(v) for v in m.group(2).split(",") if v.strip()]
    n_in = mod.N_INPUTS
    # the checked input at twice its spatial size, any other input as recorded
    want = {k: v.numpy() for k, v in mod.load_weights(os.path.join(os.path.dirname(py), mod.TEST_VECTORS)).items()}
    args = [torch.from_numpy(want["input:%d" % k]) for k in range(n_in)]
    big = [1, shape[0]] + [2 * s for s in shape[1:]] if len(shape) > 1 else [1, 2 * shape[0]]
    idx = 0  # the first check is of the first input
    args[idx] = torch.zeros(big)
    try:
        with torch.no_grad():
            model(*args)
        ok(False, "a wrong input size raises ValueError", "no error for %s" % big)
    except ValueError as e:
        ok("exported for (N, %s)" % ", ".join(map(str, shape)) in str(e),
           "a wrong input size raises ValueError: %s" % str(e)[:120], str(e))
    kinds = {type(x).__name__ for x in model.modules()}
    ok("Dropout" in kinds and "Dropout2d" in kinds and re.search(r"= self\.\w+\(\w+\)  # identity in eval mode", src),
       "Dropout layers are nn.Dropout modules called in forward()", str(sorted(kinds)))


def main():
    tmp = tempfile.mkdtemp(prefix="k2t_selftest_")
    jobs = []
    if os.path.isdir(FIXTURES):
        for fx, bugs in FIXTURE_BUGS.items():
            if os.path.exists(os.path.join(FIXTURES, fx)):
                jobs.append((fx[:-3], os.path.join(FIXTURES, fx), bugs, None))
            else:
                skip("self-test of %s" % fx, "missing (run tests/run once)")
    else:
        skip("self-test of the fixtures", "%s missing (run tests/run once)" % FIXTURES)
    resnet = os.path.join(MODELS, "pretrainedResnet.h5")
    if os.path.exists(resnet):
        jobs.append(("resnet8", resnet, RESNET_BUGS, None))
        refs = sorted(f for f in os.listdir(os.path.join(MODELS, "refs"))
                      if f.startswith("pretrainedResnet") and f.endswith(".in.npy")) \
            if os.path.isdir(os.path.join(MODELS, "refs")) else []
        if refs:
            jobs.append(("resnet8 input", resnet, ["eps"], os.path.join(MODELS, "refs", refs[0])))
    else:
        skip("self-test of the ResNet8", "%s not found (../shared absent)" % resnet)
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        results = list(ex.map(lambda j: one(j[0], j[1], j[2], tmp, j[3]), jobs))
    for res in results:
        for cond, what, detail in res:
            ok(cond, what, detail)
    src = open(os.path.join(tmp, "resnet8", "resnet8.py")).read() if os.path.exists(
        os.path.join(tmp, "resnet8", "resnet8.py")) else ""
    if src:
        ok("uniform [0,255): the training range" in src,
           "ResNet8: the random input is in the trained range (raw pixels)", src[:0])
    wrong_size(tmp)
    done()


if __name__ == "__main__":
    main()
