"""eval on any data: .npy arrays (labels, one-hot, regression, autoencoder), a folder
of images with one subfolder per class, --top K, --limit N, and the errors.

    eval cifar FILE [COUNT] | eval X.npy [Y.npy] | eval DIR/ [--top K] [--limit N]

No number is trusted because k2t printed it: the npy and folder forms must give what
'eval cifar' gives on the same images (171/200 on the MLPerf ResNet8), each image's
class must be what 'run' + 'top' give on it, top-K is counted in numpy from the Keras
reference outputs (../shared/models/refs), and the autoencoder's MSE/MAE are numpy's on
the Keras reference outputs of ad01.h5; a binary classifier (one score, 0/1 labels) is
counted in numpy on a tiny model written with scripts/gen_fixtures.py.
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
from k2tlib import FIXTURES, K2T, MODELS, ROOT, SHARED, done, k2t, ok, skip  # noqa: E402

RESNET = os.path.join(MODELS, "pretrainedResnet.h5")
AD01 = os.path.join(MODELS, "ad01.h5")
REFS = os.path.join(MODELS, "refs")
CIFAR = os.path.join(SHARED, "data", "cifar10-ic200.bin")
TMP = tempfile.mkdtemp(prefix="k2t_evaldata_")
ACC = re.compile(r"^accuracy: (\d+)/(\d+) ", re.M)
TOPK = re.compile(r"^top-(\d+) accuracy: (\d+)/(\d+) ", re.M)


def tmp(name):
    return os.path.join(TMP, name)


def write_png(path, img):
    """img: (H, W, 3) uint8; a plain RGB PNG, filter 0 (no PIL needed)."""
    h, w, _ = img.shape
    rows = b"".join(b"\x00" + img[y].astype(np.uint8).tobytes() for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))


def accuracy(out):
    m = ACC.search(out)
    return (int(m.group(1)), int(m.group(2))) if m else None


def read_cifar():
    raw = np.fromfile(CIFAR, dtype=np.uint8).reshape(-1, 3073)
    return raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), raw[:, 0].astype(np.int64)


def test_errors_without_shared():
    """Errors on project fixtures: need no ../shared."""
    exec_dir = os.path.join(FIXTURES, "exec")
    model = os.path.join(exec_dir, "cifar_small.h5")
    gen = os.path.join(ROOT, "scripts", "gen_exec_fixtures.py")
    if not os.path.exists(model):
        subprocess.run([sys.executable, gen, exec_dir], capture_output=True)
    if not os.path.exists(model):
        skip("eval errors on fixtures", "%s missing (tests/run generates it)" % model)
        return
    x = np.zeros((3, 32, 32, 3), np.uint8)
    np.save(tmp("e_x.npy"), x)
    np.save(tmp("e_y2.npy"), np.zeros(2, np.int64))
    np.save(tmp("e_ybad.npy"), np.array([0, 1, 10]))
    np.save(tmp("e_yok.npy"), np.array([0, 1, 2]))
    np.save(tmp("e_y3d.npy"), np.zeros((3, 4, 5), np.float32))
    np.save(tmp("e_xsmall.npy"), np.zeros((3, 30, 30, 3), np.uint8))
    with open(tmp("e_notnpy.npy"), "wb") as f:
        f.write(b"hello, not an array\n" * 4)
    cases = [
        ("eval %s %s" % (tmp("e_x.npy"), tmp("e_y2.npy")), ["e_y2.npy' holds 2 labels", "e_x.npy' holds 3 samples"]),
        ("eval %s %s" % (tmp("e_x.npy"), tmp("e_ybad.npy")), ["e_ybad.npy' sample 2 has label 10"]),
        ("eval %s %s" % (tmp("e_x.npy"), tmp("e_y3d.npy")), ["e_y3d.npy' holds (4,5) per sample", "(10,)"]),
        ("eval %s" % tmp("e_xsmall.npy"), ["e_xsmall.npy' has shape (3,30,30,3)"]),
        ("eval %s" % tmp("e_notnpy.npy"), ["e_notnpy.npy' is not a .npy array"]),
        ("eval %s %s" % (tmp("e_x.npy"), tmp("e_notnpy.npy")), ["e_notnpy.npy' is not a .npy array"]),
        ("eval %s" % tmp("e_x.npy"), ["without labels the input is the target"]),
        ("eval %s %s --top 11" % (tmp("e_x.npy"), tmp("e_yok.npy")), ["--top 11 needs at least 11 classes"]),
        ("eval --top 0 %s" % tmp("e_x.npy"), ["--top takes a K from 1"]),
        ("eval %s --frobnicate" % tmp("e_x.npy"), ["unknown option '--frobnicate'"]),
    ]
    # folders: empty, images without class folders, wrong image size, nothing readable
    os.makedirs(tmp("d_empty"))
    os.makedirs(tmp("d_flat"))
    write_png(tmp("d_flat/a.png"), np.zeros((32, 32, 3), np.uint8))
    os.makedirs(tmp("d_size/cat"))
    write_png(tmp("d_size/cat/big.png"), np.zeros((40, 32, 3), np.uint8))
    os.makedirs(tmp("d_noimg/cat"))
    with open(tmp("d_noimg/cat/notes.txt"), "w") as f:
        f.write("x")
    os.makedirs(tmp("d_bad/cat"))
    with open(tmp("d_bad/cat/broken.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\nnot really")
    os.makedirs(tmp("d_many"))
    for i in range(11):
        os.makedirs(tmp("d_many/c%02d" % i))
    write_png(tmp("d_many/c00/a.png"), np.zeros((32, 32, 3), np.uint8))
    cases += [
        ("eval %s" % tmp("d_empty"), ["d_empty' has no class subfolders"]),
        ("eval %s" % tmp("d_flat"), ["d_flat' has no class subfolders, only images"]),
        ("eval %s" % tmp("d_size"), ["big.png' is 32x40", "k2t does not resize"]),
        ("eval %s" % tmp("d_noimg"), ["d_noimg' has 1 class subfolder but no .png/.jpg/.jpeg images"]),
        ("eval %s" % tmp("d_bad"), ["broken.png'"]),
        ("eval %s" % tmp("d_many"), ["d_many' has 11 class subfolders but the model's output has 10 classes"]),
        ("eval %s %s" % (tmp("d_flat"), tmp("e_x.npy")), ["a folder holds its labels"]),
    ]
    for cmd, wants in cases:
        rc, out, err = k2t(cmd, "echo still here", model=model)
        good = rc == 1 and all(w in err for w in wants) and "still here" in out
        ok(good, "error: %s" % cmd.replace(TMP + "/", ""), "rc %d, stderr %r" % (rc, err.strip()[-300:]))


def test_npy_and_folder():
    if not os.path.exists(RESNET) or not os.path.exists(CIFAR):
        skip("eval X.npy / eval DIR on the ResNet8", "%s or %s not found" % (RESNET, CIFAR))
        return
    x, y = read_cifar()
    np.save(tmp("x.npy"), x)
    np.save(tmp("xf.npy"), x.astype(np.float32))
    np.save(tmp("y.npy"), y)
    np.save(tmp("y_i32.npy"), y.astype(np.int32))
    np.save(tmp("y_u8.npy"), y.astype(np.uint8))
    np.save(tmp("y_f.npy"), y.astype(np.float64))
    np.save(tmp("y_col.npy"), y.reshape(-1, 1))
    np.save(tmp("y_onehot.npy"), np.eye(10, dtype=np.float32)[y])
    rc, out, _ = k2t("eval cifar " + CIFAR, model=RESNET)
    ok(rc == 0 and accuracy(out) == (171, 200), "eval cifar: 171/200 (the reference)", out[-300:])
    for ylab in ("y.npy", "y_i32.npy", "y_u8.npy", "y_f.npy", "y_col.npy", "y_onehot.npy"):
        for xs in ("x.npy", "xf.npy"):
            rc, out, err = k2t("eval %s %s" % (tmp(xs), tmp(ylab)), model=RESNET)
            ok(rc == 0 and accuracy(out) == (171, 200), "eval %s %s: 171/200 as eval cifar" % (xs, ylab),
               (out + err)[-300:])
    # the per-class table and the confusion matrix are those of eval cifar
    _, o1, _ = k2t("eval cifar " + CIFAR, model=RESNET)
    _, o2, _ = k2t("eval %s %s" % (tmp("x.npy"), tmp("y.npy")), model=RESNET)
    conf = lambda o: [l.split()[1:] for l in o.splitlines()[-10:]]  # noqa: E731
    ok(conf(o1) == conf(o2), "eval X.npy Y.npy: the confusion matrix of eval cifar")

    # uint8 is pixels: set preprocess applies (as eval cifar), float is not
    rc, o1, _ = k2t("set preprocess unit", "eval cifar " + CIFAR, model=RESNET)
    rc2, o2, _ = k2t("set preprocess unit", "eval %s %s" % (tmp("x.npy"), tmp("y.npy")), model=RESNET)
    rc3, o3, _ = k2t("set preprocess unit", "eval %s %s" % (tmp("xf.npy"), tmp("y.npy")), model=RESNET)
    ok(accuracy(o1) == accuracy(o2) and accuracy(o1) != (171, 200), "uint8 X.npy is preprocessed like eval cifar",
       "%s vs %s" % (accuracy(o1), accuracy(o2)))
    ok(accuracy(o3) == (171, 200) and "preprocess none" in o3, "float X.npy is not preprocessed", o3[:300])

    # per-image argmax equality with run + top on the same images
    tops = []
    for h in range(2):  # top prints 100 samples at a time
        np.save(tmp("half.npy"), x[100 * h:100 * h + 100])
        rc, out, _ = k2t("input %s" % tmp("half.npy"), "run", "top 1", model=RESNET)
        tops += [int(v) for v in re.findall(r"^sample\s+\d+:\s*(\d+)\s", out, re.M)]
    refs_out = os.path.join(REFS, "pretrainedResnet.ic200.out.npy")
    if len(tops) == 200:
        n_right = int((np.array(tops) == y).sum())
        ok(n_right == 171, "run + top: 171 of the 200 argmaxes are the labels, as eval counts", str(n_right))
        # eval on single images agrees image by image with run + top
        agree = True
        for i in range(0, 200, 25):
            np.save(tmp("one_x.npy"), x[i:i + 1])
            np.save(tmp("one_y.npy"), np.array([tops[i]]))
            _, o, _ = k2t("eval %s %s" % (tmp("one_x.npy"), tmp("one_y.npy")), model=RESNET)
            agree = agree and accuracy(o) == (1, 1)
        ok(agree, "eval of single images: each one's class is run + top's")
    else:
        ok(False, "run + top: parse 200 top classes", out[-500:])
    if os.path.exists(refs_out):
        ref = np.load(refs_out)
        ok(int((ref.argmax(1) == y).sum()) == 171, "the Keras reference outputs also give 171/200")
        for k in (2, 3, 5):
            # rank of the label among the Keras scores
            want = int((np.argsort(-ref, axis=1, kind="stable")[:, :k] == y[:, None]).any(1).sum())
            rc, out, err = k2t("eval --top %d %s %s" % (k, tmp("x.npy"), tmp("y.npy")), model=RESNET)
            m = TOPK.search(out)
            got = (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None
            ok(got == (k, want, 200) and accuracy(out) == (171, 200),
               "eval --top %d: top-%d %d/200 as numpy counts on the Keras outputs" % (k, k, want), str(got))
        rc, out, _ = k2t("eval cifar %s --top 5" % CIFAR, model=RESNET)
        want5 = int((np.argsort(-ref, axis=1, kind="stable")[:, :5] == y[:, None]).any(1).sum())
        ok(("top-5 accuracy: %d/200" % want5) in out, "eval cifar --top 5 too")
        rc, out, _ = k2t("eval --top 5 %s %s" % (tmp("x.npy"), tmp("y.npy")), "echo $top_accuracy", model=RESNET)
        ok(out.strip().splitlines()[-1] == "%.10g" % (100.0 * want5 / 200), "$top_accuracy published")
    else:
        skip("top-K against the Keras references", "%s not found" % refs_out)

    # --limit: the first N samples
    np.save(tmp("x50.npy"), x[:50])
    np.save(tmp("y50.npy"), y[:50])
    _, o1, _ = k2t("eval %s %s --limit 50" % (tmp("x.npy"), tmp("y.npy")), model=RESNET)
    _, o2, _ = k2t("eval %s %s" % (tmp("x50.npy"), tmp("y50.npy")), model=RESNET)
    _, o3, _ = k2t("eval cifar %s 50" % CIFAR, model=RESNET)
    ok(accuracy(o1) == accuracy(o2) == accuracy(o3) and accuracy(o1)[1] == 50, "--limit 50 is the first 50",
       "%s %s %s" % (accuracy(o1), accuracy(o2), accuracy(o3)))

    # a folder of PNGs, one subfolder per class (sorted names are the indices)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    root = tmp("imgs")
    for i in range(200):
        d = os.path.join(root, "%d_%s" % (y[i], names[y[i]]))
        os.makedirs(d, exist_ok=True)
        write_png(os.path.join(d, "img%03d.png" % i), x[i])
    with open(os.path.join(root, "README.txt"), "w") as f:
        f.write("not an image, beside the class folders\n")
    with open(os.path.join(root, "3_cat", "labels.csv"), "w") as f:
        f.write("not an image either\n")
    rc, out, err = k2t("eval %s/ --top 3" % root, model=RESNET)
    ok(rc == 0 and accuracy(out) == (171, 200), "eval DIR/ of PNGs: 171/200 as the npy path", (out + err)[-400:])
    ok("classes: 0 0_airplane, 1 1_automobile, 2 2_bird" in out and "9 9_truck\n" in out,
       "eval DIR/ prints the class mapping once", out[:400])
    ok("note: 1 file in" in out, "eval DIR/ notes the non-image file it skipped", out[:400])
    _, on, _ = k2t("eval %s %s --top 3" % (tmp("x.npy"), tmp("y.npy")), model=RESNET)
    ok(TOPK.search(out) and TOPK.search(out).group(0) == TOPK.search(on).group(0), "eval DIR/ --top 3 as the npy path")
    rc, o1, _ = k2t("set preprocess unit", "eval %s" % root, model=RESNET)
    rc, o2, _ = k2t("set preprocess unit", "eval %s %s" % (tmp("x.npy"), tmp("y.npy")), model=RESNET)
    ok(accuracy(o1) == accuracy(o2), "eval DIR/ is pixels: set preprocess applies")
    # a folder with fewer classes than the model: indices are still the sorted names
    sub = tmp("imgs2")
    for c in (3, 5):
        idx = np.where(y == c)[0][:6]
        for i in idx:
            os.makedirs(os.path.join(sub, "c%d" % c), exist_ok=True)
            write_png(os.path.join(sub, "c%d" % c, "%03d.png" % i), x[i])
    _, o, _ = k2t("eval %s" % sub, model=RESNET)
    idx = np.concatenate([np.where(y == c)[0][:6] for c in (3, 5)])
    ok("classes: 0 c3, 1 c5" in o, "sorted subfolder names are the class indices")
    np.save(tmp("sub_x.npy"), x[idx])
    np.save(tmp("sub_y.npy"), np.array([0] * 6 + [1] * 6))
    _, o2, _ = k2t("eval %s %s" % (tmp("sub_x.npy"), tmp("sub_y.npy")), model=RESNET)
    ok(accuracy(o) == accuracy(o2), "a two-class folder counts as labels 0 and 1 would",
       "%s %s" % (accuracy(o), accuracy(o2)))
    enc = jpeg_encoder()
    if not enc:
        skip("JPEG folder", "no C compiler with libjpeg to write test JPEGs")
    else:
        # quality 100 without chroma subsampling: every pixel within a few levels
        jroot = tmp("jpg")
        for i in range(200):
            d = os.path.join(jroot, names[y[i]])
            os.makedirs(d, exist_ok=True)
            p = subprocess.run([enc, os.path.join(d, "%03d.JPG" % i)], input=x[i].tobytes())
            if p.returncode:
                break
        rc, oj, ej = k2t("eval %s" % jroot, model=RESNET)
        aj = accuracy(oj)
        ok(rc == 0 and aj is not None and aj[1] == 200 and abs(aj[0] - 171) <= 4,
           "eval DIR/ of JPEGs (quality 100): within 4 images of the PNGs' 171/200", "%s %s" % (aj, ej[-300:]))
        # and each JPEG's class is what input image + run gives on it
        agree = True
        for i in range(0, 200, 40):
            f = os.path.join(jroot, names[y[i]], "%03d.JPG" % i)
            _, o1, _ = k2t("input image " + f, "run", model=RESNET)
            m = re.search(r"sample 0: class (\d+)", o1)
            one = tmp("one_jpg")
            shutil.rmtree(one, ignore_errors=True)
            for c in names:
                os.makedirs(os.path.join(one, c))
            shutil.copy(f, os.path.join(one, names[int(m.group(1))] if m else names[0], "a.jpeg"))
            _, o2, _ = k2t("eval " + one, model=RESNET)
            agree = agree and m is not None and accuracy(o2) == (1, 1)
        ok(agree, "eval DIR/ of JPEGs: each image's class is input image + run's")


def jpeg_encoder():
    """A tiny libjpeg encoder (stdin: 32x32 RGB bytes, argv[1]: the .jpg), or None."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None
    src, exe = tmp("enc.c"), tmp("enc")
    with open(src, "w") as f:
        f.write(r"""
#include <stdio.h>
#include <jpeglib.h>
int main(int argc, char **argv) {
    unsigned char px[32 * 32 * 3];
    if (argc != 2 || fread(px, 1, sizeof px, stdin) != sizeof px) return 2;
    FILE *o = fopen(argv[1], "wb");
    if (!o) return 1;
    struct jpeg_compress_struct c; struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, o);
    c.image_width = 32; c.image_height = 32; c.input_components = 3; c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 100, TRUE);
    for (int i = 0; i < c.num_components; i++) c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < 32) { JSAMPROW r = px + c.next_scanline * 96; jpeg_write_scanlines(&c, &r, 1); }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return fclose(o) != 0;
}
""")
    p = subprocess.run([cc, "-O1", "-o", exe, src, "-ljpeg"], capture_output=True)
    return exe if p.returncode == 0 else None


