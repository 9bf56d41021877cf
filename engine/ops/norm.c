/*
** norm.c -- BatchNormalization and LayerNormalization.
**
** Both name axes as Keras does, counting the batch dimension as 0: the
** tf.keras default for images is "axis": [3] (channels of NHWC), Keras 3
** writes -1.  BatchNormalization keeps four (C,) vectors, gamma, beta,
** moving_mean, moving_variance; scale=false drops gamma and center=false
** drops beta, so the list shifts and weights are matched by name.  The
** moving statistics are not trainable, which is why Keras lists them
** last.  Batch renormalization adds three more statistics; such layers
** load but are not executed.  LayerNormalization keeps gamma and beta
** shaped like the normalized axes, in the order the axes are listed.
*/
#include <stdio.h>
#include <string.h>
#include "../internal.h"

/* "axis": -1, [3] or [1, 2]; absent means -1 for both layers. */
static k2t_status parse_axes(k2t_cfg *g, json_t *c, k2t_err *err)
{
    k2t_status st = cfg_int_list(c, "axis", g->dims, K2T_MAX_DIMS, &g->n_dims, err);
    if (st) return st;
    if (g->n_dims == 0) {
        g->dims[0] = -1;
        g->n_dims = 1;
    }
    g->axis = g->dims[0];
    return K2T_OK;
}

static k2t_status bn_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    int renorm = 0;
    k2t_status st;
    (void)m;
    if ((st = parse_axes(g, c, err)) || (st = cfg_double(c, "epsilon", 1e-3, &g->eps, err)) ||
        (st = cfg_double(c, "momentum", 0.99, &g->momentum, err)) ||
        (st = cfg_bool(c, "center", 1, &g->center, err)) ||
        (st = cfg_bool(c, "scale", 1, &g->scale, err)) ||
        (st = cfg_bool(c, "renorm", 0, &renorm, err)))
        return st;
    if (renorm) k2t_set_unsupported(L, "batch renormalization (renorm) is not supported");
    if (g->n_dims > 1) k2t_set_unsupported(L, "BatchNormalization over several axes is not supported");
    {
        json_t *v = json_object_get(c, "virtual_batch_size");
        if (v && !json_is_null(v)) k2t_set_unsupported(L, "virtual_batch_size is not supported");
    }
    /* gamma and beta play the kernel's and bias's parts for the check
    ** that compares weights with their initializers. */
    cfg_initializer(c, "gamma_initializer", g->initializer, sizeof g->initializer);
    cfg_initializer(c, "beta_initializer", g->bias_initializer, sizeof g->bias_initializer);
    return K2T_OK;
}

static k2t_status ln_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    int rms = 0;
    k2t_status st;
    (void)m;
    if ((st = parse_axes(g, c, err)) || (st = cfg_double(c, "epsilon", 1e-3, &g->eps, err)) ||
        (st = cfg_bool(c, "center", 1, &g->center, err)) ||
        (st = cfg_bool(c, "scale", 1, &g->scale, err)) ||
        (st = cfg_bool(c, "rms_scaling", 0, &rms, err)))
        return st;
    if (rms) {
        /* Keras 3 then keeps gamma only (layer_normalization.py build). */
        g->scale = 1;
        g->center = 0;
        k2t_set_unsupported(L, "rms_scaling is not supported");
    }
    cfg_initializer(c, "gamma_initializer", g->initializer, sizeof g->initializer);
    cfg_initializer(c, "beta_initializer", g->bias_initializer, sizeof g->bias_initializer);
    return K2T_OK;
}

/* Every listed axis must name a per-sample dim, once. */
static k2t_status check_axes(const k2t_cfg *g, const k2t_shape *in, int n_in, k2t_err *err)
{
    char buf[160];
    int seen[K2T_MAX_DIMS] = {0};
    if (n_in != 1) return k2t_fail(err, K2T_ESHAPE, "expects 1 input, got %d", n_in);
    for (int i = 0; i < g->n_dims; i++) {
        int a = k2t_norm_axis(g->dims[i], in->ndim);
        if (a < 0)
            return k2t_fail(err, K2T_ESHAPE, "axis %d is out of range for input %s (axis 0 is "
                            "the batch)", g->dims[i], k2t_shape_str(in, 1, buf, sizeof buf));
        if (seen[a]++)
            return k2t_fail(err, K2T_EFORMAT, "config key 'axis' lists axis %d twice", a + 1);
    }
    return K2T_OK;
}

