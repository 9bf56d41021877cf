#!/usr/bin/env python3
"""torch_dump.py -- dump a PyTorch model's activations for k2t's 'compare'.

Registers a forward hook on every leaf module of an nn.Module (with
--containers, on every module but the root), runs the model once on an
input .npy, and writes what each module returned, in execution order, to an
.npz that k2t reads with

    k2t> input SAME_INPUT.npy          (or: input cifar FILE 0:4, ...)
    k2t> compare OUT.npz

The .npz (numpy.savez's format: a zip of NAME.npy members) holds:

  NAME.npy    the output of module NAME (its qualified name, "block2.conv1"),
              float32, in PyTorch's layout (N,C,H,W); a module called k times
              gives NAME, NAME#1, ... NAME#(k-1); a module returning a tuple
              or list gives NAME.0, NAME.1, ...
  NAME.in.npy the input module NAME was called with (one tensor argument);
              NAME.in0.npy, NAME.in1.npy, ... when it took several; a
              module called again gives NAME#1.in, ...  compare runs the
              paired Keras layer on it, so that each module is checked on
              its own (--no-inputs leaves them out)
  state_dict/KEY.npy
              the port's state_dict as it was before the run (KEY as in
              model.state_dict(): "block2.conv1.weight"), float32; compare
              names a weight never copied, or copied in the wrong order,
              from it (--no-state-dict leaves it out)
  __input__   the model's input, as the model got it (float32, NCHW)
  __input__.NAME
              for a model with several inputs: input NAME (the Keras input
              layer's name), as the model got it
  __mode__    "train" or "eval" (uint8 text): the mode the model ran in;
              "train" when any of its modules was in training mode
  __order__   the execution order: a uint8 array of UTF-8 text, one line per
              output array, "NAME<TAB>ModuleClass" (k2t uses the class to
              pair an array that matches no layer with the layer of that kind)

The model runs in the mode the caller left it in (a port that forgot
model.eval() is dumped as it would run); --eval (or dump(..., mode="eval"))
forces eval mode, --train train mode, and the model's modes are restored
afterwards.  Dumps written before these members existed are still read.

The input: a .npy, batch first, in NHWC (Keras's layout, as k2t takes it) or
NCHW; --layout says which, else the first convolution's in_channels decides
(the axis that equals it is the channel axis), else a last axis of 1 or 3
(and a second that is not) means NHWC.  uint8 pixels are given to the model
as float32 values 0..255: apply the same preprocessing in both places (k2t's
"set preprocess", or do it in the model).

Several inputs: an .npz with one member per input, named after the Keras
input layers ("image.npy", "vector.npy", as k2t's "input FILE.npz" takes
it), in the order the model's forward takes them (k2t's exported port takes
them in the Keras model's input order); each is laid out as above.

Command line:

  torch_dump.py MODULE.py:FACTORY [WEIGHTS] INPUT.npy OUT.npz [options]
  torch_dump.py --module MODULE.py --factory FACTORY [--weights W] INPUT.npy OUT.npz

FACTORY is a class or a function in MODULE.py returning the nn.Module,
called with the --arg KEY=VALUE pairs as keyword arguments (VALUE is read as
a Python literal when it parses as one).  WEIGHTS, when given, is a file
torch.load reads: a state_dict (or a dict holding one under "state_dict"),
loaded with load_state_dict, or a whole pickled nn.Module.

As a library:

    from torch_dump import dump
    dump(model, x, "acts.npz")          # x: numpy array or tensor
"""
import argparse
import ast
import importlib.util
import io
import os
import sys
import zipfile

import numpy as np


def _torch():
    import torch
    return torch


def _first_conv(model):
    torch = _torch()
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)):
            return m
    return None


def detect_layout(model, x, layout=None):
    """'nhwc' or 'nchw' for input x (batch first) of model."""
    if layout:
        layout = layout.lower()
        if layout not in ("nhwc", "nchw"):
            raise ValueError("layout must be nhwc or nchw, not %r" % layout)
        return layout
    if x.ndim < 3:
        return "nchw"  # (N, F): nothing to move
    conv = _first_conv(model)
    if conv is not None:
        c = conv.in_channels
        last, second = x.shape[-1] == c, x.shape[1] == c
        if last and not second:
            return "nhwc"
        if second and not last:
            return "nchw"
    if x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        return "nhwc"
    return "nchw"


def to_model_input(model, x, layout=None):
    """x (numpy or tensor, batch first) as the float32 NCHW tensor the model takes."""
    torch = _torch()
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.dtype != np.float32:
        x = x.astype(np.float32)
    if detect_layout(model, x, layout) == "nhwc" and x.ndim >= 3:
        x = np.moveaxis(x, -1, 1)
    return torch.from_numpy(np.ascontiguousarray(x))