def test_regression():
    xin, xout = os.path.join(REFS, "ad01.in.npy"), os.path.join(REFS, "ad01.out.npy")
    if not all(os.path.exists(p) for p in (AD01, xin, xout)):
        skip("eval regression on ad01", "%s or its refs not found" % AD01)
        return
    x = np.load(xin).astype(np.float64)
    ref = np.load(xout).astype(np.float64)  # Keras's outputs
    # the autoencoder: the input is the target
    rc, out, err = k2t("eval %s" % xin, "echo $mse $mae", model=AD01)
    m = re.search(r"^mse: (\S+)\nmae: (\S+)$", out, re.M)
    mse, mae = ((ref - x) ** 2).mean(), np.abs(ref - x).mean()
    ok(rc == 0 and m and abs(float(m.group(1)) - mse) <= 1e-4 * mse and abs(float(m.group(2)) - mae) <= 1e-4 * mae,
       "eval X.npy (autoencoder): mse %.6g, mae %.6g as numpy on Keras's outputs" % (mse, mae), (out + err)[-300:])
    last = out.strip().splitlines()[-1].split()
    ok("accuracy" not in out and len(last) == 2 and abs(float(last[0]) - mse) <= 1e-4 * mse
       and abs(float(last[1]) - mae) <= 1e-4 * mae, "regression publishes $mse and $mae", str(last))
    # explicit targets: Keras's own outputs give a near-zero error; shifted ones a known one
    rc, out, _ = k2t("eval %s %s" % (xin, xout), model=AD01)
    m = re.search(r"^mse: (\S+)\nmae: (\S+)$", out, re.M)
    ok(rc == 0 and m and float(m.group(1)) < 1e-8, "eval X.npy Y.npy (Y: Keras's outputs): mse ~ 0", out[-200:])
    np.save(tmp("ad_t.npy"), (ref + 0.5).astype(np.float32))
    rc, out, _ = k2t("eval %s %s" % (xin, tmp("ad_t.npy")), model=AD01)
    m = re.search(r"^mse: (\S+)\nmae: (\S+)$", out, re.M)
    ok(rc == 0 and m and abs(float(m.group(1)) - 0.25) < 1e-4 and abs(float(m.group(2)) - 0.5) < 1e-4,
       "eval X.npy Y.npy (Y: Keras's outputs + 0.5): mse 0.25, mae 0.5", out[-200:])
    np.save(tmp("ad_bad.npy"), np.zeros((4, 639), np.float32))
    rc, out, err = k2t("eval %s %s" % (xin, tmp("ad_bad.npy")), model=AD01)
    ok(rc == 1 and "ad_bad.npy' holds (639,) per sample" in err and "(640,)" in err,
       "regression targets of the wrong shape: an error naming both shapes", err[-300:])
    rc, out, err = k2t("eval --top 2 %s" % xin, model=AD01)
    ok(rc == 1 and "--top counts classes" in err, "--top on a regression is refused", err[-200:])


