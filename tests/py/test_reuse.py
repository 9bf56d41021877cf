"""The plan kept across inputs and the streaming eval: the same numbers as a
fresh start.

- a new input of the same shape keeps the run's plan and buffers: every saved
  activation equals the one of a process that only ever saw that input, and
  nothing computed for the old input is shown for the new one (print, step);
- a different batch or shape plans again;
- eval gives the same counts on 1 and 2 threads, for counts that are not a
  multiple of the chunk or the micro-batch, and under bn.mode train keeps its
  --batch semantics (the batch changes the result).
Never timed: speed and memory are in make bench.
"""
import filecmp
import os
import re
import shutil
import tempfile

from k2tlib import MODELS, SHARED, done, k2t, ok, skip

DATA = os.path.join(SHARED, "data", "cifar10-ic200.bin")
RESNET = os.path.join(MODELS, "pretrainedResnet.h5")
VWW = os.path.join(MODELS, "vww_96.h5")


def same_dirs(a, b):
    fa, fb = sorted(os.listdir(a)), sorted(os.listdir(b))
    if fa != fb or not fa:
        return False
    return all(filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False) for f in fa)


def eval_lines(out):
    """eval's output without its timing."""
    return "\n".join(re.sub(r" in [0-9.]+ s \([0-9]+ images/s\)", "", l) for l in out.splitlines()
                     if not l.startswith("loaded "))


def main():
    if not (os.path.isfile(RESNET) and os.path.isfile(DATA) and os.path.isfile(VWW)):
        skip("plan reuse and streaming eval", "the shared models or CIFAR data are missing")
        return
    tmp = tempfile.mkdtemp(prefix="k2t-reuse-")
    try:
        # A new input on the kept plan = a fresh process, for every activation.
        for model, inputs in ((RESNET, ["input cifar %s 3" % DATA, "input cifar %s 7" % DATA]),
                              (VWW, ["input random 5", "input random 9"]),
                              (RESNET, ["input cifar %s 0:4" % DATA, "input cifar %s 10:4" % DATA])):
            name = os.path.basename(model)
            a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
            shutil.rmtree(a, ignore_errors=True)
            shutil.rmtree(b, ignore_errors=True)
            rc1, _, e1 = k2t(inputs[0], "run", inputs[1], "run", "save activations " + a, model=model)
            rc2, _, e2 = k2t(inputs[1], "run", "save activations " + b, model=model)
            ok(rc1 == 0 and rc2 == 0 and same_dirs(a, b),
               "%s: %s after %s on the kept plan = a fresh run" % (name, inputs[1], inputs[0]), e1 + e2)
            # threads split the batch the same way on the kept plan
            shutil.rmtree(a, ignore_errors=True)
            rc1, _, e1 = k2t("set threads 2", inputs[0], "run", inputs[1], "run", "save activations " + a,
                             model=model)
            ok(rc1 == 0 and same_dirs(a, b), "%s: the same on 2 threads" % name, e1)

        # A new batch size plans again and gives the fresh numbers.
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        for d in (a, b):
            shutil.rmtree(d, ignore_errors=True)
        rc1, _, e1 = k2t("input cifar %s 0:2" % DATA, "run", "input cifar %s 5:3" % DATA, "run",
                         "save activations " + a, model=RESNET)
        rc2, _, e2 = k2t("input cifar %s 5:3" % DATA, "run", "save activations " + b, model=RESNET)
        ok(rc1 == 0 and rc2 == 0 and same_dirs(a, b), "a new batch size plans again", e1 + e2)

        # Nothing of the old input is shown for the new one.
        rc, out, err = k2t("input cifar %s 0" % DATA, "run", "input cifar %s 1" % DATA, "print dense",
                           model=RESNET)
        ok(rc != 0 and "has not been computed" in err, "print after a new input: not computed yet", err)
        rc, out, err = k2t("input cifar %s 0" % DATA, "step", "step", "input cifar %s 1" % DATA, "step",
                           model=RESNET)
        ok(rc == 0 and "stepping restarts at node 0" in out, "step after a new input starts again",
           out + err)
        rc, out, err = k2t("input cifar %s 0" % DATA, "run", "top", "input cifar %s 1" % DATA, "top",
                           model=RESNET)
        ok(rc != 0 and 'use "run" first' in err, "top after a new input asks for a run", err)

        # eval: the same counts whatever the threads, for awkward counts.
        for count in ("", " 37", " 3", " 1"):
            outs = []
            for t in (1, 2):
                rc, out, err = k2t("set threads %d" % t, "eval cifar %s%s" % (DATA, count), model=RESNET)
                outs.append((rc, eval_lines(out), err))
            ok(outs[0][0] == 0 and outs[0][1] == outs[1][1] and "accuracy:" in outs[0][1],
               "eval%s: 1 and 2 threads count the same" % count, outs[0][2] + outs[1][2])
        rc, out, err = k2t("eval cifar %s 37" % DATA, model=RESNET)
        m = re.search(r"eval: (\d+) images", out)
        ok(rc == 0 and m and m.group(1) == "37", "eval COUNT: that many images", out + err)
        # bn.mode train: the batch is the data set's batch, and it matters.
        res = {}
        for bt in (8, 200):
            rc, out, err = k2t("set bn.mode train", "eval cifar %s --batch %d" % (DATA, bt), model=RESNET)
            res[bt] = (rc, eval_lines(out))
        ok(res[8][0] == 0 and res[200][0] == 0 and res[8][1] != res[200][1],
           "eval under bn.mode train: --batch changes the batch statistics")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


main()
done()
