/*
** preprocessing.c -- Keras's preprocessing layers that live inside a model:
** Normalization.
**
** Normalization stores what adapt() measured on the training data, a mean
** and a variance per kept axis (the last by default; none with axis=None:
** one scalar each), plus the sample count; at inference it computes
** y = (x - mean) / max(sqrt(variance), 1e-7) (KERAS-FORMAT 3).  A port has
** to keep that step in forward() and feed the model what Keras is fed: the
** raw features, not pre-normalised ones.  Mean and variance given in the
** config instead of adapted (no weights), normalising other axes than the
** last, and invert=True are kept inspectable but not executed.
**
** This family is also the example of what a layer kind takes: this file
** and its line in ops.def.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "../op.h"
#include "../py.h"

/*--------------------------------------------------------------- parse */

static k2t_status normalization_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    int invert = 0;
    k2t_status st;
    (void)m;
    json_t *ax = json_object_get(c, "axis");
    if (ax && json_is_null(ax)) {
        g->n_dims = 0; /* axis=None: one mean and variance for everything */
    } else {
        if ((st = cfg_int_list(c, "axis", g->dims, K2T_MAX_DIMS, &g->n_dims, err))) return st;
        if (g->n_dims == 0) g->dims[g->n_dims++] = -1;
    }
    g->axis = g->n_dims ? g->dims[0] : 0;
    if ((st = cfg_bool(c, "invert", 0, &invert, err))) return st;
    if (invert) k2t_set_unsupported(L, "Normalization with invert=True is not supported");
    json_t *mean = json_object_get(c, "mean");
    if (mean && !json_is_null(mean))
        k2t_set_unsupported(L, "Normalization with its mean and variance in the config is not supported");
    if (g->n_dims > 1) k2t_set_unsupported(L, "Normalization over several axes is not supported");
    return K2T_OK;
}

/* The per-sample index of the kept axis, or -1 for axis=None; -2 when out
** of range. */
static int kept_axis(const k2t_layer *L, int ndim)
{
    if (L->cfg.n_dims == 0) return -1;
    int a = k2t_norm_axis(L->cfg.dims[0], ndim);
    return a < 0 ? -2 : a;
}

static k2t_status normalization_infer(const k2t_layer *L, const k2t_shape *in, int n_in, k2t_shape *out,
                                      k2t_err *err)
{
    if (n_in != 1) return k2t_fail(err, K2T_ESHAPE, "expects 1 input, got %d", n_in);
    if (kept_axis(L, in->ndim) == -2) return k2t_fail(err, K2T_ESHAPE, "axis %d is out of range", L->cfg.dims[0]);
    *out = *in;
    return K2T_OK;
}

/* mean and variance over the kept axis (a scalar for axis=None), and the
** count adapt() saw when the file keeps it. */
static int normalization_weights(const k2t_layer *L, const k2t_shape *in, k2t_wspec *spec)
{
    k2t_shape s = {.ndim = 0};
    int a = in ? kept_axis(L, in->ndim) : -1;
    if (L->cfg.n_dims) s = (k2t_shape){.ndim = 1, .d = {a >= 0 ? in->d[a] : -1}};
    spec[0] = (k2t_wspec){.name = "mean", .shape = s};
    spec[1] = (k2t_wspec){.name = "variance", .shape = s};
    if (!k2t_layer_has_weight(L, "count")) return 2;
    spec[2] = (k2t_wspec){.name = "count", .shape = {.ndim = 0}};
    return 3;
}

static void normalization_describe(const k2t_layer *L, k2t_buf *b)
{
    if (L->cfg.n_dims) k2t_buf_printf(b, "axis=%d", L->cfg.dims[0]);
    else k2t_buf_printf(b, "axis=None");
}

/*---------------------------------------------------------- port hazards */

static void normalization_hazards(k2t_hz *h)
{
    k2t_hz_say(h, K2T_PIT_PREPROCESS, 1, "the model normalises its own input with the mean and variance adapt() "
               "measured, y = (x - mean) / max(sqrt(variance), 1e-7): keep it in forward() and feed the port "
               "the raw features Keras is fed");
    k2t_hz_code(h, "x = (x - mean) / torch.clamp(variance.sqrt(), min=1e-7)  # mean, variance: %s's weights, "
                "channels on dim 1", h->L->name);
}

/*------------------------------------------------------------ execution */

