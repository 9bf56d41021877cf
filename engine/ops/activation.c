/*
** activation.c -- the activation layers: Activation(name), ReLU,
** LeakyReLU, PReLU, ELU and Softmax.
**
** Only PReLU has a weight: alpha, shaped like the input with every
** shared axis (1-based, batch excluded) set to 1, so the usual
** shared_axes=[1, 2] on NHWC gives (1, 1, C).  The rest are parameter
** readers with Keras's own validation: a negative ReLU max_value is
** refused as Keras refuses it.  LeakyReLU's slope is "alpha" in Keras 2
** and "negative_slope" in Keras 3, both defaulting to 0.3 (the string
** activation "leaky_relu" uses 0.2: that one is k2t_act).  An activation
** name k2t does not know makes the layer unsupported, not the load fail.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "../internal.h"
#include "../py.h"

static k2t_status activation_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    return cfg_activation(c, "activation", m ? m->keras_major : 2, &L->cfg.act,
                          &L->unsupported, err);
}

static k2t_status nonneg(const char *key, double v, k2t_err *err)
{
    if (v >= 0) return K2T_OK; /* also refuses NaN */
    return k2t_fail(err, K2T_EFORMAT, "config key '%s' must be >= 0, got %g", key, v);
}

static k2t_status relu_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    json_t *mv = json_object_get(c, "max_value");
    k2t_status st;
    (void)m;
    g->has_max_value = mv && !json_is_null(mv);
    if ((st = cfg_double(c, "max_value", 0, &g->max_value, err)) ||
        (st = cfg_double(c, "negative_slope", 0, &g->negative_slope, err)) ||
        (st = cfg_double(c, "threshold", 0, &g->threshold, err)) ||
        (g->has_max_value && (st = nonneg("max_value", g->max_value, err))) ||
        (st = nonneg("negative_slope", g->negative_slope, err)) ||
        (st = nonneg("threshold", g->threshold, err)))
        return st;
    return K2T_OK;
}

static k2t_status leaky_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    json_t *ns = json_object_get(c, "negative_slope");
    const char *key = ns && !json_is_null(ns) ? "negative_slope" : "alpha";
    (void)m;
    return cfg_double(c, key, 0.3, &L->cfg.alpha, err);
}

static k2t_status elu_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    (void)m;
    return cfg_double(c, "alpha", 1.0, &L->cfg.alpha, err);
}

static k2t_status prelu_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    (void)m;
    cfg_initializer(c, "alpha_initializer", g->initializer, sizeof g->initializer);
    return cfg_int_list(c, "shared_axes", g->dims, K2T_MAX_DIMS, &g->n_dims, err);
}

static k2t_status softmax_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    k2t_status st = cfg_int_list(c, "axis", g->dims, K2T_MAX_DIMS, &g->n_dims, err);
    (void)m;
    if (st) return st;
    if (g->n_dims == 0) {
        g->dims[0] = -1;
        g->n_dims = 1;
    }
    g->axis = g->dims[0];
    if (g->n_dims > 1) k2t_set_unsupported(L, "Softmax over several axes is not supported");
    return K2T_OK;
}

/*------------------------------------------------------------- shapes */

static k2t_status same_infer(const k2t_layer *L, const k2t_shape *in, int n_in, k2t_shape *out,
                             k2t_err *err)
{
    (void)L;
    if (n_in != 1) return k2t_fail(err, K2T_ESHAPE, "expects 1 input, got %d", n_in);
    *out = *in;
    return K2T_OK;
}

static k2t_status softmax_infer(const k2t_layer *L, const k2t_shape *in, int n_in,
                                k2t_shape *out, k2t_err *err)
{
    char buf[160];
    k2t_status st = same_infer(L, in, n_in, out, err);
    if (st) return st;
    for (int i = 0; i < L->cfg.n_dims; i++)
        if (k2t_norm_axis(L->cfg.dims[i], in->ndim) < 0)
            return k2t_fail(err, K2T_ESHAPE, "axis %d is out of range for input %s (axis 0 is "
                            "the batch)", L->cfg.dims[i], k2t_shape_str(in, 1, buf, sizeof buf));
    return K2T_OK;
}

