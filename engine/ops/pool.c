/*
** pool.c -- MaxPooling1D/2D, AveragePooling1D/2D and their global
** versions, under both spellings Keras registers (MaxPooling2D and
** MaxPool2D, GlobalAveragePooling2D and GlobalAvgPool2D, ...).
**
** A pool is a window like a convolution's, with dilation 1 and TF's
** output rule; strides default to pool_size (null in the config means
** the same).  What 'same' padding means for the values (padded cells
** never win a max; an average divides by the real cells only) is the
** executor's business; the shape is the windowed rule's.  Global pools
** reduce every spatial dim: (H, W, C) -> (C,), or (1, 1, C) with
** keepdims (a key since Keras 2.6; older files lack it and mean false).
** With data_format channels_first the tensors are (C, ...): windows run
** the channels-last kernels between conversions (k2t_cf_run), global
** pools the NCHW one on the tensor as it is.
*/
#include <stdio.h>
#include <string.h>
#include "../internal.h"
#include "../py.h"

/* 1-D classes say so in their name; the rest are 2-D. */
static int class_rank(const k2t_layer *L)
{
    return L->class_name && strstr(L->class_name, "1D") ? 1 : 2;
}

static k2t_status pool_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    json_t *s = json_object_get(c, "strides");
    k2t_status st;
    (void)m;
    g->rank = class_rank(L);
    if ((st = cfg_ints(c, "pool_size", g->rank, 2, g->kernel, err)) ||
        (st = cfg_ints(c, "strides", g->rank, 0, g->strides, err)) ||
        (st = cfg_padding(c, "padding", &g->padding, err)) ||
        (st = cfg_channels_first(c, &g->channels_first, err)))
        return st;
    if (!s || json_is_null(s)) memcpy(g->strides, g->kernel, sizeof g->strides);
    if (g->rank == 1) g->kernel[1] = g->strides[1] = 1;
    g->dilation[0] = g->dilation[1] = 1;
    for (int i = 0; i < g->rank; i++) {
        if (g->kernel[i] <= 0)
            return k2t_fail(err, K2T_EFORMAT, "config key 'pool_size' must be positive, got %d",
                            g->kernel[i]);
        if (g->strides[i] <= 0)
            return k2t_fail(err, K2T_EFORMAT, "config key 'strides' must be positive, got %d",
                            g->strides[i]);
    }
    if (g->padding == K2T_PAD_CAUSAL)
        return k2t_fail(err, K2T_EFORMAT, "config key 'padding' must be 'valid' or 'same' for "
                        "pooling, got 'causal'");
    return K2T_OK;
}

static k2t_status global_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    k2t_status st;
    (void)m;
    g->rank = class_rank(L);
    if ((st = cfg_bool(c, "keepdims", 0, &g->keepdims, err)) ||
        (st = cfg_channels_first(c, &g->channels_first, err)))
        return st;
    return K2T_OK;
}

/* Checks a (rank+1)-D input and returns the index of its channels. */
static k2t_status pool_input(const k2t_layer *L, const k2t_shape *in, int n_in, int *ch,
                             k2t_err *err)
{
    static const char *const layout[2][2] = {{"(L, C)", "(C, L)"}, {"(H, W, C)", "(C, H, W)"}};
    const k2t_cfg *g = &L->cfg;
    char buf[160];
    if (n_in != 1) return k2t_fail(err, K2T_ESHAPE, "expects 1 input, got %d", n_in);
    if (in->ndim != g->rank + 1)
        return k2t_fail(err, K2T_ESHAPE, "expects a %d-dimensional input %s per sample, got %s",
                        g->rank + 1, layout[g->rank - 1][g->channels_first],
                        k2t_shape_str(in, 0, buf, sizeof buf));
    *ch = g->channels_first ? 0 : g->rank;
    return k2t_shape_check(in, "input", err);
}

/* "5" or "5x5"; an unknown dim prints as None. */
static void dims_str(const int64_t *d, int n, char *buf, size_t size)
{
    char a[24], b[24];
    snprintf(a, sizeof a, d[0] < 0 ? "None" : "%lld", (long long)d[0]);
    if (n == 1) {
        snprintf(buf, size, "%s", a);
        return;
    }
    snprintf(b, sizeof b, d[1] < 0 ? "None" : "%lld", (long long)d[1]);
    snprintf(buf, size, "%sx%s", a, b);
}