static k2t_status norm_infer(const k2t_layer *L, const k2t_shape *in, int n_in, k2t_shape *out,
                             k2t_err *err)
{
    k2t_status st = check_axes(&L->cfg, in, n_in, err);
    if (st) return st;
    *out = *in;
    return K2T_OK;
}

/* Whether the layer was built with renorm, which adds three statistics.
** k2t_cfg has no field for it and only bn_weights cares, so it asks the
** layer's JSON (compact, written by the loader; cheap next to a load). */
static int bn_renorm(const k2t_layer *L)
{
    int renorm = 0;
    json_t *c = L->config_json ? json_loads(L->config_json, 0, NULL) : NULL;
    if (c && cfg_bool(c, "renorm", 0, &renorm, NULL) != K2T_OK) renorm = 0;
    json_decref(c);
    return renorm;
}

static int bn_weights(const k2t_layer *L, const k2t_shape *in, k2t_wspec *spec)
{
    static const char *const names[] = {"gamma", "beta", "moving_mean", "moving_variance",
                                        "moving_stddev", "renorm_mean", "renorm_stddev"};
    const k2t_cfg *g = &L->cfg;
    k2t_shape s = {.ndim = 1, .d = {-1}};
    int n = 0, renorm = bn_renorm(L);
    if (g->n_dims <= 1) {
        int a = in ? k2t_norm_axis(g->axis, in->ndim) : -1;
        if (a >= 0) s.d[0] = in->d[a];
    } else if (in) {
        /* tf.keras: several axes give a full-rank broadcast shape,
        ** 1 on the batch and every axis not listed. */
        s.ndim = in->ndim + 1;
        for (int i = 0; i < s.ndim; i++) s.d[i] = 1;
        for (int i = 0; i < g->n_dims; i++) {
            int a = k2t_norm_axis(g->dims[i], in->ndim);
            if (a >= 0) s.d[a + 1] = in->d[a];
        }
    }
    for (int i = 0; i < 7; i++) {
        if ((i == 0 && !g->scale) || (i == 1 && !g->center) || (i >= 4 && !renorm))
            continue;
        spec[n++] = (k2t_wspec){.name = names[i], .shape = s, .trainable = i < 2};
    }
    return n;
}

static int ln_weights(const k2t_layer *L, const k2t_shape *in, k2t_wspec *spec)
{
    const k2t_cfg *g = &L->cfg;
    k2t_shape s = {.ndim = g->n_dims};
    int n = 0;
    for (int i = 0; i < g->n_dims; i++) {
        int a = in ? k2t_norm_axis(g->dims[i], in->ndim) : -1;
        s.d[i] = a >= 0 ? in->d[a] : -1;
    }
    if (g->scale) spec[n++] = (k2t_wspec){.name = "gamma", .shape = s, .trainable = 1};
    if (g->center) spec[n++] = (k2t_wspec){.name = "beta", .shape = s, .trainable = 1};
    return n;
}

static void put_axes(const k2t_cfg *g, k2t_buf *b)
{
    if (g->n_dims == 1) {
        k2t_buf_printf(b, "axis=%d", g->axis);
        return;
    }
    k2t_buf_printf(b, "axis=[");
    for (int i = 0; i < g->n_dims; i++) k2t_buf_printf(b, "%s%d", i ? ", " : "", g->dims[i]);
    k2t_buf_printf(b, "]");
}

static void bn_describe(const k2t_layer *L, k2t_buf *b)
{
    const k2t_cfg *g = &L->cfg;
    put_axes(g, b);
    k2t_buf_printf(b, ", epsilon=%g, momentum=%g, center=%d, scale=%d", g->eps, g->momentum,
                   g->center, g->scale);
}

