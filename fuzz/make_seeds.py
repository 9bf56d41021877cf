#!/usr/bin/python3
"""make_seeds.py -- write the fuzzers' seed corpus into fuzz/corpus/<harness>/.

    /usr/bin/python3 fuzz/make_seeds.py

Small, valid-or-nearly-valid inputs of each kind k2t reads, in the shapes
the project's fixtures and scripts/torch_dump.py produce: .npy arrays of
every dtype k2t reads (and some it refuses), .npz archives with __order__ in
its three forms (uint8 text, '<U' and '|S' name arrays), and command lines
(slices, numbers, quotes).  Deterministic: rerunning rewrites the same bytes.
"""
import io
import os
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def out(kind, name, data):
    d = os.path.join(HERE, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy(a, version=None):
    b = io.BytesIO()
    if version:
        np.lib.format.write_array(b, a, version=version)
    else:
        np.save(b, a)
    return b.getvalue()


def npz(members, compress=False):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            z.writestr(info, data)
    return b.getvalue()


def main():
    r = np.random.default_rng(14)
    x = r.standard_normal((1, 4, 4, 3)).astype(np.float32)
    for dt in ("<f4", "<f8", "<f2", "|u1", "|i1", "<i2", "<i4", "<i8", ">f4", "|b1"):
        out("npy", "x_%s.npy" % dt.replace("<", "le_").replace(">", "be_").replace("|", ""),
            npy((x * 10).astype(dt)))
    out("npy", "scalar.npy", npy(np.float32(3.5)))
    out("npy", "empty.npy", npy(np.zeros((0, 3), np.float32)))
    out("npy", "fortran.npy", npy(np.asfortranarray(r.standard_normal((3, 4)).astype(np.float32))))
    out("npy", "v2.npy", npy(x, version=(2, 0)))
    out("npy", "truncated.npy", npy(x)[:-7])
    out("npy", "strings.npy", npy(np.array(["conv2d", "dense"])))

    a = ("conv2d.npy", npy(x))
    b = ("dense.npy", npy(r.standard_normal((1, 10)).astype(np.float32)))
    text = np.frombuffer(b"conv2d\tConv2d\ndense\tLinear\n", np.uint8)
    out("npz", "order_text.npz", npz([a, b, ("__order__.npy", npy(text))]))
    out("npz", "order_U.npz", npz([a, b, ("__order__.npy", npy(np.array(["dense", "conv2d"])))]))
    out("npz", "order_S.npz", npz([a, b, ("__order__.npy", npy(np.array([b"dense", b"conv2d"])))]))
    out("npz", "plain_deflated.npz", npz([a, b], compress=True))
    out("npz", "odd_member.npz", npz([a, ("notes.txt", b"not an array\n")]))

    for i, line in enumerate([
            "[0,:]", "[0,:4]", "[0,1:8:2,-1]", "[:,-2:]", "[0,:-100000000000]", "[0,10:]",
            "[0,::9223372036854775807]", "[-1,-1,-1,-1]", "[0, 1 , 2]", "[0,::0]", "[", "[]",
            "--preact [0,0,0,:]", "5", "1000", "-3", "conv2d dense", "layer conv2d", "all",
            "'quoted word' \"double \\\" quote\" back\\ slash # comment", "\"unterminated",
            "$accuracy", "set bn.eps ", "conv2d 4", "*", "conv"]):
        out("cmd", "line_%02d" % i, line.encode())
    print("wrote the seed corpus to %s" % os.path.join(HERE, "corpus"))


if __name__ == "__main__":
    main()
