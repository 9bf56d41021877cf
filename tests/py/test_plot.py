"""plot: the pictures say what the numbers say.

Every file k2t writes is read back here without k2t: PNG decoded with zlib
and struct (chunks, filters, tEXt), SVG parsed with xml.etree.  The numbers
they are checked against come from numpy on arrays k2t saved with "save
activations" under each profile (the same two runs diff compares, each
saved in Keras's layout), and from h5py for the weights:
  - plot diff (SVG): one point per layer whose data-value equals numpy's
    max |a-b| of the two runs' saved activations, whose position follows
    the log axis, the first divergence where diff names it;
  - plot diff (PNG): the values in its tEXt equal the SVG's, a point-coloured
    square sits where the log axis puts each value;
  - plot activations --vs: every pixel of both panels equals the saved maps
    normalised per channel over both, the separators in their colour;
  - plot hist: bin counts equal numpy.histogram's of the weight (h5py) and of
    the saved activations;
  - an existing file is refused without --force and kept byte-identical; a
    symbolic link is replaced, its target untouched;
  - the terminal chart fits $COLUMNS.
"""
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(__file__))
import numpy as np  # noqa: E402
from k2tlib import K2T, ROOT, ok, done  # noqa: E402

K2T = os.path.abspath(K2T)  # the runs happen in a temporary directory

DEMO = os.path.join(ROOT, "demo", "demo.h5")
DATA = os.path.join(ROOT, "demo", "demo-test.bin")
SVG = "{http://www.w3.org/2000/svg}"


def run(tmp, *cmds, columns=None):
    argv = [K2T, "--batch", "--no-init", DEMO]
    for c in cmds:
        argv += ["-c", c]
    env = dict(os.environ)
    if columns:
        env["COLUMNS"] = str(columns)
    p = subprocess.run(argv, capture_output=True, text=True, cwd=tmp, env=env, timeout=600)
    return p.returncode, p.stdout, p.stderr