static void ln_describe(const k2t_layer *L, k2t_buf *b)
{
    const k2t_cfg *g = &L->cfg;
    put_axes(g, b);
    k2t_buf_printf(b, ", epsilon=%g, center=%d, scale=%d", g->eps, g->center, g->scale);
}

/* By name: BatchNorm2d weight/bias/running_mean/running_var, LayerNorm
** weight/bias; shapes unchanged.  Renorm statistics have no torch slot. */
static int norm_torch(const k2t_layer *L, int wi, k2t_tw *tw)
{
    static const char *const map[][2] = {{"gamma", "weight"},
                                         {"beta", "bias"},
                                         {"moving_mean", "running_mean"},
                                         {"moving_variance", "running_var"}};
    for (int i = 0; i < 4; i++) {
        if (strcmp(L->w[wi].name, map[i][0]) != 0) continue;
        tw->suffix = map[i][1];
        tw->shape = L->w[wi].shape;
        return 0;
    }
    return -1;
}

/*----------------------------------------------------------- execution */

#include <math.h>
#include <stdlib.h>
#include "../op.h"

/* BatchNormalization as y = x*scale + shift, computed in double.  The
** epsilon: the port's per-layer value (k2t_opts.bn_eps_layer), else the
** bn.eps emulation, else the layer's own, which Keras 2 raises to at least
** 1.001e-5 for 4-D inputs (fused_batch_norm). */
static void bn_prepare(k2t_step *s, const k2t_plan_ctx *c, int64_t C, int four_d)
{
    const k2t_layer *L = s->L;
    const k2t_weight *gamma = k2t_wget(L, "gamma"), *beta = k2t_wget(L, "beta");
    const k2t_weight *mean = k2t_wget(L, "moving_mean"), *var = k2t_wget(L, "moving_variance");
    double eps = L->cfg.eps;
    int li = (int)(L - c->m->layers);
    if (c->o->bn_eps_layer && c->o->bn_eps_layer[li] > 0) eps = c->o->bn_eps_layer[li];
    else if (c->o->emu.bn_eps > 0) eps = c->o->emu.bn_eps;
    else if (c->m->keras_major < 3 && four_d && eps < 1.001e-5) eps = 1.001e-5;
    s->eps = eps;
    s->scale = k2t_xmalloc((size_t)C * sizeof(float));
    s->shift = k2t_xmalloc((size_t)C * sizeof(float));
    for (int64_t i = 0; i < C; i++) {
        double g = gamma ? gamma->data[i] : 1.0, b = beta ? beta->data[i] : 0.0;
        double sc = g / sqrt((double)var->data[i] + eps);
        s->scale[i] = (float)sc;
        s->shift[i] = (float)(b - (double)mean->data[i] * sc);
    }
}

/* (outer, len, inner) around the axis; bn.mode train recomputes scale and
** shift from each batch.  NCHW runs natively when the axis is the last
** (channels), else between conversions. */
static k2t_status bn_plan(k2t_step *s, const k2t_plan_ctx *c, k2t_err *err)
{
    const k2t_shape *in = &c->in[0];
    int ax = k2t_sample_axis(s->L->cfg.axis, in->ndim);
    if (ax < 0 || ax >= in->ndim) return k2t_fail(err, K2T_ESHAPE, "axis out of range");
    k2t_axis_split(in, ax, &s->outer, &s->len, &s->inner);
    bn_prepare(s, c, s->len, in->ndim == 3);
    s->bn_batch = c->o->emu.bn_train;
    if (c->o->emu.layout == K2T_LAYOUT_NCHW) s->fallback = c->any_nchw && s->inner != 1;
    return K2T_OK;
}

