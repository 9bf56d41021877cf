/*
** dense.c -- Dense: y = x . kernel + bias over the last axis.
**
** The kernel is stored (in, units), the transpose of PyTorch's Linear
** weight (units, in).  An input of rank > 1 per sample keeps its leading
** dims: (T, 64) through Dense(10) is (T, 10), the same kernel applied at
** every position.  Keras 3 adds LoRA variables when lora_rank is set;
** those layers are kept inspectable but not executed.
*/
#include <string.h>
#include <stdio.h>
#include "../internal.h"
#include "../py.h"

static k2t_status dense_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    int lora = 0;
    k2t_status st;
    if ((st = cfg_require(c, "units", err)) || (st = cfg_int(c, "units", 0, &g->units, err)) ||
        (st = cfg_bool(c, "use_bias", 1, &g->use_bias, err)) ||
        (st = cfg_activation(c, "activation", m ? m->keras_major : 2, &g->act, &L->unsupported,
                             err)) ||
        (st = cfg_int(c, "lora_rank", 0, &lora, err)))
        return st;
    if (g->units <= 0)
        return k2t_fail(err, K2T_EFORMAT, "config key 'units' must be positive, got %d", g->units);
    if (lora) k2t_set_unsupported(L, "LoRA (lora_rank=%d) is not supported", lora);
    /* Keras 3 quantized layers ("int8_from_float32") store an integer
    ** kernel plus scales: the weight list no longer matches. */
    json_t *dt = json_object_get(c, "dtype");
    const char *pol = json_string_value(json_object_get(json_object_get(dt, "config"), "name"));
    if (pol && strstr(pol, "_from_"))
        k2t_set_unsupported(L, "quantized dtype policy '%.60s' is not supported", pol);
    cfg_initializer(c, "kernel_initializer", g->initializer, sizeof g->initializer);
    cfg_initializer(c, "bias_initializer", g->bias_initializer, sizeof g->bias_initializer);
    return K2T_OK;
}

static int dense_weights(const k2t_layer *L, const k2t_shape *in, k2t_wspec *spec)
{
    int64_t n_in = in && in->ndim >= 1 ? in->d[in->ndim - 1] : -1;
    spec[0] = (k2t_wspec){.name = "kernel", .trainable = 1,
                          .shape = {.ndim = 2, .d = {n_in, L->cfg.units}}};
    if (!L->cfg.use_bias) return 1;
    spec[1] = (k2t_wspec){.name = "bias", .trainable = 1,
                          .shape = {.ndim = 1, .d = {L->cfg.units}}};
    return 2;
}

static k2t_status dense_infer(const k2t_layer *L, const k2t_shape *in, int n_in, k2t_shape *out,
                              k2t_err *err)
{
    k2t_wspec spec[K2T_MAX_WEIGHTS];
    k2t_status st;
    if (n_in != 1) return k2t_fail(err, K2T_ESHAPE, "expects 1 input, got %d", n_in);
    if (in->ndim < 1)
        return k2t_fail(err, K2T_ESHAPE, "expects an input with at least 1 dimension per sample, "
                                         "got a scalar");
    if ((st = k2t_shape_check(in, "input", err))) return st;
    *out = *in;
    out->d[out->ndim - 1] = L->cfg.units;
    if ((st = k2t_shape_check(out, "output", err))) return st;
    dense_weights(L, in, spec);
    return k2t_shape_check(&spec[0].shape, "kernel", err);
}

static void dense_describe(const k2t_layer *L, k2t_buf *b)
{
    k2t_buf_printf(b, "units=%d, use_bias=%d, activation=%s", L->cfg.units, L->cfg.use_bias,
                   k2t_act_name(L->cfg.act));
}

/* kernel (in, units) -> Linear.weight (units, in): .T; bias as is. */
static int dense_torch(const k2t_layer *L, int wi, k2t_tw *tw)
{
    const k2t_weight *w = &L->w[wi];
    tw->shape = w->shape;
    if (!strcmp(w->name, "bias")) {
        tw->suffix = "bias";
        return 0;
    }
    if (!strcmp(w->name, "kernel") && w->shape.ndim == 2) {
        tw->suffix = "weight";
        tw->shape.d[0] = w->shape.d[1];
        tw->shape.d[1] = w->shape.d[0];
        tw->n_perm = 2;
        tw->perm[0] = 1;
        tw->perm[1] = 0;
        tw->keras_axes = "(in, out)";
        tw->torch_axes = "(out, in)";
        return 0;
    }
    return -1;
}