static k2t_status prelu_infer(const k2t_layer *L, const k2t_shape *in, int n_in, k2t_shape *out,
                              k2t_err *err)
{
    char buf[160];
    k2t_status st = same_infer(L, in, n_in, out, err);
    if (st) return st;
    for (int i = 0; i < L->cfg.n_dims; i++) {
        int a = L->cfg.dims[i];
        if (a < 1 || a > in->ndim)
            return k2t_fail(err, K2T_ESHAPE, "config key 'shared_axes' has %d, outside 1..%d "
                            "for input %s", a, in->ndim, k2t_shape_str(in, 1, buf, sizeof buf));
    }
    return K2T_OK;
}

static int prelu_weights(const k2t_layer *L, const k2t_shape *in, k2t_wspec *spec)
{
    k2t_shape s = {.ndim = 1, .d = {-1}}; /* unknown input: unknown shape */
    if (in) {
        s = *in;
        for (int i = 0; i < L->cfg.n_dims; i++) {
            int a = L->cfg.dims[i];
            if (a >= 1 && a <= s.ndim) s.d[a - 1] = 1;
        }
    }
    spec[0] = (k2t_wspec){.name = "alpha", .shape = s, .trainable = 1};
    return 1;
}

/*------------------------------------------------------------ describe */

static void activation_describe(const k2t_layer *L, k2t_buf *b)
{
    k2t_buf_printf(b, "activation=%s", k2t_act_name(L->cfg.act));
}

static void relu_describe(const k2t_layer *L, k2t_buf *b)
{
    const k2t_cfg *g = &L->cfg;
    if (g->has_max_value) k2t_buf_printf(b, "max_value=%g", g->max_value);
    else k2t_buf_printf(b, "max_value=None");
    k2t_buf_printf(b, ", negative_slope=%g, threshold=%g", g->negative_slope, g->threshold);
}

static void alpha_describe(const k2t_layer *L, k2t_buf *b)
{
    k2t_buf_printf(b, "alpha=%g", L->cfg.alpha);
}

static void prelu_describe(const k2t_layer *L, k2t_buf *b)
{
    if (L->cfg.n_dims == 0) {
        k2t_buf_printf(b, "shared_axes=None");
        return;
    }
    k2t_buf_printf(b, "shared_axes=[");
    for (int i = 0; i < L->cfg.n_dims; i++)
        k2t_buf_printf(b, "%s%d", i ? ", " : "", L->cfg.dims[i]);
    k2t_buf_printf(b, "]");
}

static void softmax_describe(const k2t_layer *L, k2t_buf *b)
{
    k2t_buf_printf(b, "axis=%d", L->cfg.axis);
}

/* alpha (H, W, C) -> nn.PReLU weight: channels first, (C, H, W); when
** only channels vary (the usual shared spatial axes) it is (C,), and a
** fully shared alpha is torch's default single parameter (1,). */
static int prelu_torch(const k2t_layer *L, int wi, k2t_tw *tw)
{
    const k2t_weight *w = &L->w[wi];
    if (strcmp(w->name, "alpha")) return -1;
    const k2t_shape *a = &w->shape;
    k2t_shape t = k2t_shape_nchw(a);
    int rest_one = 1;
    for (int i = 1; i < t.ndim; i++)
        if (t.d[i] != 1) rest_one = 0;
    if (t.ndim > 1 && rest_one) t.ndim = 1;
    if (t.ndim == 0) t = (k2t_shape){.ndim = 1, .d = {1}};
    tw->suffix = "weight";
    tw->shape = t;
    if (a->ndim >= 2) { /* channels to the front: (d..., C) -> (C, d...) */
        tw->n_perm = a->ndim;
        tw->perm[0] = a->ndim - 1;
        for (int i = 1; i < a->ndim; i++) tw->perm[i] = i - 1;
    }
    tw->keras_axes = "(positions..., C)";
    tw->torch_axes = "(C, positions...)";
    return 0;
}

/*----------------------------------------------------------- port hazards */

/* A softmax (layer, or Activation('softmax')) over axis 'axis'. */
static void softmax_common(k2t_hz *h, int axis)
{
    int nd = h->N->shape.ndim;
    if (nd >= 2 && !k2t_model_chw(h->m)) { /* channels_first: dims are Keras's axes */
        int a = k2t_axis0(axis, nd), dim = a == nd - 1 ? 1 : a + 2;
        k2t_hz_say(h, K2T_PIT_LAYOUT, 1, "softmax over axis %d of NHWC (%s); in NCHW that is dim=%d", axis,
                   a == nd - 1 ? "the channels" : "a spatial axis", dim);
        k2t_hz_code(h, "x = F.softmax(x, dim=%d)", dim);
    }
    k2t_hz_softmax_out(h);
}

