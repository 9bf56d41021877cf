#!/usr/bin/python3
"""gen_keras3.py -- write Keras 3 .keras archives (and hostile ones) for k2t tests.

    /usr/bin/python3 scripts/gen_keras3.py OUTDIR

No Keras is needed: the models are built with gen_fixtures.py's Graph (which
also writes each one as a legacy .h5 twin, OUTDIR/<name>.twin.h5, the layout
the tfjs oracle and the other tests already check), and the archive is
written in Keras 3's own layout (shared/KERAS-FORMAT.md section 5;
keras/src/saving/saving_lib.py):

  * zipfile.ZipFile(path, "w") with the default ZIP_STORED, members
    metadata.json ({"keras_version", "date_saved"}), config.json,
    model.weights.h5;
  * config.json is serialize_keras_object(model): every object carries
    module, class_name, config, registered_name and build_config; Functional
    inbound_nodes are {"args": [__keras_tensor__ ...], "kwargs": {}};
  * model.weights.h5 holds layers/<snake_case class>[_N]/vars/<i>, numbered
    per class in model.layers order (_save_container_state), RNN cells at
    layers/lstm/cell/vars/<i>, nested models at layers/functional/layers/...,
    and since Keras 3.10 the attribute vars@name = the layer's name.

Variants: Keras 2.15 (_layer_checkpoint_dependencies, list-form nodes), a
Windows-written file (flat group names with backslashes), a subclassed model,
an unsupported layer with nested weights, a .keras that is really HDF5, and
hostile archives.  Also lambda_nul.h5, a legacy H5 whose Lambda holds raw
marshalled bytecode with NUL bytes (Keras 2.0.7).  OUTDIR/expect_keras3.json
has each archive's parameter totals (from this script's own arrays).
Everything is deterministic (fixed seeds, fixed zip timestamps).
"""
import io
import json
import marshal
import os
import re
import shutil
import struct
import sys
import zipfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402

DATE = (2025, 1, 2, 3, 4, 6)


def snake(name):
    """keras/src/utils/naming.py::to_snake_case."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


# ------------------------------------------------------------------- config

def k3_envelope(e, shape_in, keras2=False):
    """A {class_name, config} layer entry as serialize_keras_object writes it."""
    out = {"module": "keras.layers", "class_name": e["class_name"], "config": e["config"],
           "registered_name": None}
    if e["class_name"] in ("Functional", "Sequential"):
        out["module"] = "keras.src.models.functional" if e["class_name"] == "Functional" else "keras"
        out["registered_name"] = e["class_name"] if e["class_name"] == "Functional" else None
    if e["class_name"] != "InputLayer" and not keras2:
        out["build_config"] = {"input_shape": shape_in}
    for k in ("name", "inbound_nodes"):
        if k in e:
            out[k] = e[k]
    return out


def k3_config(g, keras2=False):
    """g's model_config() in the .keras envelope, nested models included."""
    mc = g.model_config()

    def wrap_graph(gr, cfg):
        layers = cfg["layers"] if isinstance(cfg, dict) else cfg
        ls = [L for L in gr.layers if gr.kind != "Sequential" or gr.seq_has_input or L.cls != "InputLayer"]
        new = []
        for L, e in zip(ls, layers):
            shp = None
            if L.calls:
                ins = L.calls[0]
                shp = [None] + list(ins[0].shape) if len(ins) == 1 else [[None] + list(t.shape) for t in ins]
            if L.sub is not None:
                e = dict(e)
                e["config"] = wrap_graph(L.sub, e["config"])
            new.append(k3_envelope(e, shp, keras2))
        if isinstance(cfg, dict):
            cfg = dict(cfg)
            cfg["layers"] = new
            return cfg
        return new

    cfg = wrap_graph(g, mc["config"])
    top = {"module": "keras.src.models.functional" if mc["class_name"] == "Functional" else "keras",
           "class_name": mc["class_name"], "config": cfg,
           "registered_name": "Functional" if mc["class_name"] == "Functional" else None}
    if not keras2:
        top["build_config"] = {"input_shape": None}
    top["compile_config"] = None
    return top


# ------------------------------------------------------------------ weights

def has_weights(L):
    if L.sub is not None:
        return any(has_weights(x) for x in L.sub.layers)
    return bool(L.weights)


