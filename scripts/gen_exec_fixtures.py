#!/usr/bin/python3
"""gen_exec_fixtures.py -- small Keras .h5 models (and inputs) for checking k2t's execution.

    /usr/bin/python3 scripts/gen_exec_fixtures.py OUTDIR

Writes, for every fixture NAME, OUTDIR/NAME.h5 (legacy Keras 2.x/3 H5, written by
scripts/gen_fixtures.py's writer exactly as Keras lays it out, with random
"trained-looking" weights), OUTDIR/NAME.in.npy (float32, Keras layout NHWC,
batch 3) and OUTDIR/exec_manifest.json:

    {"NAME.h5": {"input": "NAME.in.npy", "description": "...",
                 ["oracle_model": "NAME.oracle.h5", "oracle_only": [layer, ...]]}}

Together the fixtures use every layer class k2t executes and the configurations
where ports go wrong (TF 'same' padding at strides 2/3 on even and odd sizes,
dilation, groups, transposed convolutions with and without output_padding,
pooling windows that hang over the edge, every activation, BN variants, merge
layers with 3 inputs, Keras 3's hard_sigmoid ...).

The reference is tests/oracle/keras_ref.mjs (tfjs-layers).  For the few options
tfjs cannot run (Conv2D groups, GlobalPooling keepdims, Conv2DTranspose
output_padding), a fixture also gets NAME.oracle.h5: the same function written
with layers tfjs has (a block-diagonal full convolution; pooling + Reshape; a
full transposed convolution + Cropping2D/ZeroPadding2D + a 1x1 depthwise
convolution holding the bias), with the same layer names for the layers whose
outputs are compared; "oracle_only" lists the helper layers that exist only in
the oracle model.

Deterministic: fixed seeds, byte-identical output on reruns.
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import T, Graph, Sequential, write_model  # noqa: E402

ACTIVATIONS = ["linear", "relu", "relu6", "sigmoid", "hard_sigmoid", "tanh", "softmax",
               "softplus", "softsign", "elu", "selu", "swish", "gelu", "exponential"]

FIXTURES = []   # (file, builder, description)


def fixture(fname, desc):
    def deco(fn):
        FIXTURES.append((fname, fn, desc))
        return fn
    return deco


def normal_input(seed, shape, scale=1.5, shift=0.0, batch=3):
    rng = np.random.RandomState(seed)
    return (rng.normal(0.0, scale, (batch,) + tuple(shape)) + shift).astype(np.float32)


class Pair:
    """Build a model, and optionally its oracle twin, sharing weights by layer name.

    The Keras model is built first (pass "keras"); every weight it draws is
    recorded by layer name and handed to the same-named layer of the oracle twin
    (pass "oracle"), so both files hold identical numbers."""

    def __init__(self, style, seed, name="model"):
        self.style, self.seed, self.name = style, seed, name
        self.rec = {}
        self.g = None
        self.oracle = False

    def start(self, oracle):
        self.oracle = oracle
        self.g = Graph(self.style, self.seed, name=self.name)
        return self.g

    def add(self, cls, x, name, values=None, **kw):
        if values is None and self.oracle:
            values = self.rec.get(name)
        t = self.g.add(cls, x, name=name, values=values, **kw)
        if not self.oracle:
            self.rec[name] = {var: arr for var, arr, _, _ in t.layer.weights}
        return t


# ---------------------------------------------------------------- convolutions

CONV_SPECS_A = [
    ("s1_same", dict(kernel_size=[3, 3], padding="same")),
    ("s1_valid", dict(kernel_size=[3, 3], padding="valid")),
    ("s2_same", dict(kernel_size=[3, 3], strides=[2, 2], padding="same")),
    ("s2_valid", dict(kernel_size=[3, 3], strides=[2, 2], padding="valid")),
    ("s3_same", dict(kernel_size=[3, 3], strides=[3, 3], padding="same")),
    ("s3_valid", dict(kernel_size=[3, 3], strides=[3, 3], padding="valid")),
]
CONV_SPECS_B = [
    ("k4_s2_same", dict(kernel_size=[4, 4], strides=[2, 2], padding="same")),
    ("k2_s1_same", dict(kernel_size=[2, 2], padding="same")),
    ("d2_same", dict(kernel_size=[3, 3], dilation_rate=[2, 2], padding="same")),
    ("d2_valid", dict(kernel_size=[3, 3], dilation_rate=[2, 2], padding="valid")),
    ("rect_nobias", dict(kernel_size=[2, 3], strides=[1, 2], padding="same", use_bias=False)),
]


def conv_branches(out, fname, style, seed, in_shape, specs, act_cycle):
    """Conv2D branches off the input, one per spec; each branch is averaged
    globally, all are concatenated, then a Dense."""
    g = Graph(style, seed)
    x = g.Input(in_shape)
    pools = []
    for i, (name, kw) in enumerate(specs):
        c = g.add("Conv2D", x, name=name, filters=4, activation=act_cycle[i % len(act_cycle)], **kw)
        pools.append(g.add("GlobalAveragePooling2D", c, name="gap_" + name))
    y = g.add("Concatenate", pools, name="concat", axis=-1)
    y = g.add("Dense", y, name="head", units=5)
    g.outputs = [y]
    write_model(os.path.join(out, fname), g)
    return normal_input(seed + 1000, in_shape)


DESC_A = "Conv2D kernel 3 stride 1/2/3, 'same' and 'valid'"
DESC_B = ("Conv2D kernel 4 stride 2 same, kernel 2 same, dilation 2 same/valid, 2x3 kernel strides (1,2) "
          "same without bias")


@fixture("conv_8x8_a.h5", DESC_A + ", on an even 8x8 input")
def fx_conv_8x8_a(out):
    return conv_branches(out, "conv_8x8_a.h5", "k214", 1001, (8, 8, 3), CONV_SPECS_A, ["relu", "linear", "tanh"])


@fixture("conv_8x8_b.h5", DESC_B + ", on an even 8x8 input")
def fx_conv_8x8_b(out):
    return conv_branches(out, "conv_8x8_b.h5", "k214", 1031, (8, 8, 3), CONV_SPECS_B, ["elu", "linear"])


@fixture("conv_9x9_a.h5", DESC_A + ", on an odd 9x9 input")
def fx_conv_9x9_a(out):
    return conv_branches(out, "conv_9x9_a.h5", "k214", 1002, (9, 9, 3), CONV_SPECS_A, ["linear", "sigmoid"])


@fixture("conv_9x9_b.h5", DESC_B + ", on an odd 9x9 input")
def fx_conv_9x9_b(out):
    return conv_branches(out, "conv_9x9_b.h5", "k214", 1032, (9, 9, 3), CONV_SPECS_B, ["relu", "linear"])


@fixture("conv_7x10_a.h5", DESC_A + ", on a 7x10 input (odd height, even width: H/W mix-ups show)")
def fx_conv_7x10_a(out):
    return conv_branches(out, "conv_7x10_a.h5", "k24", 1003, (7, 10, 2), CONV_SPECS_A, ["softplus", "linear"])


@fixture("conv_7x10_b.h5", DESC_B + ", on a 7x10 input")
def fx_conv_7x10_b(out):
    return conv_branches(out, "conv_7x10_b.h5", "k24", 1033, (7, 10, 2), CONV_SPECS_B, ["linear", "relu"])


@fixture("conv_groups.h5", "Conv2D groups=2 (stride 1 same) and groups=2 stride 2 valid without bias; "
         "oracle: the equivalent block-diagonal full convolutions")
def fx_conv_groups(out):
    p = Pair("k214", 1004)
    for oracle in (False, True):
        g = p.start(oracle)
        x = g.Input((7, 7, 4))
        if not oracle:
            a = p.add("Conv2D", x, "grouped", filters=6, kernel_size=[3, 3], padding="same",
                      groups=2, activation="relu")
            b = p.add("Conv2D", a, "grouped_s2", filters=4, kernel_size=[3, 3], strides=[2, 2],
                      groups=2, use_bias=False)
        else:
            a = p.add("Conv2D", x, "grouped", filters=6, kernel_size=[3, 3], padding="same",
                      activation="relu", values=block_diag_values(p.rec["grouped"], 2, 4))
            b = p.add("Conv2D", a, "grouped_s2", filters=4, kernel_size=[3, 3], strides=[2, 2],
                      use_bias=False, values=block_diag_values(p.rec["grouped_s2"], 2, 6))
        y = p.add("Flatten", b, "flatten")
        y = p.add("Dense", y, "head", units=3)
        g.outputs = [y]
        write_model(os.path.join(out, "conv_groups.oracle.h5" if oracle else "conv_groups.h5"), g)
    return normal_input(2004, (7, 7, 4)), []


def block_diag_values(vals, groups, cin):
    """A grouped kernel (kh,kw,cin/groups,cout) as the equivalent full (kh,kw,cin,cout) kernel."""
    k = vals["kernel"]
    kh, kw, cg, cout = k.shape
    og = cout // groups
    full = np.zeros((kh, kw, cin, cout), np.float32)
    for gi in range(groups):
        full[:, :, gi * cg:(gi + 1) * cg, gi * og:(gi + 1) * og] = k[:, :, :, gi * og:(gi + 1) * og]
    v = {"kernel": full}
    if "bias" in vals:
        v["bias"] = vals["bias"]
    return v


@fixture("conv1d.h5", "Conv1D valid, same, stride 2 same/valid, dilation 2; MaxPooling1D/AveragePooling1D "
         "valid and same (stride 2, odd length); GlobalMax/AveragePooling1D")
def fx_conv1d(out):
    g = Graph("k214", 1005)
    x = g.Input((11, 4))
    a = g.add("Conv1D", x, name="c1_valid", filters=5, kernel_size=[3], activation="relu")
    b = g.add("Conv1D", x, name="c1_same", filters=5, kernel_size=[3], padding="same", activation="tanh")
    c = g.add("Conv1D", x, name="c1_s2_same", filters=5, kernel_size=[3], strides=[2], padding="same")
    d = g.add("Conv1D", x, name="c1_s2_valid", filters=5, kernel_size=[4], strides=[2])
    e = g.add("Conv1D", x, name="c1_d2", filters=5, kernel_size=[3], dilation_rate=[2], padding="same")
    p1 = g.add("MaxPooling1D", a, name="mp1_valid", pool_size=[2])                       # 9 -> 4
    p2 = g.add("AveragePooling1D", b, name="ap1_same", pool_size=[3], strides=[2], padding="same")  # 11 -> 6
    p3 = g.add("MaxPooling1D", b, name="mp1_same", pool_size=[2], strides=[2], padding="same")      # 11 -> 6
    p4 = g.add("AveragePooling1D", e, name="ap1_valid", pool_size=[3], strides=[2])      # 11 -> 5
    gs = [g.add("GlobalMaxPooling1D", p1, name="gmp1"),
          g.add("GlobalAveragePooling1D", p2, name="gap1"),
          g.add("GlobalMaxPooling1D", p3, name="gmp1_b"),
          g.add("GlobalAveragePooling1D", p4, name="gap1_b"),
          g.add("GlobalMaxPooling1D", c, name="gmp1_c"),
          g.add("GlobalAveragePooling1D", d, name="gap1_d")]
    y = g.add("Concatenate", gs, name="concat", axis=-1)
    y = g.add("Dense", y, name="head", units=4, activation="softmax")
    g.outputs = [y]
    write_model(os.path.join(out, "conv1d.h5"), g)
    return normal_input(2005, (11, 4))


@fixture("depthwise_separable.h5", "DepthwiseConv2D depth_multiplier 2 stride 2 same on 9x9, depthwise 1 "
         "valid no bias; SeparableConv2D multiplier 2 same and stride 2 valid")
def fx_depthwise(out):
    g = Graph("k214", 1006)
    x = g.Input((9, 9, 3))
    a = g.add("DepthwiseConv2D", x, name="dw_m2_s2_same", kernel_size=[3, 3], strides=[2, 2],
              padding="same", depth_multiplier=2, activation="relu6")                     # 5x5x6
    b = g.add("DepthwiseConv2D", x, name="dw_valid_nobias", kernel_size=[3, 3], use_bias=False)  # 7x7x3
    # (no fused activation on the multiplier-2 SeparableConv2D: the oracle's pre-activation probe
    # rebuilds the layer from tfjs's getConfig(), which drops depthMultiplier for SeparableConv2D)
    c = g.add("SeparableConv2D", x, name="sep_m2_same", filters=5, kernel_size=[3, 3], padding="same",
              depth_multiplier=2)                                                         # 9x9x5
    d = g.add("SeparableConv2D", c, name="sep_s2_valid", filters=4, kernel_size=[3, 3], strides=[2, 2],
              activation="relu")                                                          # 4x4x4
    gs = [g.add("GlobalAveragePooling2D", t, name="gap_" + t.layer.name) for t in (a, b, d)]
    y = g.add("Concatenate", gs, name="concat", axis=-1)
    y = g.add("Dense", y, name="head", units=3)
    g.outputs = [y]
    write_model(os.path.join(out, "depthwise_separable.h5"), g)
    return normal_input(2006, (9, 9, 3))


@fixture("depthwise_m1.h5", "DepthwiseConv2D depth_multiplier 1 stride 1 'same' on 7x7x4 as the first layer "
         "(diff's first divergence when its kernel is misread), GlobalAveragePooling2D, Dense")
def fx_depthwise_m1(out):
    g = Graph("k214", 1038)
    x = g.Input((7, 7, 4))
    a = g.add("DepthwiseConv2D", x, name="dw", kernel_size=[3, 3], padding="same")     # 7x7x4
    y = g.add("GlobalAveragePooling2D", a, name="gap")
    y = g.add("Dense", y, name="head", units=3)
    g.outputs = [y]
    write_model(os.path.join(out, "depthwise_m1.h5"), g)
    return normal_input(2038, (7, 7, 4))


@fixture("separable_m1.h5", "SeparableConv2D depth_multiplier 1 'same' with relu on 7x7x4 as the first layer, "
         "GlobalAveragePooling2D, Dense")
def fx_separable_m1(out):
    g = Graph("k214", 1039)
    x = g.Input((7, 7, 4))
    a = g.add("SeparableConv2D", x, name="sep", filters=6, kernel_size=[3, 3], padding="same",
              activation="relu")                                                        # 7x7x6
    y = g.add("GlobalAveragePooling2D", a, name="gap")
    y = g.add("Dense", y, name="head", units=3)
    g.outputs = [y]
    write_model(os.path.join(out, "separable_m1.h5"), g)
    return normal_input(2039, (7, 7, 4))


@fixture("separable_eq.h5", "Xception-style: two SeparableConv2D with as many input as output channels (4->4, "
         "'same' relu, then stride 2 'valid'), GlobalAveragePooling2D, Dense")
def fx_separable_eq(out):
    g = Graph("k214", 1041)
    x = g.Input((8, 8, 4))
    a = g.add("SeparableConv2D", x, name="sep_a", filters=4, kernel_size=[3, 3], padding="same",
              activation="relu")                                                        # 8x8x4
    b = g.add("SeparableConv2D", a, name="sep_b", filters=4, kernel_size=[3, 3], strides=[2, 2],
              padding="valid")                                                          # 3x3x4
    y = g.add("GlobalAveragePooling2D", b, name="gap")
    y = g.add("Dense", y, name="head", units=3)
    g.outputs = [y]
    write_model(os.path.join(out, "separable_eq.h5"), g)
    return normal_input(2041, (8, 8, 4))


def deconv_fixture(out, fname, seed, specs):
    g = Graph("k214", seed)
    x = g.Input((5, 4, 3))
    gs = []
    for name, kw in specs:
        t = g.add("Conv2DTranspose", x, name=name, filters=3, **kw)
        gs.append(g.add("GlobalMaxPooling2D", t, name="gmp_" + name))
    y = g.add("Concatenate", gs, name="concat", axis=-1)
    y = g.add("Dense", y, name="head", units=3)
    g.outputs = [y]
    write_model(os.path.join(out, fname), g)
    return normal_input(seed + 1000, (5, 4, 3))


@fixture("conv_transpose_same.h5", "Conv2DTranspose 'same' stride 2 kernel 3 (relu) and kernel 4, "
         "stride 1 kernel (3,2), on a 5x4 input")
def fx_deconv_same(out):
    return deconv_fixture(out, "conv_transpose_same.h5", 1007, [
        ("t_same_s2_k3", dict(kernel_size=[3, 3], strides=[2, 2], padding="same", activation="relu")),
        ("t_same_s2_k4", dict(kernel_size=[4, 4], strides=[2, 2], padding="same")),
        ("t_same_s1_k32", dict(kernel_size=[3, 2], strides=[1, 1], padding="same")),
    ])


@fixture("conv_transpose_valid.h5", "Conv2DTranspose 'valid' stride 2 and 3 with kernel 3 and 4 (one without "
         "bias), kernel 2 < stride 3 (zero rows between), on a 5x4 input")
def fx_deconv_valid(out):
    return deconv_fixture(out, "conv_transpose_valid.h5", 1027, [
        ("t_valid_s2_k3", dict(kernel_size=[3, 3], strides=[2, 2], padding="valid", activation="tanh")),
        ("t_valid_s2_k4", dict(kernel_size=[4, 4], strides=[2, 2], padding="valid")),
        ("t_valid_s3_k3", dict(kernel_size=[3, 3], strides=[3, 3], padding="valid")),
        ("t_valid_s3_k4", dict(kernel_size=[4, 4], strides=[3, 3], padding="valid", use_bias=False)),
        ("t_valid_s3_k2", dict(kernel_size=[2, 2], strides=[3, 3], padding="valid")),
    ])


def deconv_full_len(n, k, s):
    """Length of the full transposed convolution F (what tfjs 'valid' gives)."""
    return (n - 1) * s + max(k, s)


def deconv_offset(n, k, s, padding, op):
    """Keras's output length and the offset c with y[o] = F[o + c] (KERAS-FORMAT.md section 4)."""
    pad = k // 2 if padding == "same" else 0
    out = (n - 1) * s + k - 2 * pad + op
    c = max((n - 1) * s + k - out, 0) // 2
    return out, c