static void activation_hazards(k2t_hz *h)
{
    if (h->L->cfg.act == K2T_ACT_SOFTMAX) softmax_common(h, -1);
    k2t_hz_act(h, h->L->cfg.act);
}

static void softmax_hazards(k2t_hz *h)
{
    softmax_common(h, h->L->cfg.axis);
}

static void relu_hazards(k2t_hz *h)
{
    const k2t_cfg *cf = &h->L->cfg;
    double t = cf->threshold, a = cf->negative_slope;
    char s1[64], s2[160];
    if (!cf->has_max_value && t == 0 && a == 0) return;
    if (t == 0 && a == 0) {
        k2t_hz_say(h, K2T_PIT_ACTIVATION, 1, "ReLU(max_value=%g) clips at %g; nn.ReLU() does not", cf->max_value,
                   cf->max_value);
        if (cf->max_value == 6) k2t_hz_code(h, "nn.ReLU6()");
        else k2t_hz_code(h, "x = torch.clamp(x, 0, %g)", cf->max_value);
        return;
    }
    k2t_hz_say(h, K2T_PIT_ACTIVATION, 1, "ReLU with threshold %g, max_value %s, negative_slope %g: not nn.ReLU()",
               t, cf->has_max_value ? (snprintf(s1, sizeof s1, "%g", cf->max_value), s1) : "None", a);
    snprintf(s2, sizeof s2, "x = torch.where(x > %g, x, torch.zeros_like(x))", t);
    if (cf->has_max_value) k2t_cat(s2, sizeof s2, ".clamp(0, %g)", cf->max_value);
    if (a != 0) k2t_cat(s2, sizeof s2, " - %g * F.relu(%g - x)", a, t);
    k2t_hz_code(h, "%s", s2);
}

static void leaky_hazards(k2t_hz *h)
{
    if (fabs(h->L->cfg.alpha - 0.01) <= 1e-12) return;
    k2t_hz_say(h, K2T_PIT_ACTIVATION, 1, "slope %g; nn.LeakyReLU() defaults to 0.01", h->L->cfg.alpha);
    k2t_hz_code(h, "nn.LeakyReLU(%g)", h->L->cfg.alpha);
}

static void elu_hazards(k2t_hz *h)
{
    if (fabs(h->L->cfg.alpha - 1.0) <= 1e-12) return;
    k2t_hz_say(h, K2T_PIT_ACTIVATION, 1, "alpha %g; nn.ELU() defaults to 1.0", h->L->cfg.alpha);
    k2t_hz_code(h, "nn.ELU(%g)", h->L->cfg.alpha);
}

/*--- PyTorch export ---*/

/* The variables every forward() here uses. */
#define PY_VARS                                                                            \
    const k2t_model *m = k2t_py_model(y);                                                 \
    const k2t_layer *L = k2t_py_layer(y, i);                                              \
    const char *v = k2t_py_var(y, i), *a = k2t_py_in(y, i, 0);                            \
    (void)m, (void)L, (void)v, (void)a, (void)err

static k2t_status activation_py_forward(k2t_py *y, int i, k2t_err *err)
{
    PY_VARS;
    char b[1200];
    const char *e = k2t_py_act(L->cfg.act, a, b, sizeof b);
    k2t_py_printf(y, "        %s = %s\n", v, e ? e : a);
    return K2T_OK;
}

/* ReLU(max_value, negative_slope, threshold) as backend.relu computes it. */
static k2t_status relu_py_forward(k2t_py *y, int i, k2t_err *err)
{
    PY_VARS;
    const k2t_cfg *c = &L->cfg;
    char t[64], mv[64], al[64];
    k2t_pyfloat(c->threshold, t, sizeof t);
    k2t_pyfloat(c->max_value, mv, sizeof mv);
    k2t_pyfloat(c->negative_slope, al, sizeof al);
    int has_a = c->negative_slope != 0, has_t = c->threshold != 0, clip = c->has_max_value;
    if (has_a && !clip && !has_t) {
        k2t_py_printf(y, "        %s = F.leaky_relu(%s, %s)\n", v, a, al);
        return K2T_OK;
    }
    if (has_a)
        k2t_py_printf(y, "        %s_neg = F.relu(%s%s%s)\n", v, has_t ? t : "", has_t ? " - " : "-", a);
    if (has_t) k2t_py_printf(y, "        %s = %s * (%s > %s).to(%s.dtype)\n", v, a, a, t, a);
    else if (clip && c->max_value == 6) {
        k2t_py_printf(y, "        %s = F.relu6(%s)\n", v, a);
        clip = 0;
    } else k2t_py_printf(y, "        %s = F.relu(%s)\n", v, a);
    if (clip) k2t_py_printf(y, "        %s = torch.clamp(%s, 0.0, %s)\n", v, v, mv);
    if (has_a) k2t_py_printf(y, "        %s = %s - %s * %s_neg\n", v, v, al, v);
    return K2T_OK;
}

