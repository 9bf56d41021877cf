#!/usr/bin/python3
"""gen_fixtures.py -- write small Keras-format .h5 fixture models for k2t tests.

    /usr/bin/python3 scripts/gen_fixtures.py OUTDIR

Writes OUTDIR/<fixture>.h5 and OUTDIR/expect.json.  Only h5py and numpy are
needed (use Debian's /usr/bin/python3); no TensorFlow.

Every file copies the layout that a real Keras version writes (see
shared/KERAS-FORMAT.md sections 0-3 and the real files in shared/models):

  * root attributes keras_version/backend/model_config[/training_config] are
    scalar variable-length strings: keras_version and backend are UTF-8 (they
    are Python str in Keras >= 2.3), model_config is ASCII (json.dumps(...)
    .encode('utf8') gives bytes).  Standalone Keras 2.2 encoded keras_version
    and backend to bytes as well, so they are ASCII in seq_list.h5.
  * /model_weights has layer_names, backend, keras_version (bytes, so ASCII).
    List attributes are fixed-length NULLPAD 'S' arrays for the h5py 2.x era
    (Keras <= 2.4) and variable-length ASCII for h5py 3 (Keras 2.14, 3.x);
    chunked parts (name0, name1, ...) are always fixed-length; an empty list
    is a float64 array of shape (0,).
  * one group per layer, created in name-sorted order (Keras 2.2 created them
    in model order); float32 contiguous datasets at <layer>/<weight name>.

The configs are what Keras itself writes for each version: every layer config
carries name, trainable, dtype and the class's full set of keys with Keras's
defaults.  expect.json holds, for each fixture, the parameter counts and each
node's class and per-sample output shape, all computed here by independent
shape formulas (not read back from the files).

Weights are random but "trained-looking" (kernels normal*0.2, BN gamma around
1, moving_variance in [0.5, 1.5]); each model has its own fixed RandomState
seed, so the output is byte-for-byte reproducible.
"""

import base64
import json
import marshal
import math
import os
import re
import sys

import h5py
import numpy as np

# --------------------------------------------------------------------- styles
#
# A style is what one Keras version (plus the h5py it ran with) writes.

STYLES = {
    # Standalone Keras 2.2.2 with h5py 2.x.
    "k222": dict(keras_version="2.2.2", strings="fixed", root_str="ascii",
                 init="k222", dtype="first", top_level=False,
                 group_order="model", suffix=":0", names_from=1),
    # tf.keras 2.4 (TF 2.3/2.4) with h5py 2.10, like shared/models/pretrainedResnet.h5.
    "k24": dict(keras_version="2.4.0", strings="fixed", root_str="utf8",
                init="plain", dtype="all", top_level=False,
                group_order="sorted", suffix=":0", names_from=0),
    # Keras 2.14 with h5py 3, like shared/models/str_ww_ref_model.h5.
    "k214": dict(keras_version="2.14.0", strings="vlen", root_str="utf8",
                 init="module", dtype="all", top_level=True,
                 group_order="sorted", suffix=":0", names_from=0),
    # Keras 3.5 writing the legacy .h5 (keras/src/legacy/saving/legacy_h5_format.py).
    "k3": dict(keras_version="3.5.0", strings="vlen", root_str="utf8",
               init="module", dtype="policy", top_level=True,
               group_order="sorted", suffix="", names_from=0),
}

BACKEND = "tensorflow"


def is_k3(style):
    return style == "k3"


# ------------------------------------------------------- config value helpers

class Init:
    """An initializer (or regularizer) as it appears in a layer config."""

    def __init__(self, class_name, config=None):
        self.class_name = class_name
        self.config = {} if config is None else config


def glorot():
    return Init("GlorotUniform", {"seed": None})


def zeros():
    return Init("Zeros")


def ones():
    return Init("Ones")


def ser_init(obj, style):
    """Serialize an Init the way the style's Keras does."""
    if obj is None:
        return None
    if STYLES[style]["init"] == "k222":
        # Keras 2.2: glorot_uniform() is a VarianceScaling instance.
        if obj.class_name == "GlorotUniform":
            return {"class_name": "VarianceScaling",
                    "config": {"scale": 1.0, "mode": "fan_avg",
                               "distribution": "uniform", "seed": None}}
        return {"class_name": obj.class_name, "config": dict(obj.config)}
    if STYLES[style]["init"] == "plain":
        return {"class_name": obj.class_name, "config": dict(obj.config)}
    mod = "keras.initializers"
    if obj.class_name in ("L1", "L2", "L1L2"):
        mod = "keras.regularizers"
    return {"module": mod, "class_name": obj.class_name,
            "config": dict(obj.config), "registered_name": None}


def f32(x):
    """A float as Keras 2 writes a value it cast to float32 (cast_to_floatx)."""
    return float(np.float32(x))


def to_snake_case(name):
    """Keras's layer auto-naming (utils/generic_utils.py::to_snake_case)."""
    s = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    s = re.sub("([a-z])([A-Z])", r"\1_\2", s).lower()
    return s if s[0] != "_" else "private" + s


# --------------------------------------------------------- per-class configs

def conv_keys(rank, style, kw, transpose=False):
    c = {
        "filters": kw.pop("filters"),
        "kernel_size": kw.pop("kernel_size"),
        "strides": kw.pop("strides", [1] * rank),
        "padding": kw.pop("padding", "valid"),
        "data_format": kw.pop("data_format", "channels_last"),
        "dilation_rate": kw.pop("dilation_rate", [1] * rank),
        "groups": kw.pop("groups", 1),
        "activation": kw.pop("activation", "linear"),
        "use_bias": kw.pop("use_bias", True),
        "kernel_initializer": kw.pop("kernel_initializer", glorot()),
        "bias_initializer": kw.pop("bias_initializer", zeros()),
        "kernel_regularizer": kw.pop("kernel_regularizer", None),
        "bias_regularizer": kw.pop("bias_regularizer", None),
        "activity_regularizer": kw.pop("activity_regularizer", None),
        "kernel_constraint": kw.pop("kernel_constraint", None),
        "bias_constraint": kw.pop("bias_constraint", None),
    }
    if transpose:
        c["output_padding"] = kw.pop("output_padding", None)
    return c


def wrapped_layer(style, kw):
    """A wrapper's (Bidirectional, TimeDistributed) 'layer' entry from kw["layer"] = (class, kwargs)."""
    icls, ikw = kw.pop("layer")
    ikw = dict(ikw)
    iname = ikw.pop("name", to_snake_case(icls))
    inner = {"name": iname, "trainable": True, "dtype": "float32"}
    inner.update(class_config(icls, style, ikw))
    return {"class_name": icls, "config": inner}