/*----------------------------------------------------------- port hazards */

static void dense_hazards(k2t_hz *h)
{
    const k2t_shape *in = h->in;
    char s1[96], p1[64], p2[64], attr[300];
    if (in && in->ndim >= 2 && k2t_model_chw(h->m)) {
        /* A channels_first model's port holds the same tensor: both act on
        ** the last axis. */
    } else if (in && in->ndim >= 2) {
        k2t_hz_say(h, K2T_PIT_LAYOUT, 1, "Dense on %s acts on the channels; nn.Linear acts on the last axis, "
                   "which in NCHW is %s", k2t_shape_str(in, 1, s1, sizeof s1), in->ndim == 2 ? "L" : "W");
        k2t_hz_code(h, "x = self.%s(x.%s).%s", k2t_torch_ident(h->L->name, attr, sizeof attr),
                    k2t_perm_str(p1, sizeof p1, in->ndim, 1), k2t_perm_str(p2, sizeof p2, in->ndim, 0));
    } else {
        k2t_hz_flatten(h);
    }
    if (h->L->cfg.act == K2T_ACT_SOFTMAX) k2t_hz_softmax_out(h);
    k2t_hz_act(h, h->L->cfg.act);
}

/*--- PyTorch export ---*/

/* nn.Linear(in, units), bias=False without a bias. */
static int dense_module(const k2t_layer *L, const k2t_shape *in, int ph, int pw, char *buf, size_t n)
{
    long long fin = in->ndim ? (long long)in->d[in->ndim - 1] : -1;
    (void)ph, (void)pw;
    for (int i = 0; i < L->n_w; i++)
        if (L->w[i].name && !strcmp(L->w[i].name, "kernel") && L->w[i].shape.ndim == 2)
            fin = (long long)L->w[i].shape.d[0];
    int len = snprintf(buf, n, "nn.Linear(%lld, %d%s)", fin, L->cfg.units,
                       L->cfg.use_bias ? "" : ", bias=False");
    return len >= 0 && (size_t)len < n ? len : -1;
}

/* Says when export permuted the kernel's columns for an NCHW Flatten. */
static k2t_status dense_py_init(k2t_py *y, int li, k2t_err *err)
{
    const k2t_layer *L = k2t_py_layer_at(y, li);
    const k2t_shape *pre = k2t_py_permuted(y, li);
    char mod[300], sh[160];
    k2t_status st = k2t_py_module(y, li, mod, sizeof mod, err);
    if (st != K2T_OK) return st;
    k2t_py_printf(y, "        self.%s = %s  # %s", k2t_py_attr(y, li), mod, L->class_name);
    if (pre)
        k2t_py_printf(y, "; input columns permuted at export for the NCHW Flatten of %s",
                      k2t_py_shape_str(pre, sh, sizeof sh));
    k2t_py_printf(y, "\n");
    return K2T_OK;
}

/* On a vector, or on the channels axis of a map (Keras's last axis). */
static k2t_status dense_py_forward(k2t_py *y, int i, k2t_err *err)
{
    const k2t_model *m = k2t_py_model(y);
    const k2t_shape *in = k2t_py_in_shape(y, i, 0);
    const char *v = k2t_py_var(y, i), *a = k2t_py_in(y, i, 0), *attr = k2t_py_attr(y, m->nodes[i].layer);
    (void)err;
    if (!in || in->ndim <= 1)
        k2t_py_printf(y, "        %s = self.%s(%s)\n", v, attr, a);
    else
        k2t_py_printf(y, "        %s = self.%s(%s.movedim(1, -1)).movedim(-1, 1)  # on the channels "
                      "axis\n", v, attr, a);
    k2t_py_put_act(y, v, k2t_py_layer(y, i)->cfg.act);
    return K2T_OK;
}

/*----------------------------------------------------------- execution */

#include "../op.h"

