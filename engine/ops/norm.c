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
#include <math.h>
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

/*----------------------------------------------------------- port hazards */

/* The BatchNorm class for a per-sample rank: (C,) and (L, C) are
** BatchNorm1d, (H, W, C) BatchNorm2d, (D, H, W, C) BatchNorm3d. */
static int bn_dims(int ndim)
{
    return ndim == 3 ? 2 : ndim == 4 ? 3 : 1;
}

static void bn_hazards(k2t_hz *h)
{
    const k2t_cfg *cf = &h->L->cfg;
    const k2t_shape *in = h->in;
    char s1[96];
    int nd = in ? in->ndim : 3, n_bn;
    int64_t C = in && in->ndim >= 1 ? in->d[in->ndim - 1] : -1;
    double tm = 1.0 - cf->momentum;
    double port_eps = h->port->bn_eps > 0 ? h->port->bn_eps : 1e-5;
    /* Keras 2 runs a 4-D BatchNormalization through fused_batch_norm, which
    ** raises epsilon to 1.001e-5 (as the executor and export do). */
    double eps = cf->eps;
    int raised = h->m->keras_major < 3 && nd == 3 && eps < 1.001e-5;
    char eps_s[96];
    if (raised) eps = 1.001e-5;
    if (raised) snprintf(eps_s, sizeof eps_s, "%g (Keras 2's fused batch norm raises %g to it)", eps, cf->eps);
    else snprintf(eps_s, sizeof eps_s, "%g", eps);
    if (in && nd >= 2 && k2t_axis0(cf->axis, nd) != nd - 1)
        k2t_hz_say(h, K2T_PIT_LAYOUT, 1, "normalises axis %d of %s, not the channels; nn.BatchNorm%dd "
                   "normalises dim 1 of the NCHW tensor", cf->axis, k2t_shape_str(in, 1, s1, sizeof s1), bn_dims(nd));
    if (fabs(eps - port_eps) > 1e-12 || fabs(tm - 0.1) > 1e-9) {
        k2t_hz_say(h, K2T_PIT_BN_EPS, 1, "Keras uses epsilon %s, momentum %g; the port uses eps %g%s, "
                   "momentum 0.1, counted as 1 - Keras's", eps_s, cf->momentum, port_eps,
                   port_eps == 1e-5 ? " (PyTorch's default)" : "");
        k2t_hz_code(h, "nn.BatchNorm%dd(%lld, eps=%g, momentum=%g)", bn_dims(nd), (long long)C, eps, tm);
    } else {
        k2t_hz_say(h, K2T_PIT_BN_EPS, 0, "epsilon %s and momentum %g match the port's", eps_s, cf->momentum);
    }
    if (k2t_hz_first_bn(h, &n_bn)) { /* once: the first one diverges first */
        char others[64] = "";
        if (n_bn > 1) snprintf(others, sizeof others, " (and in %d more layer%s)", n_bn - 1, n_bn > 2 ? "s" : "");
        k2t_hz_say(h, K2T_PIT_BN_MODE, 1, "without model.eval(), nn.BatchNorm%dd uses the batch's statistics%s",
                   bn_dims(nd), others);
        k2t_hz_code(h, "model.eval()  # before inference");
    }
}

static void ln_hazards(k2t_hz *h)
{
    const k2t_cfg *cf = &h->L->cfg;
    const k2t_shape *in = h->in;
    char s1[96], p1[64], p2[64];
    int nd = in ? in->ndim : 1;
    if (fabs(cf->eps - 1e-5) > 1e-12) {
        k2t_hz_say(h, K2T_PIT_BN_EPS, 1, "Keras uses epsilon %g; nn.LayerNorm's default is 1e-05", cf->eps);
        k2t_hz_code(h, "nn.LayerNorm(%lld, eps=%g)", in && nd ? (long long)in->d[nd - 1] : -1LL, cf->eps);
    }
    if (nd < 2) return;
    int chan_only = cf->n_dims == 1 && k2t_axis0(cf->dims[0], nd) == nd - 1;
    if (chan_only)
        k2t_hz_say(h, K2T_PIT_LAYOUT, 1, "normalises the channels (axis -1 of NHWC); nn.LayerNorm normalises "
                   "the last axis, which is W in NCHW");
    else
        k2t_hz_say(h, K2T_PIT_LAYOUT, 1, "normalises Keras axes of %s; nn.LayerNorm normalises trailing axes "
                   "of the NCHW tensor: move them to the end first", k2t_shape_str(in, 1, s1, sizeof s1));
    k2t_hz_code(h, "x = ln(x.%s).%s", k2t_perm_str(p1, sizeof p1, nd, 1), k2t_perm_str(p2, sizeof p2, nd, 0));
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
    .describe = bn_describe, .torch = norm_torch, .hazards = bn_hazards, .mode_stats = 1,
};

const k2t_op_def k2t_op_layernorm = {
    .op = K2T_OP_LAYERNORM, .classes = ln_classes, .min_in = 1, .max_in = 1,
    .parse = ln_parse, .infer = norm_infer, .weights = ln_weights,
    .describe = ln_describe, .torch = norm_torch, .hazards = ln_hazards,
};
