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
#include "../py.h"

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
    /* The port's channels: Keras's last axis, or its first in a
    ** channels_first model (held as it is). */
    int chw = k2t_model_chw(h->m) && nd >= 2, cax = chw ? 0 : nd - 1;
    int64_t C = in && in->ndim >= 1 ? in->d[cax] : -1;
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
    if (in && nd >= 2 && k2t_axis0(cf->axis, nd) != cax)
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
    if (nd < 2 || k2t_model_chw(h->m)) return; /* channels_first: the same tensor */
    int chan_only = cf->n_dims == 1 && k2t_axis0(cf->dims[0], nd) == nd - 1;
    if (chan_only)
        k2t_hz_say(h, K2T_PIT_LAYOUT, 1, "normalises the channels (axis -1 of NHWC); nn.LayerNorm normalises "
                   "the last axis, which is W in NCHW");
    else
        k2t_hz_say(h, K2T_PIT_LAYOUT, 1, "normalises Keras axes of %s; nn.LayerNorm normalises trailing axes "
                   "of the NCHW tensor: move them to the end first", k2t_shape_str(in, 1, s1, sizeof s1));
    k2t_hz_code(h, "x = ln(x.%s).%s", k2t_perm_str(p1, sizeof p1, nd, 1), k2t_perm_str(p2, sizeof p2, nd, 0));
}

/*--- PyTorch export ---*/

/* The BatchNorm class for an input of 'ndim' per-sample dims, or NULL. */
static const char *bn_class(int ndim)
{
    switch (ndim + 1) {
    case 2: case 3: return "nn.BatchNorm1d";
    case 4: return "nn.BatchNorm2d";
    case 5: return "nn.BatchNorm3d";
    default: return NULL;
    }
}

/* "nn.BatchNorm2d(16, eps=0.001, momentum=0.01)" with epsilon eps;
** arguments at PyTorch's defaults (1e-05, 0.1) are left out. */
static int bn_module_eps(const k2t_layer *L, const k2t_shape *in, double eps, char *buf, size_t n)
{
    const k2t_weight *mean = k2t_layer_weight(L, "moving_mean");
    const char *cls = bn_class(in->ndim);
    char e[64], mo[64];
    if (!cls || !mean || mean->shape.ndim < 1) return -1;
    snprintf(mo, sizeof mo, "%.12g", 1 - L->cfg.momentum);
    int len = snprintf(buf, n, "%s(%lld%s%s%s%s)", cls, (long long)mean->shape.d[0],
                       eps != 1e-5 ? ", eps=" : "", eps != 1e-5 ? k2t_pyfloat(eps, e, sizeof e) : "",
                       strcmp(mo, "0.1") ? ", momentum=" : "", strcmp(mo, "0.1") ? mo : "");
    return len >= 0 && (size_t)len < n ? len : -1;
}

/* Keras's epsilon.  (Keras 2 raises it to 1.001e-5 on 4-D inputs, see
** bn_eps; export's py_init writes that, this callback knows no model.) */
static int bn_module(const k2t_layer *L, const k2t_shape *in, int ph, int pw, char *buf, size_t n)
{
    (void)ph, (void)pw;
    return bn_module_eps(L, in, L->cfg.eps, buf, n);
}

/* Keras 2 runs 4-D inputs through fused_batch_norm, which raises epsilon
** to at least 1.001e-5. */
static double bn_eps(const k2t_model *m, const k2t_layer *L, int in_ndim)
{
    double eps = L->cfg.eps;
    if (m->keras_major < 3 && in_ndim == 3 && eps < 1.001e-5) eps = 1.001e-5;
    return eps;
}

static k2t_status bn_py_init(k2t_py *y, int li, k2t_err *err)
{
    const k2t_model *m = k2t_py_model(y);
    const k2t_layer *L = k2t_py_layer_at(y, li);
    const k2t_cfg *c = &L->cfg;
    const k2t_shape *in = k2t_py_layer_in(y, li);
    char mod[300], e[64];
    if (!in || !bn_class(in->ndim))
        return k2t_py_fail(L, err, "PyTorch has no BatchNorm for inputs of this rank");
    double eps = bn_eps(m, L, in->ndim);
    if (bn_module_eps(L, in, eps, mod, sizeof mod) < 0)
        return k2t_py_fail(L, err, "it has no moving statistics");
    k2t_py_printf(y, "        self.%s = %s  # %s", k2t_py_attr(y, li), mod, L->class_name);
    if (eps != c->eps)
        k2t_py_printf(y, ": Keras 2's fused batch norm raises epsilon %s to 1.001e-5",
                      k2t_pyfloat(c->eps, e, sizeof e));
    if (!c->scale || !c->center)
        k2t_py_printf(y, "; %s%s%s filled in", c->scale ? "" : "gamma (ones)",
                      !c->scale && !c->center ? " and " : "", c->center ? "" : "beta (zeros)");
    k2t_py_printf(y, "\n");
    return K2T_OK;
}