def class_config(cls, style, kw):
    """The class-specific part of a layer config, Keras key order, defaults filled in.

    'kw' holds the values the fixture sets; they are popped, and anything left
    over is an error in this script."""
    k3 = is_k3(style)
    if cls in ("Conv1D", "Conv2D"):
        return conv_keys(1 if cls == "Conv1D" else 2, style, kw)
    if cls == "Conv2DTranspose":
        return conv_keys(2, style, kw, transpose=True)
    if cls == "DepthwiseConv2D":
        if k3:
            return {
                "depth_multiplier": kw.pop("depth_multiplier", 1),
                "kernel_size": kw.pop("kernel_size"),
                "strides": kw.pop("strides", [1, 1]),
                "padding": kw.pop("padding", "valid"),
                "data_format": kw.pop("data_format", "channels_last"),
                "dilation_rate": kw.pop("dilation_rate", [1, 1]),
                "activation": kw.pop("activation", "linear"),
                "use_bias": kw.pop("use_bias", True),
                "depthwise_initializer": kw.pop("depthwise_initializer", glorot()),
                "bias_initializer": kw.pop("bias_initializer", zeros()),
                "depthwise_regularizer": None,
                "bias_regularizer": None,
                "activity_regularizer": None,
                "depthwise_constraint": None,
                "bias_constraint": None,
            }
        return {
            "kernel_size": kw.pop("kernel_size"),
            "strides": kw.pop("strides", [1, 1]),
            "padding": kw.pop("padding", "valid"),
            "data_format": kw.pop("data_format", "channels_last"),
            "dilation_rate": kw.pop("dilation_rate", [1, 1]),
            "groups": 1,
            "activation": kw.pop("activation", "linear"),
            "use_bias": kw.pop("use_bias", True),
            "bias_initializer": kw.pop("bias_initializer", zeros()),
            "bias_regularizer": None,
            "activity_regularizer": None,
            "bias_constraint": None,
            "depth_multiplier": kw.pop("depth_multiplier", 1),
            "depthwise_initializer": kw.pop("depthwise_initializer", glorot()),
            "depthwise_regularizer": None,
            "depthwise_constraint": None,
        }
    if cls == "SeparableConv2D":
        return {
            "filters": kw.pop("filters"),
            "kernel_size": kw.pop("kernel_size"),
            "strides": kw.pop("strides", [1, 1]),
            "padding": kw.pop("padding", "valid"),
            "data_format": kw.pop("data_format", "channels_last"),
            "dilation_rate": kw.pop("dilation_rate", [1, 1]),
            "groups": 1,
            "activation": kw.pop("activation", "linear"),
            "use_bias": kw.pop("use_bias", True),
            "bias_initializer": zeros(),
            "bias_regularizer": None,
            "activity_regularizer": None,
            "bias_constraint": None,
            "depth_multiplier": kw.pop("depth_multiplier", 1),
            "depthwise_initializer": glorot(),
            "pointwise_initializer": glorot(),
            "depthwise_regularizer": None,
            "pointwise_regularizer": None,
            "depthwise_constraint": None,
            "pointwise_constraint": None,
        }
    if cls == "Dense":
        c = {
            "units": kw.pop("units"),
            "activation": kw.pop("activation", "linear"),
            "use_bias": kw.pop("use_bias", True),
            "kernel_initializer": kw.pop("kernel_initializer", glorot()),
            "bias_initializer": kw.pop("bias_initializer", zeros()),
            "kernel_regularizer": kw.pop("kernel_regularizer", None),
            "bias_regularizer": None,
            "activity_regularizer": None,
            "kernel_constraint": None,
            "bias_constraint": None,
        }
        if k3:
            del c["activity_regularizer"]
        return c
    if cls == "BatchNormalization":
        c = {
            "axis": kw.pop("axis"),
            "momentum": kw.pop("momentum", 0.99),
            "epsilon": kw.pop("epsilon", 0.001),
            "center": kw.pop("center", True),
            "scale": kw.pop("scale", True),
            "beta_initializer": zeros(),
            "gamma_initializer": ones(),
            "moving_mean_initializer": zeros(),
            "moving_variance_initializer": ones(),
            "beta_regularizer": None,
            "gamma_regularizer": None,
            "beta_constraint": None,
            "gamma_constraint": None,
        }
        if k3:
            c["synchronized"] = False
        return c
    if cls == "LayerNormalization":
        return {
            "axis": kw.pop("axis"),
            "epsilon": kw.pop("epsilon", 0.001),
            "center": kw.pop("center", True),
            "scale": kw.pop("scale", True),
            "beta_initializer": zeros(),
            "gamma_initializer": ones(),
            "beta_regularizer": None,
            "gamma_regularizer": None,
            "beta_constraint": None,
            "gamma_constraint": None,
        }
    if cls == "Activation":
        return {"activation": kw.pop("activation")}
    if cls == "ReLU":
        mv = kw.pop("max_value", None)
        return {"max_value": None if mv is None else f32(mv),
                "negative_slope": f32(kw.pop("negative_slope", 0.0)),
                "threshold": f32(kw.pop("threshold", 0.0))}
    if cls == "LeakyReLU":
        if k3:
            return {"negative_slope": kw.pop("negative_slope", 0.3)}
        return {"alpha": f32(kw.pop("alpha", 0.3))}
    if cls == "PReLU":
        return {"alpha_initializer": zeros(), "alpha_regularizer": None,
                "alpha_constraint": None,
                "shared_axes": kw.pop("shared_axes", None)}
    if cls == "ELU":
        return {"alpha": f32(kw.pop("alpha", 1.0))}
    if cls == "Softmax":
        return {"axis": kw.pop("axis", -1)}
    if cls in ("Dropout", "SpatialDropout2D"):
        return {"rate": kw.pop("rate"), "noise_shape": None, "seed": None}
    if cls == "GaussianNoise":
        return {"stddev": kw.pop("stddev"), "seed": None}
    if cls in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"):
        return {}
    if cls == "Concatenate":
        return {"axis": kw.pop("axis", -1)}
    if cls == "Flatten":
        return {"data_format": kw.pop("data_format", "channels_last")}
    if cls == "Reshape":
        return {"target_shape": kw.pop("target_shape")}
    if cls == "Permute":
        return {"dims": kw.pop("dims")}
    if cls == "ZeroPadding2D":
        return {"padding": kw.pop("padding"), "data_format": kw.pop("data_format", "channels_last")}
    if cls == "Cropping2D":
        return {"cropping": kw.pop("cropping"), "data_format": kw.pop("data_format", "channels_last")}
    if cls == "UpSampling2D":
        return {"size": kw.pop("size"), "data_format": kw.pop("data_format", "channels_last"),
                "interpolation": kw.pop("interpolation", "nearest")}
    if cls in ("MaxPooling1D", "AveragePooling1D"):
        p = kw.pop("pool_size")
        return {"strides": kw.pop("strides", p), "pool_size": p,
                "padding": kw.pop("padding", "valid"),
                "data_format": kw.pop("data_format", "channels_last")}
    if cls in ("MaxPooling2D", "AveragePooling2D"):
        p = kw.pop("pool_size")
        return {"pool_size": p, "padding": kw.pop("padding", "valid"),
                "strides": kw.pop("strides", p), "data_format": kw.pop("data_format", "channels_last")}
    if cls in ("GlobalMaxPooling1D", "GlobalMaxPooling2D",
               "GlobalAveragePooling1D", "GlobalAveragePooling2D"):
        c = {"data_format": kw.pop("data_format", "channels_last")}
        if style not in ("k222", "k24"):  # keepdims is Keras >= 2.6
            c["keepdims"] = kw.pop("keepdims", False)
        return c
    if cls == "Rescaling":
        return {"scale": kw.pop("scale"), "offset": kw.pop("offset", 0.0)}
    if cls == "Normalization":
        return {"axis": kw.pop("axis", -1), "mean": None, "variance": None, "invert": False}
    if cls == "Lambda":
        fn = kw.pop("function")
        raw = marshal.dumps(fn.__code__)
        code = base64.encodebytes(raw).decode("ascii")
        return {"function": [code, None, None], "function_type": "lambda",
                "module": "__main__", "output_shape": None,
                "output_shape_type": "raw", "output_shape_module": None,
                "arguments": {}}
    if cls in ("LSTM", "GRU", "SimpleRNN"):
        c = {
            "return_sequences": kw.pop("return_sequences", False),
            "return_state": kw.pop("return_state", False), "go_backwards": kw.pop("go_backwards", False), "stateful": False,
            "unroll": False, "time_major": False,
            "units": kw.pop("units"),
            "activation": kw.pop("activation", "tanh"),
            "use_bias": True,
            "kernel_initializer": glorot(),
            "recurrent_initializer": Init("Orthogonal", {"gain": 1.0, "seed": None}),
            "bias_initializer": zeros(),
            "unit_forget_bias": True,
            "kernel_regularizer": None, "recurrent_regularizer": None,
            "bias_regularizer": None, "activity_regularizer": None,
            "kernel_constraint": None, "recurrent_constraint": None,
            "bias_constraint": None,
            "dropout": 0.0, "recurrent_dropout": 0.0, "implementation": 2,
        }
        if cls != "SimpleRNN":
            c["recurrent_activation"] = kw.pop("recurrent_activation", "sigmoid")
        else:
            del c["unit_forget_bias"]
        if cls == "GRU":
            c["reset_after"] = kw.pop("reset_after", True)
            del c["unit_forget_bias"]
        return c
    if cls == "Bidirectional":
        return {"layer": wrapped_layer(style, kw), "merge_mode": kw.pop("merge_mode", "concat")}
    if cls == "Resizing":
        return {"height": kw.pop("height"), "width": kw.pop("width"),
                "interpolation": kw.pop("interpolation", "bilinear"), "crop_to_aspect_ratio": False}
    if cls == "CenterCrop":
        return {"height": kw.pop("height"), "width": kw.pop("width")}
    if cls == "TimeDistributed":
        return {"layer": wrapped_layer(style, kw)}
    if cls == "Embedding":
        return {"input_dim": kw.pop("input_dim"), "output_dim": kw.pop("output_dim"),
                "embeddings_initializer": Init("RandomUniform", {"minval": -0.05, "maxval": 0.05, "seed": None}),
                "embeddings_regularizer": None, "activity_regularizer": None, "embeddings_constraint": None,
                "mask_zero": kw.pop("mask_zero", False), "input_length": None}
    if cls == "Masking":
        return {"mask_value": kw.pop("mask_value", 0.0)}
    if cls in ("RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast",
               "RandomBrightness", "RandomHeight", "RandomWidth", "RandomCrop"):
        c = {"seed": None}
        c.update({k: kw.pop(k) for k in list(kw)})
        return c
    raise ValueError("no config template for class " + cls)


