"""Inputs: bad inputs give a clear "error: ..." and the session goes on; equivalent
inputs (uint8/float64/float32 .npy, no batch axis, PNG vs .npy) give the same output.

    input FILE.npy | input cifar FILE [FIRST[:COUNT]] | input image FILE
    input random [SEED] | input zeros | run | save output FILE.npy
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import FIXTURES, MODELS, ROOT, done, k2t, ok, skip  # noqa: E402

EXEC = os.path.join(FIXTURES, "exec")
GEN = os.path.join(ROOT, "scripts", "gen_fixtures.py")
GEN_EXEC = os.path.join(ROOT, "scripts", "gen_exec_fixtures.py")
K24 = os.path.join(FIXTURES, "func_k24.h5")            # input (8, 8, 3)
UNSUPPORTED = os.path.join(FIXTURES, "unsupported.h5")  # Conv1D, Lambda 'lambda', LSTM
SMALL = os.path.join(EXEC, "cifar_small.h5")            # input (32, 32, 3)
RESNET = os.path.join(MODELS, "pretrainedResnet.h5")
STILL = "still here"
TMP = tempfile.mkdtemp(prefix="k2t_inputs_")


def tmp(name):
    return os.path.join(TMP, name)


def ensure_fixtures():
    if not os.path.exists(K24) or not os.path.exists(UNSUPPORTED):
        subprocess.run([sys.executable, GEN, FIXTURES], capture_output=True)
    man = os.path.join(EXEC, "exec_manifest.json")
    if not os.path.exists(SMALL) or not os.path.exists(man) or os.path.getmtime(GEN_EXEC) > os.path.getmtime(man):
        subprocess.run([sys.executable, GEN_EXEC, EXEC], capture_output=True)


def session(model, *cmds):
    """Run cmds then 'echo still here'; returns (rc, stdout, stderr, error lines, still_here)."""
    rc, so, se = k2t(*cmds, "echo " + STILL, model=model)
    errs = [ln for ln in se.splitlines() if ln.startswith("error:")]
    return rc, so, se, errs, STILL in [ln.strip() for ln in so.splitlines()]


def expect_error(what, model, cmds, must=(), must_re=()):
    """The commands fail with 'error: ...' (containing every string of must and matching
    every regex of must_re), exit status 1, and the session goes on."""
    rc, so, se, errs, still = session(model, *cmds)
    msg = " | ".join(errs)
    missing = [m for m in must if m not in msg] + [r for r in must_re if not re.search(r, msg)]
    ok(rc == 1 and errs and still and not missing, what,
       "exit %d, still here: %s, errors: %r%s" % (rc, still, msg or se.strip()[-300:],
                                                 ", missing %s" % missing if missing else ""))
    return msg


def output_of(model, *cmds, name="out"):
    """Run cmds + run + save output; returns the array or (None, why)."""
    out = tmp("out_" + name + ".npy")
    if os.path.exists(out):
        os.remove(out)
    rc, so, se = k2t(*cmds, "run", "save output " + out, model=model)
    if rc != 0 or not os.path.exists(out):
        return None, "exit %d: %s" % (rc, se.strip()[-300:])
    return np.load(out), None


def rel(a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    return float(np.abs(a - b).max()) / max(1.0, float(np.abs(b).max()))


def same_output(what, a, b, tol=1e-6):
    (x, ex), (y, ey) = a, b
    if x is None or y is None:
        ok(False, what, ex or ey)
        return
    if not ok(x.shape == y.shape, what + ": same shape", "%s vs %s" % (x.shape, y.shape)):
        return
    e = rel(x, y)
    ok(e <= tol, what + " (rel %.2g)" % e, "rel %.3g > %g" % (e, tol))


# ------------------------------------------------------------------ PNG writer

def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def write_png(path, img, filters=(0,)):
    """A minimal PNG encoder: 8-bit gray/RGB/RGBA, row filter filters[y % len(filters)]
    (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth)."""
    img = np.asarray(img, np.uint8)
    if img.ndim == 2:
        img = img[:, :, None]
    h, w, c = img.shape
    ctype = {1: 0, 3: 2, 4: 6}[c]
    rows = []
    prev = [0] * (w * c)
    for y in range(h):
        raw = [int(v) for v in img[y].reshape(-1)]
        f = filters[y % len(filters)]
        out = []
        for i, v in enumerate(raw):
            left = raw[i - c] if i >= c else 0
            up = prev[i]
            ul = prev[i - c] if i >= c else 0
            pred = [0, left, up, (left + up) // 2, paeth(left, up, ul)][f]
            out.append((v - pred) & 0xFF)
        rows.append(bytes([f]) + bytes(out))
        prev = raw

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, ctype, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(data)


def write_cifar(path, n, extra=0, seed=0):
    rng = np.random.RandomState(seed)
    recs = np.concatenate([rng.randint(0, 10, (n, 1)), rng.randint(0, 256, (n, 3072))], axis=1)
    data = recs.astype(np.uint8).tobytes() + bytes(extra)
    with open(path, "wb") as f:
        f.write(data)
    return recs.astype(np.uint8)


# ---------------------------------------------------------------------- checks

def bad_npy():
    rng = np.random.RandomState(1)
    p = tmp("wrong_shape.npy")
    np.save(p, rng.normal(size=(3, 7, 8, 3)).astype(np.float32))
    expect_error("input .npy of shape (3,7,8,3) for an (8,8,3) model: error names 'shape' and (8,8,3)",
                 K24, ["input " + p, "run"], must_re=[r"(?i)shape", r"8\D{1,3}8\D{1,3}3"])

    p = tmp("wrong_rank.npy")
    np.save(p, rng.normal(size=(3, 192)).astype(np.float32))
    expect_error("input .npy of shape (3,192) for an (8,8,3) model", K24, ["input " + p, "run"],
                 must_re=[r"(?i)shape"])

    p = tmp("truncated.npy")
    np.save(p, rng.normal(size=(3, 8, 8, 3)).astype(np.float32))
    with open(p, "rb") as f:
        data = f.read()
    with open(p, "wb") as f:
        f.write(data[:len(data) // 2])
    expect_error("truncated .npy: error names the file", K24, ["input " + p], must=["truncated.npy"])

    p = tmp("header_only.npy")
    with open(p, "wb") as f:
        f.write(data[:40])
    expect_error("an .npy cut inside its header", K24, ["input " + p], must=["header_only.npy"])

    p = tmp("complex.npy")
    np.save(p, (rng.normal(size=(3, 8, 8, 3)) + 1j).astype(np.complex64))
    expect_error("complex64 .npy: error names the dtype", K24, ["input " + p],
                 must_re=[r"(?i)complex|<c8|dtype"])

    p = tmp("not_npy.npy")
    with open(p, "w") as f:
        f.write("this is not a numpy file\n" * 20)
    expect_error("a text file named .npy", K24, ["input " + p], must=["not_npy.npy"])

    expect_error("a missing .npy file: error names it", K24, ["input " + tmp("no_such_file.npy")],
                 must=["no_such_file.npy"])

    # Fortran order: read correctly, or refused naming fortran_order.
    x = rng.normal(size=(3, 8, 8, 3)).astype(np.float32)
    pc, pf = tmp("c_order.npy"), tmp("f_order.npy")
    np.save(pc, x)
    np.save(pf, np.asfortranarray(x))
    rc, so, se, errs, still = session(K24, "input " + pf)
    if rc == 0:
        same_output("fortran_order .npy is read as the same array as the C-order one",
                    output_of(K24, "input " + pf, name="f"), output_of(K24, "input " + pc, name="c"))
    else:
        msg = " | ".join(errs)
        ok(rc == 1 and still and re.search(r"(?i)fortran", msg), "fortran_order .npy refused naming fortran_order",
           "exit %d, still here %s, errors %r" % (rc, still, msg))


def npy_dtypes():
    rng = np.random.RandomState(2)
    u8 = rng.randint(0, 256, (3, 8, 8, 3)).astype(np.uint8)
    paths = {}
    for dt in (np.uint8, np.float64, np.float32):
        paths[dt] = tmp("in_%s.npy" % np.dtype(dt).name)
        np.save(paths[dt], u8.astype(dt))
    ref = output_of(K24, "input " + paths[np.float32], name="f32")
    same_output("uint8 .npy gives the float32 output", output_of(K24, "input " + paths[np.uint8], name="u8"), ref)
    same_output("float64 .npy gives the float32 output", output_of(K24, "input " + paths[np.float64], name="f64"),
                ref)

    # One sample without the batch axis.
    x = rng.normal(size=(8, 8, 3)).astype(np.float32)
    p1, pb = tmp("single.npy"), tmp("single_batch.npy")
    np.save(p1, x)
    np.save(pb, x[None])
    a = output_of(K24, "input " + p1, name="single")
    b = output_of(K24, "input " + pb, name="single_b")
    same_output("a single (8,8,3) sample without batch axis = the (1,8,8,3) batch", a, b)


def cifar_inputs():
    p = tmp("bad_size.bin")
    write_cifar(p, 2, extra=5)
    expect_error("CIFAR file of 2*3073+5 bytes: error names the file and 3073", SMALL, ["input cifar " + p],
                 must=["bad_size.bin", "3073"])
    p = tmp("ten.bin")
    recs = write_cifar(p, 10, seed=3)
    expect_error("input cifar FILE 5:1000 past the end of a 10-image file", SMALL, ["input cifar %s 5:1000" % p])
    expect_error("input cifar FILE 10:1 starts past the end", SMALL, ["input cifar %s 10:1" % p])
    # A valid range: the same numbers as the NHWC .npy of those images.
    x = recs[5:8, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float32)
    pn = tmp("ten_5_3.npy")
    np.save(pn, x)
    same_output("input cifar FILE 5:3 (preprocess raw) = the CHW->HWC .npy of images 5..7",
                output_of(SMALL, "set preprocess raw", "input cifar %s 5:3" % p, name="cifar53"),
                output_of(SMALL, "set preprocess raw", "input " + pn, name="cifar53n"))


def image_inputs():
    rng = np.random.RandomState(4)
    p = tmp("small16.png")
    write_png(p, rng.randint(0, 256, (16, 16, 3)))
    expect_error("a 16x16 PNG for a 32x32 model", SMALL, ["input image " + p], must_re=[r"32"])
    p = tmp("text.png")
    with open(p, "w") as f:
        f.write("not an image at all\n")
    expect_error("a text file as an image: error names it", SMALL, ["input image " + p], must=["text.png"])
    p = tmp("corrupt.png")
    write_png(p, rng.randint(0, 256, (32, 32, 3)))
    with open(p, "rb") as f:
        data = bytearray(f.read())
    data[60:80] = bytes(20)  # inside IDAT: breaks the zlib stream / CRC
    with open(p, "wb") as f:
        f.write(bytes(data))
    expect_error("a PNG with a corrupted IDAT", SMALL, ["input image " + p])

    img = rng.randint(0, 256, (32, 32, 3)).astype(np.uint8)
    for filt, label in (((0,), "unfiltered"), ((0, 1, 2, 3, 4), "Sub/Up/Average/Paeth-filtered")):
        p = tmp("img_%d.png" % len(filt))
        write_png(p, img, filt)
        pn = tmp("img.npy")
        np.save(pn, img[None].astype(np.float32))
        same_output("input image on a 32x32 RGB PNG (%s) = the same pixels as .npy" % label,
                    output_of(SMALL, "set preprocess raw", "input image " + p, name="png"),
                    output_of(SMALL, "set preprocess raw", "input " + pn, name="pngn"))
        if os.path.exists(RESNET):
            same_output("ResNet8: input image (%s PNG) = the same pixels as .npy" % label,
                        output_of(RESNET, "set preprocess raw", "input image " + p, name="rpng"),
                        output_of(RESNET, "set preprocess raw", "input " + pn, name="rpngn"))
    if not os.path.exists(RESNET):
        skip("ResNet8 PNG input", "%s not found" % RESNET)


def generated_inputs():
    expect_error("run with no input set: error mentions the input", K24, ["run"], must_re=[r"(?i)input"])
    a = output_of(K24, "input random 7", name="r7")
    ok(a[0] is not None, "input random 7 then run works", a[1] or "")
    b = output_of(K24, "input random 7", name="r7b")
    c = output_of(K24, "input random 8", name="r8")
    if a[0] is not None and b[0] is not None and c[0] is not None:
        ok(np.array_equal(a[0], b[0]), "input random 7 is reproducible")
        ok(not np.array_equal(a[0], c[0]), "input random 8 differs from input random 7")
    z = output_of(K24, "input zeros", name="z")
    ok(z[0] is not None, "input zeros then run works", z[1] or "")
    pz = tmp("zeros.npy")
    np.save(pz, np.zeros((1, 8, 8, 3), np.float32))
    if z[0] is not None:
        zn = output_of(K24, "input " + pz, name="zn")
        if zn[0] is not None and z[0].shape != zn[0].shape and z[0].shape[1:] == zn[0].shape[1:]:
            zn = (zn[0][:1].repeat(z[0].shape[0], 0), None)   # input zeros may use a batch > 1
        same_output("input zeros = an all-zero .npy", z, zn)


def npy_ranges():
    """input FILE.npy FIRST[:COUNT] takes those samples, as input cifar FILE FIRST:COUNT does."""
    x = np.random.RandomState(11).normal(0, 1, (6, 32, 32, 3)).astype(np.float32)
    np.save(tmp("six.npy"), x)
    np.save(tmp("two.npy"), x[2:4])
    np.save(tmp("one.npy"), x[5:6])
    same_output("input FILE.npy 2:2 = those two samples", output_of(SMALL, "input " + tmp("six.npy") + " 2:2", name="r2"),
                output_of(SMALL, "input " + tmp("two.npy"), name="t2"))
    same_output("input FILE.npy 5 = that one sample", output_of(SMALL, "input " + tmp("six.npy") + " 5", name="r1"),
                output_of(SMALL, "input " + tmp("one.npy"), name="t1"))
    expect_error("input FILE.npy past its end: refused with the file's range", SMALL,
                 ["input %s 4:3" % tmp("six.npy")], must=["0..5", "4:3"])
    expect_error("input FILE.npy with a bad range: refused", SMALL, ["input %s two" % tmp("six.npy")],
                 must=["FIRST:COUNT", "two"])


def unsupported():
    msg = expect_error("run on a model with a Lambda: refused naming the layer and its class", UNSUPPORTED,
                       ["input zeros", "run"], must=["Lambda", "lambda"])
    del msg


def main():
    ensure_fixtures()
    for path in (K24, UNSUPPORTED, SMALL):
        if not os.path.exists(path):
            ok(False, "fixture %s exists" % path)
            done()
    try:
        bad_npy()
        npy_dtypes()
        cifar_inputs()
        image_inputs()
        generated_inputs()
        npy_ranges()
        unsupported()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    done()


if __name__ == "__main__":
    main()