def _text(t):
    return np.frombuffer(t.encode("utf-8"), dtype=np.uint8)


def _write_npz(path, items, compress=False, extra=()):
    """Write [(name, class, array)] as an .npz with an __order__ member, then
    the [(member, array)] of 'extra' (inputs, state_dict, __input__, __mode__)."""
    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    order = "".join("%s\t%s\n" % (n, c) for n, c, _ in items)
    with zipfile.ZipFile(path, "w", mode, allowZip64=True) as zf:
        def put(name, arr):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            zf.writestr(name + ".npy", buf.getvalue())
        put("__order__", _text(order))
        for name, _, arr in items:
            put(name, arr)
        for name, arr in extra:
            put(name, arr)


def dump(model, x, path, layout=None, containers=False, train=None, compress=False, mode=None,
         inputs=True, state_dict=True):
    """Run model on x and write each module's output (and input) to the .npz 'path'.

    x: batch-first input, NHWC or NCHW (see detect_layout; 'layout' forces
    it); for a model with several inputs, a dict {Keras input name: array}
    in the order forward takes them (recorded as __input__.NAME).  Hooks go on the leaf modules, or on every module but the root with
    containers=True.  mode: None runs the model in the mode it is in (and
    records it), "eval" or "train" force one (train=True is mode="train");
    the modules' modes are restored afterwards.  inputs: record each
    module's input (NAME.in); state_dict: record the port's state_dict (as
    it was before the run) under state_dict/.  Returns [(name, class,
    shape)] of the outputs in execution order.
    """
    torch = _torch()
    if train is not None and mode is None:
        mode = "train" if train else None
    if mode not in (None, "eval", "train"):
        raise ValueError("mode must be None, 'eval' or 'train', not %r" % (mode,))
    named = isinstance(x, dict)
    xs = [to_model_input(model, v, layout) for v in x.values()] if named else [to_model_input(model, x, layout)]
    items, extra, calls, hooks = [], [], {}, []

    def arr(t):
        return t.detach().cpu().float().clone().numpy()

    def add(name, cls, out):
        if isinstance(out, torch.Tensor):
            items.append((name, cls, arr(out)))
        elif isinstance(out, (tuple, list)):
            for i, o in enumerate(out):
                add("%s.%d" % (name, i), cls, o)

    def hook_for(name):
        def hook(mod, inp, out):
            k = calls.get(name, 0)
            calls[name] = k + 1
            key = name if k == 0 else "%s#%d" % (name, k)
            add(key, type(mod).__name__, out)
            if inputs:
                ts = [t for t in inp if isinstance(t, torch.Tensor)]
                if len(ts) == 1:
                    extra.append((key + ".in", arr(ts[0])))
                else:
                    for i, t in enumerate(ts):
                        extra.append(("%s.in%d" % (key, i), arr(t)))
        return hook

    if state_dict:
        for k, v in model.state_dict().items():
            if isinstance(v, torch.Tensor) and v.is_floating_point():
                extra.append(("state_dict/" + k, arr(v)))
    for name, mod in model.named_modules():
        if not name:
            continue  # the root: its output is the last module's
        if containers or not any(True for _ in mod.children()):
            hooks.append(mod.register_forward_hook(hook_for(name)))
    modes = [(m, m.training) for m in model.modules()]
    bufs = [(b, b.detach().clone()) for b in model.buffers()]  # train mode updates BN's running statistics
    if mode is not None:
        model.train(mode == "train")
    ran = "train" if any(m.training for m in model.modules()) else "eval"
    try:
        with torch.no_grad():
            model(*xs)
    finally:
        for h in hooks:
            h.remove()
        for m, t in modes:
            m.training = t
        with torch.no_grad():
            for b, v in bufs:
                b.copy_(v)
    if named:
        for i, k in enumerate(x):
            extra.insert(i, ("__input__." + k, arr(xs[i])))
    else:
        extra.insert(0, ("__input__", arr(xs[0])))
    extra.insert(len(xs), ("__mode__", _text(ran)))
    _write_npz(path, items, compress, extra)
    return [(n, c, tuple(a.shape)) for n, c, a in items]


def _literal(v):
    try:
        return ast.literal_eval(v)
    except (ValueError, SyntaxError):
        return v