def test_keras_refs():
    """On every real model with Keras reference outputs: labels that are the Keras
    argmax give N/N, and the Keras outputs as regression targets an error of ~0."""
    if not os.path.isdir(REFS):
        skip("eval on the Keras references", "%s not found" % REFS)
        return
    for name, ref in (("vww_96.h5", "vww_96"), ("str_ww_ref_model.h5", "str_ww_ref_model"),
                      ("pretrainedResnet.h5", "pretrainedResnet.ic200")):
        model, xin, xout = os.path.join(MODELS, name), os.path.join(REFS, ref + ".in.npy"), \
            os.path.join(REFS, ref + ".out.npy")
        if not all(os.path.exists(p) for p in (model, xin, xout)):
            skip("eval on %s" % name, "model or refs missing")
            continue
        out = np.load(xout)
        n = out.shape[0]
        np.save(tmp("ref_y.npy"), out.argmax(1).astype(np.int32))
        rc, o, e = k2t("eval %s %s" % (xin, tmp("ref_y.npy")), model=model)
        ok(rc == 0 and accuracy(o) == (n, n), "%s: labels = Keras's argmax give %d/%d" % (name, n, n),
           (o + e)[-300:])
        rc, o, e = k2t("eval %s %s" % (xin, xout), model=model)
        m = re.search(r"^mse: (\S+)$", o, re.M)
        ok(rc == 0 and "with regression targets" in o and m and float(m.group(1)) < 1e-8,
           "%s: Keras's softmax outputs as targets (not one-hot: regression): mse ~ 0" % name, (o + e)[-300:])