def deconv_op_twin(p, x, name, in_hw, filters, k, s, padding, op, activation):
    """Oracle form of Conv2DTranspose(output_padding=op): full 'valid' transposed conv
    without bias, crop/pad to Keras's window, then a 1x1 depthwise conv of ones + bias."""
    v = p.rec[name]
    full = p.add("Conv2DTranspose", x, name + "__full", filters=filters, kernel_size=list(k),
                 strides=list(s), padding="valid", use_bias=False, values={"kernel": v["kernel"]})
    crop, zpad = [], []
    for i in range(2):
        fl = deconv_full_len(in_hw[i], k[i], s[i])
        o, c = deconv_offset(in_hw[i], k[i], s[i], padding, op[i])
        end = c + o
        crop.append([c, max(fl - end, 0)])
        zpad.append([0, max(end - fl, 0)])
    t = full
    helpers = [name + "__full"]
    if any(a or b for a, b in crop):
        t = p.add("Cropping2D", t, name + "__crop", cropping=crop)
        helpers.append(name + "__crop")
    if any(a or b for a, b in zpad):
        t = p.add("ZeroPadding2D", t, name + "__pad", padding=zpad)
        helpers.append(name + "__pad")
    bias = v.get("bias", np.zeros(filters, np.float32))
    t = p.add("DepthwiseConv2D", t, name, kernel_size=[1, 1], activation=activation,
              values={"depthwise_kernel": np.ones((1, 1, filters, 1), np.float32), "bias": bias})
    return t, helpers


@fixture("conv_transpose_outpad.h5", "Conv2DTranspose with output_padding: valid k3 s2 op (1,1); same k3 s2 "
         "op (1,0); valid k4 s3 op (2,1) with relu; oracle: full transposed conv + crop/pad + bias")