def load_model(module, factory, weights=None, kwargs=None):
    """The nn.Module FACTORY(**kwargs) from the Python file 'module', with
    'weights' (a state_dict file, or a pickled module) loaded."""
    torch = _torch()
    spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(module))[0], module)
    if spec is None:
        raise SystemExit("torch_dump: cannot import '%s'" % module)
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(os.path.abspath(module)))
    spec.loader.exec_module(mod)
    if not hasattr(mod, factory):
        raise SystemExit("torch_dump: '%s' has no '%s'" % (module, factory))
    model = getattr(mod, factory)(**(kwargs or {}))
    if not isinstance(model, torch.nn.Module):
        raise SystemExit("torch_dump: %s() returned a %s, not an nn.Module" % (factory, type(model).__name__))
    if weights:
        obj = torch.load(weights, map_location="cpu")
        if isinstance(obj, torch.nn.Module):
            model = obj
        else:
            if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
                obj = obj["state_dict"]
            model.load_state_dict(obj)
    return model


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="torch_dump.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Dump every module's output of a PyTorch model, in execution order, to an .npz "
                    "for k2t's 'compare FILE.npz'.",
        epilog="examples:\n"
               "  torch_dump.py port.py:ResNet8 resnet.pt x.npy acts.npz\n"
               "  torch_dump.py --module port.py --factory build --arg h5=model.h5 x.npy acts.npz\n"
               "then, in k2t: input x.npy; compare acts.npz\n\n"
               "The .npz holds NAME.npy per module output (PyTorch layout, float32; a module called\n"
               "again gives NAME#1, ...), NAME.in.npy its input (NAME.in0, ... for several),\n"
               "state_dict/KEY.npy the port's state_dict, __input__ the model's input, __mode__ 'train'\n"
               "or 'eval', and __order__, a uint8 array of text lines 'NAME<TAB>Class' in execution order.\n"
               "The model runs in the mode it is in unless --eval or --train says otherwise.")
    ap.add_argument("args", nargs="+", metavar="ARG",
                    help="[MODULE.py:FACTORY [WEIGHTS]] INPUT.npy|INPUTS.npz OUT.npz")
    ap.add_argument("--module", help="the Python file that defines the model")
    ap.add_argument("--factory", help="the class or function in it that returns the nn.Module")
    ap.add_argument("--weights", help="a state_dict (torch.save) or a pickled module to load")
    ap.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE",
                    help="a keyword argument for FACTORY (repeatable)")
    ap.add_argument("--layout", choices=["nhwc", "nchw"],
                    help="the input's layout (default: from the first conv's in_channels, else NHWC when "
                         "the last axis is 1 or 3 and the second is not)")
    ap.add_argument("--containers", action="store_true",
                    help="hook every module, not only the leaves (a container repeats its last child)")
    ap.add_argument("--eval", action="store_true", help="force eval mode (default: the mode the model is in)")
    ap.add_argument("--train", action="store_true", help="force train mode (default: the mode the model is in)")
    ap.add_argument("--no-inputs", action="store_true", help="do not record each module's input (NAME.in)")
    ap.add_argument("--no-state-dict", action="store_true", help="do not record the state_dict")
    ap.add_argument("--compress", action="store_true", help="deflate the members (numpy.savez_compressed)")
    a = ap.parse_intermixed_args(argv)
    rest = list(a.args)
    if a.module is None:
        if len(rest) not in (3, 4) or ":" not in rest[0]:
            ap.error("expected MODULE.py:FACTORY [WEIGHTS] INPUT.npy OUT.npz, or --module/--factory")
        a.module, a.factory = rest.pop(0).rsplit(":", 1)
        if len(rest) == 3:
            a.weights = rest.pop(0)
    if not a.factory:
        ap.error("--factory is needed with --module")
    if len(rest) != 2:
        ap.error("expected INPUT.npy OUT.npz")
    inp, out = rest
    kwargs = {}
    for kv in a.arg:
        if "=" not in kv:
            ap.error("--arg wants KEY=VALUE, got %r" % kv)
        k, v = kv.split("=", 1)
        kwargs[k] = _literal(v)
    model = load_model(a.module, a.factory, a.weights, kwargs)
    x = np.load(inp)
    if isinstance(x, np.lib.npyio.NpzFile):
        x = {k: x[k] for k in x.files}  # several inputs, in the archive's order
    if a.eval and a.train:
        ap.error("--eval and --train exclude each other")
    mode = "eval" if a.eval else "train" if a.train else None
    ran = "train" if mode == "train" or (mode is None and any(m.training for m in model.modules())) else "eval"
    items = dump(model, x, out, layout=a.layout, containers=a.containers, mode=mode, compress=a.compress,
                 inputs=not a.no_inputs, state_dict=not a.no_state_dict)
    xs = x if isinstance(x, dict) else {"": x}
    desc = "; ".join("%s%s, %s" % (k + " " if k else "", "x".join(map(str, v.shape)), detect_layout(model, v, a.layout))
                     for k, v in xs.items())
    print("%s: %d arrays from %s (input %s; %s mode)" % (out, len(items), type(model).__name__, desc, ran))
    return 0


if __name__ == "__main__":
    sys.exit(main())
