"""Lessons a teacher runs in class (issue 15, part 6), wherever k2t is started from.

  * files a script reads resolve beside the script, then in the current directory, then in
    k2t's data directory: a lesson run from /tmp works, and so do load, input, eval, source and
    classes in a script run from elsewhere; files written stay in the current directory;
  * "lesson" lists the lessons with their titles, "lesson N|NAME" and "k2t --lesson N" run one;
  * "make install PREFIX=..." installs the lessons and the demo, and the installed k2t finds
    them from /tmp;
  * "eval --brief" is one line; "eval cifar FILE" keeps its report;
  * the demo's own class names (demo/demo.classes) in eval, run and top; CIFAR-10's names for
    a model without them (the real ResNet8).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import K2T, MODELS, ROOT, done, ok, skip  # noqa: E402

DEMO = os.path.join(ROOT, "demo")
LESSONS = os.path.join(ROOT, "scripts", "lessons")
ENV = {k: v for k, v in os.environ.items() if k not in ("K2T_DATA", "K2T_DEMO")}


def run(argv, cwd, env=ENV):
    p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)
    return p.returncode, p.stdout, p.stderr


def expects(path):
    return [l.strip()[len("expect "):] for l in open(path, encoding="utf-8") if l.startswith("expect ")]


def oks(out):
    return [m.group(1) for m in re.finditer(r"^ok: (.*) \([^()]*\)$", out, re.M)]


tmp = tempfile.mkdtemp(prefix="k2t-lessons-")
try:
    # -- a lesson run from another directory: no cascading errors
    for name in ("01-transpose.k2t", "04-padding.k2t", "11-port-end-to-end.k2t", "12-gru-gates.k2t"):
        path = os.path.join(LESSONS, name)
        if not os.path.exists(path):
            continue
        if name.startswith("11") and not os.path.exists(os.path.join(DEMO, "port-3.npz")):
            skip("lesson 11 from another directory", "demo/port-*.npz not made (make lesson-data)")
            continue
        if name.startswith("12") and not os.path.exists(os.path.join(DEMO, "rnn-port-2.npz")):
            skip("lesson 12 from another directory", "demo/rnn-port-*.npz not made (make lesson-data)")
            continue
        rc, out, err = run([K2T, "--batch", "--bail", "--no-init", "-x", path], tmp)
        ok(rc == 0 and oks(out) == expects(path) and "error" not in err,
           "%s run from another directory: exit 0, every expect ok" % name, "exit %d: %s" % (rc, err[-300:]))

    # -- lesson / --lesson
    rc, out, err = run([K2T, "--batch", "--no-init", "-c", "lesson", "-c", "print $lessons"], tmp)
    n = len([f for f in os.listdir(LESSONS) if f.endswith(".k2t")])
    ok(rc == 0 and re.search(r"^04  padding\s+'same' padding at stride 2\.$", out, re.M)
       and "$lessons = %d" % n in out, "lesson lists the %d lessons with their titles" % n, out[-400:])
    rc, out, err = run([K2T, "--batch", "--no-init", "--lesson", "04"], tmp)
    ok(rc == 0 and oks(out) == expects(os.path.join(LESSONS, "04-padding.k2t")),
       "k2t --lesson 04 from another directory", err[-300:])
    rc, out, err = run([K2T, "--batch", "--no-init", "-c", "lesson padding"], tmp)
    ok(rc == 0 and out.startswith("Lesson 4:"), "lesson padding runs lesson 4 by name", err[-300:])
    rc, out, err = run([K2T, "--batch", "--no-init", "-c", "lesson 99", "-c", "lesson e"], tmp)
    ok(rc == 1 and "no lesson '99' (the lessons: 01-transpose," in err and "'e' names several lessons" in err,
       "an unknown or ambiguous lesson is named with the choices", err)
    rc, out, err = run([K2T, "--batch", "--no-init", "-c", "complete lesson pa", "-c", "complete lesson 1"], tmp)
    ok(out == "padding\n10\n11\n12\n", "lesson completes lesson names and numbers", repr(out))
    rc, out, err = run([K2T, "--lesson"], tmp)
    ok(rc == 2 and "--lesson" in err, "--lesson without an argument is bad usage", err)

    # -- script-relative reads, writes in the current directory
    proj = os.path.join(tmp, "proj")
    os.makedirs(os.path.join(proj, "model"))
    os.makedirs(os.path.join(proj, "sub"))
    shutil.copy(os.path.join(DEMO, "demo.h5"), os.path.join(proj, "model", "m.h5"))
    shutil.copy(os.path.join(DEMO, "demo-test.bin"), os.path.join(proj, "sub", "test.bin"))
    with open(os.path.join(proj, "sub", "names.txt"), "w") as f:
        f.write("# the demo's classes\n" + "".join("c%d\n" % i for i in range(10)))
    np.save(os.path.join(proj, "x.npy"), np.zeros((1, 32, 32, 3), np.float32))
    np.savez(os.path.join(proj, "xs.npz"), input_1=np.zeros((1, 32, 32, 3), np.float32))
    with open(os.path.join(proj, "main.k2t"), "w") as f:
        f.write("load model/m.h5\ninput xs.npz\ninput x.npy\nrun\nsource sub/inner.k2t\n")
    with open(os.path.join(proj, "sub", "inner.k2t"), "w") as f:
        f.write("classes names.txt\neval cifar test.bin 20 --brief\ninput cifar test.bin 0:1\nrun\n"
                "save dense out.npy\n")
    elsewhere = os.path.join(tmp, "elsewhere")
    os.makedirs(elsewhere)
    rc, out, err = run([K2T, "--batch", "--no-init", "-x", os.path.join(proj, "main.k2t")], elsewhere)
    ok(rc == 0 and err == "", "load, input, source, classes and eval in a script read files beside it", err)
    ok("accuracy: 19/20 (95.00%%) on 20 images of %s/sub/test.bin, preprocess raw\n" % proj in out
       and "sample 0: class 9 c9 (0.9778), label 9 c9" in out, "the file found beside the script is the one named", out[-500:])
    ok(os.path.exists(os.path.join(elsewhere, "out.npy")) and not os.path.exists(os.path.join(proj, "sub", "out.npy")),
       "save writes in the current directory, not beside the script")
    with open(os.path.join(proj, "bad.k2t"), "w") as f:
        f.write("load nosuch.h5\n")
    rc, out, err = run([K2T, "--batch", "--no-init", "-x", os.path.join(proj, "bad.k2t")], elsewhere)
    ok(rc == 1 and "nosuch.h5" in err and err.count("error") == 1, "a missing file is named as written", err)

    # -- eval --brief, and the report kept
    rc, out, err = run([K2T, "--batch", "--no-init", "-c", "eval cifar demo/demo-test.bin --brief",
                        "-c", "profile torch-naive", "-c", "eval --brief cifar demo/demo-test.bin --top 3",
                        "demo/demo.h5"], ROOT)
    lines = out.splitlines()
    ok(rc == 0 and lines[1] == "accuracy: 493/500 (98.60%) on 500 images of demo/demo-test.bin, preprocess raw"
       and re.match(r"^accuracy: 22/500 \(4\.40%\), top-3 \d+/500 \(.*\) on 500 images of demo/demo-test.bin, "
                    r"preprocess raw; profile torch-naive: layout nchw", lines[3]) and len(lines) == 4,
       "eval --brief: one line with the accuracy and the settings", out)
    rc, out, err = run([K2T, "--batch", "--no-init", "-c", "eval cifar demo/demo-test.bin", "demo/demo.h5"], ROOT)
    ok(rc == 0 and re.search(r"^eval: 500 images from demo/demo-test.bin in [\d.]+ s .*\naccuracy: 493/500 \(98\.60%\)\n"
                             r"per class:\n", out, re.M) and "confusion matrix" in out,
       "eval without --brief keeps its report", out[:300])

    # -- class names
    rc, out, err = run([K2T, "--batch", "--no-init", "-c", "classes", "-c", "eval cifar demo/demo-test.bin",
                        "-c", "input cifar demo/demo-test.bin 0:2", "-c", "run", "-c", "top 2", "demo/demo.h5"], ROOT)
    ok(rc == 0 and "10 class names from demo/demo.classes: 0 hstripes, 1 vstripes" in out
       and re.search(r"^  hstripes +50/50", out, re.M) and "sample 1: class 0 hstripes (1), label 0 hstripes" in out
       and "sample 0 (label 9 frame): 9 frame" in out and "airplane" not in out,
       "the demo's own class names in classes, eval, run and top", out[-600:])
    bare = os.path.join(tmp, "bare.h5")
    shutil.copy(os.path.join(DEMO, "demo.h5"), bare)
    rc, out, err = run([K2T, "--batch", "--no-init", "-c", "eval cifar demo/demo-test.bin 10", bare], ROOT)
    ok(rc == 0 and re.search(r"^  airplane ", out, re.M), "a model without a .classes file: CIFAR-10's names", out)
    with open(os.path.join(tmp, "bare.classes"), "w") as f:
        f.write("a\nb\n")
    rc, out, err = run([K2T, "--batch", "--no-init", "-c", "classes", bare], ROOT)
    ok(rc == 0 and "warning: class names in '%s/bare.classes' not used: it has 2 names; the model has 10 class "
       "scores" % tmp in err and "no class names" in out, "a .classes file of the wrong length is named and not used",
       err)
    res = os.path.join(MODELS, "pretrainedResnet.h5")
    if os.path.exists(res):
        rc, out, err = run([K2T, "--batch", "--no-init", "-c", "input cifar demo/demo-test.bin 0:1", "-c", "run",
                            res], ROOT)
        ok(rc == 0 and "label 9 truck" in out, "the real ResNet8 on CIFAR input keeps CIFAR-10's names", out[-300:])
    else:
        skip("the real ResNet8's class names", "%s not found" % res)

    # -- make install: the lessons and the demo found from anywhere
    prefix = os.path.join(tmp, "prefix")
    p = subprocess.run(["make", "--no-print-directory", "install", "PREFIX=" + prefix], cwd=ROOT,
                       capture_output=True, text=True, timeout=1200)
    data = os.path.join(prefix, "share", "k2t")
    ok(p.returncode == 0 and os.path.exists(os.path.join(data, "lessons", "04-padding.k2t"))
       and os.path.exists(os.path.join(data, "demo", "demo.h5")) and os.path.exists(os.path.join(data, "demo", "demo.classes")),
       "make install PREFIX=... installs the lessons and the demo", p.stderr[-300:])
    inst = os.path.join(prefix, "bin", "k2t")
    rc, out, err = run([inst, "--batch", "--no-init", "-c", "lesson"], tmp)
    ok(rc == 0 and out.count("\n") == n + 1 and os.path.join(data, "lessons") in out,
       "the installed k2t lists the installed lessons", out[-300:])
    rc, out, err = run([inst, "--batch", "--no-init", "--lesson", "04"], tmp)
    ok(rc == 0 and oks(out) == expects(os.path.join(LESSONS, "04-padding.k2t"))
       and "loaded %s/demo/demo.h5" % data in out, "the installed k2t --lesson 04 from another directory", err[-300:])
    if os.path.exists(os.path.join(data, "demo", "port-1.npz")):
        rc, out, err = run([inst, "--batch", "--no-init", "--lesson", "11"], tmp)
        ok(rc == 0 and oks(out) == expects(os.path.join(LESSONS, "11-port-end-to-end.k2t")),
           "the installed lesson 11 finds the port's dumps", err[-300:])
    ok(all(os.path.exists(os.path.join(data, "demo", f)) for f in
           ("demo-rnn.h5", "demo-rnn-x.npy", "demo-rnn-y.npy", "demo-rnn.classes"))
       and os.path.exists(os.path.join(prefix, "share", "k2t", "scripts", "demo_rnn_port.py")),
       "make install installs the recurrent demo model, its test set and its port script")
    if os.path.exists(os.path.join(data, "demo", "rnn-port-2.npz")):
        rc, out, err = run([inst, "--batch", "--no-init", "--lesson", "12"], tmp)
        ok(rc == 0 and oks(out) == expects(os.path.join(LESSONS, "12-gru-gates.k2t"))
           and "loaded %s/demo/demo-rnn.h5" % data in out, "the installed lesson 12 finds the recurrent demo and its "
           "port's dumps", err[-300:])
    lone = os.path.join(tmp, "lone")
    os.makedirs(lone)
    shutil.copy(inst, os.path.join(lone, "k2t"))
    rc, out, err = run([os.path.join(lone, "k2t"), "--batch", "--no-init", "-c", "lesson"], tmp,
                       env=dict(ENV, K2T_DATA=data))
    ok(rc == 0 and os.path.join(data, "lessons") in out, "K2T_DATA points a k2t elsewhere at the data", out[-200:])
    env = dict(ENV, K2T_FAKETTY="1")
    p = subprocess.run([inst, "--no-init"], cwd=tmp, input="classes\n", capture_output=True, text=True,
                       timeout=120, env=env)
    ok("opened the demo model %s/demo/demo.h5" % data in p.stdout and "hstripes" in p.stdout,
       "a plain installed k2t opens the installed demo with its class names", p.stdout[-300:])
finally:
    shutil.rmtree(tmp, ignore_errors=True)

done()
