"""bench_models.py OUTDIR -- make bench only: two 224x224 ImageNet models in the layout
Keras's applications write (Keras 2.4 Functional H5), with random weights scaled as
trained ones are (He-scaled kernels, BN statistics near 0 and 1), for timing k2t beside
ONNX Runtime on real-sized maps:
  mobilenet_v2_224.h5  MobileNetV2 alpha 1.0 (ZeroPadding2D + stride-2 'valid' convs, ReLU(6.),
                       inverted residual blocks with Add, 1280 features, Dense 1000 softmax)
  squeezenet_224.h5    SqueezeNet 1.1 as keras-squeezenet writes it (fire modules: 1x1 squeeze,
                       1x1 and 3x3 expand, each convolution then its Activation('relu'),
                       Concatenate; conv10 1x1 to 1000, ReLU, GlobalAveragePooling2D, softmax)
Needs numpy and h5py (run it with /usr/bin/python3)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402

rng = np.random.RandomState(224)


def he(shape, fan_in):
    return (rng.normal(0.0, 1.0, shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def bn_vals(c):
    return {"gamma": (1.0 + 0.05 * rng.normal(size=c)).astype(np.float32),
            "beta": (0.05 * rng.normal(size=c)).astype(np.float32),
            "moving_mean": (0.05 * rng.normal(size=c)).astype(np.float32),
            "moving_variance": rng.uniform(0.8, 1.2, c).astype(np.float32)}


def mobilenet_v2():
    g = gf.Graph("k24", 0, name="mobilenetv2_1.00_224")
    chans = {}

    def conv(x, cin, f, k, s, name, pad="same"):
        return g.add("Conv2D", x, name=name, filters=f, kernel_size=[k, k], strides=[s, s], padding=pad,
                     use_bias=False, values={"kernel": he((k, k, cin, f), k * k * cin)})

    def bn(x, c, name):
        return g.add("BatchNormalization", x, name=name, axis=[3], epsilon=1e-3, momentum=0.999,
                     values=bn_vals(c))

    def relu6(x, name):
        return g.add("ReLU", x, name=name, max_value=6.0)

    def dw(x, c, s, name, pad="same"):
        return g.add("DepthwiseConv2D", x, name=name, kernel_size=[3, 3], strides=[s, s], padding=pad,
                     use_bias=False, values={"depthwise_kernel": he((3, 3, c, 1), 9)})

    i = g.Input((224, 224, 3), name="input_1")
    x = g.add("ZeroPadding2D", i, name="Conv1_pad", padding=[[0, 1], [0, 1]])
    x = conv(x, 3, 32, 3, 2, "Conv1", pad="valid")
    x = relu6(bn(x, 32, "bn_Conv1"), "Conv1_relu")
    cin = 32
    cfg = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
           (6, 320, 1, 1)]
    block = 0
    for t, c, n, s in cfg:
        for r in range(n):
            stride = s if r == 0 else 1
            p = "block_%d_" % block if block else "expanded_conv_"
            inp = x
            if block:
                x = conv(x, cin, cin * t, 1, 1, p + "expand")
                x = relu6(bn(x, cin * t, p + "expand_BN"), p + "expand_relu")
            e = cin * t if block else cin
            if stride == 2:
                x = g.add("ZeroPadding2D", x, name=p + "pad", padding=[[0, 1], [0, 1]])
                x = dw(x, e, 2, p + "depthwise", pad="valid")
            else:
                x = dw(x, e, 1, p + "depthwise")
            x = relu6(bn(x, e, p + "depthwise_BN"), p + "depthwise_relu")
            x = conv(x, e, c, 1, 1, p + "project")
            x = bn(x, c, p + "project_BN")
            if stride == 1 and cin == c:
                x = g.add("Add", [inp, x], name=p + "add")
            cin = c
            block += 1
    x = conv(x, cin, 1280, 1, 1, "Conv_1")
    x = relu6(bn(x, 1280, "Conv_1_bn"), "out_relu")
    x = g.add("GlobalAveragePooling2D", x, name="global_average_pooling2d")
    x = g.add("Dense", x, name="predictions", units=1000, activation="softmax",
              values={"kernel": he((1280, 1000), 1280), "bias": np.zeros(1000, np.float32)})
    g.outputs = [x]
    return g


def squeezenet():
    g = gf.Graph("k24", 0, name="squeezenet")

    # As keras-squeezenet writes it: each convolution linear, then its own
    # Activation('relu') layer.
    def conv(x, cin, f, k, s, name, relu, pad="valid"):
        x = g.add("Conv2D", x, name=name, filters=f, kernel_size=[k, k], strides=[s, s], padding=pad,
                  activation="linear", values={"kernel": he((k, k, cin, f), k * k * cin),
                                               "bias": (0.01 * rng.normal(size=f)).astype(np.float32)})
        return g.add("Activation", x, name=relu, activation="relu")

    def fire(x, cin, sq, ex, n):
        p = "fire%d/" % n
        x = conv(x, cin, sq, 1, 1, p + "squeeze1x1", p + "relu_squeeze1x1")
        a = conv(x, sq, ex, 1, 1, p + "expand1x1", p + "relu_expand1x1")
        b = conv(x, sq, ex, 3, 1, p + "expand3x3", p + "relu_expand3x3", pad="same")
        return g.add("Concatenate", [a, b], name=p + "concat", axis=-1)

    i = g.Input((224, 224, 3), name="input_1")
    x = conv(i, 3, 64, 3, 2, "conv1", "relu_conv1")
    x = g.add("MaxPooling2D", x, name="pool1", pool_size=[3, 3], strides=[2, 2])
    x = fire(x, 64, 16, 64, 2)
    x = fire(x, 128, 16, 64, 3)
    x = g.add("MaxPooling2D", x, name="pool3", pool_size=[3, 3], strides=[2, 2])
    x = fire(x, 128, 32, 128, 4)
    x = fire(x, 256, 32, 128, 5)
    x = g.add("MaxPooling2D", x, name="pool5", pool_size=[3, 3], strides=[2, 2])
    x = fire(x, 256, 48, 192, 6)
    x = fire(x, 384, 48, 192, 7)
    x = fire(x, 384, 64, 256, 8)
    x = fire(x, 512, 64, 256, 9)
    x = g.add("Dropout", x, name="drop9", rate=0.5)
    x = conv(x, 512, 1000, 1, 1, "conv10", "relu_conv10")
    x = g.add("GlobalAveragePooling2D", x, name="global_average_pooling2d")
    x = g.add("Activation", x, name="loss", activation="softmax")
    g.outputs = [x]
    return g


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    for name, g in (("mobilenet_v2_224.h5", mobilenet_v2()), ("squeezenet_224.h5", squeezenet())):
        gf.write_model(os.path.join(out, name), g)
        print("wrote %s" % os.path.join(out, name))


main()