/* One GEMM over every position.  Under layout NCHW a vector input runs as
** nn.Linear (weight (out, in)); a higher-rank input falls back to the
** Keras kernel between layout conversions. */
static k2t_status dense_plan(k2t_step *s, const k2t_plan_ctx *c, k2t_err *err)
{
    const k2t_layer *L = s->L;
    int nchw = c->o->emu.layout == K2T_LAYOUT_NCHW;
    const k2t_weight *k = k2t_layer_weight(L, "kernel");
    const k2t_shape *in = &c->in[0];
    /* An emulated PyTorch padding may have changed the size before a
    ** Flatten: the port's Linear would refuse the product, and so does
    ** this (the kernel holds only its own rows). */
    if (in->ndim >= 1 && k->shape.ndim == 2 && in->d[in->ndim - 1] != k->shape.d[0])
        return k2t_fail(err, K2T_ESHAPE, "its input has %lld features where its kernel has %lld rows "
                        "(as in PyTorch: mat1 and mat2 shapes cannot be multiplied)",
                        (long long)in->d[in->ndim - 1], (long long)k->shape.d[0]);
    s->torch_w = nchw && c->in[0].ndim == 1;
    s->w = k2t_prep_kernel(L, k, s->torch_w, c->o->emu.no_transpose, &s->own_w);
    if (L->cfg.use_bias) s->epi.bias = k2t_layer_weight(L, "bias")->data;
    s->epi.act = L->cfg.act;
    s->cout = L->cfg.units;
    s->epi_keep = s->epi_res = 1; /* kern_dense, kern_linear and kern_conv2d honour both forms */
    if (nchw) s->fallback = c->in[0].ndim > 1;
    /* Keras's kernel is a 1x1 convolution's over rows of 1x1 pixels: the
    ** direct route's packed kernel, its sums in k order whatever the number
    ** of rows (a GEMV for one sample, where OpenBLAS's GEMM packs the whole
    ** kernel first). */
    k2t_win g = {.ih = 1, .iw = 1, .c = (int)k->shape.d[0], .kh = 1, .kw = 1, .sh = 1, .sw = 1,
                 .dh = 1, .dw = 1, .oh = 1, .ow = 1};
    int64_t packed = s->torch_w || k->shape.ndim != 2 ? 0 : kern_conv2d_packed_size(&g, 1, s->cout);
    if (packed) {
        s->win = g;
        s->own_wp = k2t_xmalloc((size_t)packed * sizeof(float));
        kern_conv2d_pack(&g, 1, s->cout, s->w, s->own_wp);
        s->slice_ok = kern_simd(); /* dense_forward's direct route */
    }
    return K2T_OK;
}

static void dense_forward(const k2t_step *s, const k2t_fwd *f)
{
    int64_t rows = (int64_t)f->n * s->numel / s->cout;
    int in = (int)(k2t_step_in(s, 0)->numel / (s->numel / s->cout));
    if (s->torch_w && !f->fallback) kern_linear(f->x[0], rows, in, s->w, s->cout, f->epi, f->g);
    else if (s->own_wp && kern_simd()) kern_conv2d(&s->win, 1, s->cout, f->x[0], (int)rows, s->w, s->own_wp, f->epi, f->g, f->ws);
    else kern_dense(f->x[0], rows, in, s->w, s->cout, f->epi, f->g);
}

static const char *const dense_classes[] = {"Dense", NULL};

/* The PyTorch modules that compute these layers (compare pairs a port's
** modules with Keras layers by them). */
static const char *const dense_modules[] = {"Linear", "LazyLinear", NULL};

const k2t_op_def k2t_op_dense = {
    .op = K2T_OP_DENSE, .torch_modules = dense_modules, .classes = dense_classes, .min_in = 1,
    .max_in = 1, .flags = K2T_OPF_FEATURES | K2T_OPF_MODULE | K2T_OPF_GEMM | K2T_OPF_NCHW | K2T_OPF_MASK_PASS,
    .parse = dense_parse, .infer = dense_infer, .weights = dense_weights,
    .describe = dense_describe, .torch = dense_torch, .hazards = dense_hazards,
    .module = dense_module, .py_init = dense_py_init, .py_forward = dense_py_forward,
    .plan = dense_plan, .forward = dense_forward,
};
