"""Shared helpers for the numpy reference tools (h5stats.py, h5params.py).

Reads Keras legacy .h5 files the way Keras's own loader does
(load_attributes_from_hdf5_group): a list attribute is either 'name' or the
chunked parts name0, name1, ... ; strings may be fixed-length or
variable-length, bytes or str; an empty list is a float64 array of shape (0,).
"""

import numpy as np


def _decode(v):
    if isinstance(v, bytes):
        return v.decode("utf8")
    if isinstance(v, np.bytes_):
        return bytes(v).decode("utf8")
    return str(v)


def list_attr(obj, name):
    """The list stored in attribute 'name' of obj (chunked or not), as str."""
    if name in obj.attrs:
        raw = [obj.attrs[name]]
    else:
        raw, i = [], 0
        while "%s%d" % (name, i) in obj.attrs:
            raw.append(obj.attrs["%s%d" % (name, i)])
            i += 1
        if not raw:
            return None
    out = []
    for a in raw:
        a = np.asarray(a)
        if a.dtype.kind in "fiu" and a.size == 0:
            continue                      # empty list: float64 (0,)
        if a.dtype.kind not in "SUO":
            raise ValueError("attribute %s of %s is not a string list (%s)" % (name, obj.name, a.dtype))
        out.extend(_decode(v) for v in a.reshape(-1))
    return out


def weights_root(f):
    """The group holding layer_names: /model_weights, or the root of a save_weights() file."""
    if "model_weights" in f:
        return f["model_weights"]
    if list_attr(f, "layer_names") is not None:
        return f
    raise ValueError("%s: no /model_weights and no layer_names at the root" % f.filename)


def layer_names(root):
    names = list_attr(root, "layer_names")
    if names is None:
        raise ValueError("%s: no layer_names attribute" % root.name)
    return names


def weight_names(group):
    names = list_attr(group, "weight_names")
    return [] if names is None else names


def var_name(weight_name):
    """'conv2d/kernel:0' -> 'kernel' (last path component, minus ':N')."""
    last = weight_name.split("/")[-1]
    return last.split(":")[0]
