#!/usr/bin/python3
"""Random augmentation layers are the identity at inference (Keras: training=False), so a model that
keeps them in front (data_augmentation = Sequential([RandomFlip, RandomRotation, ...])) runs; the
reference is the same model without them, in numpy.  RandomCrop, which crops at inference too, stays
unsupported and run names it."""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "scripts"))
from k2tlib import done, k2t, ok  # noqa: E402
from gen_fixtures import Graph, write_model  # noqa: E402

tmp = tempfile.mkdtemp(prefix="k2t_aug_")
path = os.path.join(tmp, "aug.h5")
g = Graph("k214", 91)
x = g.Input((4, 4, 3))
a = g.add("RandomFlip", x, name="flip", mode="horizontal")
a = g.add("RandomRotation", a, name="rot", factor=0.2)
a = g.add("RandomZoom", a, name="zoom", height_factor=0.1)
a = g.add("RandomContrast", a, name="contrast", factor=0.3)
a = g.add("Flatten", a, name="flat")
y = g.add("Dense", a, name="dense", units=3)
g.outputs = [y]
write_model(path, g)
w = {v: arr for L in g.layers for v, arr, _, _ in L.weights}
xs = np.random.RandomState(92).normal(0, 1, (2, 4, 4, 3)).astype(np.float32)
np.save(os.path.join(tmp, "x.npy"), xs)
rc, out, err = k2t("input " + os.path.join(tmp, "x.npy"), "run", "save dense " + os.path.join(tmp, "y.npy"),
                   "info flip", model=path)
if ok(rc == 0, "a model with RandomFlip, RandomRotation, RandomZoom, RandomContrast runs", err):
    want = xs.reshape(2, -1).astype(np.float64) @ w["kernel"] + w["bias"]
    got = np.load(os.path.join(tmp, "y.npy"))
    ok(np.abs(got - want).max() < 1e-5, "the augmentation layers pass the input through at inference",
       "max %g" % np.abs(got - want).max())
    ok("identity at inference" in out, "info says what an augmentation layer does at inference", out[-400:])

cpath = os.path.join(tmp, "crop.h5")
g = Graph("k214", 93)
x = g.Input((6, 6, 3))
a = g.add("RandomCrop", x, name="crop", height=4, width=4)
g.outputs = [g.add("Flatten", a, name="flat")]
write_model(cpath, g)
rc, out, err = k2t("input random", "run", "echo alive", model=cpath)
ok(rc == 1 and "RandomCrop" in err and "alive" in out, "RandomCrop (it crops at inference) is refused by name", err)
done()
