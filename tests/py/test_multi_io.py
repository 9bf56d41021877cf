"""A model with two inputs and two outputs, through every command that runs it.

The fixture (scripts/gen_exec_fixtures.py fx_multi_io): an 8x8x3 image and a 5-vector merged
by Concatenate and Add into a softmax head "cls" and a regression head "reg".  Checked:
  - "input NAME FILE.npy" and "input FILE.npz" set the inputs; run; every output against the
    tfjs-layers oracle (tests/oracle/keras_ref.mjs) within 1e-4;
  - top ranks each output under its name; input random fills both inputs, deterministically;
  - diff between two profiles names the first divergence;
  - compare against PyTorch dumps (scripts/torch_dump.py, both inputs) of k2t's exported port:
    agreement, and a deliberately broken port's first divergence;
  - step/next/continue through the model; export's self-test on the user's inputs;
  - error messages naming the input: unknown name, missing/extra npz member, batch mismatch.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import ROOT, done, k2t, ok, skip  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import gen_exec_fixtures  # noqa: E402

ORACLE_DIR = os.path.join(ROOT, "tests", "oracle")
ORACLE = os.path.join(ORACLE_DIR, "keras_ref.mjs")
DUMP = os.path.join(ROOT, "scripts", "torch_dump.py")
TOL = 1e-4

d = tempfile.mkdtemp(prefix="k2t_multi_io_")
MODEL = os.path.join(d, "multi_io.h5")
ins = gen_exec_fixtures.fx_multi_io(d)
IMG, VEC, NPZ = os.path.join(d, "image.npy"), os.path.join(d, "vector.npy"), os.path.join(d, "in.npz")
np.save(IMG, ins["image"])
np.save(VEC, ins["vector"])
np.savez(NPZ, image=ins["image"], vector=ins["vector"])


def p(name):
    return os.path.join(d, name)


def rel(a, b):
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def oracle_ready():
    if not shutil.which("node"):
        skip("the tfjs-layers oracle", "node is not installed")
        return False
    mods = os.path.join(ORACLE_DIR, "node_modules")
    need = [os.path.join(mods, "@tensorflow", "tfjs"), os.path.join(mods, "h5wasm")]
    if not all(os.path.isdir(x) for x in need):
        subprocess.run(["bash", os.path.join(ORACLE_DIR, "setup.sh")], cwd=ROOT)
    if not all(os.path.isdir(x) for x in need):
        skip("the tfjs-layers oracle", "tests/oracle/node_modules is missing and setup.sh failed")
        return False
    return True


try:
    # ------------------------------------------------------------ inputs by name, by npz
    rc, so, se = k2t("input", "input image " + IMG, "input vector " + VEC, "info input", "run",
                     "save output " + p("named.npy"), model=MODEL)
    ok(rc == 0, "input NAME FILE.npy for each input, run, save output", se.strip())
    ok("input: none" in so and "input vector  not set" in so,
       "'input' lists each input, one not yet set as such", so)
    ok(so.count("input image   %s (float32, 3 samples), shape (3,8,8,3)" % IMG) >= 2 and
       "input vector  %s (float32, 3 samples), shape (3,5)" % VEC in so,
       "'input'/'info input' show each input's source and shape", so)
    ok("output cls: shape (3,3)" in so and "output reg: shape (3,2)" in so, "run names both outputs", so)
    # run prints each output's first sample under its name, as print does (save's values, 6 digits)
    shown = {}
    for name in ("cls", "reg"):
        m_ = re.search(r"^  output %s: shape \S+\n    \[0\] \[([^\]]*)\]$" % name, so, re.M)
        shown[name] = [float(v) for v in m_.group(1).split()] if m_ else []
    outs = [np.load(p("named_%d.npy" % i))[0] for i in (0, 1)]
    ok(sorted(len(v) for v in shown.values()) == [2, 3] and
       all(any(len(v) == len(o) and np.allclose(v, o, rtol=1e-5, atol=1e-7) for o in outs) for v in shown.values()),
       "run prints each output's values (sample 0) by name", so)
    rc, so, se = k2t("input " + NPZ, "run", "save output " + p("npz.npy"), model=MODEL)
    ok(rc == 0 and "'%s' member vector" % NPZ in so, "input FILE.npz sets both inputs", se.strip() + so)
    same = all(os.path.exists(p(n)) for n in ("named_0.npy", "named_1.npy", "npz_0.npy", "npz_1.npy")) and \
        all(np.array_equal(np.load(p("named_%d.npy" % i)), np.load(p("npz_%d.npy" % i))) for i in (0, 1))
    ok(same, "the same outputs whether the inputs were set by name or by npz")

    # ------------------------------------------------------------ against the oracle
    if oracle_ready():
        ref = p("ref")
        r = subprocess.run(["node", ORACLE, MODEL, IMG + "," + VEC, ref], capture_output=True, text=True,
                           timeout=600)
        if ok(r.returncode == 0, "the oracle runs the two-input model", r.stderr[-600:]):
            for i, name in enumerate(("cls", "reg")):
                want, have = np.load(os.path.join(ref, "output_%d.npy" % i)), np.load(p("named_%d.npy" % i))
                ok(want.shape == have.shape and rel(have, want) <= TOL,
                   "output %s matches tfjs-layers within %g" % (name, TOL),
                   "shape %s vs %s, rel %s" % (have.shape, want.shape,
                                               rel(have, want) if want.shape == have.shape else "-"))

    # ------------------------------------------------------------ top, random
    rc, so, se = k2t("input " + NPZ, "run", "top 2", model=MODEL)
    ok(rc == 0 and "output cls:\nsample 0:" in so and "\noutput reg:\n" in so and so.count("sample 2:") == 2,
       "top ranks each output under its name", so + se)
    cls = np.load(p("named_0.npy"))
    best = int(np.argmax(cls[0]))
    ok("output cls:\nsample 0: %d %.4f" % (best, cls[0][best]) in so, "top's first class of cls is the argmax", so)
    rc, so, se = k2t("input random 7", "run", "save output " + p("r1.npy"), "input random 7", "run",
                     "save output " + p("r2.npy") + " --force", model=MODEL)
    ok(rc == 0 and "input image   random uniform [0,1), seed 7 (stream 0), shape (1,8,8,3)" in so and
       "input vector  random uniform [0,1), seed 7 (stream 1), shape (1,5)" in so,
       "input random fills every input, each its own stream", so + se)
    ok(rc == 0 and np.array_equal(np.load(p("r1_1.npy")), np.load(p("r2_1.npy"))),
       "input random SEED is deterministic")

    # ------------------------------------------------------------ diff
    rc, so, se = k2t("input " + NPZ, "diff torch-naive keras", model=MODEL)
    ok(rc == 0 and "first divergence: conv (Conv2D)" in so and "padding" in so,
       "diff feeds both inputs to both executions and names the first divergence", so[-800:] + se)
    ok(" 1  vector     InputLayer                      0" in so and "vec_dense  Dense" in so,
       "diff lists the second input and its branch", so)

    # ------------------------------------------------------------ step
    rc, so, se = k2t("input " + NPZ, "break concat", "continue", "next", "print concat", "continue", model=MODEL)
    ok(rc == 0 and "breakpoint 1 (concat), before node 7 concat" in so and "end of the model: 12 of 12" in so,
       "break/continue/next step through the two-input model", so + se)
    rc, so, se = k2t("input image " + IMG, "step", model=MODEL)
    ok(rc != 0 and "input vector is not set" in se, "step with an input missing names it", se)

    # ------------------------------------------------------------ export, self-test on the user's inputs
    port = p("port.py")
    rc, so, se = k2t("input " + NPZ, "export pytorch " + port, model=MODEL)
    ok(rc == 0 and "self-test inputs image (2,3,8,8), vector (2,5): image: '%s' member image" % NPZ in so,
       "export's self-test uses the user's inputs, every one", so + se)
    r = subprocess.run([sys.executable, port], capture_output=True, text=True, cwd=d)
    ok(r.returncode == 0 and "PASS" in r.stdout, "the exported port's self-test passes", r.stdout + r.stderr[-500:])

    # ------------------------------------------------------------ compare against PyTorch dumps
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
        skip("compare against PyTorch dumps", "python3-torch is not installed")
    if have_torch and os.path.exists(port):
        acts = p("acts.npz")
        r = subprocess.run([sys.executable, DUMP, port + ":load_model", NPZ, acts, "--eval"], capture_output=True,
                           text=True)
        ok(r.returncode == 0 and "input image 3x8x8x3, nhwc; vector 3x5" in r.stdout,
           "torch_dump.py feeds an .npz of two inputs", r.stdout + r.stderr[-500:])
        names = set(np.load(acts).files)
        ok({"__input__.image", "__input__.vector"} <= names, "the dump records __input__.NAME per input",
           str(sorted(names)))
        rc, so, se = k2t("input " + NPZ, "compare " + acts, model=MODEL)
        ok(rc == 0 and "no divergence" in so and "vec_dense ~ vec_dense" in so,
           "compare agrees with the faithful port, both inputs fed", so[-800:] + se)
        rc, so, se = k2t("compare " + acts, model=MODEL)
        ok(rc == 0 and "using the inputs the port was dumped on" in so and "no divergence" in so,
           "compare without an input takes every __input__.NAME of the dump", so[-800:] + se)
        rc, so, se = k2t("input random", "compare " + acts, model=MODEL)
        ok(rc != 0 and "was dumped on another input" in se and "__input__.image" in se,
           "compare refuses a dump of other inputs, naming the input", se)
        with open(port) as f:
            src = f.read()
        bad = src.replace("vec_dense = torch.tanh(vec_dense)", "vec_dense = torch.sigmoid(vec_dense)")
        ok(bad != src, "the port has the tanh to break")
        with open(p("broken.py"), "w") as f:
            f.write(bad)
        shutil.copy(p("port.safetensors"), p("broken.safetensors"))
        bacts = p("bacts.npz")
        r = subprocess.run([sys.executable, DUMP, p("broken.py") + ":load_model", NPZ, bacts, "--eval"],
                           capture_output=True, text=True)
        rc, so, se = k2t("input " + NPZ, "compare " + bacts, model=MODEL)
        ok(rc == 0 and "first divergence: mix" in so and "channels (4, 5, 6, 7)" in so,
           "compare names the first divergence of a broken port (the vector branch's half of mix's input)",
           so[-900:] + se)

    # ------------------------------------------------------------ errors naming the input
    rc, so, se = k2t("input imag " + IMG, model=MODEL)
    ok(rc != 0 and "the model has no input 'imag' (its inputs: image, vector)" in se, "an unknown input name", se)
    rc, so, se = k2t("input " + IMG, model=MODEL)
    ok(rc != 0 and "the model has 2 inputs (image, vector)" in se and "input NAME FILE.npy" in se and
       "input FILE.npz" in se, "input FILE.npy on a two-input model says both forms", se)
    np.savez(p("half.npz"), image=ins["image"])
    rc, so, se = k2t("input " + p("half.npz"), model=MODEL)
    ok(rc != 0 and "has no member 'vector'" in se, "an npz missing a member names it", se)
    np.savez(p("extra.npz"), image=ins["image"], vector=ins["vector"], label=ins["vector"])
    rc, so, se = k2t("input " + p("extra.npz"), model=MODEL)
    ok(rc != 0 and "member 'label' that names no input" in se, "an npz with an extra member names it", se)
    np.save(p("vec2.npy"), ins["vector"][:2])
    rc, so, se = k2t("input image " + IMG, "input vector " + p("vec2.npy"), model=MODEL)
    ok(rc != 0 and "input vector:" in se and "holds 2 samples; input image holds 3" in se,
       "inputs of different batches are refused, naming both", se)
    np.savez(p("mixed.npz"), image=ins["image"], vector=ins["vector"][:2])
    rc, so, se = k2t("input " + p("mixed.npz"), model=MODEL)
    ok(rc != 0 and "member 'vector' holds 2 samples" in se, "an npz of different batches is refused", se)
    rc, so, se = k2t("input vector " + IMG, model=MODEL)
    ok(rc != 0 and "input vector:" in se and "takes (None, 5)" in se, "a shape that does not fit names the input",
       se)
    rc, so, se = k2t("input cifar x.bin", model=MODEL)
    ok(rc != 0 and "takes single-input models" in se, "input cifar on a two-input model says why", se)
finally:
    shutil.rmtree(d, ignore_errors=True)
done()
