"""Hostile inputs and commands (issue 14): each ends in one clear error naming
the file and the problem, exit status 1, no crash, no hang, and nothing lost.

  - CIFAR records whose label byte is >= 10 (input cifar, eval cifar);
  - an .npz whose __order__ member declares a huge string width;
  - a .npy whose header is 2 MB ("too large", not "truncated");
  - a directory or a FIFO given as the model (no blocking on the FIFO);
  - save onto an existing file, a symbolic link, /dev/full, a FIFO, a
    directory, and past a file size limit: the target is byte-identical
    afterwards and no temporary file is left;
  - stats with an unknown layer among its names.
"""
import os
import resource
import stat
import struct
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import K2T, ROOT, FIXTURES, k2t, ok, done  # noqa: E402

DEMO = os.path.join(ROOT, "demo", "demo.h5")
CIFAR = os.path.join(ROOT, "demo", "demo-test.bin")
FX = os.path.join(FIXTURES, "func_k214.h5")
tmp = tempfile.mkdtemp(prefix="k2t_hostile_")


def T(name):
    return os.path.join(tmp, name)


def run(*cmds, model=None, timeout=60, limit_fsize=None, env=None):
    argv = [K2T, "--batch", "--no-init"]
    for c in cmds:
        argv += ["-c", c]
    if model:
        argv.append(model)
    pre = None
    if limit_fsize is not None:
        def pre():
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_fsize, limit_fsize))
    try:
        p = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=timeout, preexec_fn=pre,
                           env=dict(os.environ, **(env or {})))
    except subprocess.TimeoutExpired:
        return -999, "", "timed out"
    return p.returncode, p.stdout, p.stderr


def one_error(rc, err, *want):
    errs = [l for l in err.splitlines() if "error:" in l]
    return rc == 1 and len(errs) == 1 and all(w in errs[0] for w in want)


# ---------------------------------------------------------------- CIFAR labels
with open(CIFAR, "rb") as f:
    recs = f.read(3073 * 5)
bad = bytearray(recs)
bad[3 * 3073] = 200  # record 3
with open(T("badlabel.bin"), "wb") as f:
    f.write(bad)
rc, out, err = run("eval cifar %s" % T("badlabel.bin"), "echo goes on", model=DEMO)
ok(one_error(rc, err, "badlabel.bin", "image 3", "label 200") and "goes on" in out and "accuracy" not in out,
   "eval cifar: a label byte of 200 is an error naming the file and the record", err.strip())
rc, out, err = run("input cifar %s" % T("badlabel.bin"), "echo goes on", model=DEMO)
ok(one_error(rc, err, "badlabel.bin", "image 3", "label 200") and "goes on" in out,
   "input cifar: the same label is refused", err.strip())
rc, out, err = run("input cifar %s 0:3" % T("badlabel.bin"), "run", "top", model=DEMO)
ok(rc == 0 and "label" in out, "the records before it still load and print their labels", err.strip())

# ------------------------------------------------------- npz __order__ width
def npy_bytes(descr, shape, payload, hlen=None):
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    if hlen is not None:
        d = d + " " * (hlen - len(d) - 1)
    d += "\n"
    if len(d) < 65536 and hlen is None:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode() + payload
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(d)) + d.encode() + payload


for width, why in (("999999999999", "string width"), ("4611686018427387904", "string width"),
                   ("99999999999999999999999", "string width"), ("-5", "dtype '<U-5'")):
    path = T("order_%s.npz" % width.strip("-"))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("dense.npy", npy_bytes("<f4", "(1, 3)", struct.pack("<3f", 1, 2, 3)))
        z.writestr("__order__.npy", npy_bytes("<U" + width, "(1,)", b"d\0\0\0e\0\0\0"))
    rc, out, err = run("input random", "compare %s" % path, "echo goes on", model=FX)
    ok(one_error(rc, err, os.path.basename(path), "__order__", why) and "goes on" in out,
       "npz __order__ with string width %s: a clear error" % width, err.strip()[-300:])

# ------------------------------------------------------------ npy header size
with open(T("bighead.npy"), "wb") as f:
    f.write(npy_bytes("<f4", "(1, 10, 10, 1)", b"\0" * 400, hlen=2 * 1024 * 1024))