def read_png(path):
    """(width, height, rows of (r, g, b) tuples, {tEXt key: value})."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature"
    pos, idat, text, ihdr = 8, b"", {}, None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        crc = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]
        assert zlib.crc32(kind + body) & 0xffffffff == crc, "CRC of %s" % kind
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"tEXt":
            k, v = body.split(b"\0", 1)
            text[k.decode("latin-1")] = v.decode("latin-1")
        elif kind == b"IEND":
            break
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype == 2 and interlace == 0, "8-bit RGB, not interlaced"
    raw = zlib.decompress(idat)
    bpp, stride = 3, w * 3
    rows, prev, p = [], bytearray(stride), 0
    for _ in range(h):
        ft = raw[p]
        line = bytearray(raw[p + 1:p + 1 + stride])
        p += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        rows.append(line)
        prev = line
    px = np.array([list(r) for r in rows], dtype=np.int32).reshape(h, w, 3)
    return w, h, px, text


def main():
    if not os.path.isfile(DEMO):
        print("skip - plot (demo model missing)")
        return
    tmp = tempfile.mkdtemp(prefix="k2t-plot.")
    try:
        checks(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def checks(tmp):
    inp = "input cifar %s 0:4" % DATA
    rc, out, err = run(tmp, inp, "run", "save activations ka", "profile torch-naive", "run", "save activations tb",
                       "diff", "plot diff d.svg", "plot diff d.png",
                       "plot activations conv2d_3 a.png --vs current", "plot hist conv2d h.svg",
                       "plot hist conv2d h.png --bins 16", "plot hist activation_2 ha.svg --act")
    if not ok(rc == 0, "plot: the session runs", err[-500:]):
        return
    # diff's own table: name -> (value, ok) and the first divergence.
    table, first = {}, None
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 6 and f[0].isdigit() and f[-1] in ("ok", "FAIL"):
            table[f[1]] = (float(f[3]), f[-1] == "ok")
        if line.startswith("first divergence:"):
            first = line.split()[2]
    names = list(table)

    # Independent: numpy on the two runs' saved activations.
    ref = {}
    for n in names:
        a = np.load(os.path.join(tmp, "ka", n + ".npy")).astype(np.float64)
        b = np.load(os.path.join(tmp, "tb", n + ".npy")).astype(np.float64)
        ref[n] = float(np.max(np.abs(a - b))) if a.shape == b.shape else math.inf

    # --- SVG
    root = ET.parse(os.path.join(tmp, "d.svg")).getroot()
    dlo, dhi = int(root.get("data-decade-lo")), int(root.get("data-decade-hi"))
    pts = {c.get("data-layer"): c for c in root.iter(SVG + "circle") if c.get("class") == "point"}
    ok(sorted(pts) == sorted(names), "plot diff svg: one point per layer (%d)" % len(names))
    bad = [n for n in names if n in pts and not math.isclose(float(pts[n].get("data-value")), ref[n],
                                                               rel_tol=1e-6, abs_tol=1e-12)]
    ok(not bad, "plot diff svg: every point's value is numpy's max |a-b| of the saved activations", str(bad[:3]))
    bad = [n for n in names if n in pts and not math.isclose(float(pts[n].get("data-value")), table[n][0],
                                                               rel_tol=2e-3, abs_tol=1e-12)]
    ok(not bad, "plot diff svg: the values are diff's printed max|a-b|", str(bad[:3]))
    bad = [n for n in names if n in pts and (pts[n].get("data-pass") == "1") != table[n][1]]
    ok(not bad, "plot diff svg: pass/fail per layer as diff says", str(bad[:3]))
    # The log axis: y = 380 - 350 * (log10 v - dlo) / (dhi - dlo).
    bad = []
    for n in names:
        v = ref[n]
        t = 0 if v <= 0 else min(1, max(0, (math.log10(v) - dlo) / (dhi - dlo)))
        if n in pts and abs(float(pts[n].get("cy")) - (380 - 350 * t)) > 0.1:
            bad.append(n)
    ok(not bad, "plot diff svg: points on the log axis", str(bad[:3]))
    pos = [v for v in ref.values() if v > 0]
    ok(10 ** dlo <= min(pos) and max(pos) <= 10 ** dhi, "plot diff svg: the axis spans the values")
    fl = [l for l in root.iter(SVG + "line") if l.get("class") == "first"]
    ok(len(fl) == 1 and fl[0].get("data-layer") == first,
       "plot diff svg: the first divergence marked at %s" % first)
    ok(any(p.get("class") == "tolerance" for p in root.iter(SVG + "polyline")), "plot diff svg: a tolerance line")

    # --- PNG of the same chart
    w, h, px, text = read_png(os.path.join(tmp, "d.png"))
    ok((w, h) == (800, 400), "plot diff png: 800x400")
    vals = {}
    for line in text.get("k2t:values", "").splitlines():
        i, n, v = line.split()
        vals[n] = float(v)
    bad = [n for n in names if n not in vals or not math.isclose(vals[n], ref[n], rel_tol=1e-6, abs_tol=1e-12)]
    ok(not bad, "plot diff png: its tEXt values are numpy's max |a-b|", str(bad[:3]))
    x0, y0, x1, y1, flo, fhi = [int(t) for t in text["k2t:frame"].split()]
    ok((flo, fhi) == (dlo, dhi), "plot diff png: the same decades as the SVG")
    bad = []
    for i, n in enumerate(names):
        v = ref[n]
        t = 0 if v <= 0 else min(1, max(0, (math.log10(v) - flo) / (fhi - flo)))
        x = round(x0 + (x1 - x0) * i / (len(names) - 1))
        y = round(y1 - t * (y1 - y0))
        col = tuple(int(c) for c in px[y, x])
        want = (0x1f, 0x77, 0xb4) if table[n][1] else (0xd6, 0x27, 0x28)
        if col != want:
            bad.append((n, col))
    ok(not bad, "plot diff png: a point of the right colour where each value lies", str(bad[:3]))
    ok(text.get("k2t:first") == first, "plot diff png: names the first divergence")

    # --- activations, Keras left and torch-naive right
    w, h, px, text = read_png(os.path.join(tmp, "a.png"))
    lay = dict(kv.split("=") for kv in text["k2t:layout"].split())
    lay = {k: int(v) for k, v in lay.items()}
    a = np.load(os.path.join(tmp, "ka", "conv2d_3.npy"))[0].astype(np.float64)
    b = np.load(os.path.join(tmp, "tb", "conv2d_3.npy"))[0].astype(np.float64)
    H, W, C = a.shape
    ok((lay["h"], lay["w"], lay["maps"], lay["panels"]) == (H, W, C, 2), "plot activations: layout %dx%dx%d, 2 panels"
       % (H, W, C))
    s, cols = lay["scale"], lay["cols"]
    worst, seps = 0, True
    for c in range(C):
        lo = min(a[:, :, c].min(), b[:, :, c].min())
        hi = max(a[:, :, c].max(), b[:, :, c].max())
        for p, m in enumerate((a, b)):
            want = np.round(255 * (m[:, :, c] - lo) / (hi - lo)) if hi > lo else np.zeros((H, W))
            ox = p * (lay["panel_w"] + 4) + 1 + (c % cols) * (W * s + 1)
            oy = 1 + (c // cols) * (H * s + 1)
            cell = px[oy:oy + H * s:s, ox:ox + W * s:s]
            worst = max(worst, int(np.max(np.abs(cell[:, :, 0] - want))))
            if not (np.all(cell[:, :, 0] == cell[:, :, 1]) and np.all(cell[:, :, 1] == cell[:, :, 2])):
                worst = 999
            if tuple(px[oy - 1, ox]) != (0x20, 0x50, 0xa0) or tuple(px[oy, ox - 1]) != (0x20, 0x50, 0xa0):
                seps = False
    ok(worst <= 1, "plot activations: every pixel is the saved map normalised per channel (worst %d grey levels)"
       % worst)
    ok(seps, "plot activations: a 1-pixel separator around every map")
    ok(not np.array_equal(px[:, :lay["panel_w"]], px[:, lay["panel_w"] + 4:2 * lay["panel_w"] + 4]),
       "plot activations: the torch-naive panel differs from Keras's at conv2d_3")

    # --- histograms against numpy
    import h5py
    with h5py.File(DEMO, "r") as f:
        g = f["model_weights"]["conv2d"] if "model_weights" in f else f["conv2d"]
        kern = []
        g.visititems(lambda n, o: kern.append(o[()]) if hasattr(o, "shape") and "kernel" in n else None)
    k = kern[0].astype(np.float32).ravel()

    def hist_ok(counts, x, what):
        want, _ = np.histogram(x.astype(np.float64), bins=len(counts), range=(float(x.min()), float(x.max())))
        diff = int(np.sum(np.abs(np.array(counts) - want)))
        ok(sum(counts) == x.size and diff <= 2, what, "k2t %s numpy %s" % (counts, list(want)))

    root = ET.parse(os.path.join(tmp, "h.svg")).getroot()
    counts = [int(r.get("data-count")) for r in root.iter(SVG + "rect") if r.get("class") == "bin"]
    ok(len(counts) == 20, "plot hist svg: 20 bins (hist.bins)")
    hist_ok(counts, k, "plot hist svg: conv2d/kernel bin counts equal numpy.histogram's (h5py)")
    w, h, px, text = read_png(os.path.join(tmp, "h.png"))
    counts = [int(c) for c in text["k2t:bins"].split()]
    ok(len(counts) == 16, "plot hist png: --bins 16")
    hist_ok(counts, k, "plot hist png: conv2d/kernel bin counts equal numpy.histogram's")
    root = ET.parse(os.path.join(tmp, "ha.svg")).getroot()
    counts = [int(r.get("data-count")) for r in root.iter(SVG + "rect") if r.get("class") == "bin"]
    act = np.load(os.path.join(tmp, "tb", "activation_2.npy")).ravel()
    hist_ok(counts, act, "plot hist --act: activation_2's bins equal numpy.histogram of the saved activations")

    # --- no data loss
    before = open(os.path.join(tmp, "d.svg"), "rb").read()
    rc, out, err = run(tmp, inp, "plot diff d.svg")
    ok(rc != 0 and "--force" in err and open(os.path.join(tmp, "d.svg"), "rb").read() == before,
       "plot diff: an existing file is refused without --force and kept", err)
    rc, out, err = run(tmp, inp, "profile torch-naive", "plot diff d.svg --force")
    ok(rc == 0 and open(os.path.join(tmp, "d.svg"), "rb").read() == before,
       "plot diff --force: rewritten (the same runs, the same bytes)", err)
    with open(os.path.join(tmp, "target.txt"), "w") as f:
        f.write("keep me\n")
    os.symlink("target.txt", os.path.join(tmp, "link.png"))
    rc, out, err = run(tmp, "plot hist conv2d link.png")
    ok(rc != 0 and os.path.islink(os.path.join(tmp, "link.png")), "plot hist: refuses a symbolic link without --force")
    rc, out, err = run(tmp, "plot hist conv2d link.png --force")
    ok(rc == 0 and not os.path.islink(os.path.join(tmp, "link.png")) and
       open(os.path.join(tmp, "target.txt")).read() == "keep me\n",
       "plot hist --force: the link replaced, never written through", err)
    rc, out, err = run(tmp, "plot hist conv2d x.jpg")
    ok(rc != 0 and "FILE.png or FILE.svg" in err, "plot hist: refuses an unknown file type")

    # --- the terminal chart fits the width
    for cols in (60, 80, 100, 140):
        rc, out, err = run(tmp, inp, "profile torch-naive", "plot diff", columns=cols)
        lines = [l for l in out.splitlines() if not l.startswith(("loaded", "input:", "profile"))]
        longest = max(len(l) for l in lines)
        bars = [l for l in lines if l[:5].strip().isdigit()]
        ok(rc == 0 and longest <= cols and len(bars) == len(names),
           "plot diff: the terminal chart fits %d columns (longest %d)" % (cols, longest))
        marked = [l.split()[1] for l in bars if l.rstrip().endswith("<")]
        ok(len(marked) == 1 and first.startswith(marked[0].rstrip("~")),
           "plot diff at %d columns: the first divergence marked" % cols, str(marked))


main()
done()