/* y = x * scale[c] + shift[c]: scale = 1/max(sqrt(var), 1e-7), shift =
** -mean*scale, over the channels (len) or one value (len 1). */
static k2t_status normalization_plan(k2t_step *s, const k2t_plan_ctx *c, k2t_err *err)
{
    const k2t_layer *L = s->L;
    const k2t_weight *mean = k2t_layer_weight(L, "mean"), *var = k2t_layer_weight(L, "variance");
    int a = kept_axis(L, c->in[0].ndim);
    if (!mean || !var) return k2t_fail(err, K2T_EFORMAT, "no mean and variance weights");
    if (a >= 0 && a != c->in[0].ndim - 1)
        return k2t_fail(err, K2T_EUNSUPPORTED, "Normalization over another axis than the last is not supported");
    s->len = a >= 0 ? c->in[0].d[a] : 1;
    if (mean->size != s->len || var->size != s->len)
        return k2t_fail(err, K2T_ESHAPE, "mean and variance hold %lld values, the axis %lld",
                        (long long)mean->size, (long long)s->len);
    s->scale = k2t_xmalloc((size_t)s->len * sizeof(float));
    s->shift = k2t_xmalloc((size_t)s->len * sizeof(float));
    for (int64_t k = 0; k < s->len; k++) {
        double sd = sqrt((double)var->data[k]);
        double sc = 1.0 / (sd > 1e-7 ? sd : 1e-7);
        s->scale[k] = (float)sc;
        s->shift[k] = (float)(-(double)mean->data[k] * sc);
    }
    return K2T_OK;
}

static void normalization_forward(const k2t_step *s, const k2t_fwd *f)
{
    int64_t total = (int64_t)f->n * s->numel;
    if (f->nchw && s->len > 1) kern_scale_shift_nchw(f->x[0], f->n, (int)s->len, s->numel / s->len, s->scale, s->shift, f->y);
    else kern_scale_shift(f->x[0], total / s->len, (int)s->len, s->scale, s->shift, f->y);
}

/*------------------------------------------------------- PyTorch export */

/* The statistics written into forward() as constants on the channels
** axis (dim 1), as the module holds channels first. */
static k2t_status normalization_py_forward(k2t_py *y, int i, k2t_err *err)
{
    const k2t_layer *L = k2t_node_layer(k2t_py_model(y), i);
    const k2t_weight *mean = k2t_layer_weight(L, "mean"), *var = k2t_layer_weight(L, "variance");
    const k2t_shape *in = k2t_py_in_shape(y, i, 0);
    const char *v = k2t_py_var(y, i), *a = k2t_py_in(y, i, 0);
    char f[64];
    if (!mean || !var) return k2t_py_fail(L, err, "no mean and variance weights");
    if (L->cfg.n_dims && in && kept_axis(L, in->ndim) != in->ndim - 1)
        return k2t_py_fail(L, err, "Normalization over another axis than the last");
    for (int pass = 0; pass < 2; pass++) {
        const k2t_weight *w = pass ? var : mean;
        k2t_py_printf(y, "        %s_%s = torch.tensor([", v, pass ? "var" : "mean");
        for (int64_t k = 0; k < w->size; k++) k2t_py_printf(y, "%s%s", k ? ", " : "", k2t_pyfloat(w->data[k], f, sizeof f));
        k2t_py_printf(y, "], dtype=%s.dtype)", a);
        if (w->size > 1 && in && in->ndim >= 1) {
            k2t_py_printf(y, ".view(1, -1");
            for (int d = 1; d < in->ndim; d++) k2t_py_printf(y, ", 1");
            k2t_py_printf(y, ")");
        }
        k2t_py_printf(y, "\n");
    }
    k2t_py_printf(y, "        %s = (%s - %s_mean) / torch.clamp(%s_var.sqrt(), min=1e-7)  # Keras Normalization\n",
                  v, a, v, v);
    return K2T_OK;
}

/*----------------------------------------------------------------- def */

static const char *const normalization_classes[] = {"Normalization", NULL};

const k2t_op_def k2t_op_normalization = {
    .op = K2T_OP_NORMALIZATION, .classes = normalization_classes, .min_in = 1, .max_in = 1,
    .flags = K2T_OPF_KEEPS_ORDER | K2T_OPF_INPLACE | K2T_OPF_NCHW, .parse = normalization_parse,
    .infer = normalization_infer, .weights = normalization_weights, .describe = normalization_describe,
    .hazards = normalization_hazards, .plan = normalization_plan, .forward = normalization_forward,
    .py_forward = normalization_py_forward,
};