def fx_deconv_outpad(out):
    p = Pair("k214", 1008)
    in_hw = (4, 5)
    specs = [("top_valid_k3_s2", (3, 3), (2, 2), "valid", (1, 1), "linear"),
             ("top_same_k3_s2", (3, 3), (2, 2), "same", (1, 0), "linear"),
             ("top_valid_k4_s3", (4, 4), (3, 3), "valid", (2, 1), "relu")]
    helpers = []
    for oracle in (False, True):
        g = p.start(oracle)
        x = g.Input(in_hw + (2,))
        gs = []
        for name, k, s, pad, op, act in specs:
            if not oracle:
                t = p.add("Conv2DTranspose", x, name, filters=3, kernel_size=list(k), strides=list(s),
                          padding=pad, output_padding=list(op), activation=act)
            else:
                t, h = deconv_op_twin(p, x, name, in_hw, 3, k, s, pad, op, act)
                helpers += h
            gs.append(p.add("GlobalAveragePooling2D", t, "gap_" + name))
        y = p.add("Concatenate", gs, "concat", axis=-1)
        y = p.add("Dense", y, "head", units=2)
        g.outputs = [y]
        write_model(os.path.join(out, "conv_transpose_outpad.oracle.h5" if oracle
                                 else "conv_transpose_outpad.h5"), g)
    return normal_input(2008, in_hw + (2,)), helpers


# ------------------------------------------------------------------ dense etc.

@fixture("dense.h5", "Dense on a rank-3 input (last axis), Flatten, Dense on rank 2, BatchNormalization "
         "on a 2-D input, LayerNormalization on rank 3 and rank 2")
def fx_dense(out):
    g = Graph("k214", 1009)
    x = g.Input((6, 5))
    a = g.add("Dense", x, name="dense_rank3", units=4, activation="relu")
    a = g.add("LayerNormalization", a, name="ln_rank3", axis=[2])
    f = g.add("Flatten", a, name="flatten")
    b = g.add("Dense", f, name="dense_rank2", units=7)
    b = g.add("BatchNormalization", b, name="bn_2d", axis=[1])
    b = g.add("LayerNormalization", b, name="ln_rank2", axis=[1], epsilon=1e-5)
    y = g.add("Dense", b, name="dense_softmax", units=4, activation="softmax")
    g.outputs = [y]
    write_model(os.path.join(out, "dense.h5"), g)
    return normal_input(2009, (6, 5))


@fixture("flatten_dense.h5", "Flatten of a 4x4x8 NHWC map (HWC order) before a Dense")
def fx_flatten_dense(out):
    g = Graph("k24", 1010)
    x = g.Input((8, 8, 3))
    c = g.add("Conv2D", x, name="conv", filters=8, kernel_size=[3, 3], strides=[2, 2], padding="same",
              activation="relu")                                                          # 4x4x8
    f = g.add("Flatten", c, name="flatten")
    y = g.add("Dense", f, name="dense", units=10, activation="softmax")
    g.outputs = [y]
    write_model(os.path.join(out, "flatten_dense.h5"), g)
    return normal_input(2010, (8, 8, 3))


@fixture("batchnorm.h5", "BatchNormalization eps 1e-3, eps 1e-5 (Keras 2 fused: 1.001e-5), center=False, "
         "scale=False, both False on 4-D; LayerNormalization axis -1 on 4-D")
def fx_batchnorm(out):
    g = Graph("k214", 1011)
    x = g.Input((6, 5, 4))
    a = g.add("BatchNormalization", x, name="bn_eps1e3", axis=[3])
    b = g.add("BatchNormalization", x, name="bn_eps1e5", axis=[3], epsilon=1e-5)
    c = g.add("BatchNormalization", x, name="bn_nocenter", axis=[3], center=False)
    d = g.add("BatchNormalization", x, name="bn_noscale", axis=[3], scale=False)
    e = g.add("BatchNormalization", x, name="bn_neither", axis=[3], center=False, scale=False)
    f = g.add("LayerNormalization", x, name="ln_4d", axis=[3])
    y = g.add("Add", [a, b, c, d, e, f], name="add")
    y = g.add("GlobalAveragePooling2D", y, name="gap")
    g.outputs = [y]
    write_model(os.path.join(out, "batchnorm.h5"), g)
    return normal_input(2011, (6, 5, 4), scale=1.0)


@fixture("bn_eps_clamp.h5", "Keras 2 BatchNormalization epsilon 1e-5 with tiny moving variances (1e-6..1e-5): "
         "Keras 2's fused BN raises epsilon to 1.001e-5 (visible here); a 2-D BN keeps 1e-5")
def fx_bn_eps_clamp(out):
    rng = np.random.RandomState(3012)
    g = Graph("k214", 1012)
    x = g.Input((4, 4, 3))
    mv = rng.uniform(1e-6, 1e-5, 3).astype(np.float32)
    a = g.add("BatchNormalization", x, name="bn_small_var", axis=[3], epsilon=1e-5,
              values={"moving_variance": mv, "moving_mean": np.zeros(3, np.float32)})
    f = g.add("GlobalAveragePooling2D", a, name="gap")
    mv2 = rng.uniform(1e-6, 1e-5, 3).astype(np.float32)
    y = g.add("BatchNormalization", f, name="bn_2d_small_var", axis=[1], epsilon=1e-5,
              values={"moving_variance": mv2})
    g.outputs = [y]
    write_model(os.path.join(out, "bn_eps_clamp.h5"), g)
    return normal_input(2012, (4, 4, 3), scale=0.01)


# ----------------------------------------------------------------- activations

def act_fixture(out, fname, seed, cls, acts=ACTIVATIONS):
    """Activations by name: in Activation layers, or fused into Conv2D or Dense."""
    g = Graph("k214", seed)
    if cls == "Dense":
        x = g.Input((6,))
    else:
        x = g.Input((4, 4, 3))
    outs = []
    for a in acts:
        if cls == "Activation":
            outs.append(g.add("Activation", x, name="act_" + a, activation=a))
        elif cls == "Conv2D":
            t = g.add("Conv2D", x, name="conv_" + a, filters=2, kernel_size=[3, 3], padding="same",
                      activation=a)
            outs.append(t)
        else:
            outs.append(g.add("Dense", x, name="dense_" + a, units=3, activation=a))
    y = g.add("Concatenate", outs, name="concat", axis=-1)
    g.outputs = [y]
    write_model(os.path.join(out, fname), g)
    shape = (6,) if cls == "Dense" else (4, 4, 3)
    return normal_input(seed + 1000, shape, scale=1.5)


@fixture("act_layers.h5", "Activation layers, one per activation name (linear relu relu6 sigmoid hard_sigmoid "
         "tanh softmax softplus softsign elu selu swish gelu exponential), Keras 2.14")
def fx_act_layers(out):
    return act_fixture(out, "act_layers.h5", 1013, "Activation")


@fixture("act_conv_a.h5", "the first 7 activations fused in a Conv2D (softmax over channels)")
def fx_act_conv_a(out):
    return act_fixture(out, "act_conv_a.h5", 1014, "Conv2D", ACTIVATIONS[:7])


@fixture("act_conv_b.h5", "the other 7 activations fused in a Conv2D")
def fx_act_conv_b(out):
    return act_fixture(out, "act_conv_b.h5", 1034, "Conv2D", ACTIVATIONS[7:])


@fixture("act_dense_a.h5", "the first 7 activations fused in a Dense")
def fx_act_dense_a(out):
    return act_fixture(out, "act_dense_a.h5", 1015, "Dense", ACTIVATIONS[:7])


@fixture("act_dense_b.h5", "the other 7 activations fused in a Dense")
def fx_act_dense_b(out):
    return act_fixture(out, "act_dense_b.h5", 1035, "Dense", ACTIVATIONS[7:])


@fixture("relu_family.h5", "ReLU(max_value 6, negative_slope 0.1, threshold 0.5), ReLU(), ReLU(max_value 6), "
         "LeakyReLU alpha 0.3 and 0.1, PReLU shared_axes [1,2] and unshared, ELU, "
         "Softmax axis -1; inputs up to about +-10")
def fx_relu_family(out):
    g = Graph("k214", 1016)
    x = g.Input((5, 4, 3))
    outs = [
        g.add("ReLU", x, name="relu_full", max_value=6.0, negative_slope=0.1, threshold=0.5),
        g.add("ReLU", x, name="relu_plain"),
        g.add("ReLU", x, name="relu_max6", max_value=6.0),
        g.add("LeakyReLU", x, name="leaky_default"),
        g.add("LeakyReLU", x, name="leaky_01", alpha=0.1),
        g.add("PReLU", x, name="prelu_shared", shared_axes=[1, 2]),
        g.add("PReLU", x, name="prelu_full"),
        g.add("ELU", x, name="elu"),   # tfjs runs only alpha 1.0
        g.add("Softmax", x, name="softmax_last", axis=-1),
    ]
    y = g.add("Concatenate", outs, name="concat", axis=-1)
    g.outputs = [y]
    write_model(os.path.join(out, "relu_family.h5"), g)
    return normal_input(2016, (5, 4, 3), scale=4.0)


@fixture("softmax_axis.h5", "Softmax layer over axis 1 (H) and axis 2 (W) of a 4-D tensor and axis 1 of a "
         "3-D one; oracle: Permute, Softmax over the last axis, Permute back")
def fx_softmax_axis(out):
    p = Pair("k214", 1036)
    helpers = []
    for oracle in (False, True):
        g = p.start(oracle)
        x = g.Input((5, 4, 3))

        def sm(t, name, axis, rank):
            if not oracle:
                return p.add("Softmax", t, name, axis=axis)
            dims = list(range(1, rank + 1))
            dims[axis - 1], dims[-1] = dims[-1], dims[axis - 1]
            helpers.extend([name + "__perm", name + "__softmax"])
            u = p.add("Permute", t, name + "__perm", dims=dims)
            u = p.add("Softmax", u, name + "__softmax", axis=-1)
            return p.add("Permute", u, name, dims=dims)
        a = sm(x, "softmax_axis1", 1, 3)
        b = sm(x, "softmax_axis2", 2, 3)
        r = p.add("Reshape", x, "as_seq", target_shape=[20, 3])
        c = sm(r, "softmax_seq_axis1", 1, 2)
        c = p.add("Reshape", c, "back", target_shape=[5, 4, 3])
        y = p.add("Concatenate", [a, b, c], "concat", axis=-1)
        g.outputs = [y]
        write_model(os.path.join(out, "softmax_axis.oracle.h5" if oracle else "softmax_axis.h5"), g)
    return normal_input(2036, (5, 4, 3), scale=3.0), helpers