static k2t_status pool_infer(const k2t_layer *L, const k2t_shape *in, int n_in, k2t_shape *out,
                             k2t_err *err)
{
    const k2t_cfg *g = &L->cfg;
    int ch, bad = 0;
    k2t_status st = pool_input(L, in, n_in, &ch, err);
    if (st) return st;
    *out = *in;
    int first = g->channels_first ? 1 : 0;
    for (int i = 0; i < g->rank; i++) {
        int64_t o = k2t_window_out(in->d[first + i], g->kernel[i], g->strides[i], 1, g->padding);
        if (o == -2) bad = 1;
        out->d[first + i] = o;
    }
    if (bad) {
        char a[64], k[64];
        int64_t kd[2] = {g->kernel[0], g->kernel[1]};
        dims_str(&in->d[first], g->rank, a, sizeof a);
        dims_str(kd, g->rank, k, sizeof k);
        if (g->rank == 1)
            return k2t_fail(err, K2T_ESHAPE, "input length %s is shorter than the pool size %s", a, k);
        return k2t_fail(err, K2T_ESHAPE, "input %s is smaller than the %s pool", a, k);
    }
    return K2T_OK;
}

static k2t_status global_infer(const k2t_layer *L, const k2t_shape *in, int n_in,
                               k2t_shape *out, k2t_err *err)
{
    int ch;
    k2t_status st = pool_input(L, in, n_in, &ch, err);
    if (st) return st;
    if (!L->cfg.keepdims) {
        *out = (k2t_shape){.ndim = 1, .d = {in->d[ch]}};
        return K2T_OK;
    }
    *out = *in;
    for (int i = 0; i < in->ndim; i++)
        if (i != ch) out->d[i] = 1;
    return K2T_OK;
}

static void pool_describe(const k2t_layer *L, k2t_buf *b)
{
    const k2t_cfg *g = &L->cfg;
    if (g->rank == 1)
        k2t_buf_printf(b, "pool=%d, strides=%d", g->kernel[0], g->strides[0]);
    else
        k2t_buf_printf(b, "pool=%dx%d, strides=%dx%d", g->kernel[0], g->kernel[1], g->strides[0],
                       g->strides[1]);
    k2t_buf_printf(b, ", padding=%s", k2t_pad_name(g->padding));
    if (g->channels_first) k2t_buf_printf(b, ", data_format=channels_first");
}

static void global_describe(const k2t_layer *L, k2t_buf *b)
{
    k2t_buf_printf(b, "keepdims=%d", L->cfg.keepdims);
    if (L->cfg.channels_first) k2t_buf_printf(b, ", data_format=channels_first");
}

/*----------------------------------------------------------- port hazards */

static void maxpool_hazards(k2t_hz *h)
{
    k2t_hz_window(h, 'm');
}

static void avgpool_hazards(k2t_hz *h)
{
    k2t_hz_window(h, 'a');
}

/*--- PyTorch export ---*/

/* nn.MaxPool2d(2) / nn.AvgPool2d(3, stride=1, padding=1,
** count_include_pad=False): stride when it is not the window (PyTorch's
** default), padding when not 0.  export writes pools as F. calls; this
** is the module a port would hold. */
static int pool_module(const k2t_layer *L, const k2t_shape *in, int ph, int pw, char *buf, size_t n)
{
    const k2t_cfg *g = &L->cfg;
    int r = g->rank == 1 ? 1 : 2, avg = L->op == K2T_OP_AVGPOOL;
    char k[64], s[64], p[64];
    (void)in;
    int same_stride = g->strides[0] == g->kernel[0] && (r == 1 || g->strides[1] == g->kernel[1]);
    size_t len = (size_t)snprintf(buf, n, "nn.%sPool%dd(%s", avg ? "Avg" : "Max", r,
                                  k2t_py_win_str(g->kernel, r, 1, k, sizeof k));
    if (len < n && !same_stride)
        len += (size_t)snprintf(buf + len, n - len, ", stride=%s", k2t_py_win_str(g->strides, r, 1, s, sizeof s));
    if (len < n && (ph || pw))
        len += (size_t)snprintf(buf + len, n - len, ", padding=%s%s", k2t_py_padding(r, ph, pw, p, sizeof p),
                                avg ? ", count_include_pad=False" : "");
    if (len < n) len += (size_t)snprintf(buf + len, n - len, ")");
    return len < n ? (int)len : -1;
}