static k2t_status leaky_py_forward(k2t_py *y, int i, k2t_err *err)
{
    PY_VARS;
    char f[64];
    k2t_py_printf(y, "        %s = F.leaky_relu(%s, %s)\n", v, a, k2t_pyfloat(L->cfg.alpha, f, sizeof f));
    return K2T_OK;
}

static k2t_status elu_py_forward(k2t_py *y, int i, k2t_err *err)
{
    PY_VARS;
    char f[64];
    k2t_py_printf(y, "        %s = F.elu(%s, %s)\n", v, a, k2t_pyfloat(L->cfg.alpha, f, sizeof f));
    return K2T_OK;
}

static k2t_status softmax_py_forward(k2t_py *y, int i, k2t_err *err)
{
    PY_VARS;
    const k2t_shape *in = k2t_py_in_shape(y, i, 0);
    int t = k2t_py_dim(L->cfg.axis, in ? in->ndim : 0);
    if (t < 0) return k2t_py_fail(L, err, "axis out of range");
    k2t_py_printf(y, "        %s = F.softmax(%s, dim=%d)  # Keras axis %d\n", v, a, t, L->cfg.axis);
    return K2T_OK;
}

/* nn.PReLU(C) when alpha varies over the channels only (or is shared),
** else the file's KerasPReLU with alpha channels first. */
static int prelu_module(const k2t_layer *L, const k2t_shape *in, int ph, int pw, char *buf, size_t n)
{
    k2t_tw tw;
    size_t len;
    (void)in, (void)ph, (void)pw;
    int wi = -1;
    for (int k = 0; k < L->n_w; k++)
        if (L->w[k].name && !strcmp(L->w[k].name, "alpha")) wi = k;
    if (wi < 0 || k2t_layer_tw(L, wi, &tw) != 0) return -1;
    if (tw.shape.ndim == 1) {
        int l = snprintf(buf, n, "nn.PReLU(%lld)", (long long)tw.shape.d[0]);
        return l >= 0 && (size_t)l < n ? l : -1;
    }
    len = (size_t)snprintf(buf, n, "KerasPReLU((");
    for (int k = 0; k < tw.shape.ndim && len < n; k++)
        len += (size_t)snprintf(buf + len, n - len, "%s%lld", k ? ", " : "", (long long)tw.shape.d[k]);
    if (len < n) len += (size_t)snprintf(buf + len, n - len, "))");
    return len < n ? (int)len : -1;
}

/* A PReLU whose alpha nn.PReLU cannot hold (a helper class of the file). */
static const char py_helpers_prelu[] =
    "class KerasPReLU(nn.Module):\n"
    "    \"\"\"Keras PReLU whose alpha varies over more than the channels: weight is alpha,\n"
    "    channels first, broadcast over the batch.\"\"\"\n"
    "\n"
    "    def __init__(self, shape):\n"
    "        super().__init__()\n"
    "        self.weight = nn.Parameter(torch.empty(shape))\n"
    "\n"
    "    def forward(self, x):\n"
    "        return F.relu(x) - self.weight * F.relu(-x)\n";

static k2t_status prelu_py_init(k2t_py *y, int li, k2t_err *err)
{
    const k2t_layer *L = k2t_py_layer_at(y, li);
    char mod[600];
    k2t_status st = k2t_py_module(y, li, mod, sizeof mod, err);
    if (st != K2T_OK) return st;
    int helper = !strncmp(mod, "KerasPReLU(", 11);
    if (helper) k2t_py_helper(y, py_helpers_prelu);
    k2t_py_printf(y, "        self.%s = %s  # %s%s\n", k2t_py_attr(y, li), mod, L->class_name,
                  helper ? ", alpha channels first" : "");
    return K2T_OK;
}

