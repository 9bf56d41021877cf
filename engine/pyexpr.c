/*
** pyexpr.c -- the Python expressions export's ops share (engine/py.h):
** float literals that read back exactly, a Keras activation as PyTorch
** code, shapes and dims in the generated module's channels-first layout.
** They need no export state; engine/export.c writes the file.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "py.h"

/* Shortest text that reads back as v, always with a '.' or exponent. */
const char *k2t_pyfloat(double v, char *buf, size_t n)
{
    if (isnan(v)) return snprintf(buf, n, "float(\"nan\")"), buf;
    if (isinf(v)) return snprintf(buf, n, v > 0 ? "float(\"inf\")" : "float(\"-inf\")"), buf;
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    if (!strpbrk(buf, ".en")) {
        size_t l = strlen(buf);
        if (l + 3 <= n) memcpy(buf + l, ".0", 3);
    }
    return buf;
}

const char *k2t_py_shape_str(const k2t_shape *keras, char *buf, size_t n)
{
    k2t_shape t = k2t_shape_nchw(keras);
    size_t len = (size_t)snprintf(buf, n, "(N");
    for (int i = 0; i < t.ndim && len < n; i++) {
        if (t.d[i] < 0) len += (size_t)snprintf(buf + len, n - len, ", ?");
        else len += (size_t)snprintf(buf + len, n - len, ", %lld", (long long)t.d[i]);
    }
    if (len < n) snprintf(buf + len, n - len, ")");
    return buf;
}

int k2t_py_dim(int axis, int ndim)
{
    int p = k2t_norm_axis(axis, ndim);
    if (p < 0) return -1;
    if (ndim >= 2) return p == ndim - 1 ? 1 : p + 2;
    return p + 1;
}

const char *k2t_py_act(k2t_act a, const char *v, char *buf, size_t n)
{
    switch (a) {
    case K2T_ACT_LINEAR: return NULL;
    case K2T_ACT_RELU: snprintf(buf, n, "F.relu(%s)", v); break;
    case K2T_ACT_RELU6: snprintf(buf, n, "F.relu6(%s)", v); break;
    case K2T_ACT_SIGMOID: snprintf(buf, n, "torch.sigmoid(%s)", v); break;
    case K2T_ACT_HARD_SIGMOID:
        snprintf(buf, n, "torch.clamp(0.2 * %s + 0.5, 0.0, 1.0)  # Keras 2 hard_sigmoid", v);
        break;
    case K2T_ACT_HARD_SIGMOID3:
        snprintf(buf, n, "torch.clamp(%s / 6.0 + 0.5, 0.0, 1.0)  # Keras 3 hard_sigmoid", v);
        break;
    case K2T_ACT_TANH: snprintf(buf, n, "torch.tanh(%s)", v); break;
    case K2T_ACT_SOFTMAX: snprintf(buf, n, "F.softmax(%s, dim=1)", v); break;
    case K2T_ACT_SOFTPLUS: snprintf(buf, n, "F.softplus(%s)", v); break;
    case K2T_ACT_SOFTSIGN: snprintf(buf, n, "F.softsign(%s)", v); break;
    case K2T_ACT_ELU: snprintf(buf, n, "F.elu(%s)", v); break;
    case K2T_ACT_SELU: snprintf(buf, n, "F.selu(%s)", v); break;
    case K2T_ACT_SWISH: snprintf(buf, n, "F.silu(%s)", v); break;
    case K2T_ACT_GELU: snprintf(buf, n, "F.gelu(%s)  # exact (erf) form", v); break;
    case K2T_ACT_EXPONENTIAL: snprintf(buf, n, "torch.exp(%s)", v); break;
    case K2T_ACT_LEAKY_RELU: snprintf(buf, n, "F.leaky_relu(%s, 0.2)", v); break;
    case K2T_ACT_HARD_SWISH:
        snprintf(buf, n, "%s * torch.clamp(%s / 6.0 + 0.5, 0.0, 1.0)  # Keras 3 hard_silu", v, v);
        break;
    default: return NULL;
    }
    return buf;
}

const char *k2t_py_to_last(const char *a, int ndim, char *buf, size_t n)
{
    if (ndim >= 2) snprintf(buf, n, "%s.movedim(1, -1)", a);
    else snprintf(buf, n, "%s", a);
    return buf;
}
