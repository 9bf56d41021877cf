#!/usr/bin/python3
"""gen_broken.py -- write a corpus of broken Keras .h5 files for k2t's error tests.

    /usr/bin/python3 scripts/gen_broken.py OUTDIR

Writes OUTDIR/<case>.h5 and OUTDIR/broken.tsv, one line per file:

    <file>\t<substring k2t's error message must contain>

Each file is a small valid model (built with gen_fixtures.py's writer, Keras
2.14 layout) with exactly one defect.  The expected substring names what is at
fault: `layer 'NAME'` for a bad layer config or a missing layer group,
`weight 'NAME'` (the variable name, e.g. 'kernel') for a bad dataset, and the
file's base name when the fault belongs to the file as a whole.
"""

import json
import os
import sys

import h5py
import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402

CASES = []  # (file, expected substring, what is wrong)


def case(fname, expect, why):
    def deco(fn):
        CASES.append((fname, expect, why, fn))
        return fn
    return deco


# ------------------------------------------------------------- base models

def conv_model(seed=900):
    """input_1 (8,8,3) -> conv2d (4, 3x3) -> flatten -> dense (3)."""
    g = gf.Graph("k214", seed, name="model")
    i = g.Input((8, 8, 3))
    x = g.add("Conv2D", i, filters=4, kernel_size=[3, 3])
    x = g.add("Flatten", x)
    x = g.add("Dense", x, units=3, activation="softmax")
    g.outputs = [x]
    return g


def dense_model(seed=901):
    """input_1 (4,) -> dense (3)."""
    g = gf.Graph("k214", seed, name="model")
    i = g.Input((4,))
    x = g.add("Dense", i, units=3)
    g.outputs = [x]
    return g


def layer_cfg(mc, name):
    for entry in mc["config"]["layers"]:
        if entry["name"] == name:
            return entry
    raise KeyError(name)


def write_with_config(path, g, edit):
    """Write g with its model_config passed through edit(mc) first."""
    mc = g.model_config()
    edit(mc)
    gf.write_model(path, g, config_override=mc)


# ------------------------------------------------------------------- cases

@case("not_hdf5.h5", "not_hdf5.h5", "a text file, not HDF5")
def c_not_hdf5(path):
    with open(path, "w") as f:
        f.write("This is not an HDF5 file; it is a model saved as text.\n")


@case("truncated.h5", "truncated.h5", "the first 3000 bytes of a valid model")
def c_truncated(path):
    tmp = path + ".full"
    gf.write_model(tmp, conv_model())
    with open(tmp, "rb") as f:
        data = f.read()
    os.remove(tmp)
    assert len(data) > 3000
    with open(path, "wb") as f:
        f.write(data[:3000])


@case("empty_hdf5.h5", "empty_hdf5.h5", "a valid HDF5 file with no attributes or groups")
def c_empty(path):
    with h5py.File(path, "w"):
        pass


