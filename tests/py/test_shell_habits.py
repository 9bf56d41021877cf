#!/usr/bin/python3
"""The prompt and the run/eval headers name the settings that change the numbers."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from k2tlib import K2T, ROOT, done, k2t, ok  # noqa: E402

demo = os.path.join(ROOT, "demo", "demo.h5")
env = dict(os.environ, K2T_FAKETTY="1")
p = subprocess.run([K2T, "-i", "--no-init", demo], input="profile torch-naive\nprofile keras\nset layout NCHW\n"
                   "set layout nhwc\nset preprocess unit\nquit\n", capture_output=True, text=True, env=env,
                   timeout=60)
prompts = re.findall(r"k2t(?:\[[^\]]*\])?>", p.stdout)
ok(prompts[:6] == ["k2t>", "k2t[torch-naive]>", "k2t>", "k2t[torch]>", "k2t>", "k2t[preprocess unit]>"],
   "the prompt names a non-default profile or setting", str(prompts))

data = os.path.join(ROOT, "demo", "demo-test.bin")
rc, out, err = k2t("input cifar %s 0:2" % data, "profile torch-naive", "run", "eval cifar %s 4" % data,
                   model=demo)
run_line = next((l for l in out.splitlines() if l.startswith("ran ")), "")
eval_line = next((l for l in out.splitlines() if l.startswith("eval: ")), "")
want = "profile torch-naive: layout nchw, bn.eps 1e-05, padding torch, flatten torch"
ok(rc == 0 and want in run_line and want in eval_line, "run and eval headers name every non-default setting",
   run_line + " | " + eval_line + err)
rc, out, err = k2t("input cifar %s 0:2" % data, "run", model=demo)
ok(rc == 0 and "profile" not in next((l for l in out.splitlines() if l.startswith("ran ")), "x profile"),
   "under Keras's semantics the header names no profile", out)
rc, out, err = k2t("input cifar %s 0:2" % data, "break conv2d_3", "run", model=demo)
ok(rc == 0 and "ignores the 1 breakpoint" in out, "run says it ignores breakpoints", out)
# Enter on an empty line repeats a step or next at the terminal (gdb's habit), nothing else.
p = subprocess.run([K2T, "-i", "--no-init", demo], input="input cifar %s 0:1\nstep\n\n\nnext\n\necho x\n\nquit\n" % data,
                   capture_output=True, text=True, env=env, timeout=60)
cursors = re.findall(r"cursor: node (\d+)", p.stdout)
blocks = re.findall(r"ran (block \d+|the rest of the stem)", p.stdout)
ok(cursors[:3] == ["1", "2", "3"] and blocks[:2] == ["the rest of the stem", "block 1"] and
   p.stdout.count("ran block") == 1, "Enter repeats step and next, and nothing after another command",
   str(cursors) + str(blocks))
done()