/* Eval mode: the moving statistics, on the channels dim (or moved there). */
static k2t_status bn_py_forward(k2t_py *y, int i, k2t_err *err)
{
    const k2t_model *m = k2t_py_model(y);
    const k2t_layer *L = k2t_py_layer(y, i);
    const k2t_shape *in = k2t_py_in_shape(y, i, 0), *first = k2t_py_layer_in(y, m->nodes[i].layer);
    const char *v = k2t_py_var(y, i), *a = k2t_py_in(y, i, 0), *attr = k2t_py_attr(y, m->nodes[i].layer);
    int ind = in ? in->ndim : 0, t = k2t_py_dim(L->cfg.axis, ind);
    const char *cls = bn_class(ind), *cls1 = first ? bn_class(first->ndim) : cls;
    if (t < 0) return k2t_py_fail(L, err, "axis out of range");
    if (!cls || !cls1 || strcmp(cls, cls1))
        return k2t_py_fail(L, err, "it is called on inputs of ranks PyTorch's BatchNorm cannot share");
    if (t == 1)
        k2t_py_printf(y, "        %s = self.%s(%s)  # eval mode: the moving statistics\n", v, attr, a);
    else
        k2t_py_printf(y, "        %s = self.%s(%s.movedim(%d, 1)).movedim(1, %d)  # eval mode\n", v,
                      attr, a, t, t);
    return K2T_OK;
}

/* gamma (ones) and beta (zeros) when scale or center is off, and the
** int64 num_batches_tracked every nn.BatchNorm has. */
static k2t_status bn_extra(const k2t_layer *L, k2t_xt *x, int *n, k2t_err *err)
{
    const k2t_weight *mean = k2t_layer_weight(L, "moving_mean");
    *n = 0;
    if (!mean || !k2t_layer_weight(L, "moving_variance"))
        return k2t_fail(err, K2T_EFORMAT, "layer '%s' (%s) has no moving statistics", L->name,
                        L->class_name);
    if (!k2t_layer_weight(L, "gamma")) x[(*n)++] = (k2t_xt){.suffix = "weight", .shape = mean->shape, .fill = 1};
    if (!k2t_layer_weight(L, "beta")) x[(*n)++] = (k2t_xt){.suffix = "bias", .shape = mean->shape, .fill = 0};
    x[(*n)++] = (k2t_xt){.suffix = "num_batches_tracked", .i64 = 1}; /* shape [] */
    return K2T_OK;
}