@case("broken_json.h5", "broken_json.h5", "model_config is cut off in the middle (not valid JSON)")
def c_broken_json(path):
    g = conv_model()
    gf.write_model(path, g)
    text = json.dumps(g.model_config())
    with h5py.File(path, "r+") as f:
        gf.str_attr(f, "model_config", text[:len(text) // 2], "ascii")


@case("json_not_object.h5", "json_not_object.h5", "model_config is a JSON array")
def c_json_not_object(path):
    g = conv_model()
    gf.write_model(path, g, config_override=[1, 2])


@case("no_layers_key.h5", "no_layers_key.h5", "the Functional config has no 'layers'")
def c_no_layers(path):
    write_with_config(path, conv_model(), lambda mc: mc["config"].pop("layers"))


@case("unknown_inbound.h5", "layer 'dense'", "dense takes its input from a layer 'ghost' that does not exist")
def c_unknown_inbound(path):
    def edit(mc):
        layer_cfg(mc, "dense")["inbound_nodes"] = [[["ghost", 0, 0, {}]]]
    write_with_config(path, conv_model(), edit)


@case("cycle.h5", "cycle.h5", "dense and dense_1 feed each other")
def c_cycle(path):
    g = gf.Graph("k214", 902, name="model")
    i = g.Input((4,))
    x = g.add("Dense", i, units=4)
    x = g.add("Dense", x, units=4)
    g.outputs = [x]

    def edit(mc):
        layer_cfg(mc, "dense")["inbound_nodes"] = [[["dense_1", 0, 0, {}]]]
    write_with_config(path, g, edit)


@case("negative_filters.h5", "layer 'conv2d'", "Conv2D filters is -3")
def c_negative_filters(path):
    write_with_config(path, conv_model(),
                      lambda mc: layer_cfg(mc, "conv2d")["config"].update(filters=-3))


@case("absurd_kernel.h5", "layer 'conv2d'", "Conv2D kernel_size is [100000000, 100000000]")
def c_absurd_kernel(path):
    write_with_config(path, conv_model(), lambda mc: layer_cfg(mc, "conv2d")["config"].update(
        kernel_size=[100000000, 100000000]))


@case("absurd_input.h5", "layer 'input_1'",
      "the input is (1000000000, 1000000000, 3); every weight shape is consistent with it")
def c_absurd_input(path):
    g = gf.Graph("k214", 903, name="model")
    i = g.Input((8, 8, 3))
    x = g.add("Conv2D", i, filters=4, kernel_size=[3, 3])
    x = g.add("GlobalAveragePooling2D", x)
    x = g.add("Dense", x, units=3)
    g.outputs = [x]
    write_with_config(path, g, lambda mc: layer_cfg(mc, "input_1")["config"].update(
        batch_input_shape=[None, 1000000000, 1000000000, 3]))


@case("missing_weight.h5", "weight 'bias'", "weight_names lists conv2d/bias:0 but the dataset is absent")
def c_missing_weight(path):
    gf.write_model(path, conv_model())
    with h5py.File(path, "r+") as f:
        del f["model_weights/conv2d/conv2d/bias:0"]


@case("missing_group.h5", "layer 'dense'", "layer_names lists dense but /model_weights/dense is absent")
def c_missing_group(path):
    gf.write_model(path, conv_model())
    with h5py.File(path, "r+") as f:
        del f["model_weights/dense"]


@case("wrong_shape.h5", "weight 'kernel'", "dense kernel is (5, 3) where the config implies (4, 3)")
def c_wrong_shape(path):
    gf.write_model(path, dense_model())
    with h5py.File(path, "r+") as f:
        g = f["model_weights/dense"]
        del g["dense/kernel:0"]
        g.create_dataset("dense/kernel:0", data=np.full((5, 3), 0.1, np.float32), track_times=False)


@case("wrong_dtype.h5", "weight 'kernel'", "conv2d kernel is stored as strings, right shape")
def c_wrong_dtype(path):
    gf.write_model(path, conv_model())
    with h5py.File(path, "r+") as f:
        g = f["model_weights/conv2d"]
        del g["conv2d/kernel:0"]
        g.create_dataset("conv2d/kernel:0", data=np.full((3, 3, 3, 4), b"0.125", dtype="S8"),
                         track_times=False)


@case("huge_dataset.h5", "weight 'kernel'",
      "input (100000,) -> Dense(100000): kernel (100000, 100000) declared, never written (40 GB as float32)")
def c_huge(path):
    g = dense_model()

    def edit(mc):
        layer_cfg(mc, "input_1")["config"]["batch_input_shape"] = [None, 100000]
        layer_cfg(mc, "dense")["config"]["units"] = 100000
    write_with_config(path, g, edit)
    with h5py.File(path, "r+") as f:
        g = f["model_weights/dense"]
        del g["dense/kernel:0"]
        del g["dense/bias:0"]
        # Contiguous, late allocation, nothing written: no space is used.
        g.create_dataset("dense/kernel:0", (100000, 100000), dtype=np.float32, track_times=False)
        g.create_dataset("dense/bias:0", (100000,), dtype=np.float32, track_times=False)


@case("missing_weights_group.h5", "missing_weights_group.h5", "model_config present, no /model_weights")
def c_missing_weights_group(path):
    gf.write_model(path, conv_model())
    with h5py.File(path, "r+") as f:
        del f["model_weights"]


@case("bad_class_config.h5", "layer 'dense'", "Dense units is the string \"ten\"")
def c_bad_class_config(path):
    write_with_config(path, conv_model(),
                      lambda mc: layer_cfg(mc, "dense")["config"].update(units="ten"))


@case("zero_strides.h5", "layer 'conv2d'", "Conv2D strides is [0, 0]")
def c_zero_strides(path):
    write_with_config(path, conv_model(),
                      lambda mc: layer_cfg(mc, "conv2d")["config"].update(strides=[0, 0]))


@case("keras1.h5", "keras1.h5", "keras_version is 1.2.2 (Keras 1 layout, unsupported)")
def c_keras1(path):
    gf.write_model(path, conv_model())
    with h5py.File(path, "r+") as f:
        gf.str_attr(f, "keras_version", "1.2.2", "utf8")
        gf.str_attr(f["model_weights"], "keras_version", "1.2.2", "ascii")


@case("dup_layer_name.h5", "layer 'dense'", "two layers in the config are both named dense")
def c_dup(path):
    g = gf.Graph("k214", 904, name="model")
    i = g.Input((4,))
    x = g.add("Dense", i, units=4)
    x = g.add("Dense", x, units=4)
    g.outputs = [x]

    def edit(mc):
        e = layer_cfg(mc, "dense_1")
        e["name"] = e["config"]["name"] = "dense"
        e["inbound_nodes"] = [[["dense", 0, 0, {}]]]
        mc["config"]["output_layers"] = [["dense", 0, 0]]
    write_with_config(path, g, edit)


@case("no_weight_names.h5", "layer 'conv2d'", "the conv2d group has no weight_names attribute")
def c_no_weight_names(path):
    gf.write_model(path, conv_model())
    with h5py.File(path, "r+") as f:
        del f["model_weights/conv2d"].attrs["weight_names"]


# ------------------------------------------- hostile: reads of other files

def _replace_kernel(path, make):
    """conv_model() with conv2d's kernel dataset replaced by make(group, name, data)."""
    g = conv_model()
    gf.write_model(path, g)
    with h5py.File(path, "r+") as f:
        grp = f["model_weights/conv2d/conv2d"]
        data = grp["kernel:0"][()]
        del grp["kernel:0"]
        make(grp, "kernel:0", data)


@case("external_storage.h5", "external file",
      "conv2d kernel keeps its bytes in an external file (external= storage), as one pointing at /etc/passwd would")
def c_external_storage(path):
    secret = os.path.join(os.path.dirname(os.path.abspath(path)), "external_secret.bin")
    with open(secret, "wb") as f:
        f.write(np.full((3, 3, 3, 4), 0.5, np.float32).tobytes())

    def make(grp, name, data):
        grp.create_dataset(name, shape=data.shape, dtype=np.float32,
                           external=[(secret, 0, data.size * 4)], track_times=False)
    _replace_kernel(path, make)


@case("virtual_dataset.h5", "virtual dataset",
      "conv2d kernel is a virtual dataset mapped from another file")
def c_virtual(path):
    src = os.path.join(os.path.dirname(os.path.abspath(path)), "virtual_source.h5")
    with h5py.File(src, "w") as f:
        f.create_dataset("data", data=np.full((3, 3, 3, 4), 0.25, np.float32))

    def make(grp, name, data):
        layout = h5py.VirtualLayout(shape=data.shape, dtype=np.float32)
        layout[...] = h5py.VirtualSource(src, "data", shape=data.shape)
        grp.create_virtual_dataset(name, layout)
    _replace_kernel(path, make)


@case("external_link_weight.h5", "external link",
      "conv2d kernel is an external link to a dataset in another file")
def c_external_link_weight(path):
    src = os.path.join(os.path.dirname(os.path.abspath(path)), "virtual_source.h5")
    if not os.path.exists(src):
        c_virtual(path)  # writes the source file too

    def make(grp, name, data):
        grp[name] = h5py.ExternalLink(src, "/data")
    _replace_kernel(path, make)


@case("external_link_group.h5", "external link",
      "the whole model_weights/dense group is an external link to another file's group")
def c_external_link_group(path):
    other = os.path.join(os.path.dirname(os.path.abspath(path)), "external_group_source.h5")
    gf.write_model(other, conv_model())
    gf.write_model(path, conv_model())
    with h5py.File(path, "r+") as f:
        del f["model_weights/dense"]
        f["model_weights/dense"] = h5py.ExternalLink(other, "/model_weights/dense")


@case("sparse_chunked.h5", "weight 'kernel'",
      "input (30000,) -> Dense(30000): kernel (30000, 30000) chunked, one chunk written (3.6 GB of fill values)")
def c_sparse_chunked(path):
    g = dense_model()

    def edit(mc):
        layer_cfg(mc, "input_1")["config"]["batch_input_shape"] = [None, 30000]
        layer_cfg(mc, "dense")["config"]["units"] = 30000
    write_with_config(path, g, edit)
    with h5py.File(path, "r+") as f:
        g = f["model_weights/dense"]
        del g["dense/kernel:0"]
        del g["dense/bias:0"]
        k = g.create_dataset("dense/kernel:0", (30000, 30000), dtype=np.float32, chunks=(100, 100),
                             track_times=False)
        k[0:100, 0:100] = 0.5
        g.create_dataset("dense/bias:0", data=np.zeros(30000, np.float32), track_times=False)


# ------------------------------------------------ hostile: graph references

def _dense_input(path, ref):
    def edit(mc):
        layer_cfg(mc, "dense")["inbound_nodes"] = [[ref]]
    write_with_config(path, conv_model(), edit)


@case("bad_tensor_index.h5", "output tensor 99 of layer 'flatten'",
      "dense takes output tensor 99 of flatten, which has one output")
def c_bad_tensor_index(path):
    _dense_input(path, ["flatten", 0, 99, {}])


@case("negative_tensor_index.h5", "output tensor -1 of layer 'flatten'",
      "dense takes output tensor -1 of flatten")
def c_negative_tensor_index(path):
    _dense_input(path, ["flatten", 0, -1, {}])


@case("huge_tensor_index.h5", "output tensor 2147483648 of layer 'flatten'",
      "dense takes output tensor 2^31 of flatten (would wrap to a negative int)")
def c_huge_tensor_index(path):
    _dense_input(path, ["flatten", 0, 2 ** 31, {}])


@case("bad_node_index.h5", "call 7 of layer 'flatten'",
      "dense takes its input from call 7 of flatten, which is called once")
def c_bad_node_index(path):
    _dense_input(path, ["flatten", 7, 0, {}])


@case("huge_node_index.h5", "call -2147483648 of layer 'flatten'",
      "dense takes its input from call -2^31 of flatten")
def c_huge_node_index(path):
    _dense_input(path, ["flatten", -2 ** 31, 0, {}])


@case("inbound_object.h5", "layer 'conv2d'",
      "conv2d's inbound_nodes is a JSON object instead of a list (the next layer is not to blame)")
def c_inbound_object(path):
    def edit(mc):
        layer_cfg(mc, "conv2d")["inbound_nodes"] = {"args": []}
    write_with_config(path, conv_model(), edit)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: gen_broken.py OUTDIR\n")
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    lines = []
    for fname, expect, why, fn in CASES:
        fn(os.path.join(out, fname))
        lines.append("%s\t%s\n" % (fname, expect))
    with open(os.path.join(out, "broken.tsv"), "w") as f:
        f.writelines(lines)
    with open(os.path.join(out, "broken.md"), "w") as f:
        f.write("# Broken .h5 corpus (scripts/gen_broken.py)\n\n| file | error must contain | defect |\n|---|---|---|\n")
        for fname, expect, why, _ in CASES:
            f.write("| %s | `%s` | %s |\n" % (fname, expect, why))
    print("wrote %d broken files and broken.tsv to %s" % (len(CASES), out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