# --------------------------------------------------------- merges and shaping

@fixture("merge.h5", "Dropout, SpatialDropout2D, GaussianNoise (identities); Add, Multiply, Average, Maximum, "
         "Minimum with 3 inputs, Subtract; Concatenate on axis -1, 1 and 2")
def fx_merge(out):
    g = Graph("k214", 1017)
    x = g.Input((6, 5, 4))
    a = g.add("Conv2D", x, name="a", filters=4, kernel_size=[1, 1])
    b = g.add("Dropout", a, name="dropout", rate=0.5)
    c = g.add("SpatialDropout2D", x, name="spatial_dropout", rate=0.3)
    d = g.add("GaussianNoise", a, name="gaussian_noise", stddev=0.5)
    m = [g.add("Add", [x, b, c], name="add3"),
         g.add("Subtract", [x, d], name="subtract"),
         g.add("Multiply", [x, a, c], name="multiply3"),
         g.add("Average", [a, x, d], name="average3"),
         g.add("Maximum", [x, a, b], name="maximum3"),
         g.add("Minimum", [a, c, x], name="minimum3")]
    c1 = g.add("Concatenate", m[:3], name="concat_last", axis=-1)       # 6x5x12
    c2 = g.add("Concatenate", m[3:], name="concat_h", axis=1)           # 18x5x4
    c3 = g.add("Concatenate", [m[0], m[4]], name="concat_w", axis=2)    # 6x10x4
    gs = [g.add("GlobalMaxPooling2D", t, name="gmp_" + t.layer.name) for t in (c1, c2, c3)]
    y = g.add("Concatenate", gs, name="concat_out", axis=-1)
    g.outputs = [y]
    write_model(os.path.join(out, "merge.h5"), g)
    return normal_input(2017, (6, 5, 4))


@fixture("reshape.h5", "ZeroPadding2D ((1,2),(0,3)), Cropping2D ((2,1),(0,2)), UpSampling2D nearest 2 and "
         "(2,3), Permute (2,1,3), Reshape with -1, Dense on the reshaped rank-3 tensor")
def fx_reshape(out):
    g = Graph("k214", 1018)
    x = g.Input((5, 6, 3))
    a = g.add("ZeroPadding2D", x, name="zpad", padding=[[1, 2], [0, 3]])          # 8x9x3
    b = g.add("Cropping2D", a, name="crop", cropping=[[2, 1], [0, 2]])            # 5x7x3
    c = g.add("UpSampling2D", b, name="up2", size=[2, 2])                         # 10x14x3
    d = g.add("UpSampling2D", x, name="up23", size=[2, 3])                        # 10x18x3
    e = g.add("Permute", b, name="permute", dims=[2, 1, 3])                       # 7x5x3
    f = g.add("Reshape", e, name="reshape", target_shape=[-1, 15])                # 7x15
    f = g.add("Dense", f, name="dense", units=4)                                  # 7x4
    f = g.add("Reshape", f, name="reshape_flat", target_shape=[28])
    gs = [g.add("GlobalAveragePooling2D", c, name="gap_up2"),
          g.add("GlobalMaxPooling2D", d, name="gmp_up23"), f]
    y = g.add("Concatenate", gs, name="concat", axis=-1)
    g.outputs = [y]
    write_model(os.path.join(out, "reshape.h5"), g)
    return normal_input(2018, (5, 6, 3))


@fixture("pooling.h5", "MaxPooling2D/AveragePooling2D on 7x10 (inputs mostly negative): pool 2 stride 2 same, "
         "pool 3 stride 2 same (padding on both sides in H), valid 2 and 3x3 stride 2, pool (2,3) strides (1,2) "
         "same; GlobalMax/AveragePooling2D")
def fx_pooling(out):
    g = Graph("k214", 1019)
    x = g.Input((7, 10, 3))
    specs = [
        ("p2_s2_same", dict(pool_size=[2, 2], strides=[2, 2], padding="same")),
        ("p3_s2_same", dict(pool_size=[3, 3], strides=[2, 2], padding="same")),
        ("p2_valid", dict(pool_size=[2, 2], padding="valid")),
        ("p3_s2_valid", dict(pool_size=[3, 3], strides=[2, 2], padding="valid")),
        ("p23_s12_same", dict(pool_size=[2, 3], strides=[1, 2], padding="same")),
    ]
    gs = []
    for name, kw in specs:
        for cls, pre in (("MaxPooling2D", "max_"), ("AveragePooling2D", "avg_")):
            t = g.add(cls, x, name=pre + name, **kw)
            gs.append(g.add("Flatten", t, name="flat_" + pre + name))
    gs.append(g.add("GlobalMaxPooling2D", x, name="gmp"))
    gs.append(g.add("GlobalAveragePooling2D", x, name="gap"))
    y = g.add("Concatenate", gs, name="concat", axis=-1)
    g.outputs = [y]
    write_model(os.path.join(out, "pooling.h5"), g)
    return normal_input(2019, (7, 10, 3), scale=1.0, shift=-1.5)


@fixture("global_keepdims.h5", "GlobalAverage/MaxPooling2D and 1D with keepdims=True; oracle: pooling "
         "without keepdims + Reshape")
def fx_global_keepdims(out):
    p = Pair("k214", 1020)
    helpers = []
    for oracle in (False, True):
        g = p.start(oracle)
        x = g.Input((5, 6, 4))

        def keep(cls, t, name, rank):
            if not oracle:
                return p.add(cls, t, name, keepdims=True)
            helpers.append(name + "__flat")
            u = p.add(cls, t, name + "__flat")
            return p.add("Reshape", u, name, target_shape=[1] * rank + [4])
        a = keep("GlobalAveragePooling2D", x, "gap_keep", 2)
        b = keep("GlobalMaxPooling2D", x, "gmp_keep", 2)
        s = p.add("Reshape", x, "as_seq", target_shape=[30, 4])
        c = keep("GlobalAveragePooling1D", s, "gap1_keep", 1)
        d = keep("GlobalMaxPooling1D", s, "gmp1_keep", 1)
        e = p.add("Add", [a, b], "add")                                   # 1x1x4
        e = p.add("Conv2D", e, "conv", filters=3, kernel_size=[1, 1])
        f = p.add("Concatenate", [c, d], "concat1", axis=-1)              # 1x8
        e = p.add("Flatten", e, "flat_e")
        f = p.add("Flatten", f, "flat_f")
        y = p.add("Concatenate", [e, f], "concat", axis=-1)
        g.outputs = [y]
        write_model(os.path.join(out, "global_keepdims.oracle.h5" if oracle else "global_keepdims.h5"), g)
    return normal_input(2020, (5, 6, 4)), helpers


@fixture("rescaling.h5", "Rescaling(1/255, offset -0.5) on raw 0..255 pixels, then Conv2D stride 2 same")
def fx_rescaling(out):
    g = Graph("k214", 1021)
    x = g.Input((6, 6, 3))
    a = g.add("Rescaling", x, name="rescaling", scale=1.0 / 255, offset=-0.5)
    y = g.add("Conv2D", a, name="conv", filters=4, kernel_size=[3, 3], strides=[2, 2], padding="same",
              activation="relu")
    g.outputs = [y]
    write_model(os.path.join(out, "rescaling.h5"), g)
    rng = np.random.RandomState(2021)
    return rng.randint(0, 256, (3, 6, 6, 3)).astype(np.float32)


@fixture("normalization.h5", "Normalization (adapted mean, variance, count) on raw features per channel, then "
         "Conv2D stride 2 same and Dense; the oracle twin holds it as a 1x1 DepthwiseConv2D")
def fx_normalization(out):
    p = Pair("k214", 1031)
    helpers = []
    rec = {}
    for oracle in (False, True):
        g = p.start(oracle)
        x = g.Input((6, 6, 3))
        if not oracle:
            a = p.add("Normalization", x, "norm")
            rec = {var: arr for var, arr, _, _ in a.layer.weights}
        else:
            # (x - mean) / sqrt(var) as a depthwise 1x1 convolution: the same numbers
            sd = np.maximum(np.sqrt(rec["variance"].astype(np.float64)), 1e-7)
            k = (1.0 / sd).reshape(1, 1, 3, 1).astype(np.float32)
            b = (-rec["mean"] / sd).astype(np.float32)
            a = g.add("DepthwiseConv2D", x, name="norm", kernel_size=[1, 1],
                      values={"depthwise_kernel": k, "bias": b})
        c = p.add("Conv2D", a, "conv", filters=4, kernel_size=[3, 3], strides=[2, 2], padding="same",
                  activation="relu")
        f = p.add("Flatten", c, "flat")
        y = p.add("Dense", f, "dense", units=3)
        g.outputs = [y]
        write_model(os.path.join(out, "normalization.oracle.h5" if oracle else "normalization.h5"), g)
    rng = np.random.RandomState(1032)
    return rng.normal(100.0, 40.0, (3, 6, 6, 3)).astype(np.float32), helpers


@fixture("recurrent.h5", "Embedding, LSTM (sequences), SimpleRNN going backwards (last step), Dense: every "
         "step as tfjs-layers runs it")
def fx_recurrent(out):
    g = Graph("k214", 1041)
    x = g.Input((7,))
    e = g.add("Embedding", x, name="embedding", input_dim=12, output_dim=5)
    a = g.add("LSTM", e, name="lstm", units=6, return_sequences=True)
    c = g.add("SimpleRNN", a, name="rnn", units=3, go_backwards=True)
    y = g.add("Dense", c, name="dense", units=2)
    g.outputs = [y]
    write_model(os.path.join(out, "recurrent.h5"), g)
    rng = np.random.RandomState(1042)
    return rng.randint(0, 12, (3, 7)).astype(np.float32)