rc, out, err = run("input %s" % T("bighead.npy"), model=FX)
ok(one_error(rc, err, "bighead.npy", "too large") and "truncated" not in err,
   "a 2 MB .npy header is 'too large', not 'truncated'", err.strip())

# ------------------------------------------------------- a huge JPEG header
# SOF0 declaring 60000x60000 (no tables: the size must be refused before them)
sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, 60000, 60000, 3) + bytes([1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0])
sos = b"\xff\xda" + struct.pack(">HB", 12, 3) + bytes([1, 0, 2, 0, 3, 0, 0, 63, 0])
with open(T("huge.jpg"), "wb") as f:
    f.write(b"\xff\xd8" + sof + sos + b"\0" * 64 + b"\xff\xd9")
rc, out, err = run("input image %s" % T("huge.jpg"), "echo goes on", model=DEMO)
ok(one_error(rc, err, "huge.jpg", "60000x60000", "too large") and "goes on" in out,
   "a JPEG declaring 60000x60000: 'too large' with its size, not an empty reason", err.strip())

# ----------------------------------------------------- special files as model
os.mkfifo(T("fifo.h5"))
os.mkdir(T("dir.h5"))
rc, out, err = run("load %s" % T("dir.h5"), "echo goes on")
ok(one_error(rc, err, "dir.h5", "is a directory") and "goes on" in out, "a directory as model: 'is a directory'",
   err.strip())
rc, out, err = run("load %s" % T("fifo.h5"), "echo goes on", timeout=20)
ok(one_error(rc, err, "fifo.h5", "not a regular file") and "goes on" in out,
   "a FIFO as model: 'is not a regular file', without blocking", err.strip())
rc, out, err = run("input %s" % T("fifo.h5"), "echo goes on", model=FX, timeout=20)
ok(one_error(rc, err, "fifo.h5", "not a regular file") and "goes on" in out, "a FIFO as input .npy: no hang",
   err.strip())

# ------------------------------------------------------------------- save
RUN = ("input random", "run")
ORIG = b"precious user data, not an array\n"


def put(path, data=ORIG):
    with open(path, "wb") as f:
        f.write(data)


def same(path, data=ORIG):
    try:
        with open(path, "rb") as f:
            return f.read() == data
    except OSError:
        return False


def no_temp():
    return not [n for n in os.listdir(tmp) if ".k2t-" in n]


put(T("out.npy"))
rc, out, err = run(*RUN, "save output %s" % T("out.npy"), "echo goes on", model=DEMO)
ok(one_error(rc, err, "out.npy", "exists", "--force") and same(T("out.npy")) and "goes on" in out,
   "save onto an existing file is refused without --force; the file is unchanged", err.strip())

rc, out, err = run(*RUN, "save output %s --force" % T("out.npy"), model=DEMO)
with open(T("out.npy"), "rb") as f:
    head = f.read(6)
ok(rc == 0 and head == b"\x93NUMPY" and no_temp(), "save --force replaces it with the array, no temporary left",
   err.strip())

put(T("target.txt"))
os.symlink(T("target.txt"), T("link.npy"))
rc, out, err = run(*RUN, "save output %s" % T("link.npy"), model=DEMO)
ok(one_error(rc, err, "link.npy", "exists") and same(T("target.txt")) and os.path.islink(T("link.npy")),
   "save onto a symbolic link is refused without --force", err.strip())
rc, out, err = run(*RUN, "save output %s --force" % T("link.npy"), model=DEMO)
ok(rc == 0 and same(T("target.txt")) and not os.path.islink(T("link.npy")) and os.path.isfile(T("link.npy")),
   "save --force replaces the link itself; the file it pointed to is untouched", err.strip())

# (Run as root, the k2t before issue 14 deleted /dev/full here: its write
# failed and it called remove() on the target.)
st0 = os.stat("/dev/full") if os.path.exists("/dev/full") else None
for force in (("", " --force") if st0 else ()):
    rc, out, err = run(*RUN, "save output /dev/full" + force, "echo goes on", model=DEMO)
    st1 = os.stat("/dev/full")
    ok(one_error(rc, err, "/dev/full", "character device") and stat.S_ISCHR(st1.st_mode) and
       st1.st_rdev == st0.st_rdev and "goes on" in out,
       "save output /dev/full%s: refused, the device is left alone" % force, err.strip())

