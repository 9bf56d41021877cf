"""The lessons (scripts/lessons/NN-*.k2t) run as a teacher runs them, and their claims hold.

Each lesson runs from the repository root as

    ./k2t --batch --bail -x scripts/lessons/NN-name.k2t

and must exit 0 with every one of its expect lines answered, in order, by an "ok:" line
(expect prints "ok: $NAME OP VALUE (got)").  Also: at least eight lessons, numbered in
teaching order, each loading the demo model by its path from the repository root.
"""
import glob
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import K2T, ROOT, done, ok  # noqa: E402

LESSONS = sorted(glob.glob(os.path.join(ROOT, "scripts", "lessons", "*.k2t")))

# Lessons 11 and 12 compare real ports' dumps, which scripts/demo_port.py and
# scripts/demo_rnn_port.py write with PyTorch (generated here when missing or older than
# their sources, never fetched).
for script, dumps, sources, lesson in (
        ("demo_port.py", ["port-%d.npz" % i for i in (1, 2, 3)], ["demo/demo.h5"], "11"),
        ("demo_rnn_port.py", ["rnn-port-%d.npz" % i for i in (1, 2)], ["demo/demo-rnn.h5", "demo/demo-rnn-x.npy"],
         "12")):
    PORT_DUMPS = [os.path.join(ROOT, "demo", d) for d in dumps]
    SOURCES = [os.path.join(ROOT, p) for p in ["scripts/" + script, "scripts/torch_dump.py"] + sources]
    if not all(os.path.exists(d) and os.path.getmtime(d) >= max(map(os.path.getmtime, SOURCES)) for d in PORT_DUMPS):
        g = subprocess.run([os.environ.get("PYTHON", "/usr/bin/python3"), os.path.join(ROOT, "scripts", script)],
                           capture_output=True, text=True, timeout=600)
        ok(g.returncode == 0, "scripts/%s writes lesson %s's port dumps" % (script, lesson), g.stderr[-500:])
names = [os.path.basename(p) for p in LESSONS]
ok(len(LESSONS) >= 8 and all(re.match(r"^\d\d-[a-z0-9-]+\.k2t$", n) for n in names)
   and [int(n[:2]) for n in names] == list(range(1, len(names) + 1)),
   "%d lessons numbered 01.. in teaching order" % len(LESSONS), ", ".join(names))

for path in LESSONS:
    name = os.path.basename(path)
    lines = [l.strip() for l in open(path, encoding="utf-8")]
    expects = [l[len("expect "):].strip() for l in lines if l.startswith("expect ")]
    ok(any(re.match(r"^load demo/demo[\w-]*\.h5$", l) for l in lines) and expects,
       "%s loads the demo model and asserts with expect" % name)
    p = subprocess.run([K2T, "--batch", "--bail", "-x", os.path.relpath(path, ROOT)], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    got = [m.group(1) for m in re.finditer(r"^ok: (.*) \([^()]*\)$", p.stdout, re.M)]
    ok(p.returncode == 0 and got == expects,
       "%s: exit 0, all %d expect lines ok" % (name, len(expects)),
       "exit %d, %d of %d ok; %s" % (p.returncode, len(got), len(expects),
                                   (p.stderr.strip().splitlines() or [""])[-1]))

done()