def k3_vars(g, legacy=False):
    """[(group path, [arrays], layer name)] in Keras 3's saving order.

    legacy: tf.keras 2.13-2.15, whose saver walked _layer_checkpoint_dependencies, where a
    layer with weights appears twice (layer_with_weights-K, then layer-I): its class counter
    moves twice, so the 2nd Conv2D with weights is conv2d_2 (verified on a real 2.13.1 archive)."""
    out = []

    def walk(gr, prefix):
        used = {}
        for L in gr.layers:
            if gr.kind == "Sequential" and L.cls == "InputLayer":
                continue  # Sequential.layers drops it
            cls = L.sub.kind if L.sub is not None else L.cls
            s = snake(cls)
            if s in used:
                used[s] += 1
                s = "%s_%d" % (s, used[s])
            else:
                used[s] = 0
            path = "%slayers/%s" % (prefix, s)
            if legacy and has_weights(L):
                used[snake(cls)] += 1  # the layer's second appearance takes the next number
            if L.sub is not None:
                walk(L.sub, path + "/")
                continue
            arrs = [a for _, a, _, _ in L.weights]
            if L.cls == "Bidirectional":  # forward_layer / backward_layer attributes
                n = len(arrs) // 2
                out.append((path + "/backward_layer/cell", arrs[n:], None))
                out.append((path + "/forward_layer/cell", arrs[:n], None))
                out.append((path, [], L.name))
            elif L.cls in ("LSTM", "GRU", "SimpleRNN"):
                out.append((path + "/cell", arrs, None))
                out.append((path, [], L.name))
            elif L.cls == "TimeDistributed":  # the wrapped layer is its 'layer' attribute
                out.append((path + "/layer", arrs, None))
                out.append((path, [], L.name))
            else:
                out.append((path, arrs, L.name))

    walk(g, "")
    return out


def weights_h5(g, style="k3", name_attr=True, extra=None):
    """model.weights.h5 as bytes.  style: "k3", "k215" or "windows"."""
    bio = io.BytesIO()
    with h5py.File(bio, "w", track_order=False) as f:
        for path, arrs, lname in k3_vars(g, legacy=style == "k215") + (extra or []):
            if style == "k215":
                path = path.replace("layers/", "_layer_checkpoint_dependencies/")
            vp = path + "/vars"
            if style == "windows":
                grp = f.create_group(vp.replace("/", "\\"))
            else:
                grp = f.require_group(vp)
            if name_attr and lname is not None:
                grp.attrs.create("name", lname, dtype=h5py.string_dtype("utf-8"))
            for i, a in enumerate(arrs):
                grp.create_dataset(str(i), data=np.asarray(a, np.float32), track_times=False)
        if style != "windows":
            f.require_group("optimizer/vars")
    return bio.getvalue()