static void bn_forward(const k2t_step *s, const k2t_fwd *f)
{
    const float *x = f->x[0];
    int n = f->n;
    int64_t total = (int64_t)n * s->numel;
    if (s->bn_batch) {
        /* Train mode: this batch's mean and (biased) variance. */
        k2t_step *w = (k2t_step *)s;
        double *mu = k2t_xmalloc((size_t)s->len * 2 * sizeof(double)), *var = mu + s->len;
        const k2t_weight *ga = k2t_wget(s->L, "gamma"), *be = k2t_wget(s->L, "beta");
        if (s->inner == 1) kern_channel_stats(x, n, (int)s->len, s->numel / s->len, f->nchw, mu, var);
        else kern_channel_stats(x, (int)(n * s->outer), (int)s->len, s->inner, 1, mu, var);
        for (int64_t k = 0; k < s->len; k++) {
            double sc = (ga ? ga->data[k] : 1.0) / sqrt(var[k] + s->eps);
            w->scale[k] = (float)sc;
            w->shift[k] = (float)((be ? be->data[k] : 0.0) - mu[k] * sc);
        }
        free(mu);
    }
    if (f->nchw) kern_scale_shift_nchw(x, n, (int)s->len, s->numel / s->len, s->scale, s->shift, f->y);
    else if (s->inner == 1) kern_scale_shift(x, total / s->len, (int)s->len, s->scale, s->shift, f->y);
    else kern_scale_shift_nchw(x, (int)(n * s->outer), (int)s->len, s->inner, s->scale, s->shift, f->y);
}

/* The normalized axes must be the trailing ones (the usual -1). */
static k2t_status ln_plan(k2t_step *s, const k2t_plan_ctx *c, k2t_err *err)
{
    const k2t_cfg *g = &s->L->cfg;
    int nd = c->in[0].ndim, lo = nd;
    int seen[K2T_MAX_DIMS] = {0};
    for (int i = 0; i < g->n_dims; i++) {
        int ax = k2t_sample_axis(g->dims[i], nd);
        if (ax < 0 || ax >= nd) return k2t_fail(err, K2T_ESHAPE, "axis out of range");
        seen[ax] = 1;
        if (ax < lo) lo = ax;
    }
    for (int i = lo; i < nd; i++)
        if (!seen[i])
            return k2t_fail(err, K2T_EUNSUPPORTED,
                            "LayerNormalization over non-trailing axes is not supported");
    s->len = 1;
    for (int i = lo; i < nd; i++) s->len *= c->in[0].d[i];
    s->outer = s->numel / (s->len ? s->len : 1);
    return K2T_OK;
}

static void ln_forward(const k2t_step *s, const k2t_fwd *f)
{
    const k2t_weight *ga = k2t_wget(s->L, "gamma"), *be = k2t_wget(s->L, "beta");
    kern_layernorm(f->x[0], (int64_t)f->n * s->outer, s->len, ga ? ga->data : NULL,
                   be ? be->data : NULL, (float)s->L->cfg.eps, f->y);
}

/* BatchNormalizationV1 is TF 1.x's class name for the same layer (tfjs's
** converter aliases it too); SyncBatchNormalization only differs in
** training. */
static const char *const bn_classes[] = {"BatchNormalization", "BatchNormalizationV1",
                                         "BatchNormalizationV2", "SyncBatchNormalization", NULL};
static const char *const ln_classes[] = {"LayerNormalization", NULL};

const k2t_op_def k2t_op_batchnorm = {
    .op = K2T_OP_BATCHNORM, .classes = bn_classes, .min_in = 1, .max_in = 1,
    .parse = bn_parse, .infer = norm_infer, .weights = bn_weights,
    .describe = bn_describe, .torch = norm_torch,
    .flags = K2T_OPF_INPLACE | K2T_OPF_NCHW | K2T_OPF_AFFINE, .plan = bn_plan,
    .forward = bn_forward,
};

const k2t_op_def k2t_op_layernorm = {
    .op = K2T_OP_LAYERNORM, .classes = ln_classes, .min_in = 1, .max_in = 1,
    .parse = ln_parse, .infer = norm_infer, .weights = ln_weights,
    .describe = ln_describe, .torch = norm_torch,
    .plan = ln_plan, .forward = ln_forward,
};
