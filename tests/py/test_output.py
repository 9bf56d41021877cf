#!/usr/bin/python3
"""Issue 15 parts 2-3: set format csv|tsv (read back with Python's csv module, equal to
the aligned table), output FILE (contents, refusal without --force), and print's values
(aligned, parsed back equal to "save LAYER x.npy" within the printed precision, numpy's
summarisation)."""
import csv
import io
import os
import re
import shutil
import sys
import tempfile

import ast
import math
import struct

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from k2tlib import ROOT, SHARED, done, k2t, ok, skip  # noqa: E402

demo = os.path.join(ROOT, "demo", "demo.h5")
data = os.path.join(ROOT, "demo", "demo-test.bin")
tmp = tempfile.mkdtemp(prefix="k2t-output.")


def load_npy(path):
    """A float32 .npy as (shape, flat list): the tests need no numpy."""
    b = open(path, "rb").read()
    hl = struct.unpack("<H", b[8:10])[0]
    h = ast.literal_eval(b[10:10 + hl].decode())
    assert h["descr"] == "<f4" and not h["fortran_order"]
    n = math.prod(h["shape"])
    return h["shape"], list(struct.unpack("<%df" % n, b[10 + hl:10 + hl + 4 * n]))


def close(a, b, rtol):
    return len(a) == len(b) and all(abs(x - y) <= rtol * abs(y) + 1e-30 for x, y in zip(a, b))


def body(out):
    return [l for l in out.splitlines() if not l.startswith("loaded ")]


# ----------------------------------------------------------------- csv / tsv
rc, table, err = k2t("stats all", model=demo)
rows_t = [l.split() for l in body(table)[1:] if l.startswith("  ") and not l.lstrip().startswith("!")]
for fmt, delim in (("csv", ","), ("tsv", "\t")):
    rc, out, err = k2t("set format " + fmt, "stats all", model=demo)
    rows = list(csv.reader(io.StringIO("\n".join(body(out)) + "\n"), delimiter=delim))
    ok(rc == 0 and rows[0] == ["weight", "shape", "min", "max", "mean", "std", "mean|x|", "zeros", "nan/inf"],
       "stats all as %s: a header row" % fmt, str(rows[:1]) + err)
    ok(rows[1:] == rows_t and len(rows_t) > 10, "stats all as %s: every row equals the table's" % fmt,
       "%s vs %s" % (rows[1:3], rows_t[:2]))

rc, table, err = k2t("summary", model=demo)
t_rows = [l for l in body(table) if re.match(r"^\S+ \(\w+\)", l) and not l.startswith("Layer (type)")]
rc, out, err = k2t("set format csv", "summary", model=demo)
rows = list(csv.reader(io.StringIO("\n".join(body(out)) + "\n")))
ok(rows[0] == ["Layer (type)", "Output shape (NHWC)", "Output shape (NCHW)", "Param #", "Connected to"],
   "summary as csv: Keras's headings", str(rows[0]))
ok(len(rows) - 1 == len(t_rows) == 30 and all(r[0] == re.split(r"  +", t)[0] for r, t in zip(rows[1:], t_rows)),
   "summary as csv: one row per layer, names equal the table's", str(rows[1:3]))
ok(all(r[3] == re.split(r"  +", t)[3] for r, t in zip(rows[1:], t_rows)) and rows[-1][1] == "(None, 10)",
   "summary as csv: quoted shapes with commas read back, params equal", str(rows[-1]))
ok('"(None, 32, 32, 3)"' in out, "csv quotes a field holding a comma (RFC 4180)", out[:300])

rc, out, err = k2t("input cifar %s 0:2" % data, "set format csv", "diff keras torch-naive", model=demo)
rows = list(csv.reader(io.StringIO("\n".join(l for l in body(out) if not l.startswith("input")) + "\n")))
ok(rc == 0 and rows[0][:6] == ["#", "layer", "class", "max|a-b|", "max rel", "worst at"] and len(rows) == 31,
   "diff as csv: a header and one row per layer, nothing else", str(rows[:2]) + err)

# ----------------------------------------------------------------- set width
for w in (60, 80, 100):
    rc, out, err = k2t("set width %d" % w, "summary", "layers", "stats all", "show", "blocks", "check", "help",
                       "input cifar %s 0:2" % data, "diff keras torch-naive", "run", "print dense", "print conv2d_3",
                       model=demo)
    long = [l for l in body(out) if len(l) > w]
    ok(rc == 0 and not long and len(out.splitlines()) > 200, "set width %d: no line is wider" % w, str(long[:3]) + err)