@fixture("gru.h5", "GRU reset_after=False (standalone Keras 2's v1 GRU) going backwards with Keras 2's "
         "hard_sigmoid, returning sequences, a Bidirectional one summing its halves, then a plain one: "
         "tfjs-layers runs them all")
def fx_gru(out):
    g = Graph("k214", 1043)
    x = g.Input((6, 4))
    a = g.add("GRU", x, name="gru", units=5, return_sequences=True, reset_after=False, go_backwards=True,
              recurrent_activation="hard_sigmoid")
    b = g.add("Bidirectional", a, name="bi_gru", merge_mode="sum",
              layer=("GRU", {"units": 4, "return_sequences": True, "reset_after": False}))
    c = g.add("GRU", b, name="gru_1", units=3, reset_after=False)
    y = g.add("Dense", c, name="dense", units=2)
    g.outputs = [y]
    write_model(os.path.join(out, "gru.h5"), g)
    return normal_input(1044, (6, 4))


@fixture("bidirectional.h5", "Bidirectional LSTM (sequences, concat), Bidirectional SimpleRNN (sequences, "
         "ave of the halves), Bidirectional LSTM (last states: the backward half's is at t = 0, concat): every "
         "step as tfjs-layers runs it")
def fx_bidirectional(out):
    g = Graph("k214", 1051)
    x = g.Input((6, 4))
    a = g.add("Bidirectional", x, name="bi_lstm", layer=("LSTM", {"units": 5, "return_sequences": True}))
    b = g.add("Bidirectional", a, name="bi_rnn", merge_mode="ave",
              layer=("SimpleRNN", {"units": 4, "return_sequences": True}))
    c = g.add("Bidirectional", b, name="bi_last", layer=("LSTM", {"units": 3}))
    y = g.add("Dense", c, name="dense", units=2)
    g.outputs = [y]
    write_model(os.path.join(out, "bidirectional.h5"), g)
    return normal_input(1052, (6, 4))


@fixture("conv_wide.h5", "Convolutions with more than 512 output channels (the direct AVX-512 route in "
         "32-channel chunks and a tail of 24 or 8): 1x1 2 -> 600 with relu, 1x1 600 -> 1, 3x3 'same' 1 -> 520")
def fx_conv_wide(out):
    g = Graph("k214", 1081)
    x = g.Input((5, 6, 2))
    a = g.add("Conv2D", x, name="wide_1x1", filters=600, kernel_size=(1, 1), activation="relu")
    n = g.add("Conv2D", a, name="narrow_1x1", filters=1, kernel_size=(1, 1))
    b = g.add("Conv2D", n, name="wide_3x3", filters=520, kernel_size=(3, 3), padding="same")
    g.outputs = [b]
    write_model(os.path.join(out, "conv_wide.h5"), g)
    return normal_input(1082, (5, 6, 2))


@fixture("winograd.h5", "3x3 stride-1 convolutions Winograd's way on AVX-512 (kern_winograd.c): a fire "
         "module on 20x21x16 (1x1 squeeze, 1x1 and 3x3 'same' expands into one Concatenate: F(4x4) writing "
         "the Concatenate's channels 16-47), MaxPooling2D to 10x10, then a 3x3 'same' 32 -> 32 Conv2D -> "
         "BatchNormalization (F(2x2)) added to a 1x1 Conv2D -> BN shortcut, ReLU, GlobalAveragePooling2D, Dense")
def fx_winograd(out):
    g = Graph("k24", 1101)
    x = g.Input((20, 21, 16))
    q = g.add("Conv2D", x, name="squeeze", filters=16, kernel_size=[1, 1], activation="relu")
    a = g.add("Conv2D", q, name="expand1x1", filters=16, kernel_size=[1, 1], activation="relu")
    b = g.add("Conv2D", q, name="expand3x3", filters=32, kernel_size=[3, 3], padding="same", activation="relu")
    c = g.add("Concatenate", [a, b], name="concat", axis=-1)                              # 20x21x48
    p = g.add("MaxPooling2D", c, name="pool", pool_size=[2, 2])                          # 10x10x48
    r = g.add("Conv2D", p, name="shortcut", filters=32, kernel_size=[1, 1], use_bias=False)
    r = g.add("BatchNormalization", r, name="shortcut_bn", axis=[3], epsilon=1e-3)
    d = g.add("Conv2D", r, name="conv3x3", filters=32, kernel_size=[3, 3], padding="same", use_bias=False)
    d = g.add("BatchNormalization", d, name="conv3x3_bn", axis=[3], epsilon=1e-3)
    s = g.add("Add", [r, d], name="add")
    s = g.add("Activation", s, name="add_relu", activation="relu")
    y = g.add("GlobalAveragePooling2D", s, name="gap")
    y = g.add("Dense", y, name="head", units=10)
    g.outputs = [y]
    write_model(os.path.join(out, "winograd.h5"), g)
    return normal_input(1102, (20, 21, 16), scale=1.0)


@fixture("fused_chains.h5", "The layer runs run fuses into one output pass (MobileNet's blocks): ZeroPadding2D "
         "read by a 'valid' stride-2 Conv2D and by a DepthwiseConv2D, Conv2D -> BatchNormalization -> ReLU(6.), "
         "DepthwiseConv2D -> BN -> Activation relu, a 1x1 Conv2D -> BN read by an Add, a Conv2D with its own "
         "relu, Dense -> BN -> ReLU (the output), on 9x10x3 (odd and even sizes)")
def fx_fused_chains(out):
    g = Graph("k24", 1091)
    x = g.Input((9, 10, 3))
    p = g.add("ZeroPadding2D", x, name="stem_pad", padding=[[0, 1], [1, 0]])              # 10x11
    a = g.add("Conv2D", p, name="stem", filters=16, kernel_size=[3, 3], strides=[2, 2], padding="valid",
              use_bias=False)                                                            # 4x5x16
    a = g.add("BatchNormalization", a, name="stem_bn", axis=[3], epsilon=1e-3)
    a = g.add("ReLU", a, name="stem_relu", max_value=6.0)
    d = g.add("DepthwiseConv2D", a, name="dw", kernel_size=[3, 3], padding="same", use_bias=False)
    d = g.add("BatchNormalization", d, name="dw_bn", axis=[3], epsilon=1e-3)
    d = g.add("Activation", d, name="dw_relu", activation="relu")
    e = g.add("Conv2D", d, name="project", filters=16, kernel_size=[1, 1], use_bias=False)
    e = g.add("BatchNormalization", e, name="project_bn", axis=[3], epsilon=1e-3)
    s = g.add("Add", [a, e], name="add")
    q = g.add("ZeroPadding2D", s, name="dw2_pad", padding=[[0, 1], [0, 1]])               # 5x6
    q = g.add("DepthwiseConv2D", q, name="dw2", kernel_size=[3, 3], strides=[2, 2], padding="valid")
    q = g.add("BatchNormalization", q, name="dw2_bn", axis=[3])
    q = g.add("ReLU", q, name="dw2_relu", max_value=6.0)                                  # 2x2x16
    c = g.add("Conv2D", q, name="conv_relu", filters=40, kernel_size=[1, 1], activation="relu")
    f = g.add("Flatten", c, name="flatten")
    h = g.add("Dense", f, name="fc", units=12)
    h = g.add("BatchNormalization", h, name="fc_bn", axis=[1])
    h = g.add("ReLU", h, name="fc_relu")
    g.outputs = [h]
    write_model(os.path.join(out, "fused_chains.h5"), g)
    return normal_input(1092, (9, 10, 3))


@fixture("return_state.h5", "Calls returning several tensors: an LSTM with return_state (output, h, c), a "
         "Bidirectional GRU (reset_after=False) with merge_mode None and return_state (forward, backward, h_fwd, "
         "h_bwd), a Bidirectional LSTM concat with return_state (five tensors); each tensor used: every one as "
         "tfjs-layers runs it")
def fx_return_state(out):
    g = Graph("k214", 1071)
    x = g.Input((6, 4))
    L = g.layer("LSTM", name="lstm", units=5, return_sequences=True, return_state=True)
    o = g.call(L, x)
    h, c = T(L, o.call, 1, [5]), T(L, o.call, 2, [5])
    d = g.add("Dense", o, name="dense", units=3)
    cat = g.add("Concatenate", [h, c], name="cat")
    B = g.layer("Bidirectional", name="bi", merge_mode=None,
                layer=("GRU", {"units": 3, "return_sequences": True, "reset_after": False, "return_state": True}))
    b = g.call(B, d)
    add = g.add("Add", [b, T(B, b.call, 1, [6, 3])], name="add")
    st = g.add("Concatenate", [T(B, b.call, 2, [3]), T(B, b.call, 3, [3])], name="bi_states")
    C = g.layer("Bidirectional", name="bi_lstm", layer=("LSTM", {"units": 2, "return_state": True}))
    e = g.call(C, add)
    parts = [e] + [T(C, e.call, j, [2]) for j in range(1, 5)]
    last = g.add("Concatenate", parts + [st, cat], name="all_states")
    y = g.add("Dense", last, name="head", units=2)
    g.outputs = [y]
    write_model(os.path.join(out, "return_state.h5"), g)
    return normal_input(1072, (6, 4))


@fixture("seq2seq.h5", "An encoder-decoder as Keras's lstm_seq2seq example builds it: the encoder LSTM's "
         "return_state h and c are the decoder LSTM's initial_state; a GRU decoder started from a Dense of the "
         "state: every step as tfjs-layers runs it")