/* Symmetric pads go in padding= (-inf for a max, left out of the count
** for an average); asymmetric ones are F.pad, with -inf for a max, and an
** average divided by the pooled fraction of real cells. */
static k2t_status pool_py_forward(k2t_py *y, int i, k2t_err *err)
{
    const k2t_layer *L = k2t_py_layer(y, i);
    const k2t_cfg *c = &L->cfg;
    const char *v = k2t_py_var(y, i), *a = k2t_py_in(y, i, 0);
    int r = c->rank == 1 ? 1 : 2, ph, pw, avg = L->op == K2T_OP_AVGPOOL;
    char fn[32], k[64], s[64], pd[64], b1[1200], b2[1300];
    k2t_win g;
    k2t_status st = k2t_py_window(y, i, &g, err);
    if (st != K2T_OK) return st;
    snprintf(fn, sizeof fn, "F.%s_pool%dd", avg ? "avg" : "max", r);
    k2t_py_win_str(c->kernel, r, 0, k, sizeof k);
    k2t_py_win_str(c->strides, r, 0, s, sizeof s);
    int none = !g.pl && !g.pr && !g.pt && !g.pb;
    if (none) {
        k2t_py_printf(y, "        %s = %s(%s, %s, %s)\n", v, fn, a, k, s);
    } else if (k2t_py_sym(&g, &ph, &pw)) {
        k2t_py_printf(y, "        %s = %s(%s, %s, %s, padding=%s%s)\n", v, fn, a, k, s,
                      r == 1 ? k2t_py_padding(1, ph, pw, pd, sizeof pd)
                             : (snprintf(pd, sizeof pd, "(%d, %d)", ph, pw), pd),
                      avg ? ", count_include_pad=False" : "");
    } else if (!avg) {
        k2t_py_printf(y, "        %s = %s(%s, %s, %s)  # padded cells never win\n", v, fn,
                      k2t_py_padded(&g, r, a, ", value=float(\"-inf\")", b1, sizeof b1), k, s);
    } else {
        char ones[600];
        snprintf(ones, sizeof ones, "torch.ones_like(%s[:, :1])", a);
        k2t_py_printf(y, "        %s = %s(%s, %s, %s)", v, fn, k2t_py_padded(&g, r, a, "", b1, sizeof b1),
                      k, s);
        k2t_py_printf(y, " / %s(%s, %s, %s)  # real cells only\n", fn,
                      k2t_py_padded(&g, r, ones, "", b2, sizeof b2), k, s);
    }
    return K2T_OK;
}

static k2t_status global_py_forward(k2t_py *y, int i, k2t_err *err)
{
    const k2t_layer *L = k2t_py_layer(y, i);
    (void)err;
    k2t_py_printf(y, "        %s = %s.%s(dim=%s%s)\n", k2t_py_var(y, i), k2t_py_in(y, i, 0),
                  L->op == K2T_OP_GLOBAL_MAXPOOL ? "amax" : "mean", L->cfg.rank == 1 ? "2" : "(2, 3)",
                  L->cfg.keepdims ? ", keepdim=True" : "");
    return K2T_OK;
}

/*----------------------------------------------------------- execution */

#include "../op.h"

/* The window with TF's padding, or PyTorch's symmetric padding and an
** average that counts it (padding torch). */
static k2t_status pool_plan(k2t_step *s, const k2t_plan_ctx *c, k2t_err *err)
{
    if (k2t_plan_win(s, &c->in[0], c->o->emu.pad_torch) != 0)
        return k2t_fail(err, K2T_ESHAPE, "input smaller than the pool");
    s->count_pad = c->o->emu.pad_torch;
    s->cf = s->L->cfg.channels_first; /* channels-last kernel between conversions */
    if (s->cf) s->ws = k2t_cf_ws(s, 0);
    return K2T_OK;
}

static void maxpool_one(const k2t_step *s, const float *x, float *y, float *ws, const k2t_epi *e)
{
    (void)ws, (void)e;
    kern_maxpool(&s->win, x, 1, y);
}

static void avgpool_one(const k2t_step *s, const float *x, float *y, float *ws, const k2t_epi *e)
{
    (void)ws, (void)e;
    kern_avgpool(&s->win, s->count_pad, x, 1, y);
}

static void maxpool_forward(const k2t_step *s, const k2t_fwd *f)
{
    if (s->cf) k2t_cf_run(s, f, f->y, 0, maxpool_one);
    else if (f->nchw) kern_maxpool_nchw(&s->win, f->x[0], f->n, f->y);
    else kern_maxpool(&s->win, f->x[0], f->n, f->y);
}