os.mkfifo(T("out_fifo.npy"))
rc, out, err = run(*RUN, "save output %s --force" % T("out_fifo.npy"), timeout=20, model=DEMO)
ok(one_error(rc, err, "out_fifo.npy", "FIFO") and stat.S_ISFIFO(os.lstat(T("out_fifo.npy")).st_mode),
   "save onto a FIFO: refused, no hang", err.strip())
rc, out, err = run(*RUN, "save output %s --force" % T("dir.h5"), model=DEMO)
ok(one_error(rc, err, "dir.h5", "directory") and os.path.isdir(T("dir.h5")), "save onto a directory: refused",
   err.strip())

put(T("keep.npy"))
rc, out, err = run(*RUN, "save output %s --force" % T("keep.npy"), "echo goes on", model=DEMO, limit_fsize=100)
ok(one_error(rc, err, "keep.npy", "cannot write") and same(T("keep.npy")) and no_temp() and "goes on" in out,
   "a write that fails (ulimit -f) keeps the original byte-identical and leaves no temporary", err.strip())

os.mkdir(T("acts"))
put(T("acts/input_1.npy"))
rc, out, err = run(*RUN, "save activations %s" % T("acts"), model=DEMO)
ok(one_error(rc, err, "input_1.npy", "exists") and same(T("acts/input_1.npy")) and os.listdir(T("acts")) ==
   ["input_1.npy"], "save activations: an existing file is refused before anything is written", err.strip())

# ------------------------------------------------------ commands and scripts
rc, out, err = run("source /dev/zero", "echo goes on", timeout=30)
ok(one_error(rc, err, "/dev/zero", "longer than") and "goes on" in out,
   "source /dev/zero: a bounded line, a clear error, the session goes on", err.strip()[-300:])
rc, out, err = run("input cifar %s 1:9223372036854775807" % CIFAR, "echo goes on", model=DEMO)
ok(one_error(rc, err, "past its end") and "goes on" in out, "input cifar FIRST:COUNT near INT64_MAX: no overflow",
   err.strip())

# ------------------------------------------- the HDF5 library contained
# A crash of libhdf5 (here injected into the loading child) or a load that
# never ends is one error naming the file, and the session goes on.
rc, out, err = run("load %s" % FX, "echo goes on", env={"K2T_TEST_LOAD_CRASH": "1"})
ok(one_error(rc, err, FX, "crashed reading it", "corrupt") and "goes on" in out,
   "a crash while reading the file is contained: clear error, session goes on", err.strip())
rc, out, err = run("load %s" % FX, "echo goes on", env={"K2T_LOAD_TIMEOUT": "0"})
ok(one_error(rc, err, FX, "did not finish") and "goes on" in out,
   "a load past its deadline is stopped and named", err.strip())
rc, out, err = run("load %s" % os.path.join(FIXTURES, "broken", "wrong_shape.h5"), "echo goes on")
ok(one_error(rc, err, "wrong_shape.h5", "weight 'kernel'") and "goes on" in out,
   "an ordinary load error comes back from the loading child intact", err.strip())

# Under ulimit -v: no hang at exit (OpenBLAS's thread shutdown), and a load
# that runs out of memory is an error, not an abort of the shell.
def limited(cmds, vm_kb, timeout=60):
    argv = [K2T, "--batch", "--no-init"]
    for c in cmds:
        argv += ["-c", c]
    def pre():
        resource.setrlimit(resource.RLIMIT_AS, (vm_kb * 1024, vm_kb * 1024))
    try:
        p = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=timeout, preexec_fn=pre)
    except subprocess.TimeoutExpired:
        return -999, "", "timed out"
    return p.returncode, p.stdout, p.stderr


if os.path.basename(K2T) == "k2t":  # ASan cannot run under an address-space limit
    rc, out, err = limited(["echo hi"], 150000, timeout=30)
    ok(rc == 0 and "hi" in out, "under ulimit -v 150000: k2t exits (no hang in OpenBLAS's shutdown)", err.strip())

# --------------------------------------------------------------------- stats
rc, out, err = run("stats conv2d nosuchlayer", model=FX)
ok(rc == 1 and "nosuchlayer" in err, "stats conv2d nosuchlayer fails (exit 1)", "rc=%d %s" % (rc, err.strip()))
done()