# eval's per-class table and confusion matrix, compare's table: through the table helper too
port = os.path.join(ROOT, "demo", "port-1.npz")  # scripts/demo_port.py (make lesson-data)
for w in (80, 100, 140):
    rc, out, err = k2t("set width %d" % w, "eval cifar %s" % data, model=demo)
    long = [l for l in body(out) if len(l) > w]
    ok(rc == 0 and not long and "accuracy: 493/500" in out and "confusion matrix" in out,
       "eval at width %d: no line is wider" % w, str(long[:3]) + err)
    if os.path.exists(port):
        rc, out, err = k2t("set width %d" % w, "input cifar %s 0:2" % data, "compare " + port, model=demo)
        long = [l for l in body(out) if len(l) > w]
        ok(rc == 0 and not long and "first divergence: conv2d_3" in out and re.search(r"^conv2d_3\s+~ conv2d_3", out, re.M),
           "compare at width %d: no line is wider, the rows keep 'name ~ layer'" % w, str(long[:3]) + err)
    else:
        skip("compare at width %d" % w, "%s is missing (make lesson-data)" % port)
rc, out, err = k2t("set width 60", "eval cifar %s" % data, model=demo)
conf = out[out.index("confusion matrix"):].splitlines()[1:12]
ok(all(len(l) <= 60 for l in conf) and len(conf[1].split()) == 11 and conf[1].startswith("  "),
   "eval at width 60: the confusion matrix keeps one line per class (narrower columns)", "\n".join(conf[:3]))
rc, table, err = k2t("eval cifar %s" % data, model=demo)
per = [l.split() for l in table[table.index("per class:"):table.index("confusion")].splitlines()[1:]]
mat = [l.split()[-10:] for l in table[table.index("confusion"):].splitlines()[2:12]]
for fmt, delim in (("csv", ","), ("tsv", "\t")):
    rc, out, err = k2t("set format " + fmt, "eval cifar %s" % data, model=demo)
    rows = list(csv.reader(io.StringIO("\n".join(body(out)) + "\n"), delimiter=delim))
    ok(rc == 0 and rows[0][:4] == ["class", "correct", "total", "accuracy"] and len(rows) == 11 and
       len(rows[0]) == 14 and "accuracy:" not in out,
       "eval as %s: one table, a row per class with the confusion matrix's row" % fmt, str(rows[:2]) + err)
    ok([[r[0], "%s/%s" % (r[1], r[2]), r[3] + "%"] for r in rows[1:]] == [[p[0], p[1], p[2]] for p in per] and
       [r[4:] for r in rows[1:]] == mat, "eval as %s: equal to the tables' numbers" % fmt, str(rows[1]) + str(per[0]))
if os.path.exists(port):
    rc, table, err = k2t("input cifar %s 0:2" % data, "compare " + port, model=demo)
    t_rows = [l.split()[0] for l in table.splitlines() if " ~ " in l]
    rc, out, err = k2t("input cifar %s 0:2" % data, "set format csv", "compare " + port, model=demo)
    rows = list(csv.reader(io.StringIO("\n".join(l for l in body(out) if not l.startswith("input")) + "\n")))
    ok(rc == 0 and rows[0] == ["torch", "keras", "max|diff|", "result", "own input", "note"] and
       [r[0] for r in rows[1:]] == t_rows and rows[7][1] == "conv2d_3 (Conv2D)" and rows[7][5] == "<- first divergence"
       and "bug 1" not in out, "compare as csv: a header and one row per array, nothing else", str(rows[:2]) + err)
rc, out, err = k2t("set width 10")
ok(rc == 1 and "from 20 to 1000" in err, "set width refuses a width under 20", err)

# ----------------------------------------------------------------- output FILE
f = os.path.join(tmp, "o.txt")
rc, out, err = k2t("output " + f, "echo to the file", "show width", "output", "echo back")
ok(rc == 0 and open(f).read() == "to the file\nwidth = 0\n" and "back" in out and "to the file" not in out,
   "output FILE takes the results until output alone", repr(open(f).read()) + out)
rc, out, err = k2t("output " + f, "echo again")
ok(rc == 1 and "exists" in err and open(f).read() == "to the file\nwidth = 0\n",
   "output refuses an existing file without --force, which stays as it was", err)
rc, out, err = k2t("output --force " + f, "echo forced")
ok(rc == 0 and open(f).read() == "forced\n", "output --force replaces it (at exit, without output alone)", err)
rc, out, err = k2t("output --force /dev/null", "echo x")
ok(rc == 1 and "not a regular file" in err, "output refuses a special file", err)
ok(not [n for n in os.listdir(tmp) if ".k2t-" in n], "no temporary file is left behind", str(os.listdir(tmp)))

# ----------------------------------------------------------------- print
npy = os.path.join(tmp, "dense.npy")
rc, out, err = k2t("input cifar %s 0:2" % data, "run", "print dense", "save dense " + npy, model=demo)
shape, ref = load_npy(npy)
line = next(l for l in out.splitlines() if l.startswith("[0] ["))
vals = [float(v) for v in re.findall(r"[-+0-9.e]+", line[5:])]
ok(rc == 0 and len(vals) == 10 and close(vals, ref[:10], 1e-5),
   "print dense: the 10 scores of sample 0 on one line, equal to save's within 6 digits", line)