static void avgpool_forward(const k2t_step *s, const k2t_fwd *f)
{
    if (s->cf) k2t_cf_run(s, f, f->y, 0, avgpool_one);
    else if (f->nchw) kern_avgpool_nchw(&s->win, s->count_pad, f->x[0], f->n, f->y);
    else kern_avgpool(&s->win, s->count_pad, f->x[0], f->n, f->y);
}

/* The input's layout decides (the output is a vector): channels first
** when held NCHW or when the layer is channels_first. */
static void global_pool(const k2t_step *s, const k2t_fwd *f, int is_max)
{
    const k2t_step *p = k2t_step_in(s, 0);
    int cf = s->L->cfg.channels_first;
    int ch = (int)p->shape.d[cf ? 0 : p->shape.ndim - 1];
    if ((p->nchw && !f->fallback) || cf)
        kern_global_pool_nchw(ch, p->numel / ch, is_max, f->x[0], f->n, f->y);
    else kern_global_pool(p->numel / ch, ch, is_max, f->x[0], f->n, f->y);
}

static void gmax_forward(const k2t_step *s, const k2t_fwd *f)
{
    global_pool(s, f, 1);
}

static void gavg_forward(const k2t_step *s, const k2t_fwd *f)
{
    global_pool(s, f, 0);
}

static const char *const maxpool_classes[] = {"MaxPooling1D", "MaxPooling2D", "MaxPool1D",
                                              "MaxPool2D", NULL};
static const char *const avgpool_classes[] = {"AveragePooling1D", "AveragePooling2D",
                                              "AvgPool1D", "AvgPool2D", NULL};
static const char *const gmax_classes[] = {"GlobalMaxPooling1D", "GlobalMaxPooling2D",
                                           "GlobalMaxPool1D", "GlobalMaxPool2D", NULL};
static const char *const gavg_classes[] = {"GlobalAveragePooling1D", "GlobalAveragePooling2D",
                                           "GlobalAvgPool1D", "GlobalAvgPool2D", NULL};

/* The PyTorch modules that compute these layers (compare pairs a port's
** modules with Keras layers by them). */
static const char *const avgpool_modules[] = {"AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", NULL};
static const char *const gavg_modules[] = {"AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "Flatten", NULL};
static const char *const gmax_modules[] = {"MaxPool1d", "MaxPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "Flatten", NULL};
static const char *const maxpool_modules[] = {"MaxPool1d", "MaxPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", NULL};

const k2t_op_def k2t_op_maxpool = {
    .op = K2T_OP_MAXPOOL, .torch_modules = maxpool_modules, .classes = maxpool_classes, .min_in = 1,
    .max_in = 1, .parse = pool_parse, .infer = pool_infer, .describe = pool_describe,
    .hazards = maxpool_hazards, .flags = K2T_OPF_WINDOW | K2T_OPF_NCHW, .module = pool_module,
    .py_forward = pool_py_forward, .plan = pool_plan, .forward = maxpool_forward,
};

const k2t_op_def k2t_op_avgpool = {
    .op = K2T_OP_AVGPOOL, .torch_modules = avgpool_modules, .classes = avgpool_classes, .min_in = 1,
    .max_in = 1, .parse = pool_parse, .infer = pool_infer, .describe = pool_describe,
    .hazards = avgpool_hazards, .flags = K2T_OPF_WINDOW | K2T_OPF_NCHW, .module = pool_module,
    .py_forward = pool_py_forward, .plan = pool_plan, .forward = avgpool_forward,
};

const k2t_op_def k2t_op_global_maxpool = {
    .op = K2T_OP_GLOBAL_MAXPOOL, .torch_modules = gmax_modules, .classes = gmax_classes,
    .min_in = 1, .max_in = 1, .parse = global_parse, .infer = global_infer,
    .describe = global_describe, .py_forward = global_py_forward,
    .flags = K2T_OPF_KEEPS_ORDER | K2T_OPF_NCHW, .forward = gmax_forward,
};

const k2t_op_def k2t_op_global_avgpool = {
    .op = K2T_OP_GLOBAL_AVGPOOL, .torch_modules = gavg_modules, .classes = gavg_classes,
    .min_in = 1, .max_in = 1, .parse = global_parse, .infer = global_infer,
    .describe = global_describe, .py_forward = global_py_forward,
    .flags = K2T_OPF_KEEPS_ORDER | K2T_OPF_NCHW | K2T_OPF_MASK_REFUSE, .forward = gavg_forward,
};