def fx_seq2seq(out):
    g = Graph("k214", 1091)
    enc_in = g.Input((6, 4), name="encoder_inputs")
    dec_in = g.Input((5, 3), name="decoder_inputs")
    E = g.layer("LSTM", name="encoder", units=5, return_state=True)
    e = g.call(E, enc_in)
    h, c = T(E, e.call, 1, [5]), T(E, e.call, 2, [5])
    D = g.layer("LSTM", name="decoder", units=5, return_sequences=True)
    d = g.call(D, [dec_in, h, c])
    s = g.add("Dense", h, name="to_gru", units=4, activation="tanh")
    q = g.add("GRU", [d, s], name="gru_dec", units=4, return_sequences=True, reset_after=False)
    y = g.add("Dense", q, name="head", units=3, activation="softmax")
    g.outputs = [y]
    write_model(os.path.join(out, "seq2seq.h5"), g)
    return {"encoder_inputs": normal_input(1092, (6, 4)), "decoder_inputs": normal_input(1093, (5, 3))}


@fixture("masking.h5", "Masking (mask_value 0) before an LSTM returning sequences and a GRU (reset_after=False): "
         "padded steps at the end and one in the middle carry the state over, as tfjs-layers runs it")
def fx_masking(out):
    g = Graph("k214", 1061)
    x = g.Input((7, 3))
    m = g.add("Masking", x, name="masking", mask_value=0.0)
    a = g.add("LSTM", m, name="lstm", units=5, return_sequences=True)
    d = g.add("Dense", a, name="proj", units=4, activation="tanh")
    b = g.add("GRU", d, name="gru", units=4, reset_after=False)
    y = g.add("Dense", b, name="dense", units=2)
    g.outputs = [y]
    write_model(os.path.join(out, "masking.h5"), g)
    x0 = normal_input(1062, (7, 3))
    x0[0, 5:] = 0.0      # lengths 5, 7 and 3, and a padded step inside the third
    x0[2, 3:] = 0.0
    x0[2, 1] = 0.0
    return x0


@fixture("embed_mask.h5", "Embedding mask_zero=True (ids of 0 are padding) through Dropout into a SimpleRNN "
         "returning sequences and an LSTM: as tfjs-layers runs them")
def fx_embed_mask(out):
    g = Graph("k214", 1063)
    x = g.Input((8,))
    e = g.add("Embedding", x, name="embedding", input_dim=12, output_dim=5, mask_zero=True)
    d = g.add("Dropout", e, name="drop", rate=0.2)
    a = g.add("SimpleRNN", d, name="rnn", units=4, return_sequences=True)
    b = g.add("LSTM", a, name="lstm", units=3)
    y = g.add("Dense", b, name="dense", units=2)
    g.outputs = [y]
    write_model(os.path.join(out, "embed_mask.h5"), g)
    rng = np.random.RandomState(1064)
    ids = rng.randint(1, 12, (3, 8)).astype(np.float32)
    ids[0, 6:] = 0
    ids[1, 2:] = 0
    ids[2, 4] = 0
    return ids


@fixture("time_distributed.h5", "TimeDistributed over 4 frames of 7x7x2: Conv2D stride 2 same relu, "
         "BatchNormalization, MaxPooling2D, AveragePooling2D, Flatten, Dropout, Dense tanh, then an LSTM over "
         "the frames: every step as tfjs-layers runs it")
def fx_time_distributed(out):
    g = Graph("k214", 1071)
    x = g.Input((4, 7, 7, 2))
    a = g.add("TimeDistributed", x, name="td_conv",
              layer=("Conv2D", {"filters": 3, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same",
                                "activation": "relu"}))
    b = g.add("TimeDistributed", a, name="td_bn", layer=("BatchNormalization", {"axis": [3]}))
    c = g.add("TimeDistributed", b, name="td_max", layer=("MaxPooling2D", {"pool_size": [2, 2]}))
    d = g.add("TimeDistributed", c, name="td_avg",
              layer=("AveragePooling2D", {"pool_size": [2, 2], "strides": [1, 1], "padding": "same"}))
    f = g.add("TimeDistributed", d, name="td_flat", layer=("Flatten", {}))
    r = g.add("TimeDistributed", f, name="td_drop", layer=("Dropout", {"rate": 0.3}))
    e = g.add("TimeDistributed", r, name="td_dense", layer=("Dense", {"units": 5, "activation": "tanh"}))
    h = g.add("LSTM", e, name="lstm", units=3)
    y = g.add("Dense", h, name="dense", units=2)
    g.outputs = [y]
    write_model(os.path.join(out, "time_distributed.h5"), g)
    return normal_input(1072, (4, 7, 7, 2))


@fixture("time_distributed_1d.h5", "TimeDistributed Conv1D (same, relu) over 5 sequences of 8x3, then "
         "TimeDistributed Dense on the per-step features of rank 2 (a Dense over the last axis): as tfjs-layers "
         "runs them")
def fx_time_distributed_1d(out):
    g = Graph("k214", 1073)
    x = g.Input((5, 8, 3))
    a = g.add("TimeDistributed", x, name="td_conv1d",
              layer=("Conv1D", {"filters": 4, "kernel_size": [3], "padding": "same", "activation": "relu"}))
    b = g.add("TimeDistributed", a, name="td_dense", layer=("Dense", {"units": 2}))
    f = g.add("Flatten", b, name="flatten")
    y = g.add("Dense", f, name="dense", units=2)
    g.outputs = [y]
    write_model(os.path.join(out, "time_distributed_1d.h5"), g)
    return normal_input(1074, (5, 8, 3))


@fixture("resizing.h5", "Resizing bilinear 7x10 -> 4x13 and 11x6, nearest 7x10 -> 5x4 and 10x15 (TF's half-pixel "
         "centers, no antialias), CenterCrop 7x10 -> 4x5 (even and odd margins), then Conv2D and Dense: as "
         "tfjs-layers runs them with Keras's half-pixel resize")
def fx_resizing(out):
    g = Graph("k214", 1081)
    x = g.Input((7, 10, 3))
    a = g.add("Resizing", x, name="bilinear_up", height=4, width=13)
    b = g.add("Resizing", x, name="bilinear_down", height=11, width=6)
    c = g.add("Resizing", x, name="nearest_down", height=5, width=4, interpolation="nearest")
    d = g.add("Resizing", x, name="nearest_up", height=10, width=15, interpolation="nearest")
    e = g.add("CenterCrop", x, name="center_crop", height=4, width=5)
    ys = []
    for t, n in ((a, "a"), (b, "b"), (c, "c"), (d, "d"), (e, "e")):
        f = g.add("Flatten", g.add("Conv2D", t, name="conv_" + n, filters=2, kernel_size=[3, 3]), name="flat_" + n)
        ys.append(f)
    cat = g.add("Concatenate", ys, name="concat", axis=-1)
    y = g.add("Dense", cat, name="dense", units=2)
    g.outputs = [y]
    write_model(os.path.join(out, "resizing.h5"), g)
    return normal_input(1082, (7, 10, 3))


@fixture("time_distributed_mask.h5", "Masking before a TimeDistributed Dense (tanh, so padding steps are not zero "
         "after it) and an LSTM: TimeDistributed passes the mask on, the LSTM skips the padded steps, as "
         "tfjs-layers runs them")
def fx_time_distributed_mask(out):
    g = Graph("k214", 1091)
    x = g.Input((6, 3))
    m = g.add("Masking", x, name="masking", mask_value=0.0)
    a = g.add("TimeDistributed", m, name="td_dense", layer=("Dense", {"units": 4, "activation": "tanh"}))
    b = g.add("LSTM", a, name="lstm", units=3)
    y = g.add("Dense", b, name="dense", units=2)
    g.outputs = [y]
    write_model(os.path.join(out, "time_distributed_mask.h5"), g)
    x0 = normal_input(1092, (6, 3))
    x0[0, 4:] = 0.0   # lengths 4 and 6, and a padded step inside the third
    x0[2, 1] = 0.0
    return x0


@fixture("rnn_custom.h5", "Recurrent layers nn.LSTM/GRU/RNN cannot hold (export writes its own cell): LSTM with "
         "Keras 2's hard_sigmoid returning sequences, SimpleRNN with activation sigmoid going backwards, GRU "
         "reset_after=False with activation relu, then Dense")
def fx_rnn_custom(out):
    g = Graph("k214", 1101)
    x = g.Input((6, 3))
    a = g.add("LSTM", x, name="lstm_hs", units=5, return_sequences=True, recurrent_activation="hard_sigmoid")
    b = g.add("SimpleRNN", a, name="rnn_sig", units=4, activation="sigmoid", go_backwards=True,
              return_sequences=True)
    c = g.add("GRU", b, name="gru_relu", units=3, reset_after=False, activation="relu")
    y = g.add("Dense", c, name="dense", units=2)
    g.outputs = [y]
    write_model(os.path.join(out, "rnn_custom.h5"), g)
    return normal_input(1102, (6, 3))


@fixture("rnn_k3_hard_sigmoid.h5", "Keras 3.5 legacy H5: LSTM whose recurrent_activation hard_sigmoid is Keras 3's "
         "clip(x/6 + 0.5, 0, 1), returning sequences, then a Bidirectional GRU (reset_after=False, hard_sigmoid) "
         "giving its last states")
def fx_rnn_k3_hard_sigmoid(out):
    g = Graph("k3", 1103, name="functional")
    x = g.Input((5, 3))
    a = g.add("LSTM", x, name="lstm", units=4, return_sequences=True, recurrent_activation="hard_sigmoid")
    b = g.add("Bidirectional", a, name="bi_gru",
              layer=("GRU", {"units": 3, "reset_after": False, "recurrent_activation": "hard_sigmoid"}))
    g.outputs = [b]
    write_model(os.path.join(out, "rnn_k3_hard_sigmoid.h5"), g)
    return normal_input(1104, (5, 3), scale=3.0)


@fixture("mask_lstm.h5", "Embedding mask_zero=True into an LSTM returning sequences and one giving its last state, "
         "on ids padded at the end (right), at the start (left, pad_sequences' default) and with a gap")
def fx_mask_lstm(out):
    g = Graph("k214", 1105)
    x = g.Input((7,))
    e = g.add("Embedding", x, name="embedding", input_dim=10, output_dim=4, mask_zero=True)
    a = g.add("LSTM", e, name="lstm_seq", units=5, return_sequences=True)
    b = g.add("LSTM", a, name="lstm_last", units=3)
    y = g.add("Dense", b, name="dense", units=2)
    g.outputs = [y]
    write_model(os.path.join(out, "mask_lstm.h5"), g)
    rng = np.random.RandomState(1106)
    ids = rng.randint(1, 10, (3, 7)).astype(np.float32)
    ids[0, 4:] = 0       # right padding
    ids[1, :3] = 0       # left padding
    ids[2, 2] = 0        # a gap
    return ids