static k2t_status prelu_py_forward(k2t_py *y, int i, k2t_err *err)
{
    PY_VARS;
    k2t_py_printf(y, "        %s = self.%s(%s)\n", v, k2t_py_attr(y, m->nodes[i].layer), a);
    return K2T_OK;
}

#undef PY_VARS
/*----------------------------------------------------------- execution */

#include <math.h>
#include "../op.h"

static void activation_forward(const k2t_step *s, const k2t_fwd *f)
{
    const float *x = f->x[0];
    float *y = f->y;
    int64_t total = (int64_t)f->n * s->numel;
    int C = s->shape.ndim ? (int)s->shape.d[s->shape.ndim - 1] : 1;
    int64_t hw = C ? s->numel / C : 0;
    k2t_act act = s->L->cfg.act;
    if (act != K2T_ACT_SOFTMAX && x != y) {
        kern_act_from(y, x, total, act);
        return;
    }
    if (x != y) memcpy(y, x, (size_t)total * sizeof(float));
    if (act == K2T_ACT_SOFTMAX) {
        if (f->nchw) kern_softmax(y, f->n, C, hw);
        else kern_softmax(y, total / C, C, 1);
    } else {
        kern_act(y, total, act);
    }
}

static int activation_as_act(const k2t_layer *L, k2t_act *act)
{
    *act = L->cfg.act;
    return 1;
}

static void relu_forward(const k2t_step *s, const k2t_fwd *f)
{
    const k2t_cfg *c = &s->L->cfg;
    kern_relu(f->x[0], (int64_t)f->n * s->numel, (float)c->threshold,
              c->has_max_value ? (float)c->max_value : NAN, (float)c->negative_slope, f->y);
}

/* A plain ReLU() is the relu activation, ReLU(6.) (MobileNet's) relu6:
** kern_relu's x > 0 ? x : 0 then v < 6 ? v : 6, as kern_act computes it. */
static int relu_as_act(const k2t_layer *L, k2t_act *act)
{
    if (L->cfg.threshold != 0 || L->cfg.negative_slope != 0) return 0;
    if (L->cfg.has_max_value && L->cfg.max_value != 6.0) return 0;
    *act = L->cfg.has_max_value ? K2T_ACT_RELU6 : K2T_ACT_RELU;
    return 1;
}

static void leaky_forward(const k2t_step *s, const k2t_fwd *f)
{
    kern_leaky_relu(f->x[0], (int64_t)f->n * s->numel, (float)s->L->cfg.alpha, f->y);
}

static void elu_forward(const k2t_step *s, const k2t_fwd *f)
{
    kern_elu(f->x[0], (int64_t)f->n * s->numel, (float)s->L->cfg.alpha, f->y);
}

/* alpha broadcast (shared axes have size 1) over the sample, once. */
static k2t_status prelu_plan(k2t_step *s, const k2t_plan_ctx *c, k2t_err *err)
{
    const k2t_weight *a = k2t_layer_weight(s->L, "alpha");
    (void)c, (void)err;
    s->alpha = k2t_xmalloc((size_t)s->numel * sizeof(float));
    for (int64_t i = 0; i < s->numel; i++) {
        int64_t rem = i, ai = 0, stride = 1;
        for (int d = s->shape.ndim - 1; d >= 0; d--) {
            int64_t idx = rem % s->shape.d[d];
            rem /= s->shape.d[d];
            int64_t ad = a->shape.d[d];
            ai += (ad == 1 ? 0 : idx) * stride;
            stride *= ad;
        }
        s->alpha[i] = a->data[ai];
    }
    return K2T_OK;
}

static void prelu_forward(const k2t_step *s, const k2t_fwd *f)
{
    kern_prelu(f->x[0], f->n, s->numel, s->alpha, f->y);
}

static k2t_status softmax_plan(k2t_step *s, const k2t_plan_ctx *c, k2t_err *err)
{
    int ax = k2t_sample_axis(s->L->cfg.axis, c->in[0].ndim);
    if (ax < 0 || ax >= c->in[0].ndim) return k2t_fail(err, K2T_ESHAPE, "axis out of range");
    k2t_axis_split(&c->in[0], ax, &s->outer, &s->len, &s->inner);
    return K2T_OK;
}

static void softmax_forward(const k2t_step *s, const k2t_fwd *f)
{
    if (f->x[0] != f->y) memcpy(f->y, f->x[0], (size_t)((int64_t)f->n * s->numel) * sizeof(float));
    kern_softmax(f->y, (int64_t)f->n * s->outer, s->len, s->inner);
}