def test_binary():
    """A single sigmoid (or logit) score with 0/1 labels is a binary classifier:
    class 1 where the score passes 0.5 (0 for a logit), counted in numpy."""
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    try:
        from gen_fixtures import Graph, write_model
    except Exception as e:  # h5py missing
        skip("eval binary", "cannot import scripts/gen_fixtures.py: %s" % e)
        return
    rng = np.random.RandomState(7)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    flip = rng.rand(300) < 0.1
    np.save(tmp("b_x.npy"), x)
    for act, thr in (("sigmoid", 0.5), ("linear", 0.0)):
        g = Graph("k24", 11)
        i = g.Input((6,))
        t = g.add("Dense", i, name="score", units=1, activation=act)
        g.outputs = [t]
        path = tmp("binary_%s.h5" % act)
        write_model(path, g)
        w = {v: a for v, a, _, _ in t.layer.weights}
        z = x.astype(np.float64) @ w["kernel"].astype(np.float64) + w["bias"]
        p = 1 / (1 + np.exp(-z)) if act == "sigmoid" else z
        # labels that mostly agree with the score, and where 0 vs 0.5 as threshold matters
        y = (z[:, 0] > 0.25).astype(int) ^ flip
        np.save(tmp("b_y.npy"), y.astype(np.float32))
        ok(((z[:, 0] > 0) != (z[:, 0] > 0.5)).any(), "binary test data separates the thresholds")
        want = int(((p[:, 0] > thr).astype(int) == y).sum())
        rc, out, err = k2t("eval %s %s" % (tmp("b_x.npy"), tmp("b_y.npy")), model=path)
        ok(rc == 0 and accuracy(out) == (want, 300) and ("> %g" % thr) in out,
           "binary %s output, 0/1 labels: accuracy %d/300 as numpy counts (threshold %g)" % (act, want, thr),
           (out + err)[-400:])
        rc, out, err = k2t("eval --top 1 %s %s" % (tmp("b_x.npy"), tmp("b_y.npy")), model=path)
        ok(rc == 1 and "one output score" in err, "binary: --top is refused", err[-200:])
    np.save(tmp("b_t.npy"), (y * 0.5).astype(np.float32))
    rc, out, err = k2t("eval %s %s" % (tmp("b_x.npy"), tmp("b_t.npy")), model=tmp("binary_sigmoid.h5"))
    ok(rc == 0 and "mse:" in out and "accuracy" not in out, "single score, targets not 0/1: regression",
       (out + err)[-300:])