@fixture("masking_gru.h5", "Masking (mask_value -1) before a GRU (reset_after=False) returning sequences going "
         "backwards and a Bidirectional LSTM giving its last states (masked steps skipped by both halves)")
def fx_masking_gru(out):
    g = Graph("k214", 1107)
    x = g.Input((6, 3))
    m = g.add("Masking", x, name="masking", mask_value=-1.0)
    a = g.add("GRU", m, name="gru", units=4, reset_after=False, return_sequences=True, go_backwards=True)
    b = g.add("Bidirectional", a, name="bi_lstm", layer=("LSTM", {"units": 3}))
    y = g.add("Dense", b, name="dense", units=2)
    g.outputs = [y]
    write_model(os.path.join(out, "masking_gru.h5"), g)
    x0 = normal_input(1108, (6, 3))
    x0[0, 4:] = -1.0     # right padding
    x0[1, :2] = -1.0     # left padding
    x0[2, 3] = -1.0      # a gap
    return x0


@fixture("bidi_backwards.h5", "Bidirectional around layers that go backwards: SimpleRNN returning sequences (sum "
         "of the halves: the forward half in its reading order, the backward half reversed), LSTM giving its last "
         "states")
def fx_bidi_backwards(out):
    g = Graph("k214", 1109)
    x = g.Input((6, 3))
    a = g.add("Bidirectional", x, name="bi_rnn", merge_mode="sum",
              layer=("SimpleRNN", {"units": 4, "return_sequences": True, "go_backwards": True}))
    b = g.add("Bidirectional", a, name="bi_lstm", layer=("LSTM", {"units": 3, "go_backwards": True}))
    y = g.add("Dense", b, name="dense", units=2)
    g.outputs = [y]
    write_model(os.path.join(out, "bidi_backwards.h5"), g)
    return normal_input(1110, (6, 3))


# -------------------------------------------------------------- Keras 3, ResNet

@fixture("keras3_act.h5", "Keras 3.5 legacy H5 (batch_shape, dict inbound nodes, DTypePolicy): hard_sigmoid "
         "(Keras 3 formula x/6+0.5) as a layer and fused in Conv2D and Dense; silu; BN eps 1e-5 with tiny "
         "variances (no clamp in Keras 3); LeakyReLU negative_slope; DepthwiseConv2D 'kernel'")
def fx_keras3_act(out):
    rng = np.random.RandomState(3022)
    g = Graph("k3", 1022, name="functional")
    x = g.Input((5, 5, 3))
    a = g.add("Activation", x, name="hard_sigmoid_layer", activation="hard_sigmoid")
    b = g.add("Conv2D", x, name="conv_hard_sigmoid", filters=3, kernel_size=[3, 3], padding="same",
              activation="hard_sigmoid")
    c = g.add("Activation", x, name="silu_layer", activation="silu")
    d = g.add("BatchNormalization", x, name="bn_small_var", axis=-1, epsilon=1e-5,
              values={"moving_variance": rng.uniform(1e-6, 1e-5, 3).astype(np.float32)})
    d = g.add("DepthwiseConv2D", d, name="depthwise", kernel_size=[3, 3], padding="same")
    e = g.add("LeakyReLU", x, name="leaky", negative_slope=0.2)
    y = g.add("Concatenate", [a, b, c, d, e], name="concat", axis=-1)
    y = g.add("GlobalAveragePooling2D", y, name="gap")
    y = g.add("Dense", y, name="dense_hard_sigmoid", units=4, activation="hard_sigmoid")
    g.outputs = [y]
    write_model(os.path.join(out, "keras3_act.h5"), g)
    return normal_input(2022, (5, 5, 3), scale=3.0)


@fixture("resnet_block.h5", "Keras 2.4 ResNet-style block on 9x9 (as in the MLPerf ResNet8): stride-2 'same' "
         "conv with a 1x1 stride-2 projection shortcut; BN, ReLU, Add, GlobalAveragePooling2D, Dense softmax")
def fx_resnet_block(out):
    g = Graph("k24", 1023)
    x = g.Input((9, 9, 3))
    t = g.add("Conv2D", x, filters=8, kernel_size=[3, 3], padding="same", activation="relu")
    y = g.add("Conv2D", t, filters=12, kernel_size=[3, 3], strides=[2, 2], padding="same")
    y = g.add("BatchNormalization", y, axis=[3])
    y = g.add("Activation", y, activation="relu")
    y = g.add("Conv2D", y, filters=12, kernel_size=[3, 3], padding="same")
    y = g.add("BatchNormalization", y, axis=[3])
    s = g.add("Conv2D", t, filters=12, kernel_size=[1, 1], strides=[2, 2], padding="same")
    t = g.add("Add", [s, y])
    t = g.add("Activation", t, activation="relu")
    t = g.add("GlobalAveragePooling2D", t)
    t = g.add("Dense", t, units=4, activation="softmax")
    g.outputs = [t]
    write_model(os.path.join(out, "resnet_block.h5"), g)
    return normal_input(2023, (9, 9, 3))


# ------------------------------------------------------------- channels_first

CF = dict(data_format="channels_first")


def cf_pair(out, fname, seed, in_shape, body):
    """A channels_first fixture and its oracle twin.  tfjs-layers gets some
    channels_first layers wrong on its CPU backend: BatchNormalization cycles
    its parameters over the flat index as if the channels were last (wrong for
    axis=1), Conv1D returns (L, C) for a (C, L) input, SeparableConv2D adds its bias on the
    wrong axis.  body(p, x, cl) builds the model and calls cl(cls, t, name,
    **kw) for those: the layer as given in the Keras model; in the twin a
    Permute to channels last, the channels_last layer with the same weights,
    and a Permute back that carries the layer's name."""
    p = Pair("k214", seed)
    helpers = []
    for oracle in (False, True):
        g = p.start(oracle)
        x = g.Input(in_shape)

        def cl(cls, t, name, **kw):
            if not oracle:
                return p.add(cls, t, name, **kw)
            r = len(t.shape)
            kw = dict(kw)
            if kw.get("data_format") == "channels_first":
                kw["data_format"] = "channels_last"
            if kw.get("axis") == 1:
                kw["axis"] = -1
            helpers.extend([name + "__to_last", name + "__cl"])
            u = p.add("Permute", t, name + "__to_last", dims=list(range(2, r + 1)) + [1])
            u = p.add(cls, u, name + "__cl", values=p.rec[name], **kw)
            return p.add("Permute", u, name, dims=[r] + list(range(1, r)))
        g.outputs = [body(p, x, cl)]
        write_model(os.path.join(out, fname[:-3] + (".oracle.h5" if oracle else ".h5")), g)
    return normal_input(seed + 1000, in_shape), helpers


@fixture("cf_conv.h5", "channels_first (Theano-era Keras 2) on a (3, 7, 10) C,H,W input: Conv2D stride 2 "
         "'same' (asymmetric TF pads), 2x3 kernel strides (1,2) same without bias, dilation 2 valid; "
         "BatchNormalization(axis=1) and a relu after the first; MaxPooling2D/AveragePooling2D 3 stride 2 "
         "same and 2 valid; GlobalAverage/MaxPooling2D; Flatten (channels_last: C,H,W order) -> Dense")
def fx_cf_conv(out):
    def body(p, x, cl):
        a = p.add("Conv2D", x, "cf_s2_same", filters=4, kernel_size=[3, 3], strides=[2, 2],
                  padding="same", **CF)                                                   # 4x4x5
        a = cl("BatchNormalization", a, "cf_bn", axis=1)
        a = p.add("Activation", a, "cf_relu", activation="relu")
        b = p.add("Conv2D", x, "cf_rect", filters=5, kernel_size=[2, 3], strides=[1, 2],
                  padding="same", use_bias=False, activation="tanh", **CF)                # 5x7x5
        c = p.add("Conv2D", x, "cf_d2", filters=3, kernel_size=[3, 3], dilation_rate=[2, 2], **CF)  # 3x3x6
        p1 = p.add("MaxPooling2D", b, "cf_max_p3_s2_same", pool_size=[3, 3], strides=[2, 2],
                   padding="same", **CF)                                                  # 5x4x3
        p2 = p.add("AveragePooling2D", b, "cf_avg_p3_s2_same", pool_size=[3, 3], strides=[2, 2],
                   padding="same", **CF)
        p3 = p.add("AveragePooling2D", c, "cf_avg_p2_valid", pool_size=[2, 2], **CF)     # 3x1x3
        p4 = p.add("MaxPooling2D", x, "cf_max_p2_same", pool_size=[2, 2], padding="same", **CF)  # 3x4x5
        gs = [p.add("GlobalAveragePooling2D", a, "cf_gap", **CF),
              p.add("GlobalMaxPooling2D", p1, "cf_gmp", **CF),
              p.add("Flatten", p2, "cf_flat_avg"),
              p.add("Flatten", p3, "cf_flat_valid"),
              p.add("Flatten", p4, "cf_flat_max")]
        y = p.add("Concatenate", gs, "cf_concat", axis=-1)
        return p.add("Dense", y, "cf_head", units=5)
    return cf_pair(out, "cf_conv.h5", 1040, (3, 7, 10), body)


@fixture("cf_flatten.h5", "channels_first Conv2D -> BatchNormalization(axis=1) -> relu -> MaxPooling2D, then "
         "Flatten(data_format=channels_first) (Keras moves C last: H,W,C order) -> Dense, and the channels_last "
         "Flatten of the same map (C,H,W order) -> Dense")