static int softmax_as_act(const k2t_layer *L, k2t_act *act)
{
    (void)L;
    *act = K2T_ACT_SOFTMAX;
    return 1;
}

#define UNARY (K2T_OPF_INPLACE | K2T_OPF_KEEPS_ORDER | K2T_OPF_NCHW)

/*---------------------------------------------------------------- defs */

static const char *const activation_classes[] = {"Activation", NULL};
static const char *const relu_classes[] = {"ReLU", NULL};
static const char *const leaky_classes[] = {"LeakyReLU", NULL};
static const char *const prelu_classes[] = {"PReLU", NULL};
static const char *const elu_classes[] = {"ELU", NULL};
static const char *const softmax_classes[] = {"Softmax", NULL};

/* The PyTorch modules that compute these layers (compare pairs a port's
** modules with Keras layers by them). */
static const char *const act_modules[] = {"ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Hardswish", "Hardsigmoid", "Hardtanh", "Softplus", "Softsign", "Softmax", "Mish", "KerasPReLU", NULL};

const k2t_op_def k2t_op_activation = {
    .op = K2T_OP_ACTIVATION, .torch_modules = act_modules, .classes = activation_classes,
    .min_in = 1, .max_in = 1, .flags = K2T_OPF_KEEPS_ORDER | K2T_OPF_ACTIVATION | K2T_OPF_MASK_PASS | UNARY,
    .parse = activation_parse, .infer = same_infer, .describe = activation_describe,
    .hazards = activation_hazards, .py_forward = activation_py_forward,
    .forward = activation_forward, .as_act = activation_as_act,
};

const k2t_op_def k2t_op_relu = {
    .op = K2T_OP_RELU, .torch_modules = act_modules, .classes = relu_classes, .min_in = 1,
    .max_in = 1, .flags = K2T_OPF_KEEPS_ORDER | K2T_OPF_ACTIVATION | K2T_OPF_MASK_PASS | UNARY, .parse = relu_parse,
    .infer = same_infer, .describe = relu_describe, .hazards = relu_hazards,
    .py_forward = relu_py_forward, .forward = relu_forward, .as_act = relu_as_act,
};

const k2t_op_def k2t_op_leaky_relu = {
    .op = K2T_OP_LEAKY_RELU, .torch_modules = act_modules, .classes = leaky_classes, .min_in = 1,
    .max_in = 1, .flags = K2T_OPF_KEEPS_ORDER | K2T_OPF_ACTIVATION | K2T_OPF_MASK_PASS | UNARY, .parse = leaky_parse,
    .infer = same_infer, .describe = alpha_describe, .hazards = leaky_hazards,
    .py_forward = leaky_py_forward, .forward = leaky_forward,
};

const k2t_op_def k2t_op_prelu = {
    .op = K2T_OP_PRELU, .torch_modules = act_modules, .classes = prelu_classes, .min_in = 1,
    .max_in = 1, .parse = prelu_parse, .infer = prelu_infer, .weights = prelu_weights,
    .describe = prelu_describe, .torch = prelu_torch, .flags = K2T_OPF_MODULE | K2T_OPF_ACTIVATION | K2T_OPF_MASK_PASS,
    .module = prelu_module, .py_init = prelu_py_init, .py_forward = prelu_py_forward,
    .plan = prelu_plan, .forward = prelu_forward,
};

const k2t_op_def k2t_op_elu = {
    .op = K2T_OP_ELU, .torch_modules = act_modules, .classes = elu_classes, .min_in = 1,
    .max_in = 1, .flags = K2T_OPF_KEEPS_ORDER | K2T_OPF_ACTIVATION | K2T_OPF_MASK_PASS | UNARY, .parse = elu_parse,
    .infer = same_infer, .describe = alpha_describe, .hazards = elu_hazards,
    .py_forward = elu_py_forward, .forward = elu_forward,
};

const k2t_op_def k2t_op_softmax = {
    .op = K2T_OP_SOFTMAX, .torch_modules = act_modules, .classes = softmax_classes, .min_in = 1,
    .max_in = 1, .parse = softmax_parse, .infer = softmax_infer, .describe = softmax_describe,
    .hazards = softmax_hazards, .py_forward = softmax_py_forward, .plan = softmax_plan,
    .forward = softmax_forward, .as_act = softmax_as_act,
    .flags = K2T_OPF_MASK_REFUSE, /* Keras's Softmax layer adds -1e9 at masked positions */
};
