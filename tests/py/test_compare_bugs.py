"""compare finds every bug of a port in one pass, names a cause only when it reproduces the port, and
says so when nothing does (issue 10).

Hand-written ports of ../shared/models/pretrainedResnet.h5 (tests/py/compare_ports.resnet8_bugs), one
classic bug each, dumped with scripts/torch_dump.py (module inputs, state_dict, __input__, __mode__):
the input divided by 255 inside forward(), channels reversed and normalised, a layer never copied, a kernel with H and W swapped, sigmoid
for relu and a missing relu (functional), the port left in train mode, BatchNorm2d without running
statistics dumped in eval mode, PyTorch's BN eps, an offset no convention explains, and one port with
three independent bugs, all named in one compare.  vww_96.h5 through a generic chain port (correct,
eps on 27 layers, pads plus a swapped depthwise kernel); act_conv_a.h5 with activation modules
substituted (relu for relu6, F.hardsigmoid for Keras 2's hard_sigmoid, sigmoid for tanh).  The truth is the bug written into the port; each
printed weight call is applied in PyTorch and checked against the tensor it names.  Correct ports show no
divergence: ResNet8, and an Xception-style SeparableConv2D with as many input as output channels
(its output checked against the tfjs oracle when available).
"""
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from k2tlib import FIXTURES, ROOT, SHARED, done, k2t, ok, skip  # noqa: E402

try:
    import h5py
    import numpy as np
    import torch
except ImportError as e:
    skip("compare bugs", "numpy, h5py or torch missing: %s" % e)
    done()

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import compare_ports  # noqa: E402
import test_exec  # noqa: E402
from torch_dump import dump  # noqa: E402

torch.set_grad_enabled(False)
tmp = tempfile.mkdtemp(prefix="k2t_cbugs_")
RES = os.path.join(SHARED, "models", "pretrainedResnet.h5")


def T(n):
    return os.path.join(tmp, n)