def fx_cf_flatten(out):
    def body(p, x, cl):
        t = p.add("Conv2D", x, "conv", filters=4, kernel_size=[3, 3], padding="same", **CF)
        t = cl("BatchNormalization", t, "bn", axis=1)
        t = p.add("Activation", t, "relu", activation="relu")
        t = p.add("MaxPooling2D", t, "pool", pool_size=[2, 2], **CF)                      # 4x4x3
        f1 = p.add("Flatten", t, "flat_cf", **CF)
        f2 = p.add("Flatten", t, "flat_cl")
        d1 = p.add("Dense", f1, "dense_cf", units=6, activation="relu")
        d2 = p.add("Dense", f2, "dense_cl", units=6, activation="relu")
        y = p.add("Add", [d1, d2], "add")
        return p.add("Dense", y, "head", units=3)
    return cf_pair(out, "cf_flatten.h5", 1041, (3, 8, 6), body)


@fixture("cf_depthwise.h5", "channels_first DepthwiseConv2D multiplier 2 stride 2 same on (3, 9, 8), "
         "SeparableConv2D multiplier 2 same relu and stride 2 valid, Conv2DTranspose same stride 2 kernel 3 "
         "(relu) and valid stride 2 kernel 4 without bias; BatchNormalization(axis=1) after two of them")
def fx_cf_depthwise(out):
    def body(p, x, cl):
        a = p.add("DepthwiseConv2D", x, "dw_m2_s2", kernel_size=[3, 3], strides=[2, 2], padding="same",
                  depth_multiplier=2, **CF)                                              # 6x5x4
        a = cl("BatchNormalization", a, "dw_bn", axis=1)
        b = cl("SeparableConv2D", x, "sep_m2_same", filters=5, kernel_size=[3, 3], padding="same",
                  depth_multiplier=2, activation="relu", **CF)                            # 5x9x8
        c = cl("SeparableConv2D", x, "sep_s2_valid", filters=4, kernel_size=[3, 3], strides=[2, 2],
                  **CF)                                                                  # 4x4x3
        d = p.add("Conv2DTranspose", a, "tr_same", filters=3, kernel_size=[3, 3], strides=[2, 2],
                  padding="same", activation="relu", **CF)                                # 3x10x8
        e = p.add("Conv2DTranspose", c, "tr_valid", filters=2, kernel_size=[4, 4], strides=[2, 2],
                  use_bias=False, **CF)                                                  # 2x10x8
        e = cl("BatchNormalization", e, "tr_bn", axis=1)
        gs = [p.add("GlobalAveragePooling2D", t, "gap_%d" % i, **CF) for i, t in enumerate((a, b, c, d, e))]
        return p.add("Concatenate", gs, "concat", axis=-1)
    return cf_pair(out, "cf_depthwise.h5", 1042, (3, 9, 8), body)


@fixture("cf_reshape.h5", "channels_first ZeroPadding2D ((1,2),(0,3)), Cropping2D ((2,1),(0,2)), UpSampling2D "
         "nearest (2,3) and bilinear 2 on (3, 5, 6); Concatenate on axis 1 (the channels)")
def fx_cf_reshape(out):
    def body(p, x, cl):
        a = p.add("ZeroPadding2D", x, "zpad", padding=[[1, 2], [0, 3]], **CF)             # 3x8x9
        b = p.add("Cropping2D", a, "crop", cropping=[[2, 1], [0, 2]], **CF)               # 3x5x7
        c = p.add("UpSampling2D", x, "up23", size=[2, 3], **CF)                           # 3x10x18
        d = p.add("UpSampling2D", b, "up_bilinear", size=[2, 2], interpolation="bilinear", **CF)  # 3x10x14
        e = p.add("Conv2D", d, "conv", filters=2, kernel_size=[1, 5], **CF)               # 2x10x10
        f = p.add("Cropping2D", c, "crop2", cropping=[[0, 0], [4, 4]], **CF)              # 3x10x10
        h = p.add("Concatenate", [e, f], "concat_c", axis=1)                              # 5x10x10
        return p.add("GlobalMaxPooling2D", h, "gmp", **CF)
    return cf_pair(out, "cf_reshape.h5", 1043, (3, 5, 6), body)


@fixture("cf_conv1d.h5", "channels_first Conv1D (C, L) = (4, 11): valid relu, same, stride 2 same; "
         "BatchNormalization(axis=1); Flatten -> Dense")
def fx_cf_conv1d(out):
    def body(p, x, cl):
        a = cl("Conv1D", x, "c1_valid", filters=5, kernel_size=[3], activation="relu", **CF)   # 5x9
        b = cl("Conv1D", x, "c1_same", filters=3, kernel_size=[3], padding="same", **CF)       # 3x11
        c = cl("Conv1D", x, "c1_s2_same", filters=2, kernel_size=[4], strides=[2], padding="same",
                  **CF)                                                                          # 2x6
        b = cl("BatchNormalization", b, "c1_bn", axis=1)
        gs = [p.add("Flatten", t, "flat_%d" % i) for i, t in enumerate((a, b, c))]
        y = p.add("Concatenate", gs, "concat", axis=-1)
        return p.add("Dense", y, "head", units=4)
    return cf_pair(out, "cf_conv1d.h5", 1044, (4, 11), body)


@fixture("sequential.h5", "tf.keras 2.4 Sequential with InputLayer: Conv2D same stride 2 on 7x7, MaxPooling2D "
         "same, Flatten, Dense")
def fx_sequential(out):
    g, x = Sequential("k24", 1024, input_shape=(7, 7, 2), input_name="conv2d_input")
    x = g.add("Conv2D", x, filters=4, kernel_size=[3, 3], strides=[2, 2], padding="same",
              activation="relu", batch_input_shape=[None, 7, 7, 2])
    x = g.add("MaxPooling2D", x, pool_size=[2, 2], padding="same")
    x = g.add("Flatten", x)
    x = g.add("Dense", x, units=3, activation="softmax")
    g.outputs = [x]
    write_model(os.path.join(out, "sequential.h5"), g)
    return normal_input(2024, (7, 7, 2))


@fixture("cifar_small.h5", "a 32x32x3 image model (CIFAR-sized, raw 0..255 input): Conv2D stride 2 same, "
         "MaxPooling2D, GlobalAveragePooling2D, Dense 10 (linear); used by test_inputs.py for images")
def fx_cifar_small(out):
    g = Graph("k24", 1037)
    x = g.Input((32, 32, 3))
    t = g.add("Rescaling", x, scale=1.0 / 64, offset=-2.0)
    t = g.add("Conv2D", t, filters=6, kernel_size=[3, 3], strides=[2, 2], padding="same", activation="relu")
    t = g.add("MaxPooling2D", t, pool_size=[2, 2])
    t = g.add("GlobalAveragePooling2D", t)
    t = g.add("Dense", t, units=10)
    g.outputs = [t]
    write_model(os.path.join(out, "cifar_small.h5"), g)
    rng = np.random.RandomState(2037)
    return rng.randint(0, 256, (3, 32, 32, 3)).astype(np.float32)


# ------------------------------------------------------------ several inputs

def fx_multi_io(out):
    """Two inputs, two outputs: an 8x8x3 image (Conv2D stride 2 'same', BatchNormalization,
    ReLU, GlobalAveragePooling2D) and a 5-vector (Dense) concatenated, a Dense added back onto
    the concatenation (Add), then a softmax head "cls" (3 classes) and a linear regression
    head "reg" (2 values).  Not in the exec manifest (test_exec feeds one input): written by
    tests/py/test_multi_io.py, which feeds both inputs.  Returns {input name: batch of 3}."""
    g = Graph("k24", 1041)
    img = g.Input((8, 8, 3), name="image")
    vec = g.Input((5,), name="vector")
    t = g.add("Conv2D", img, name="conv", filters=4, kernel_size=[3, 3], strides=[2, 2], padding="same")
    t = g.add("BatchNormalization", t, name="bn", axis=[3])
    t = g.add("Activation", t, name="relu", activation="relu")
    t = g.add("GlobalAveragePooling2D", t, name="gap")
    v = g.add("Dense", vec, name="vec_dense", units=4, activation="tanh")
    x = g.add("Concatenate", [t, v], name="concat", axis=-1)
    h = g.add("Dense", x, name="mix", units=8, activation="relu")
    x = g.add("Add", [h, x], name="add")
    cls = g.add("Dense", x, name="cls", units=3, activation="softmax")
    reg = g.add("Dense", x, name="reg", units=2)
    g.outputs = [cls, reg]
    write_model(os.path.join(out, "multi_io.h5"), g)
    return {"image": normal_input(2041, (8, 8, 3)), "vector": normal_input(2042, (5,))}


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: gen_exec_fixtures.py OUTDIR\n")
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = {}
    total = 0
    for fname, fn, desc in FIXTURES:
        r = fn(out)
        x, helpers = r if isinstance(r, tuple) else (r, None)
        base = fname[:-3]
        if isinstance(x, dict):
            # several inputs: an .npz named after the input layers for k2t ("input FILE.npz"),
            # one .npy each, in input order, for the oracle
            for v in x.values():
                assert v.dtype == np.float32 and v.shape[0] == 3
            np.savez(os.path.join(out, base + ".in.npz"), **x)
            parts = []
            for k, v in enumerate(x.values()):
                np.save(os.path.join(out, "%s.in%d.npy" % (base, k)), v)
                parts.append("%s.in%d.npy" % (base, k))
            e = {"input": base + ".in.npz", "oracle_input": parts, "description": desc}
        else:
            assert x.dtype == np.float32 and x.shape[0] == 3
            np.save(os.path.join(out, base + ".in.npy"), x)
            e = {"input": base + ".in.npy", "description": desc}
        oracle = base + ".oracle.h5"
        if os.path.exists(os.path.join(out, oracle)) and helpers is not None:
            e["oracle_model"] = oracle
            e["oracle_only"] = sorted(set(helpers))
        manifest[fname] = e
        size = os.path.getsize(os.path.join(out, fname))
        total += size
        if size >= 50 * 1024:
            sys.stderr.write("gen_exec_fixtures.py: warning: %s is %d bytes\n" % (fname, size))
    with open(os.path.join(out, "exec_manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote %d execution fixtures (%d bytes) and exec_manifest.json to %s" % (len(manifest), total, out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