/* nn.LayerNorm((dims...), eps=...) over gamma's (or beta's) shape. */
static int ln_module(const k2t_layer *L, const k2t_shape *in, int ph, int pw, char *buf, size_t n)
{
    const k2t_weight *w = k2t_layer_weight(L, "gamma");
    char e[64];
    size_t len;
    (void)in, (void)ph, (void)pw;
    if (!w) w = k2t_layer_weight(L, "beta");
    if (!w) return -1;
    len = (size_t)snprintf(buf, n, "nn.LayerNorm((");
    for (int i = 0; i < w->shape.ndim && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%lld", i ? ", " : "", (long long)w->shape.d[i]);
    if (len < n)
        len += (size_t)snprintf(buf + len, n - len, "%s)%s%s)", w->shape.ndim == 1 ? "," : "",
                                L->cfg.eps != 1e-5 ? ", eps=" : "",
                                L->cfg.eps != 1e-5 ? k2t_pyfloat(L->cfg.eps, e, sizeof e) : "");
    return len < n ? (int)len : -1;
}

/* nn.LayerNorm's weight has the normalized dims in the tensor's order;
** Keras's gamma has them in the order 'axis' lists them. */
static const char *ln_unexportable(const k2t_layer *L, const k2t_shape *in)
{
    int prev = -1;
    if (!in) return NULL;
    for (int k = 0; k < L->cfg.n_dims; k++) {
        int ax = k2t_norm_axis(L->cfg.dims[k], in->ndim);
        if (ax <= prev) return "its axes must be listed in increasing order";
        prev = ax;
    }
    return NULL;
}

/* Over the trailing axes in Keras's layout; F.layer_norm without weights. */
static k2t_status ln_py_forward(k2t_py *y, int i, k2t_err *err)
{
    const k2t_model *m = k2t_py_model(y);
    const k2t_layer *L = k2t_py_layer(y, i);
    const k2t_cfg *c = &L->cfg;
    const k2t_shape *in = k2t_py_in_shape(y, i, 0);
    const char *v = k2t_py_var(y, i), *a = k2t_py_in(y, i, 0), *attr = k2t_py_attr(y, m->nodes[i].layer);
    int ind = in ? in->ndim : 0, lo = ind;
    char b1[1200], b2[2600], f1[64];
    for (int k = 0; k < c->n_dims; k++) {
        int ax = k2t_norm_axis(c->dims[k], ind);
        if (ax < 0) return k2t_py_fail(L, err, "axis out of range");
        if (ax < lo) lo = ax;
    }
    if (c->n_dims != ind - lo)
        return k2t_py_fail(L, err, "LayerNormalization over non-trailing axes is not supported");
    const char *xin = k2t_py_to_last(a, ind, b1, sizeof b1);
    if (attr) {
        snprintf(b2, sizeof b2, "self.%s(%s)", attr, xin);
    } else {
        size_t len = (size_t)snprintf(b2, sizeof b2, "F.layer_norm(%s, (", xin);
        for (int k = lo; k < ind && len < sizeof b2; k++)
            len += (size_t)snprintf(b2 + len, sizeof b2 - len, "%s%lld", k > lo ? ", " : "",
                                    (long long)in->d[k]);
        if (len < sizeof b2)
            snprintf(b2 + len, sizeof b2 - len, "%s), eps=%s)", ind - lo == 1 ? "," : "",
                     k2t_pyfloat(c->eps, f1, sizeof f1));
    }
    if (ind >= 2) k2t_py_printf(y, "        %s = %s.movedim(-1, 1)\n", v, b2);
    else k2t_py_printf(y, "        %s = %s\n", v, b2);
    return K2T_OK;
}

/* nn.LayerNorm has both weight and bias or neither: fill the missing one. */
static k2t_status ln_extra(const k2t_layer *L, k2t_xt *x, int *n, k2t_err *err)
{
    const k2t_weight *g = k2t_layer_weight(L, "gamma"), *b = k2t_layer_weight(L, "beta");
    (void)err;
    *n = 0;
    if (!g && b) x[(*n)++] = (k2t_xt){.suffix = "weight", .shape = b->shape, .fill = 1};
    if (g && !b) x[(*n)++] = (k2t_xt){.suffix = "bias", .shape = g->shape, .fill = 0};
    return K2T_OK;
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
    const k2t_weight *gamma = k2t_layer_weight(L, "gamma"), *beta = k2t_layer_weight(L, "beta");
    const k2t_weight *mean = k2t_layer_weight(L, "moving_mean"), *var = k2t_layer_weight(L, "moving_variance");
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
        const k2t_weight *ga = k2t_layer_weight(s->L, "gamma"), *be = k2t_layer_weight(s->L, "beta");
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
    const k2t_weight *ga = k2t_layer_weight(s->L, "gamma"), *be = k2t_layer_weight(s->L, "beta");
    kern_layernorm(f->x[0], (int64_t)f->n * s->outer, s->len, ga ? ga->data : NULL,
                   be ? be->data : NULL, (float)s->L->cfg.eps, f->y);
}

/* BatchNormalizationV1 is TF 1.x's class name for the same layer (tfjs's
** converter aliases it too); SyncBatchNormalization only differs in
** training. */
static const char *const bn_classes[] = {"BatchNormalization", "BatchNormalizationV1",
                                         "BatchNormalizationV2", "SyncBatchNormalization", NULL};
static const char *const ln_classes[] = {"LayerNormalization", NULL};

/* The PyTorch modules that compute these layers (compare pairs a port's
** modules with Keras layers by them). */
static const char *const bn_modules[] = {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LazyBatchNorm1d", "LazyBatchNorm2d", NULL};
static const char *const ln_modules[] = {"LayerNorm", NULL};

const k2t_op_def k2t_op_batchnorm = {
    .op = K2T_OP_BATCHNORM, .torch_modules = bn_modules, .classes = bn_classes, .min_in = 1,
    .max_in = 1, .parse = bn_parse, .infer = norm_infer, .weights = bn_weights,
    .describe = bn_describe, .torch = norm_torch, .hazards = bn_hazards, .mode_stats = 1,
    .flags = K2T_OPF_MODULE | K2T_OPF_INPLACE | K2T_OPF_NCHW | K2T_OPF_AFFINE | K2T_OPF_MASK_PASS,
    .module = bn_module,
    .py_init = bn_py_init, .py_forward = bn_py_forward, .extra_tensors = bn_extra, .plan = bn_plan,
    .forward = bn_forward,
};

const k2t_op_def k2t_op_layernorm = {
    .op = K2T_OP_LAYERNORM, .torch_modules = ln_modules, .classes = ln_classes, .min_in = 1,
    .max_in = 1, .parse = ln_parse, .infer = norm_infer, .weights = ln_weights,
    .describe = ln_describe, .torch = norm_torch, .hazards = ln_hazards, .flags = K2T_OPF_MODULE | K2T_OPF_MASK_PASS,
    .module = ln_module, .py_forward = ln_py_forward, .extra_tensors = ln_extra,
    .unexportable = ln_unexportable, .plan = ln_plan, .forward = ln_forward,
};