def bugs(out):
    """[(topic, layers text)] of the 'bug N: topic at/on ...' lines."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^bug \d+: (\S+) (?:at|on) (.*)$", out, re.M)]


def var(out, name):
    m = re.search(r"^\$?%s\s*=\s*(\S+)" % name, out, re.M)
    return m.group(1) if m else None


def W(layer, v):
    with h5py.File(RES, "r") as f:
        return np.array(f["model_weights"][layer][layer][v + ":0"])


if not os.path.exists(RES):
    skip("compare bugs on ResNet8", "%s is missing" % RES)
else:
    rng = np.random.default_rng(11)
    x = (rng.random((4, 32, 32, 3), dtype=np.float32) * 255).astype(np.float32)
    np.save(T("x.npy"), x)

    def run(tag, bug_list, input_set=True):
        npz = T("r_%s.npz" % tag)
        dump(compare_ports.resnet8_bugs(RES, bug_list), x, npz)
        cmds = (["input " + T("x.npy")] if input_set else []) + ["compare " + npz, "echo bugs=$bugs"]
        rc, out, err = k2t(*cmds, model=RES)
        return rc, out, err

    rc, out, err = run("good", ())
    ok(rc == 0 and "no divergence" in out and not bugs(out) and "bugs=0" in out,
       "ResNet8, correct port: no divergence, $bugs 0", out[-600:] + err)
    rc, out, err = run("good_noinput", (), input_set=False)
    ok(rc == 0 and "no input set: using" in out and "no divergence" in out,
       "ResNet8, correct port, no input set: the dump's __input__ is used, no divergence", out[-400:] + err)

    # the input divided by 255 inside forward()
    rc, out, err = run("input255", ("input255",))
    b = bugs(out)
    m = re.search(r"is Keras's input x \* ([0-9.e+-]+)", out)
    ok(rc == 0 and len(b) == 1 and b[0][0] == "preprocess" and m and abs(float(m.group(1)) - 1 / 255) < 1e-7 and
       "transpose" not in out,
       "input /255 in forward(): one bug, input scaling, the factor 1/255 found", out[-1200:])

    # channels reversed and normalised inside the port: the map per channel, exactly
    rc, out, err = run("bgr", ("bgr",))
    b = bugs(out)
    m = re.search(r"is channel-reversed \(RGB<->BGR\) Keras's input x \* ([0-9.e+-]+) - ([0-9.e+-]+) ", out)
    ok(rc == 0 and len(b) == 1 and b[0][0] == "preprocess" and m and abs(float(m.group(1)) - 1 / 60) < 1e-6 and
       abs(float(m.group(2)) - 2) < 1e-5,
       "BGR and (x - 120) / 60 inside forward(): input scaling, channels reversed, the map found", out[-1200:])

    # batch statistics although the dump ran in eval mode (track_running_stats=False)
    rc, out, err = run("nostats", ("bn_nostats",))
    b = bugs(out)
    ok(rc == 0 and "ran in eval mode" in out and len(b) == 1 and b[0][0] == "bn-mode" and
       b[0][1].startswith("batch_normalization (torch: stem.1)") and "track_running_stats=False" in out,
       "BatchNorm2d(track_running_stats=False), dumped in eval mode: bn-mode, the batch statistics tell",
       out[-1200:])

    # a layer never copied: block2.conv2 keeps PyTorch's initialisation
    rc, out, err = run("never", ("never_copied",))
    b = bugs(out)
    port = compare_ports.resnet8_bugs(RES, ("never_copied",))
    fix = re.search(r'sd\["block2\.conv2\.weight"\] = torch\.from_numpy\(kernel\)(\.permute\([0-9, ]+\))', out)
    right = eval("torch.from_numpy(W('conv2d_4', 'kernel'))" + fix.group(1)) if fix else None
    good = compare_ports.resnet8(RES)
    ok(rc == 0 and len(b) == 1 and b[0][0] == "init" and b[0][1].startswith("conv2d_4 (torch: block2.conv2)") and
       "block2.conv2.weight was never copied" in out and right is not None and
       torch.equal(right, good.block2.conv2.weight) and not torch.equal(right, port.block2.conv2.weight),
       "a conv never copied: init at conv2d_4, the tensor named, the printed call gives the right weight",
       out[-1500:])

    # a kernel with H and W swapped: the rearrangement used and the right one, exactly
    rc, out, err = run("hw", ("hw_swap",))
    b = bugs(out)
    used = re.search(r"block1\.conv1\.weight \(16,16,3,3\) holds\s+torch\.from_numpy\(kernel\)(\.permute\([0-9, ]+\))",
                     out)
    fix = re.search(r'sd\["block1\.conv1\.weight"\] = torch\.from_numpy\(kernel\)(\.permute\([0-9, ]+\))', out)
    port = compare_ports.resnet8_bugs(RES, ("hw_swap",))
    k = torch.from_numpy(W("conv2d_1", "kernel"))
    ok(rc == 0 and len(b) == 1 and b[0][0] == "transpose" and used and fix and
       torch.equal(eval("k" + used.group(1)), port.block1.conv1.weight) and
       torch.equal(eval("k" + fix.group(1)), good.block1.conv1.weight),
       "kernel H/W swapped: the permutation the port used and the right call, both checked in PyTorch",
       out[-1500:])

    # an activation substituted or left out (functional, between two modules)
    for tag, bl, word in (("sig", ("stem_sigmoid",), "sigmoid"), ("noact", ("stem_noact",), "no activation")):
        rc, out, err = run(tag, bl)
        b = bugs(out)
        ok(rc == 0 and len(b) == 1 and b[0][0] == "activation" and b[0][1].startswith("activation ") and
           "the port computes %s" % word in out and "x = F.relu(x)" in out,
           "stem relu replaced by %s: the activation named, relu as the fix" % word, out[-1200:])

    # left in train mode: one bug over every BatchNormalization
    rc, out, err = run("train", ("train",))
    b = bugs(out)
    ok(rc == 0 and "ran in train mode" in out and len(b) == 1 and b[0][0] == "bn-mode" and
       b[0][1].startswith("7 BatchNormalization layers: batch_normalization .. batch_normalization_6") and
       "model.eval()" in out and "bugs=1" in out,
       "port left in train mode: torch_dump keeps it, one bn-mode bug over 7 layers", out[-1500:])
    # ... and dumped with --eval (mode="eval"): nothing to find
    npz = T("r_train_eval.npz")
    dump(compare_ports.resnet8_bugs(RES, ("train",)), x, npz, mode="eval")
    rc, out, err = k2t("input " + T("x.npy"), "compare " + npz, model=RES)
    ok(rc == 0 and "ran in eval mode" in out and "no divergence" in out, "the same port dumped with eval: clean",
       out[-400:])

    # PyTorch's eps on every BatchNorm2d: one grouped finding
    rc, out, err = run("eps", ("eps",))
    b = bugs(out)
    ok(rc == 0 and len(b) == 1 and b[0][0] == "bn-eps" and
       re.match(r"\d+ BatchNormalization layers: batch_normalization\S* \.\. batch_normalization_6", b[0][1]) and
       "eps=0.001" in out,
       "bn eps 1e-5 everywhere: one bn-eps finding over the BatchNormalization layers", out[-1200:])

    # a bug no port convention explains: said so, described, nothing else claimed
    rc, out, err = run("offset", ("offset",))
    b = bugs(out)
    ok(rc == 0 and len(b) == 1 and b[0][0] == "unexplained" and "no known port convention explains it" in out and
       "agrees with Keras on its own input" in out and re.search(r"\d+ of \d+ values differ", out) and
       "fix:" not in out,
       "an offset added in forward(): 'no known port convention explains it', described, no cause claimed",
       out[-1200:])

    # three independent bugs in one port, all named in one compare
    rc, out, err = run("three", ("pad", "hw_swap", "fc_never"))
    b = bugs(out)
    topics = [t for t, _ in b]
    ok(rc == 0 and topics == ["transpose", "padding", "init"] and b[0][1].startswith("conv2d_1 ") and
       b[1][1].startswith("2 Conv2D layers: conv2d_3 .. conv2d_6") and b[2][1].startswith("dense ") and
       "bugs=3" in out and "first divergence: conv2d_1 (torch: block1.conv1)" in out,
       "three bugs (H/W swap, padding, fc never copied): all named, in model order, in one compare",
       out[-2500:])
    # never a refuted cause
    ok("closer, but" not in out and "likely" not in out, "no refuted or 'likely' cause printed", out[-800:])

# vww_96.h5 (MobileNet v1, 27 BatchNormalization): a correct port, and ports with bugs repeated over layers
VWW = os.path.join(SHARED, "models", "vww_96.h5")
if not os.path.exists(VWW):
    skip("compare on vww_96", "%s is missing" % VWW)
else:
    xv = np.random.default_rng(5).random((2, 96, 96, 3), dtype=np.float32)
    np.save(T("xv.npy"), xv)

    def vrun(bl):
        npz = T("vww_%s.npz" % "_".join(bl))
        dump(compare_ports.chain(VWW, bl), xv, npz)
        return k2t("input " + T("xv.npy"), "compare " + npz, "echo bugs=$bugs", model=VWW)

    rc, out, err = vrun(())
    ok(rc == 0 and "no divergence" in out and "bugs=0" in out, "vww_96, correct port: no divergence",
       out[-600:] + err)
    rc, out, err = vrun(("eps",))
    b = bugs(out)
    ok(rc == 0 and b == [("bn-eps", "27 BatchNormalization layers: batch_normalization .. batch_normalization_26 "
                                     "(torch: batch_normalization .. batch_normalization_26)")] and "bugs=1" in out,
       "vww_96 with PyTorch's eps: one bn-eps finding over the 27 BatchNormalization layers", out[-1200:])
    rc, out, err = vrun(("pad", "dw_hw"))
    b = bugs(out)
    port = compare_ports.chain(VWW, ("dw_hw",))
    used = re.search(r"depthwise_conv2d\.weight \(8,1,3,3\) holds\s+torch\.from_numpy\(depthwise_kernel\)((?:\.\w+\([0-9, ]*\))+)", out)
    with h5py.File(VWW, "r") as f:
        dk = torch.from_numpy(np.array(f["model_weights"]["depthwise_conv2d"]["depthwise_conv2d"]["depthwise_kernel:0"]))
    ok(rc == 0 and [t for t, _ in b] == ["padding", "transpose", "padding"] and
       b[1][1].startswith("depthwise_conv2d (torch") and used and
       torch.equal(eval("dk" + used.group(1)), port.depthwise_conv2d.weight),
       "vww_96 with symmetric pads and one depthwise kernel H/W swapped: the pads on every stride-2 layer, the "
       "swapped kernel by name with the rearrangement it holds", out[-2500:])

# activations substituted in modules: nn.ReLU for relu6, nn.Hardsigmoid for Keras 2's hard_sigmoid, nn.Sigmoid
# for tanh: three bugs, each named with the activation the port computes; the correct port shows none
manifest = test_exec.ensure_fixtures()
if manifest is not None:
    ah5 = os.path.join(FIXTURES, "exec", "act_conv_a.h5")
    xa = np.load(os.path.join(FIXTURES, "exec", "act_conv_a.in.npy")) * 6  # relu6 must clip somewhere
    np.save(T("xa.npy"), xa)
    for bl in ((), ("relu6", "hsig", "tanh")):
        npz = T("act_%d.npz" % len(bl))
        dump(compare_ports.act_conv_a(ah5, bl), xa, npz)
        rc, out, err = k2t("input " + T("xa.npy"), "compare " + npz, "echo bugs=$bugs", model=ah5)
        b = bugs(out)
        if not bl:
            ok(rc == 0 and "no divergence" in out and "bugs=0" in out,
               "act_conv_a, correct port (activation modules, Keras 2's hard_sigmoid by hand): no divergence",
               out[-800:])
        else:
            ok(rc == 0 and [x[0] for x in b] == ["activation"] * 3 and "bugs=3" in out and
               "conv_relu6 applies relu6; the port computes relu" in out and "x = F.relu6(x)" in out and
               "the port computes F.hardsigmoid" in out and "x = torch.clamp(0.2 * x + 0.5, 0.0, 1.0)" in out and
               "conv_tanh applies tanh; the port computes sigmoid" in out,
               "act_conv_a with relu for relu6, F.hardsigmoid for hard_sigmoid, sigmoid for tanh: all three named",
               out[-2000:])
    if test_exec.oracle_ready():
        refdir, per_layer, e = test_exec.run_oracle("act_conv_a", ah5, os.path.join(FIXTURES, "exec",
                                                                                     "act_conv_a.in.npy"))
        if refdir and os.path.exists(os.path.join(refdir, "output.npy")):
            x0 = np.load(os.path.join(FIXTURES, "exec", "act_conv_a.in.npy"))
            y = compare_ports.act_conv_a(ah5)(torch.from_numpy(x0).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
            ref = np.load(os.path.join(refdir, "output.npy"))
            ok(y.shape == ref.shape and np.abs(y - ref).max() <= 1e-4 * max(1, np.abs(ref).max()),
               "the correct act_conv_a port agrees with the tfjs oracle", str(np.abs(y - ref).max()))

# an Xception-style port: SeparableConv2D with as many input as output channels, correct
if manifest is not None:
    h5 = os.path.join(FIXTURES, "exec", "separable_eq.h5")
    xin = os.path.join(FIXTURES, "exec", "separable_eq.in.npy")
    port = compare_ports.separable_eq(h5)
    xe = np.load(xin)
    for tag, inputs in (("with inputs", True), ("without inputs", False)):
        npz = T("sep_eq_%d.npz" % inputs)
        dump(port, xe, npz, inputs=inputs)
        rc, out, err = k2t("input " + xin, "compare " + npz, model=h5)
        ok(rc == 0 and "no divergence" in out and "an intermediate of sep_a (SeparableConv2D)" in out,
           "Xception-style correct port (%s): the depthwise halves are intermediates, no divergence" % tag,
           out[-1200:] + err)
    if test_exec.oracle_ready():
        refdir, per_layer, e = test_exec.run_oracle("separable_eq", h5, xin)
        if refdir and os.path.exists(os.path.join(refdir, "output.npy")):
            ref = np.load(os.path.join(refdir, "output.npy"))
            y = port(torch.from_numpy(xe).permute(0, 3, 1, 2)).numpy()
            ok(np.abs(y - ref).max() <= 1e-4 * max(1, np.abs(ref).max()),
               "the Xception-style port agrees with the tfjs oracle", str(np.abs(y - ref).max()))
    else:
        skip("the Xception-style port against the oracle", "the tfjs oracle is not available")

shutil.rmtree(tmp, True)
done()