def test_large_samples():
    """150x150x3 uint8 images (67,500 floats each: run one by one, three to a chunk):
    each sample's output as numpy computes it from the weights, over 7 samples (chunks
    of 3, 3 and 1) on one thread and two; a wrong pixel offset or a sample skipped or
    counted twice moves the mse."""
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    try:
        from gen_fixtures import Graph, write_model
    except Exception as e:  # h5py missing
        skip("eval large samples", "cannot import scripts/gen_fixtures.py: %s" % e)
        return
    g = Graph("k24", 23)
    i = g.Input((150, 150, 3))
    c = g.add("Conv2D", i, name="mix", filters=4, kernel_size=[1, 1], activation="relu")
    p = g.add("GlobalAveragePooling2D", c, name="gap")
    y = g.add("Dense", p, name="out", units=2)
    g.outputs = [y]
    path = tmp("large.h5")
    write_model(path, g)
    wc = {v: a for v, a, _, _ in c.layer.weights}
    wd = {v: a for v, a, _, _ in y.layer.weights}
    rng = np.random.RandomState(3)
    x = rng.randint(0, 256, (7, 150, 150, 3)).astype(np.uint8)
    h = np.maximum(x.astype(np.float64) @ wc["kernel"].reshape(3, 4).astype(np.float64) + wc["bias"], 0)
    ref = h.mean(axis=(1, 2)) @ wd["kernel"].astype(np.float64) + wd["bias"]
    d = np.arange(14, dtype=np.float64).reshape(7, 2) / 10.0  # each sample its own offset
    np.save(tmp("l_x.npy"), x)
    np.save(tmp("l_y.npy"), (ref + d).astype(np.float32))
    want = (d ** 2).mean()
    for th in (1, 2):
        rc, out, err = k2t("set threads %d" % th, "eval %s %s" % (tmp("l_x.npy"), tmp("l_y.npy")), model=path)
        m = re.search(r"^mse: (\S+)$", out, re.M)
        ok(rc == 0 and m and abs(float(m.group(1)) - want) <= 1e-3 * want and "7 samples" in out,
           "eval of 7 150x150 images on %d thread(s): mse %.6g as numpy computes it" % (th, want),
           (out + err)[-300:])