def write_zip(path, members, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        for name, data in members:
            zi = zipfile.ZipInfo(name, DATE)
            zi.compress_type = compress
            z.writestr(zi, data)


def archive(path, g, keras_version="3.10.0", style="k3", name_attr=True, cfg=None, extra=None):
    keras2 = keras_version.startswith("2.")
    meta = json.dumps({"keras_version": keras_version, "date_saved": "2025-01-02@03:04:05"})
    cfg = cfg if cfg is not None else k3_config(g, keras2)
    write_zip(path, [("metadata.json", meta), ("config.json", json.dumps(cfg)),
                     ("model.weights.h5", weights_h5(g, style, name_attr, extra))])


def totals(g, extra=()):
    total = sum(L.n_params() for L in g.layers) + sum(int(np.asarray(a).size) for _, arrs, _ in extra
                                                      for a in arrs)
    tr = sum(L.n_trainable() for L in g.layers) + sum(int(np.asarray(a).size) for _, arrs, _ in extra for a in arrs)
    return {"total_params": total, "trainable_params": tr}


# ------------------------------------------------------------------- models

def m_cnn(style="k3"):
    g = gf.Graph(style, 301, name="cnn")
    i = g.Input((8, 8, 3))
    x = g.add("Conv2D", i, filters=4, kernel_size=[3, 3], padding="same", activation="relu")
    x = g.add("BatchNormalization", x, axis=-1)
    x = g.add("DepthwiseConv2D", x, kernel_size=[3, 3], padding="same")
    x = g.add("BatchNormalization", x, axis=-1)
    s = g.add("Conv2D", i, filters=4, kernel_size=[1, 1])
    x = g.add("Add", [x, s])
    x = g.add("MaxPooling2D", x, pool_size=[2, 2])
    x = g.add("GlobalAveragePooling2D", x)
    for _ in range(11):  # dense .. dense_10: vars of "dense_10" after "dense_9"
        x = g.add("Dense", x, units=4, activation="relu")
    x = g.add("Dense", x, units=3, activation="softmax")
    g.outputs = [x]
    return g


def m_seq():
    g, t = gf.Sequential("k3", 302, name="sequential", input_shape=(6,), input_name="input_layer")
    t = g.add("Dense", t, units=5, activation="relu")
    t = g.add("Dense", t, units=3, activation="softmax")
    g.outputs = [t]
    return g


def m_nested():
    inner = gf.Graph("k3", 303, name="inner")
    i = inner.Input((6,), name="inner_input")
    x = inner.add("Dense", i, name="inner_dense", units=4, activation="tanh")
    x = inner.add("BatchNormalization", x, name="inner_bn", axis=-1)
    inner.outputs = [x]
    seq, t = gf.Sequential("k3", 308, name="inner_seq", input_shape=(4,), input_name="inner_seq_input")
    t = seq.add("Dense", t, name="seq_dense", units=3, activation="relu")
    seq.outputs = [t]
    g = gf.Graph("k3", 304, name="outer")
    i = g.Input((6,), name="outer_input")
    a = g.nest(inner, i)
    a = g.nest(seq, a)
    x = g.add("Dense", a, name="head", units=2)
    g.outputs = [x]
    return g


def m_lstm():
    g = gf.Graph("k3", 305, name="rnn")
    i = g.Input((5, 3))
    x = g.add("LSTM", i, units=4)
    x = g.add("Dense", x, units=2)
    g.outputs = [x]
    return g


def m_bidi():
    g = gf.Graph("k3", 309, name="bidi")
    i = g.Input((6, 4))
    x = g.add("Bidirectional", i, name="bi_lstm", layer=("LSTM", {"units": 5, "return_sequences": True}))
    x = g.add("Bidirectional", x, name="bi_rnn", merge_mode="ave", layer=("SimpleRNN", {"units": 3}))
    x = g.add("Dense", x, units=2)
    g.outputs = [x]
    return g


def m_td():
    g = gf.Graph("k3", 311, name="td")
    i = g.Input((3, 5, 5, 2))
    x = g.add("TimeDistributed", i, name="td_conv", layer=("Conv2D", {"filters": 3, "kernel_size": [3, 3],
                                                                       "padding": "same", "activation": "relu"}))
    x = g.add("TimeDistributed", x, name="td_bn", layer=("BatchNormalization", {"axis": -1}))
    x = g.add("TimeDistributed", x, name="td_pool", layer=("MaxPooling2D", {"pool_size": [2, 2]}))
    x = g.add("TimeDistributed", x, name="td_flat", layer=("Flatten", {}))
    x = g.add("TimeDistributed", x, name="td_dense", layer=("Dense", {"units": 4}))
    x = g.add("Flatten", x)
    x = g.add("Dense", x, units=2)
    g.outputs = [x]
    return g


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: gen_keras3.py OUTDIR\n")
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    P = lambda n: os.path.join(out, n)  # noqa: E731
    expect = {}

    def save(name, g, twin=True, **kw):
        archive(P(name), g, **kw)
        if twin:
            gf.write_model(P(name.replace(".keras", ".twin.h5")), g)
        expect[name] = totals(g, kw.get("extra") or ())

    save("cnn.keras", m_cnn())
    save("seq.keras", m_seq())
    save("nested.keras", m_nested())
    save("lstm.keras", m_lstm())
    save("bidi.keras", m_bidi())
    save("td.keras", m_td())
    save("cnn_deflated.keras", m_cnn(), twin=False)
    with zipfile.ZipFile(P("cnn_deflated.keras")) as z:
        mem = [(n, z.read(n)) for n in z.namelist()]
    write_zip(P("cnn_deflated.keras"), mem, compress=zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(P("cnn_zip64.keras"), "w") as z:  # ZIP64 extra fields
        for n, d in mem:
            with z.open(zipfile.ZipInfo(n, DATE), "w", force_zip64=True) as w:
                w.write(d)
    expect["cnn_zip64.keras"] = expect["cnn_deflated.keras"]
    save("cnn_oldnames.keras", m_cnn(), name_attr=False, keras_version="3.5.0")
    save("k215.keras", m_cnn("k214"), keras_version="2.15.0", style="k215", twin=False, name_attr=False)
    save("windows.keras", m_seq(), style="windows", twin=False)

    # A MultiHeadAttention-like layer k2t cannot run, with nested weights.
    g = m_seq()
    rng = np.random.RandomState(7)
    mha = [("layers/multi_head_attention/_query_dense", [rng.randn(3, 2, 2), rng.randn(2, 2)], None),
           ("layers/multi_head_attention/_key_dense", [rng.randn(3, 2, 2), rng.randn(2, 2)], None),
           ("layers/multi_head_attention/_output_dense", [rng.randn(2, 2, 3), rng.randn(3)], None),
           ("layers/multi_head_attention", [np.full(i + 1, i) for i in range(12)], "mha")]
    cfg = k3_config(g)
    ent = {"module": "keras.layers", "class_name": "MultiHeadAttention", "registered_name": None,
           "config": {"name": "mha", "trainable": True, "dtype": "float32", "num_heads": 2, "key_dim": 2},
           "build_config": {"shapes_dict": {"query_shape": [None, 3], "value_shape": [None, 3]}}}
    cfg["config"]["layers"].append(ent)
    save("unsupported.keras", g, cfg=cfg, extra=mha, twin=False)

    # A subclassed model: config.json has the constructor's arguments only.
    sub = {"module": "__main__", "class_name": "MyModel", "config": {"units": 4, "name": "my_model",
           "trainable": True}, "registered_name": "MyModel", "build_config": {"input_shape": [None, 6]}}
    save("subclassed.keras", m_seq(), cfg=sub, twin=False)

    # A .keras that is really a legacy H5 (model.save("x.keras") in old tf.keras).
    gf.write_model(P("really_h5.keras"), m_seq())

    # Hostile and broken archives.
    good = open(P("seq.keras"), "rb").read()
    with zipfile.ZipFile(P("seq.keras")) as z:
        mem = {n: z.read(n) for n in z.namelist()}
    write_zip(P("h_dotdot.keras"), list(mem.items()) + [("../evil.txt", b"x")])
    write_zip(P("h_absolute.keras"), [("/tmp/k2t_evil.txt", b"x")] + list(mem.items()))
    write_zip(P("h_noconfig.keras"), [(n, d) for n, d in mem.items() if n != "config.json"])
    write_zip(P("h_noweights.keras"), [(n, d) for n, d in mem.items() if n != "model.weights.h5"])
    write_zip(P("h_npz.keras"), [(n, d) for n, d in mem.items() if n != "model.weights.h5"] +
              [("model.weights.npz", b"PK\x05\x06" + b"\0" * 18)])
    write_zip(P("h_badjson.keras"), [(n, (b"{\"class_name\": " if n == "config.json" else d))
                                     for n, d in mem.items()])
    import warnings
    warnings.filterwarnings("ignore", "Duplicate name")
    with zipfile.ZipFile(P("h_duplicate.keras"), "w") as z:
        for n, d in list(mem.items()) + [("config.json", b"{}")]:
            zi = zipfile.ZipInfo(n, DATE)
            with z.open(zi, "w") as w:  # writestr would warn about the duplicate
                w.write(d)
    open(P("h_truncated.keras"), "wb").write(good[:len(good) // 2])
    b = bytearray(good)  # config.json's bytes changed after the CRC was written
    i = b.find(b'"class_name"')
    b[i + 1:i + 6] = b"CLASS"
    open(P("h_crc.keras"), "wb").write(bytes(b))
    open(P("h_garbage.keras"), "wb").write(b"PK\x03\x04" + bytes(range(256)) * 8)
    # A member declaring 3 GB: both size fields (local header and central
    # directory) patched, so libzip's consistency check passes.
    write_zip(P("h_huge.keras"), [("metadata.json", mem["metadata.json"]), ("config.json", mem["config.json"]),
                                  ("model.weights.h5", b"\x89HDF\r\n\x1a\n")], compress=zipfile.ZIP_DEFLATED)
    b = bytearray(open(P("h_huge.keras"), "rb").read())
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        i = b.rfind(sig)
        struct.pack_into("<I", b, i + off, 3 << 30)
    open(P("h_huge.keras"), "wb").write(bytes(b))
    # An encrypted member: general purpose flag bit 0 in both headers.
    b = bytearray(good)
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = b.find(sig)
        while i >= 0:
            b[i + off] |= 1
            i = b.find(sig, i + 4)
    open(P("h_encrypted.keras"), "wb").write(bytes(b))
    # Weights whose vars@name disagrees with the config's layer order.
    g = m_seq()
    data = weights_h5(g)
    bio = io.BytesIO(data)
    with h5py.File(bio, "r+") as f:
        f["layers/dense/vars"].attrs.create("name", "dense_1", dtype=h5py.string_dtype("utf-8"))
    write_zip(P("h_wrongname.keras"), [("metadata.json", mem["metadata.json"]),
                                       ("config.json", mem["config.json"]), ("model.weights.h5", bio.getvalue())])
    # A variable too many for a Dense.
    extra = [("layers/dense", [], None)]
    bio = io.BytesIO(data)
    with h5py.File(bio, "r+") as f:
        f["layers/dense/vars"].create_dataset("2", data=np.zeros(3, np.float32))
    write_zip(P("h_extravar.keras"), [("metadata.json", mem["metadata.json"]),
                                      ("config.json", mem["config.json"]), ("model.weights.h5", bio.getvalue())])
    del extra
    # A layer's weights group missing (a model edited after saving).
    bio = io.BytesIO(data)
    with h5py.File(bio, "r+") as f:
        del f["layers/dense_1"]
    write_zip(P("h_missinggroup.keras"), [("metadata.json", mem["metadata.json"]),
                                          ("config.json", mem["config.json"]), ("model.weights.h5", bio.getvalue())])

    # Keras 2.0.7: a Lambda whose function is raw marshal bytes in a JSON
    # string (NUL bytes become \\u0000), in a legacy H5.
    lam_g = gf.Graph("k214", 306, name="model")
    i = lam_g.Input((4,))
    x = lam_g.add("Dense", i, units=4)
    fn = eval(compile("lambda x, scale=2.0: x * scale + offset_value", "<lambda-fixture>", "eval"))
    x = lam_g.add("Lambda", x, function=fn)
    x = lam_g.add("Dense", x, units=2)
    lam_g.outputs = [x]
    mc = lam_g.model_config()
    code = marshal.dumps(fn.__code__)
    assert b"\0" in code
    for e in mc["config"]["layers"]:
        if e["class_name"] == "Lambda":
            e["config"]["function"] = [code.decode("latin-1"), None, None]
            e["config"]["function_type"] = "lambda"
    gf.write_model(P("lambda_nul.h5"), lam_g, config_override=mc)
    expect["lambda_nul.h5"] = totals(lam_g)

    # Keras 3 Lambdas: __lambda__ (base64 marshal), a named function, source
    # text; a Dense after them (unknown input shape) still gets its names.
    g, t = gf.Sequential("k3", 307, name="lambdas", input_shape=(4,), input_name="input_layer")
    fn = eval(compile("lambda x: x * gain_k3", "<lambda-k3>", "eval"))
    t = g.add("Lambda", t, name="lam_code", function=fn)
    t = g.add("Lambda", t, name="lam_fn", function=fn)
    t = g.add("Lambda", t, name="lam_src", function=fn)
    t = g.add("Dense", t, name="after", units=2)
    g.outputs = [t]
    cfg = k3_config(g)
    import base64
    code = base64.b64encode(marshal.dumps(fn.__code__)).decode("ascii")
    funcs = {"lam_code": {"class_name": "__lambda__", "config": {"code": code, "defaults": None, "closure": None}},
             "lam_fn": {"module": "my_module", "class_name": "function", "config": "my_fn",
                        "registered_name": "function"},
             "lam_src": {"class_name": "__lambda__", "config": {"code": "lambda x: x * 3.0", "defaults": None,
                                                                "closure": None}}}
    for e in cfg["config"]["layers"]:
        if e["class_name"] == "Lambda":
            name = e["config"]["name"]
            e["config"] = {"name": name, "trainable": True, "dtype": "float32", "function": funcs[name],
                           "arguments": {}, "output_shape": None, "mask": None}
    save("lambda_k3.keras", g, cfg=cfg, twin=False)

    with open(P("expect_keras3.json"), "w") as f:
        json.dump(expect, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote .keras fixtures to %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