def finalize(obj, style):
    """Replace Init objects by their serialized form, recursively."""
    if isinstance(obj, Init):
        return ser_init(obj, style)
    if isinstance(obj, dict):
        return {k: finalize(v, style) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finalize(v, style) for v in obj]
    return obj


def dtype_value(style):
    if STYLES[style]["dtype"] == "policy":
        return {"module": "keras", "class_name": "DTypePolicy",
                "config": {"name": "float32"}, "registered_name": None}
    return "float32"


# ------------------------------------------------------------ shape formulas

def conv_len(n, k, s, d, padding):
    """Keras/TF output length of a convolution or pooling window."""
    if n is None:
        return None
    keff = (k - 1) * d + 1
    if padding in ("same", "causal"):
        return -(-n // s)
    return (n - keff) // s + 1


def deconv_len(n, k, s, d, padding, out_pad=None):
    keff = (k - 1) * d + 1
    if out_pad is None:
        if padding == "same":
            return n * s
        return n * s + max(keff - s, 0)
    pad = keff // 2 if padding == "same" else 0
    return (n - 1) * s + keff - 2 * pad + out_pad


def infer(cls, cfg, ins):
    """Output shape (per sample, list) and weight specs for a layer call.

    ins: list of input shapes.  Returns (out_shape, [(var, shape, trainable, kind)]).
    A channels_first layer is the channels_last one on (spatial..., C) with its
    output's channels moved first again (weights do not depend on data_format;
    Flatten's element count does not either)."""
    if cfg.get("data_format") == "channels_first" and cls != "Flatten":
        x = list(ins[0])
        out, W = infer(cls, dict(cfg, data_format="channels_last"), [x[1:] + x[:1]] + list(ins[1:]))
        if len(out) == len(x):
            out = out[-1:] + out[:-1]
        return out, W
    x = ins[0]
    W = []
    if cls in ("Conv1D", "Conv2D"):
        rank = 1 if cls == "Conv1D" else 2
        sp = [conv_len(x[i], cfg["kernel_size"][i], cfg["strides"][i],
                       cfg["dilation_rate"][i], cfg["padding"]) for i in range(rank)]
        cin = x[-1]
        W.append(("kernel", list(cfg["kernel_size"]) + [cin // cfg["groups"], cfg["filters"]], True, "kernel"))
        if cfg["use_bias"]:
            W.append(("bias", [cfg["filters"]], True, "bias"))
        return sp + [cfg["filters"]], W
    if cls == "Conv2DTranspose":
        op = cfg.get("output_padding") or [None, None]
        sp = [deconv_len(x[i], cfg["kernel_size"][i], cfg["strides"][i],
                         cfg["dilation_rate"][i], cfg["padding"], op[i]) for i in range(2)]
        W.append(("kernel", list(cfg["kernel_size"]) + [cfg["filters"], x[-1]], True, "kernel"))
        if cfg["use_bias"]:
            W.append(("bias", [cfg["filters"]], True, "bias"))
        return sp + [cfg["filters"]], W
    if cls == "DepthwiseConv2D":
        sp = [conv_len(x[i], cfg["kernel_size"][i], cfg["strides"][i],
                       cfg["dilation_rate"][i], cfg["padding"]) for i in range(2)]
        m = cfg["depth_multiplier"]
        W.append(("depthwise_kernel", list(cfg["kernel_size"]) + [x[-1], m], True, "kernel"))
        if cfg["use_bias"]:
            W.append(("bias", [x[-1] * m], True, "bias"))
        return sp + [x[-1] * m], W
    if cls == "SeparableConv2D":
        sp = [conv_len(x[i], cfg["kernel_size"][i], cfg["strides"][i],
                       cfg["dilation_rate"][i], cfg["padding"]) for i in range(2)]
        m = cfg["depth_multiplier"]
        W.append(("depthwise_kernel", list(cfg["kernel_size"]) + [x[-1], m], True, "kernel"))
        W.append(("pointwise_kernel", [1, 1, x[-1] * m, cfg["filters"]], True, "kernel"))
        if cfg["use_bias"]:
            W.append(("bias", [cfg["filters"]], True, "bias"))
        return sp + [cfg["filters"]], W
    if cls == "Dense":
        W.append(("kernel", [x[-1], cfg["units"]], True, "kernel"))
        if cfg["use_bias"]:
            W.append(("bias", [cfg["units"]], True, "bias"))
        return x[:-1] + [cfg["units"]], W
    if cls == "BatchNormalization":
        ax = cfg["axis"]
        ax = ax[0] if isinstance(ax, list) else ax
        c = x[ax - 1] if ax > 0 else x[ax]
        if cfg["scale"]:
            W.append(("gamma", [c], True, "gamma"))
        if cfg["center"]:
            W.append(("beta", [c], True, "beta"))
        W.append(("moving_mean", [c], False, "moving_mean"))
        W.append(("moving_variance", [c], False, "moving_variance"))
        return list(x), W
    if cls == "LayerNormalization":
        axes = cfg["axis"] if isinstance(cfg["axis"], list) else [cfg["axis"]]
        shp = [x[a - 1] if a > 0 else x[a] for a in axes]
        if cfg["scale"]:
            W.append(("gamma", shp, True, "gamma"))
        if cfg["center"]:
            W.append(("beta", shp, True, "beta"))
        return list(x), W
    if cls == "Normalization":
        ax = cfg["axis"]
        shp = [] if ax is None else [x[ax - 1] if ax > 0 else x[ax]]
        W.append(("mean", shp, False, "norm_mean"))
        W.append(("variance", shp, False, "norm_variance"))
        W.append(("count", [], False, "norm_count"))
        return list(x), W
    if cls == "PReLU":
        shp = list(x)
        for a in cfg["shared_axes"] or []:
            shp[a - 1] = 1
        W.append(("alpha", shp, True, "alpha"))
        return list(x), W
    if cls in ("Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Dropout",
               "SpatialDropout2D", "GaussianNoise", "Rescaling", "Lambda",
               "InputLayer"):
        return list(x), W
    if cls in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"):
        for s in ins[1:]:
            assert s == x, (cls, ins)
        return list(x), W
    if cls == "Concatenate":
        ax = cfg["axis"]
        ax = ax - 1 if ax > 0 else len(x) + ax
        out = list(x)
        out[ax] = sum(s[ax] for s in ins)
        return out, W
    if cls == "Flatten":
        return [int(np.prod(x))], W
    if cls == "Reshape":
        t = list(cfg["target_shape"])
        if -1 in t:
            known = int(np.prod([v for v in t if v != -1]))
            t[t.index(-1)] = int(np.prod(x)) // known
        assert int(np.prod(t)) == int(np.prod(x))
        return t, W
    if cls == "Permute":
        return [x[d - 1] for d in cfg["dims"]], W
    if cls == "ZeroPadding2D":
        p = cfg["padding"]
        return [x[0] + p[0][0] + p[0][1], x[1] + p[1][0] + p[1][1], x[2]], W
    if cls == "Cropping2D":
        p = cfg["cropping"]
        return [x[0] - p[0][0] - p[0][1], x[1] - p[1][0] - p[1][1], x[2]], W
    if cls == "UpSampling2D":
        return [x[0] * cfg["size"][0], x[1] * cfg["size"][1], x[2]], W
    if cls in ("MaxPooling1D", "AveragePooling1D", "MaxPooling2D", "AveragePooling2D"):
        rank = 1 if cls.endswith("1D") else 2
        sp = [conv_len(x[i], cfg["pool_size"][i], cfg["strides"][i], 1, cfg["padding"])
              for i in range(rank)]
        return sp + [x[-1]], W
    if cls.startswith("Global"):
        if cfg.get("keepdims"):
            return [1] * (len(x) - 1) + [x[-1]], W
        return [x[-1]], W
    if cls in ("LSTM", "GRU", "SimpleRNN"):
        u = cfg["units"]
        k = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}[cls] * u
        W.append(("kernel", [x[-1], k], True, "kernel"))
        W.append(("recurrent_kernel", [u, k], True, "kernel"))
        W.append(("bias", [2, k] if cls == "GRU" and cfg["reset_after"] else [k], True, "bias"))
        if cfg["return_sequences"]:
            return [x[0], u], W
        return [u], W
    if cls == "Bidirectional":
        icls, icfg = cfg["layer"]["class_name"], cfg["layer"]["config"]
        out, Wi = infer(icls, icfg, ins)
        for half in ("forward", "backward"):
            for var, shp, tr, kind in Wi:
                W.append(("%s_%s" % (half, var), shp, tr, kind))
        if cfg["merge_mode"] == "concat":
            out = out[:-1] + [2 * out[-1]]
        return out, W
    if cls == "Masking" or (cls.startswith("Random") and cls != "RandomCrop"):
        return list(x), W
    if cls in ("RandomCrop", "Resizing", "CenterCrop"):
        return [cfg["height"], cfg["width"], x[-1]], W
    if cls == "TimeDistributed":
        icls, icfg = cfg["layer"]["class_name"], cfg["layer"]["config"]
        out, W = infer(icls, icfg, [x[1:]])
        return [x[0]] + list(out), W
    if cls == "Embedding":
        W.append(("embeddings", [cfg["input_dim"], cfg["output_dim"]], True, "kernel"))
        return list(x) + [cfg["output_dim"]], W
    raise ValueError("no shape rule for " + cls)


# -------------------------------------------------------------- weight values

def trained_values(rng, kind, shape):
    """Random float32 values that look like trained weights of this kind."""
    shape = tuple(shape)
    if kind == "kernel":
        v = rng.normal(0.0, 0.2, shape)
    elif kind == "bias":
        v = rng.normal(0.0, 0.05, shape)
    elif kind == "gamma":
        v = 1.0 + rng.normal(0.0, 0.1, shape)
    elif kind == "beta":
        v = rng.normal(0.0, 0.1, shape)
    elif kind == "moving_mean":
        v = rng.normal(0.0, 0.2, shape)
    elif kind == "moving_variance":
        v = rng.uniform(0.5, 1.5, shape)
    elif kind == "alpha":
        v = rng.uniform(0.05, 0.3, shape)
    elif kind == "norm_mean":
        v = rng.normal(100.0, 30.0, shape)
    elif kind == "norm_variance":
        v = rng.uniform(400.0, 3000.0, shape)
    elif kind == "norm_count":
        return np.array(1000, dtype=np.int64).reshape(shape)
    else:
        raise ValueError(kind)
    return v.astype(np.float32)


# --------------------------------------------------------------------- graphs

class T:
    """A symbolic tensor: output 'index' of call 'call' of layer 'layer'."""

    def __init__(self, layer, call, index, shape):
        self.layer, self.call, self.index, self.shape = layer, call, index, shape


class Layer:
    def __init__(self, cls, name, config, trainable=True):
        self.cls = cls
        self.name = name
        self.config = config          # full config dict (Init objects not yet serialized)
        self.trainable = trainable
        self.calls = []               # each: list of input T
        self.call_multi = []          # each: True when called on a list
        self.out_shapes = []          # per call
        self.weights = []             # (var, array, trainable, full_name)
        self.node_offset = 0          # Keras 2: nested models' refs start at 1
        self.sub = None               # nested Graph
        self.unsupported = cls in ("Lambda",)

    def n_params(self):
        return sum(int(a.size) for _, a, _, _ in self.weights)

    def n_trainable(self):
        if not self.trainable:
            return 0
        return sum(int(a.size) for _, a, t, _ in self.weights if t)


class Graph:
    """A Functional (or Sequential) model under construction."""

    def __init__(self, style, seed, name="model", kind="Functional"):
        self.style = style
        self.rng = np.random.RandomState(seed)
        self.name = name
        self.kind = kind              # "Functional" or "Sequential"
        self.layers = []
        self.by_name = {}
        self.inputs = []
        self.outputs = []
        self.counters = {}
        self.seq_config_extra = {}    # Sequential: build_input_shape
        self.seq_has_input = True
        self.input_layers_override = None
        self.output_layers_override = None
        self.envelope_class = None

    # names
    def auto_name(self, cls):
        base = "input" if cls == "InputLayer" and not is_k3(self.style) else to_snake_case(cls)
        n = self.counters.get(base, 0)
        self.counters[base] = n + 1
        start = STYLES[self.style]["names_from"]
        if cls == "InputLayer" and not is_k3(self.style):
            return "input_%d" % (n + 1)
        idx = n + start
        return base if idx == 0 else "%s_%d" % (base, idx)

    def _register(self, layer):
        assert layer.name not in self.by_name, layer.name
        self.layers.append(layer)
        self.by_name[layer.name] = layer

    def Input(self, shape, name=None):
        name = name or self.auto_name("InputLayer")
        if is_k3(self.style):
            cfg = {"batch_shape": [None] + list(shape), "dtype": "float32",
                   "sparse": False, "name": name}
        else:
            cfg = {"batch_input_shape": [None] + list(shape), "dtype": "float32",
                   "sparse": False, "ragged": False, "name": name}
        L = Layer("InputLayer", name, cfg)
        L.out_shapes.append(list(shape))
        self._register(L)
        t = T(L, 0, 0, list(shape))
        self.inputs.append(t)
        return t

    def layer(self, cls, name=None, trainable=True, batch_input_shape=None, **kw):
        """Create a layer (not yet called)."""
        name = name or self.auto_name(cls)
        body = class_config(cls, self.style, kw)
        if kw:
            raise TypeError("unused config keys for %s: %s" % (cls, sorted(kw)))
        cfg = {"name": name, "trainable": trainable}
        dmode = STYLES[self.style]["dtype"]
        if batch_input_shape is not None:
            cfg["batch_input_shape"] = list(batch_input_shape)
        if dmode in ("all", "policy") or (dmode == "first" and batch_input_shape is not None):
            cfg["dtype"] = dtype_value(self.style)
        cfg.update(body)
        L = Layer(cls, name, cfg, trainable)
        self._register(L)
        return L

    def call(self, L, inputs, values=None):
        """Call layer L on inputs (a T or a list of T); build weights on the first call."""
        multi = isinstance(inputs, list)
        ins = inputs if multi else [inputs]
        if L.sub is not None:
            out = list(L.sub.outputs[0].shape)
            W = None
        else:
            cfg = finalize(L.config, self.style)
            out, W = infer(L.cls, cfg, [t.shape for t in ins])
        if not L.calls and W is not None:
            values = values or {}
            for var, shp, tr, kind in W:
                arr = values.get(var)
                if arr is None:
                    arr = trained_values(self.rng, kind, shp)
                arr = np.asarray(arr, dtype=np.float32)
                assert list(arr.shape) == list(shp), (L.name, var, arr.shape, shp)
                kvar = "kernel" if (is_k3(self.style) and L.cls == "DepthwiseConv2D"
                                    and var == "depthwise_kernel") else var
                if L.cls == "Bidirectional":
                    half, v = kvar.split("_", 1)
                    icls = L.config["layer"]["class_name"]
                    cell = {"LSTM": "lstm_cell", "GRU": "gru_cell", "SimpleRNN": "simple_rnn_cell"}[icls]
                    full = "%s/%s_%s/%s/%s%s" % (L.name, half, L.config["layer"]["config"]["name"], cell, v,
                                                 STYLES[self.style]["suffix"])
                    kvar = v
                elif L.cls in ("LSTM", "GRU", "SimpleRNN"):
                    cell = {"LSTM": "lstm_cell", "GRU": "gru_cell", "SimpleRNN": "simple_rnn_cell"}[L.cls]
                    full = "%s/%s/%s%s" % (L.name, cell, kvar, STYLES[self.style]["suffix"])
                else:
                    full = "%s/%s%s" % (L.name, kvar, STYLES[self.style]["suffix"])
                L.weights.append((kvar, arr, tr, full))
        L.calls.append(ins)
        L.call_multi.append(multi)
        L.out_shapes.append(out)
        return T(L, L.node_offset + len(L.calls) - 1, 0, out)

    def add(self, cls, inputs, name=None, trainable=True, values=None, **kw):
        L = self.layer(cls, name=name, trainable=trainable, **kw)
        return self.call(L, inputs, values=values)

    def nest(self, sub, inputs):
        """Use the model 'sub' as a layer of this one."""
        L = Layer(sub.kind, sub.name, None)
        L.sub = sub
        L.trainable = True
        # Keras 2 omits the nested model's own node 0 from the outer config
        # (functional.py::_should_skip_first_node), so refs start at 1.
        if not is_k3(self.style) and (sub.kind == "Functional" or sub.seq_has_input):
            L.node_offset = 1
        # weight_names: every sublayer's trainable weights, then every
        # non-trainable one (BN moving stats, frozen layers).
        tr, nt = [], []
        for sl in sub.layers:
            for var, arr, t, full in sl.weights:
                (tr if (t and sl.trainable) else nt).append((var, arr, t and sl.trainable, full))
        L.weights = tr + nt
        self._register(L)
        return self.call(L, inputs)

    # serialization
    def ref(self, t):
        return [t.layer.name, t.call, t.index]

    def keras_tensor(self, t):
        return {"class_name": "__keras_tensor__",
                "config": {"shape": [None] + list(t.shape), "dtype": "float32",
                           "keras_history": [t.layer.name, t.call, t.index]}}

    def inbound(self, L):
        out = []
        for ins, multi in zip(L.calls, L.call_multi):
            if is_k3(self.style):
                kts = [self.keras_tensor(t) for t in ins]
                out.append({"args": [kts] if multi else kts, "kwargs": {}})
            else:
                out.append([self.ref(t) + [{}] for t in ins])
        return out

    def layer_entry(self, L, with_nodes):
        if L.sub is not None:
            e = {"class_name": L.sub.kind, "config": L.sub.model_config()["config"]}
        else:
            e = {"class_name": L.cls, "config": finalize(L.config, self.style)}
        if with_nodes:
            e["name"] = L.name
            e["inbound_nodes"] = self.inbound(L)
        return e

    def io_list(self, ts):
        triples = [self.ref(t) for t in ts]
        if is_k3(self.style) and len(triples) == 1:
            return triples[0]
        return triples

    def model_config(self):
        if self.kind == "Sequential":
            layers = [self.layer_entry(L, False) for L in self.layers
                      if self.seq_has_input or L.cls != "InputLayer"]
            if self.style == "k222":
                cfg = layers
            else:
                cfg = {"name": self.name}
                if self.style in ("k214", "k3"):
                    cfg["trainable"] = True
                cfg["layers"] = layers
                cfg.update(self.seq_config_extra)
            return {"class_name": "Sequential", "config": cfg}
        cfg = {"name": self.name}
        if self.style in ("k214", "k3"):
            cfg["trainable"] = True
        cfg["layers"] = [self.layer_entry(L, True) for L in self.layers]
        cfg["input_layers"] = (self.input_layers_override
                               if self.input_layers_override is not None
                               else self.io_list(self.inputs))
        cfg["output_layers"] = (self.output_layers_override
                                if self.output_layers_override is not None
                                else self.io_list(self.outputs))
        return {"class_name": self.envelope_class or "Functional", "config": cfg}

    def weight_layers(self):
        """model.layers as Keras saves them (Sequential drops its InputLayer)."""
        if self.kind == "Sequential":
            return [L for L in self.layers if L.cls != "InputLayer"]
        return list(self.layers)


def Sequential(style, seed, name="sequential", input_shape=None, input_name=None):
    """A Sequential model; if input_shape is given it starts with an InputLayer."""
    g = Graph(style, seed, name=name, kind="Sequential")
    if input_shape is not None:
        t = g.Input(input_shape, name=input_name)
        g.seq_has_input = True
    else:
        g.seq_has_input = False
        t = None
    return g, t


# ------------------------------------------------------------------- writing

def str_attr(obj, name, value, cset):
    """A scalar variable-length string attribute with the given cset."""
    dt = h5py.string_dtype("utf-8" if cset == "utf8" else "ascii")
    data = value if cset == "utf8" else value.encode("utf8")
    obj.attrs.create(name, data, dtype=dt)


def list_attr(obj, name, values, strings, chunks=1):
    """Keras's save_attributes_to_hdf5_group, as a given h5py writes it.

    strings: "fixed" (h5py 2.x: NumPy 'S' array, NULLPAD) or "vlen" (h5py 3:
    list of bytes -> variable-length ASCII).  chunks > 1 writes name0, name1,
    ... from np.array_split (always fixed-length)."""
    data = [v.encode("utf8") for v in values]
    if not data:
        obj.attrs[name] = np.zeros((0,), dtype=np.float64)  # np.asarray([])
        return
    if chunks > 1:
        for i, part in enumerate(np.array_split(np.asarray(data), chunks)):
            obj.attrs["%s%d" % (name, i)] = part
        return
    if strings == "fixed":
        obj.attrs[name] = np.asarray(data)
    else:
        obj.attrs.create(name, data, dtype=h5py.string_dtype("ascii"))


def write_weights(group, g, strings, group_order, top_level, chunk_layer_names=1,
                  chunk_weight_names=None):
    chunk_weight_names = chunk_weight_names or {}
    layers = g.weight_layers()
    list_attr(group, "layer_names", [L.name for L in layers], strings, chunk_layer_names)
    str_attr(group, "backend", BACKEND, "ascii")
    str_attr(group, "keras_version", STYLES[g.style]["keras_version"], "ascii")
    order = sorted(layers, key=lambda L: L.name) if group_order == "sorted" else layers
    for L in order:
        lg = group.create_group(L.name)
        names = [w[3] for w in L.weights]
        list_attr(lg, "weight_names", names, strings, chunk_weight_names.get(L.name, 1))
        for _, arr, _, full in L.weights:
            ds = lg.create_dataset(full, arr.shape, dtype=np.float32, track_times=False)
            ds[...] = arr
    if top_level:
        tg = group.create_group("top_level_model_weights")
        list_attr(tg, "weight_names", [], strings)


def training_config(style):
    if style == "k24":
        return {"loss": "categorical_crossentropy",
                "metrics": [[{"class_name": "MeanMetricWrapper",
                              "config": {"name": "accuracy", "dtype": "float32",
                                         "fn": "categorical_accuracy"}}]],
                "weighted_metrics": None, "loss_weights": None,
                "optimizer_config": {"class_name": "Adam", "config": {
                    "name": "Adam", "learning_rate": 0.0010000000474974513,
                    "decay": 0.0, "beta_1": 0.8999999761581421,
                    "beta_2": 0.9990000128746033, "epsilon": 1e-07,
                    "amsgrad": False}}}
    return {"loss": {"class_name": "CategoricalCrossentropy", "config": {
                "reduction": "auto", "name": "categorical_crossentropy",
                "from_logits": False, "label_smoothing": 0.0, "axis": -1,
                "fn": "categorical_crossentropy"}},
            "metrics": [[{"class_name": "CategoricalAccuracy",
                          "config": {"name": "categorical_accuracy", "dtype": "float32"}}]],
            "weighted_metrics": None, "loss_weights": None,
            "optimizer_config": {"class_name": "Custom>Adam", "config": {
                "name": "Adam", "weight_decay": None, "clipnorm": None,
                "global_clipnorm": None, "clipvalue": None, "use_ema": False,
                "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                "jit_compile": True, "is_legacy_optimizer": False,
                "learning_rate": 0.0010000000474974513, "beta_1": 0.9,
                "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}}}


def write_model(path, g, compiled=False, chunk_layer_names=1, chunk_weight_names=None,
                optimizer=False, config_override=None):
    """Write g as model.save() of its style writes it."""
    st = STYLES[g.style]
    with h5py.File(path, "w") as f:
        str_attr(f, "keras_version", st["keras_version"], st["root_str"])
        str_attr(f, "backend", BACKEND, st["root_str"])
        mc = config_override if config_override is not None else g.model_config()
        str_attr(f, "model_config", json.dumps(mc), "ascii")
        if compiled:
            str_attr(f, "training_config", json.dumps(training_config(g.style)), "ascii")
        mw = f.create_group("model_weights")
        write_weights(mw, g, st["strings"], st["group_order"], st["top_level"],
                      chunk_layer_names, chunk_weight_names)
        if optimizer:
            write_optimizer(f, g)


def write_optimizer(f, g):
    """optimizer_weights as Keras 2.11+ writes it (ignored by inference)."""
    og = f.create_group("optimizer_weights")
    names = ["iteration:0"]
    vals = [np.array(1200, dtype=np.int64)]
    for L in g.weight_layers():
        for var, arr, t, full in L.weights:
            if t and L.trainable:
                base = full[:-2] if full.endswith(":0") else full
                for slot in ("m", "v"):
                    names.append("Adam/%s/%s:0" % (slot, base))
                    vals.append(np.zeros_like(arr) + (1e-4 if slot == "v" else 0.0))
    list_attr(og, "weight_names", names, "vlen")
    for n, v in zip(names, vals):
        ds = og.create_dataset(n, v.shape, dtype=v.dtype, track_times=False)
        if v.shape:
            ds[...] = v
        else:
            ds[()] = v


def write_weights_only(path, g):
    """What model.save_weights('x.h5') writes: the model_weights layout at the root."""
    st = STYLES[g.style]
    with h5py.File(path, "w") as f:
        write_weights(f, g, st["strings"], st["group_order"], st["top_level"])


# ------------------------------------------------------------------- expects

def node_name(L, call):
    """k2t's node name: the layer name, "name#k" for call k of a shared layer."""
    return L.name if len(L.calls) <= 1 else "%s#%d" % (L.name, call)


def expectations(g, weights_only=False):
    """expect.json entry for a model, from this script's own bookkeeping."""
    total = sum(L.n_params() for L in g.layers)
    trainable = sum(L.n_trainable() for L in g.layers)
    e = {"keras_version": STYLES[g.style]["keras_version"],
         "model_class": None if weights_only else (g.envelope_class or g.kind),
         "total_params": total, "trainable_params": trainable,
         "non_trainable_params": total - trainable}
    if weights_only:
        e["layers"] = {}
        e["order"] = []
        e["weight_layers"] = {L.name: L.n_params() for L in g.weight_layers()}
        return e
    info = {}
    for L in g.layers:
        cls = L.sub.kind if L.sub is not None else L.cls
        for c in range(len(L.out_shapes)):
            ent = {"class": cls, "shape": L.out_shapes[c], "params": L.n_params(),
                   "trainable_params": L.n_trainable()}
            if L.unsupported:
                ent["supported"] = False
            info[node_name(L, c)] = ent
        if L.sub is not None:
            for SL in L.sub.layers:
                if SL.cls == "InputLayer":
                    continue
                info[SL.name] = {"class": SL.cls, "shape": SL.out_shapes[0],
                                 "params": SL.n_params(),
                                 "trainable_params": SL.n_trainable(), "scope": L.name}
    e["layers"] = info
    e["order"] = topo_order(g)
    e["inputs"] = [t.layer.name for t in g.inputs]
    e["outputs"] = [node_name(t.layer, t.call - t.layer.node_offset) for t in g.outputs]
    if any(L.sub is not None for L in g.layers):
        e["order_flat"] = topo_order(g, flat=True)
    return e


def topo_order(g, flat=False):
    """DFS post-order from the outputs, inputs visited in inbound order
    (ggml visit_parents): producers always come before consumers.  With
    flat, a nested model is replaced by its own layers (InputLayer dropped)."""
    if g.kind == "Sequential":
        return [L.name for L in g.layers]
    seen, order = set(), []

    def visit(L, c):
        if (L.name, c) in seen:
            return
        seen.add((L.name, c))
        if L.calls:
            for t in L.calls[c]:
                visit(t.layer, t.call - t.layer.node_offset)
        if flat and L.sub is not None:
            order.extend(n for n in topo_order(L.sub)
                         if L.sub.by_name[n].cls != "InputLayer")
        else:
            order.append(node_name(L, c))

    for t in g.outputs:
        visit(t.layer, t.call - t.layer.node_offset)
    return order


# ------------------------------------------------------------------ fixtures

def fx_seq_list(out):
    """Standalone Keras 2.2.2 Sequential: bare-list config, no InputLayer."""
    g, _ = Sequential("k222", 101, name="sequential_1")
    d1 = g.layer("Dense", units=8, activation="relu", batch_input_shape=[None, 6])
    d2 = g.layer("Dense", units=4, activation="softmax")
    # Shapes: a Sequential without InputLayer starts from batch_input_shape.
    x = T(None, 0, 0, [6])
    x = g.call(d1, x)
    x = g.call(d2, x)
    g.outputs = [x]
    write_model(os.path.join(out, "seq_list.h5"), g)
    return g


def fx_seq_dict_input(out):
    """tf.keras 2.4 Sequential dict form with the auto InputLayer (conv2d_input)."""
    g, x = Sequential("k24", 102, input_shape=(8, 8, 3), input_name="conv2d_input")
    x = g.add("Conv2D", x, filters=4, kernel_size=[3, 3], batch_input_shape=[None, 8, 8, 3])
    x = g.add("BatchNormalization", x, axis=[3])
    x = g.add("Activation", x, activation="relu")
    x = g.add("MaxPooling2D", x, pool_size=[2, 2])
    x = g.add("Flatten", x)
    x = g.add("Dense", x, units=3, activation="softmax")
    g.outputs = [x]
    write_model(os.path.join(out, "seq_dict_input.h5"), g, compiled=True)
    return g


def fx_seq_dict_noinput(out):
    """Keras 2.14-style Sequential dict form without InputLayer; Conv1D carries
    batch_input_shape; build_input_shape present."""
    g, _ = Sequential("k214", 103)
    g.seq_config_extra = {"build_input_shape": [None, 16, 4]}
    c = g.layer("Conv1D", filters=8, kernel_size=[3], activation="relu",
                batch_input_shape=[None, 16, 4])
    x = g.call(c, T(None, 0, 0, [16, 4]))
    x = g.add("MaxPooling1D", x, pool_size=[2])
    x = g.add("Flatten", x)
    x = g.add("Dense", x, units=2, activation="sigmoid")
    g.outputs = [x]
    write_model(os.path.join(out, "seq_dict_noinput.h5"), g)
    return g


def fx_func_k24(out):
    """Keras 2.4 Functional residual block (pretrainedResnet.h5 layout)."""
    g = Graph("k24", 104, name="model")
    l2 = Init("L2", {"l2": 9.999999747378752e-05})
    i = g.Input((8, 8, 3))
    x = g.add("Conv2D", i, filters=8, kernel_size=[3, 3], padding="same",
              kernel_initializer=Init("HeNormal", {"seed": None}), kernel_regularizer=l2)
    x = g.add("BatchNormalization", x, axis=[3])
    a = g.add("Activation", x, activation="relu")
    y = g.add("Conv2D", a, filters=8, kernel_size=[3, 3], strides=[2, 2], padding="same",
              kernel_initializer=Init("HeNormal", {"seed": None}), kernel_regularizer=l2)
    y = g.add("BatchNormalization", y, axis=[3])
    s = g.add("Conv2D", a, filters=8, kernel_size=[1, 1], strides=[2, 2], padding="same",
              kernel_initializer=Init("HeNormal", {"seed": None}), kernel_regularizer=l2)
    x = g.add("Add", [s, y])
    x = g.add("Activation", x, activation="relu")
    x = g.add("GlobalAveragePooling2D", x)
    x = g.add("Dense", x, units=3, activation="softmax",
              kernel_initializer=Init("HeNormal", {"seed": None}))
    g.outputs = [x]
    write_model(os.path.join(out, "func_k24.h5"), g, compiled=True)
    return g


def fx_func_k214(out):
    """Keras 2.14 Functional (str_ww_ref_model.h5 layout): BN with "scale": 1,
    top_level_model_weights, optimizer_weights, training_config."""
    g = Graph("k214", 105, name="model")
    i = g.Input((10, 10, 1))
    x = g.add("DepthwiseConv2D", i, kernel_size=[3, 3], use_bias=False)
    x = g.add("Conv2D", x, filters=16, kernel_size=[1, 1], use_bias=False)
    bn = g.layer("BatchNormalization", axis=[3])
    bn.config["scale"] = 1            # an int, as the real 2.14 file has
    x = g.call(bn, x)
    x = g.add("Activation", x, activation="relu")
    x = g.add("Dropout", x, rate=0.2)
    x = g.add("Flatten", x)
    x = g.add("Dense", x, units=3, activation="softmax")
    g.outputs = [x]
    write_model(os.path.join(out, "func_k214.h5"), g, compiled=True, optimizer=True)
    return g


def fx_func_chunked(out):
    """40 layers; layer_names stored as layer_names0..2, one weight_names as
    weight_names0/1 (Keras's >64 KiB chunking, forced here)."""
    g = Graph("k214", 106, name="model")
    x = g.Input((8, 8, 4))
    for _ in range(12):
        x = g.add("Conv2D", x, filters=4, kernel_size=[3, 3], padding="same")
        x = g.add("BatchNormalization", x, axis=[3])
        x = g.add("Activation", x, activation="relu")
    x = g.add("SeparableConv2D", x, filters=6, kernel_size=[3, 3])
    x = g.add("GlobalAveragePooling2D", x)
    x = g.add("Dense", x, units=2, activation="softmax")
    g.outputs = [x]
    assert len(g.layers) == 40
    write_model(os.path.join(out, "func_chunked.h5"), g, chunk_layer_names=3,
                chunk_weight_names={"separable_conv2d": 2})
    return g


def fx_func_nested(out):
    """An outer Functional using a nested Functional and a nested Sequential."""
    inner = Graph("k214", 107, name="inner_model")
    i = inner.Input((8, 8, 3), name="inner_input")
    x = inner.add("Conv2D", i, name="inner_conv", filters=4, kernel_size=[3, 3], padding="same")
    x = inner.add("BatchNormalization", x, name="inner_bn", axis=[3])
    x = inner.add("Activation", x, name="inner_act", activation="relu")
    inner.outputs = [x]

    seq, s = Sequential("k214", 108, name="inner_seq", input_shape=(8, 8, 4),
                        input_name="inner_seq_input")
    s = seq.add("Conv2D", s, name="seq_conv", filters=4, kernel_size=[1, 1], trainable=False)
    s = seq.add("BatchNormalization", s, name="seq_bn", axis=[3])
    seq.outputs = [s]

    g = Graph("k214", 109, name="model")
    i = g.Input((8, 8, 3))
    a = g.nest(inner, i)
    b = g.nest(seq, a)
    x = g.add("Add", [a, b])
    x = g.add("GlobalAveragePooling2D", x)
    x = g.add("Dense", x, units=2, activation="softmax")
    g.outputs = [x]
    write_model(os.path.join(out, "func_nested.h5"), g)
    return g


def fx_func_shared(out):
    """One Dense called twice (node indices 0 and 1)."""
    g = Graph("k214", 110, name="model")
    i = g.Input((4,))
    d = g.layer("Dense", units=4, activation="relu")
    x = g.call(d, i)
    x = g.call(d, x)
    x = g.add("Activation", x, activation="softmax")
    g.outputs = [x]
    write_model(os.path.join(out, "func_shared.h5"), g)
    return g


def fx_func_multi_io(out):
    """Two inputs, two outputs (output_layers order differs from config order)."""
    g = Graph("k24", 111, name="model")
    a = g.Input((8, 8, 3))
    b = g.Input((5,))
    c = g.add("Conv2D", a, filters=4, kernel_size=[3, 3], padding="same", activation="relu")
    x = g.add("Concatenate", [a, c], axis=-1)
    x = g.add("Flatten", x)
    x = g.add("Concatenate", [x, b], axis=-1)
    h = g.add("Dense", x, units=8, activation="relu")
    o1 = g.add("Dense", h, units=3, activation="softmax")
    o2 = g.add("Dense", h, units=1, activation="sigmoid")
    g.outputs = [o2, o1]
    write_model(os.path.join(out, "func_multi_io.h5"), g)
    return g


def fx_func_named_inputs(out):
    """TF 2.3-style named inputs: input_layers is a dict, output_layers a bare triple."""
    g = Graph("k24", 112, name="model")
    a = g.Input((3,), name="input_a")
    b = g.Input((2,), name="input_b")
    x = g.add("Concatenate", [a, b], axis=-1)
    x = g.add("Dense", x, units=4, activation="relu")
    x = g.add("Dense", x, units=1)
    g.outputs = [x]
    g.input_layers_override = {"a": ["input_a", 0, 0], "b": ["input_b", 0, 0]}
    g.output_layers_override = [x.layer.name, 0, 0]
    write_model(os.path.join(out, "func_named_inputs.h5"), g)
    return g


def fx_keras3(out):
    """Keras 3.5 legacy .h5: dict inbound nodes, DTypePolicy, names without ':0'."""
    g = Graph("k3", 113, name="functional")
    i = g.Input((8, 8, 3))
    x = g.add("Conv2D", i, filters=4, kernel_size=[3, 3], padding="same")
    x = g.add("BatchNormalization", x, axis=-1)
    x = g.add("LeakyReLU", x, negative_slope=0.2)
    x = g.add("DepthwiseConv2D", x, kernel_size=[3, 3], strides=[2, 2], padding="same")
    s = g.add("Conv2D", i, filters=4, kernel_size=[1, 1], strides=[2, 2], padding="same")
    x = g.add("Add", [x, s])
    x = g.add("BatchNormalization", x, axis=3)
    x = g.add("GlobalAveragePooling2D", x)
    x = g.add("Dense", x, units=3, activation="softmax")
    g.outputs = [x]
    write_model(os.path.join(out, "keras3.h5"), g)
    return g


def fx_weights_only(out):
    """save_weights(): no model_config, layer_names at the root."""
    g = Graph("k214", 114, name="model")
    i = g.Input((6,))
    x = g.add("Dense", i, units=5, activation="relu")
    x = g.add("BatchNormalization", x, axis=[1])
    x = g.add("Dense", x, units=2)
    g.outputs = [x]
    write_weights_only(os.path.join(out, "weights_only.h5"), g)
    return g


def fx_all_layers(out):
    """One of every supported class, 9x9 and length-12 inputs, two outputs."""
    g = Graph("k214", 115, name="model")
    img = g.Input((9, 9, 3))
    seq = g.Input((12, 4))
    x = g.add("Rescaling", img, scale=1.0 / 255, offset=0.0)
    x = g.add("ZeroPadding2D", x, padding=[[1, 0], [2, 1]])          # 10x12
    x = g.add("Cropping2D", x, cropping=[[0, 1], [1, 2]])             # 9x9
    x = g.add("Conv2D", x, filters=8, kernel_size=[3, 3], padding="same")
    t3 = g.add("BatchNormalization", x, axis=[3])
    r = g.add("ReLU", t3, max_value=6.0, negative_slope=0.1, threshold=0.5)
    x = g.add("DepthwiseConv2D", r, kernel_size=[3, 3], strides=[2, 2], padding="same",
              depth_multiplier=2)                                      # 5x5x16
    x = g.add("SeparableConv2D", x, filters=8, kernel_size=[3, 3])    # 3x3x8
    x = g.add("Conv2DTranspose", x, filters=8, kernel_size=[3, 3], strides=[2, 2],
              padding="same")                                          # 6x6x8
    x = g.add("LeakyReLU", x, alpha=0.3)
    x = g.add("PReLU", x, shared_axes=[1, 2])
    x = g.add("ELU", x, alpha=1.0)
    mp = g.add("MaxPooling2D", x, pool_size=[2, 2])                    # 3x3x8
    t1 = g.add("UpSampling2D", mp, size=[3, 3])                        # 9x9x8
    t2 = g.add("Conv2D", r, filters=8, kernel_size=[1, 1], use_bias=False)
    x = g.add("Add", [t1, t2])
    x = g.add("Subtract", [x, t3])
    x = g.add("Multiply", [x, t2])
    x = g.add("Average", [x, t1, t3])
    x = g.add("Maximum", [x, t2])
    mn = g.add("Minimum", [x, t1])
    x = g.add("Concatenate", [mn, t3], axis=-1)                        # 9x9x16
    x = g.add("SpatialDropout2D", x, rate=0.25)
    gn = g.add("GaussianNoise", x, stddev=0.1)
    x = g.add("AveragePooling2D", gn, pool_size=[3, 3], strides=[2, 3], padding="same")  # 5x3x16
    ln = g.add("LayerNormalization", x, axis=[3])
    x = g.add("Permute", ln, dims=[2, 1, 3])                           # 3x5x16
    x = g.add("Reshape", x, target_shape=[15, 16])
    x = g.add("Conv1D", x, filters=6, kernel_size=[3], dilation_rate=[2])  # 11x6
    x = g.add("MaxPooling1D", x, pool_size=[2])                        # 5x6
    p1 = g.add("GlobalAveragePooling1D", x)                            # 6
    y = g.add("Conv1D", seq, filters=5, kernel_size=[3], strides=[2], padding="same")  # 6x5
    y = g.add("BatchNormalization", y, axis=[2], scale=False)
    y = g.add("AveragePooling1D", y, pool_size=[2], strides=[1], padding="same")  # 6x5
    p2 = g.add("GlobalMaxPooling1D", y)                                # 5
    p3 = g.add("GlobalMaxPooling2D", gn)                               # 16
    p4 = g.add("GlobalAveragePooling2D", ln)                           # 16
    p5 = g.add("Flatten", mp)                                          # 72
    x = g.add("Concatenate", [p1, p2, p3, p4, p5], axis=-1)            # 115
    x = g.add("Dense", x, units=16, activation="relu")
    x = g.add("Dropout", x, rate=0.5)
    x = g.add("Activation", x, activation="tanh")
    x = g.add("Dense", x, units=5)
    o1 = g.add("Softmax", x, axis=-1)
    z = g.add("Conv2D", mn, filters=2, kernel_size=[1, 1])
    o2 = g.add("Activation", z, activation="sigmoid")
    g.outputs = [o1, o2]
    write_model(os.path.join(out, "all_layers.h5"), g)
    return g


def fx_unsupported(out):
    """Lambda and LSTM between supported layers."""
    g = Graph("k214", 116, name="model")
    i = g.Input((10, 6))
    x = g.add("Conv1D", i, filters=8, kernel_size=[3], padding="same", activation="relu")
    # A lambda as typed in a notebook; compiled here so that its code object
    # (and so the file) does not depend on where this script lives.
    fn = eval(compile("lambda x: x * 2.0", "<ipython-input-3-5f1c0b2a>", "eval"))
    x = g.add("Lambda", x, function=fn)
    x = g.add("LSTM", x, units=5)
    x = g.add("Dense", x, units=3, activation="softmax")
    g.outputs = [x]
    write_model(os.path.join(out, "unsupported.h5"), g)
    return g


def fx_fresh_init(out):
    """Weights that look never trained, plus NaN/Inf, plus one trained layer."""
    rng = np.random.RandomState(4242)
    g = Graph("k214", 117, name="model")
    i = g.Input((6, 6, 3))
    fan_in, fan_out = 3 * 3 * 3, 3 * 3 * 16
    lim = math.sqrt(6.0 / (fan_in + fan_out))
    k0 = rng.uniform(-lim, lim, (3, 3, 3, 16)).astype(np.float32)
    x = g.add("Conv2D", i, filters=16, kernel_size=[3, 3], padding="same",
              values={"kernel": k0, "bias": np.zeros(16, np.float32)})
    x = g.add("BatchNormalization", x, axis=[3],
              values={"gamma": np.ones(16), "beta": np.zeros(16),
                      "moving_mean": np.zeros(16), "moving_variance": np.ones(16)})
    k1 = rng.normal(0, 0.2, (3, 3, 16, 4)).astype(np.float32)
    k1[0, 1, 2, 3] = np.nan
    k1[2, 2, 5, 1] = np.inf
    x = g.add("Conv2D", x, filters=4, kernel_size=[3, 3], padding="same",
              values={"kernel": k1})
    x = g.add("Conv2D", x, filters=4, kernel_size=[3, 3], strides=[2, 2], padding="same")
    x = g.add("Flatten", x)
    x = g.add("Dense", x, units=5, values={"kernel": np.zeros((36, 5)), "bias": np.zeros(5)})
    x = g.add("Dense", x, units=3, activation="softmax",
              values={"kernel": np.full((5, 3), 0.5)})
    g.outputs = [x]
    write_model(os.path.join(out, "fresh_init.h5"), g)
    return g


FIXTURES = [
    ("seq_list.h5", fx_seq_list, "Keras 2.2.2 Sequential, bare-list config, fixed-length strings"),
    ("seq_dict_input.h5", fx_seq_dict_input, "tf.keras 2.4 Sequential dict form with InputLayer"),
    ("seq_dict_noinput.h5", fx_seq_dict_noinput, "Keras 2.14 Sequential dict form, no InputLayer, build_input_shape"),
    ("func_k24.h5", fx_func_k24, "Keras 2.4 Functional residual block"),
    ("func_k214.h5", fx_func_k214, "Keras 2.14 Functional, vlen strings, scale: 1, top_level_model_weights"),
    ("func_chunked.h5", fx_func_chunked, "40 layers, layer_names0..2 and weight_names0/1"),
    ("func_nested.h5", fx_func_nested, "nested Functional and Sequential as layers"),
    ("func_shared.h5", fx_func_shared, "one Dense called twice"),
    ("func_multi_io.h5", fx_func_multi_io, "two inputs, two outputs"),
    ("func_named_inputs.h5", fx_func_named_inputs, "input_layers dict, output_layers bare triple"),
    ("keras3.h5", fx_keras3, "Keras 3.5 legacy h5"),
    ("weights_only.h5", fx_weights_only, "save_weights() file, no model_config"),
    ("all_layers.h5", fx_all_layers, "one of every supported class"),
    ("unsupported.h5", fx_unsupported, "Lambda and LSTM"),
    ("fresh_init.h5", fx_fresh_init, "never-trained-looking weights, NaN and Inf"),
]

# Flags k2t's stats should raise on fresh_init.h5 (subset, per weight).
FRESH_FLAGS = {
    "conv2d": {"kernel": ["INIT_LIKE"], "bias": ["ALL_ZERO"]},
    "batch_normalization": {"gamma": ["BN_DEFAULT"], "beta": ["BN_DEFAULT"],
                            "moving_mean": ["BN_DEFAULT"], "moving_variance": ["BN_DEFAULT"]},
    "conv2d_1": {"kernel": ["NONFINITE"]},
    "conv2d_2": {"kernel": [], "bias": []},
    "dense": {"kernel": ["ALL_ZERO"], "bias": ["ALL_ZERO"]},
    "dense_1": {"kernel": ["CONSTANT"], "bias": []},
}


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: gen_fixtures.py OUTDIR\n")
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    expect = {}
    for fname, fn, desc in FIXTURES:
        g = fn(out)
        e = expectations(g, weights_only=(fname == "weights_only.h5"))
        e["description"] = desc
        if fname == "fresh_init.h5":
            e["flags"] = FRESH_FLAGS
        expect[fname] = e
    e = expect["seq_list.h5"]
    e["note"] = "no InputLayer in the config; the input comes from dense_1's batch_input_shape [null, 6]"
    e = expect["seq_dict_noinput.h5"]
    e["note"] = "no InputLayer in the config; the input comes from conv1d's batch_input_shape [null, 16, 4]"
    with open(os.path.join(out, "expect.json"), "w") as f:
        json.dump(expect, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(out, n)) for n, _, _ in FIXTURES)
    print("wrote %d fixtures (%d bytes) and expect.json to %s" % (len(FIXTURES), total, out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