def test_constant_memory():
    """A larger X.npy is streamed: peak memory does not grow with the file."""
    if not os.path.exists(RESNET):
        skip("eval memory", "%s not found" % RESNET)
        return
    if not shutil.which("/usr/bin/time") and not os.path.exists("/usr/bin/time"):
        skip("eval memory", "no /usr/bin/time")
        return
    if "asan" in os.path.basename(K2T):
        skip("eval memory", "not measured under ASan")
        return
    rng = np.random.RandomState(0)
    peaks = []
    for n in (64, 4096):
        np.save(tmp("m_x.npy"), rng.randint(0, 256, (n, 32, 32, 3)).astype(np.uint8))
        np.save(tmp("m_y.npy"), rng.randint(0, 10, n))
        p = subprocess.run(["/usr/bin/time", "-f", "%M", K2T, "--batch", "--no-init", "-c",
                            "eval %s %s" % (tmp("m_x.npy"), tmp("m_y.npy")), RESNET],
                           capture_output=True, text=True, cwd=ROOT)
        try:
            peaks.append(int(p.stderr.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            peaks.append(None)
    if None in peaks:
        skip("eval memory", "could not measure")
        return
    # 4096 float samples would be 48 MiB held whole
    ok(peaks[1] - peaks[0] < 16 * 1024, "eval X.npy streams: peak RSS %d KiB for 64 samples, %d KiB for 4096"
       % tuple(peaks))


def main():
    try:
        test_errors_without_shared()
        test_npy_and_folder()
        test_regression()
        test_keras_refs()
        test_binary()
        test_large_samples()
        test_constant_memory()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    done()


if __name__ == "__main__":
    main()