ok(all(re.fullmatch(r"-?\d[-+0-9.e]*", w) for w in line[5:].strip("[] ").split()),
   "values are separated by blanks (each word one number)", line)
rc, out, err = k2t("input cifar %s 0:2" % data, "run", "set print.precision 3", "print dense [0:2, :]", model=demo)
rows = [l for l in out.splitlines() if l.lstrip().startswith("[")]
vals = [[float(v) for v in re.findall(r"[-+0-9.e]+", r)] for r in rows]
ok(rc == 0 and len(rows) == 2 and close(sum(vals, []), ref, 6e-3), "a slice with a space; precision 3", str(rows))
ok(all(len(v) <= 9 for r in rows for v in r.strip("[] ").split()), "print.precision 3: 3 significant digits", str(rows))

npy = os.path.join(tmp, "c3.npy")
rc, out, err = k2t("input cifar %s 0:2" % data, "run", "print conv2d_3", "save conv2d_3 " + npy, model=demo)
shape, flat = load_npy(npy)  # (2,16,16,32): sample 0 has 8,192 values > numpy's threshold of 1,000
ref = [[flat[(h * 16 + w) * 32:(h * 16 + w + 1) * 32] for w in range(16)] for h in range(16)]
lines = out.split("save")[0].splitlines()
i0 = next(i for i, l in enumerate(lines) if l.startswith("[0] ["))
rows = [l for l in lines[i0:] if "[" in l and "..." in l]
ok(len(rows) == 6 * 6, "print summarises: 3+3 rows of 3+3 blocks (edgeitems 3)", "%d rows" % len(rows))
first = [float(v) for v in re.findall(r"[-+0-9.e]+", rows[0].split("...")[0].replace("[0]", ""))]
last = [float(v) for v in re.findall(r"[-+0-9.e]+", rows[0].split("...")[1])]
ok(close(first, ref[0][0][:3], 1e-5) and close(last, ref[0][0][-3:], 1e-5),
   "a summarised row holds the first and last 3 values of the last axis", rows[0])
rc, out, err = k2t("input cifar %s 0:2" % data, "run", "print conv2d_3 [0,...,5]", model=demo)
text = out[out.index("conv2d_3: shape"):].split("\n", 1)[1]
rows = [r for r in text.replace("\n", " ").split("]") if r.strip("[ ")]
vals = [[float(v) for v in re.findall(r"[-+0-9.e]+", r)] for r in rows]
ok(rc == 0 and len(vals) == 16 and all(len(v) == 16 for v in vals) and
   close(sum(vals, []), [ref[h][w][5] for h in range(16) for w in range(16)], 1e-5),
   "an ellipsis stands for the axes between ([0,...,5] is 16x16)", str(len(vals)))

shutil.rmtree(tmp, ignore_errors=True)
# A classifier's 10 scores (1e-8 .. 1) on one line at 80, 100 and 140 columns: fewer digits, or at 80
# fixed point as numpy's suppress=True prints them; every value separated and equal to save's to the
# digits shown.
if os.path.exists(res := os.path.join(SHARED, "models", "pretrainedResnet.h5")):
    tmp = tempfile.mkdtemp(prefix="k2t-output.")
    for w in (80, 100, 140):
        npy = os.path.join(tmp, "dense%d.npy" % w)
        rc, out, err = k2t("set width %d" % w, "input cifar %s 0:2" % data, "run", "print dense", "save dense " + npy,
                           model=res)
        shape, ref = load_npy(npy)
        rows = [l for l in out.splitlines() if l.startswith("[0] [")]
        vals = [float(v) for v in re.findall(r"-?\d[-+0-9.e]*", rows[0][4:])] if rows else []
        ok(rc == 0 and len(rows) == 1 and rows[0].endswith("]") and len(rows[0]) <= w and len(vals) == 10 and
           all(re.fullmatch(r"-?\d[-+0-9.e]*", v) for v in rows[0][4:].strip("[] ").split()),
           "10 class scores on one line at %d columns, each a separate number" % w, out[-300:])
        ok(len(vals) == 10 and all(abs(v - r) <= 5e-5 + 5e-3 * abs(r) for v, r in zip(vals, ref[:10])) and
           max(vals) == vals[ref[:10].index(max(ref[:10]))],
           "at %d columns the scores equal save's to the digits shown, the top one the largest" % w, rows[0] if rows else out)
    rows = [l for l in k2t("set width 80", "input cifar %s 0:2" % data, "run", "print conv2d [0,0,0]", model=res)[1]
            .splitlines() if l.startswith(("[", "   ")) and "e+" not in l and "  std" not in l and "(pixels" not in l]
    ok(len(rows) == 2, "16 values that fit no single line keep the shortest %g (no scientific), wrapped", str(rows))
    shutil.rmtree(tmp, ignore_errors=True)
else:
    skip("10 class scores on one line", "%s is missing" % res)
done()
