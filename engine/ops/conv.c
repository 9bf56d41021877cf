/*
** conv.c -- the convolution family: Conv1D and Conv2D (K2T_OP_CONV),
** Conv2DTranspose, DepthwiseConv2D and SeparableConv2D.
**
** They share the window keys (kernel_size, strides, dilation_rate,
** padding, data_format), TF's output-size rule (k2t_window_out) and the
** kernel layout Keras stores: spatial dims first, then input and output
** channels, (kh, kw, Cin/groups, filters).  Two members break the
** pattern and are the usual source of wrong ports: Conv2DTranspose
** stores (kh, kw, filters, Cin), output channels before input, and its
** output size follows deconv_output_length rather than the windowed
** rule; DepthwiseConv2D stores (kh, kw, Cin, M) and writes Cin*M
** channels, in c*M+m order.
**
** Shapes are computed in the layer's data_format.  A channels_first
** layer's tensors are (C, ...) in Keras as in PyTorch, and its kernel is
** still stored as above: it runs the channels-last kernel on each sample
** moved to (..., C) in its workspace and back (k2t_cf_run; the NCHW
** kernels of the PyTorch emulation compute the same, more slowly).  Every
** output and kernel size is checked against
** K2T_MAX_NUMEL: a config that asks for 2^31 elements is an error here,
** not an overflowed allocation later.
*/
#include <stdio.h>
#include <string.h>
#include "../internal.h"
#include "../py.h"

/*------------------------------------------------------------- parsing */

/* Conv1D and its aliases are rank 1; everything else here is 2-D. */
static int class_rank(const k2t_layer *L)
{
    return L->class_name && strstr(L->class_name, "1D") ? 1 : 2;
}

static k2t_status positive(const char *key, const int *v, int n, k2t_err *err)
{
    for (int i = 0; i < n; i++)
        if (v[i] <= 0)
            return k2t_fail(err, K2T_EFORMAT, "config key '%s' must be positive, got %d", key, v[i]);
    return K2T_OK;
}

/* The keys every member reads: the window, padding, layout, activation
** and bias.  Sets cfg.rank from the class name.  Keras pads causally
** only in Conv1D (checked in its __init__); 'causal_ok' says this is one. */
static k2t_status parse_window(k2t_layer *L, json_t *c, const k2t_model *m, int causal_ok,
                               k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    int major = m ? m->keras_major : 2;
    k2t_status st;
    g->rank = class_rank(L);
    if ((st = cfg_require(c, "kernel_size", err)) ||
        (st = cfg_ints(c, "kernel_size", g->rank, 1, g->kernel, err)) ||
        (st = cfg_ints(c, "strides", g->rank, 1, g->strides, err)) ||
        (st = cfg_ints(c, "dilation_rate", g->rank, 1, g->dilation, err)) ||
        (st = positive("kernel_size", g->kernel, g->rank, err)) ||
        (st = positive("strides", g->strides, g->rank, err)) ||
        (st = positive("dilation_rate", g->dilation, g->rank, err)) ||
        (st = cfg_padding(c, "padding", &g->padding, err)) ||
        (st = cfg_channels_first(c, &g->channels_first, err)) ||
        (st = cfg_bool(c, "use_bias", 1, &g->use_bias, err)) ||
        (st = cfg_activation(c, "activation", major, &g->act, &L->unsupported, err)))
        return st;
    if (g->rank == 1) {
        g->kernel[1] = g->strides[1] = g->dilation[1] = 1;
    }
    for (int i = 0; i < g->rank; i++) {
        /* A dilated kernel wider than any input k2t accepts cannot be
        ** meant; refusing it also keeps every size below 2^62. */
        int64_t k_eff = (int64_t)(g->kernel[i] - 1) * g->dilation[i] + 1;
        if (k_eff > K2T_MAX_NUMEL)
            return k2t_fail(err, K2T_EFORMAT,
                            "config keys 'kernel_size' and 'dilation_rate' make the kernel "
                            "span %lld elements",
                            (long long)k_eff);
    }
    if (g->padding == K2T_PAD_CAUSAL && !(causal_ok && g->rank == 1))
        return k2t_fail(err, K2T_EFORMAT,
                        "config key 'padding' is 'causal', which only Conv1D accepts");
    /* Keras applies a fused softmax over the last axis, W when channels
    ** come first; the NCHW epilogue's softmax is over the channels. */
    if (g->channels_first && g->act == K2T_ACT_SOFTMAX)
        k2t_set_unsupported(L, "a fused softmax with data_format channels_first (over W) is not "
                            "supported for execution");
    cfg_initializer(c, "bias_initializer", g->bias_initializer, sizeof g->bias_initializer);
    return K2T_OK;
}

static k2t_status parse_filters(k2t_cfg *g, json_t *c, k2t_err *err)
{
    k2t_status st;
    if ((st = cfg_require(c, "filters", err)) || (st = cfg_int(c, "filters", 0, &g->filters, err)))
        return st;
    return positive("filters", &g->filters, 1, err);
}

static k2t_status parse_multiplier(k2t_cfg *g, json_t *c, k2t_err *err)
{
    k2t_status st = cfg_int(c, "depth_multiplier", 1, &g->depth_multiplier, err);
    return st ? st : positive("depth_multiplier", &g->depth_multiplier, 1, err);
}

static k2t_status conv_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    k2t_status st;
    if ((st = parse_window(L, c, m, 1, err)) || (st = parse_filters(g, c, err)) ||
        (st = cfg_int(c, "groups", 1, &g->groups, err)) ||
        (st = positive("groups", &g->groups, 1, err)))
        return st;
    if (g->filters % g->groups)
        return k2t_fail(err, K2T_EFORMAT,
                        "config key 'groups' must divide filters (%d), got %d", g->filters,
                        g->groups);
    cfg_initializer(c, "kernel_initializer", g->initializer, sizeof g->initializer);
    return K2T_OK;
}

static k2t_status transpose_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    k2t_status st;
    if ((st = parse_window(L, c, m, 0, err)) || (st = parse_filters(g, c, err)))
        return st;
    g->groups = 1;
    g->has_output_padding = json_object_get(c, "output_padding") != NULL &&
                            !json_is_null(json_object_get(c, "output_padding"));
    if (g->has_output_padding) {
        if ((st = cfg_ints(c, "output_padding", g->rank, 0, g->output_padding, err)))
            return st;
        /* Keras refuses output_padding >= stride: the extra rows would
        ** be a whole stride of nothing. */
        for (int i = 0; i < g->rank; i++)
            if (g->output_padding[i] < 0 || g->output_padding[i] >= g->strides[i])
                return k2t_fail(err, K2T_EFORMAT,
                                "config key 'output_padding' must be in 0..stride-1, got %d "
                                "for stride %d", g->output_padding[i], g->strides[i]);
    }
    cfg_initializer(c, "kernel_initializer", g->initializer, sizeof g->initializer);
    return K2T_OK;
}

static k2t_status depthwise_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    k2t_status st;
    if ((st = parse_window(L, c, m, 0, err)) || (st = parse_multiplier(g, c, err)))
        return st;
    g->groups = 1;
    cfg_initializer(c, "depthwise_initializer", g->initializer, sizeof g->initializer);
    return K2T_OK;
}

static k2t_status separable_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    k2t_status st;
    if ((st = parse_window(L, c, m, 0, err)) || (st = parse_filters(g, c, err)) ||
        (st = parse_multiplier(g, c, err)))
        return st;
    g->groups = 1;
    cfg_initializer(c, "depthwise_initializer", g->initializer, sizeof g->initializer);
    return K2T_OK;
}

/*------------------------------------------------------------ shapes */

/* "5x5", "None x 5" style dims for messages ("5" in 1-D). */
static const char *dims_str(const int64_t *d, int n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && len < size; i++) {
        int w = d[i] < 0 ? snprintf(buf + len, size - len, "%sNone", i ? "x" : "")
                         : snprintf(buf + len, size - len, "%s%lld", i ? "x" : "", (long long)d[i]);
        if (w > 0) len += (size_t)w;
    }
    return buf;
}

/* Split a per-sample input into spatial dims and channels, in the layer's
** data_format; checks the rank and that the sizes are sane. */
static k2t_status split_input(const k2t_layer *L, const k2t_shape *in, int n_in, int64_t sp[2],
                              int64_t *ch, k2t_err *err)
{
    const k2t_cfg *g = &L->cfg;
    char buf[160];
    if (n_in != 1)
        return k2t_fail(err, K2T_ESHAPE, "expects 1 input, got %d", n_in);
    if (in->ndim != g->rank + 1) {
        static const char *const layout[2][2] = {{"(L, C)", "(C, L)"}, {"(H, W, C)", "(C, H, W)"}};
        return k2t_fail(err, K2T_ESHAPE, "expects a %d-dimensional input %s per sample, got %s",
                        g->rank + 1, layout[g->rank - 1][g->channels_first],
                        k2t_shape_str(in, 0, buf, sizeof buf));
    }
    k2t_status st = k2t_shape_check(in, "input", err);
    if (st) return st;
    sp[1] = 1;
    for (int i = 0; i < g->rank; i++) sp[i] = in->d[g->channels_first ? i + 1 : i];
    *ch = in->d[g->channels_first ? 0 : g->rank];
    return K2T_OK;
}

static k2t_shape join_output(const k2t_cfg *g, const int64_t sp[2], int64_t ch)
{
    k2t_shape s;
    memset(&s, 0, sizeof s);
    s.ndim = g->rank + 1;
    for (int i = 0; i < g->rank; i++) s.d[g->channels_first ? i + 1 : i] = sp[i];
    s.d[g->channels_first ? 0 : g->rank] = ch;
    return s;
}

/* Output spatial dims of a strided window, or an error saying which
** window does not fit ('valid' on too small an input). */
static k2t_status window_out(const k2t_cfg *g, const int64_t in[2], int64_t out[2], k2t_err *err)
{
    int bad = 0;
    out[1] = 1;
    for (int i = 0; i < g->rank; i++) {
        out[i] = k2t_window_out(in[i], g->kernel[i], g->strides[i], g->dilation[i], g->padding);
        if (out[i] == -2) bad = 1;
    }
    if (!bad) return K2T_OK;
    char a[64], k[64], e[64], dil[80] = "";
    int64_t kd[2] = {g->kernel[0], g->kernel[1]}, ke[2];
    int dilated = 0;
    for (int i = 0; i < 2; i++) {
        ke[i] = (int64_t)(g->kernel[i] - 1) * g->dilation[i] + 1;
        if (g->dilation[i] != 1) dilated = 1;
    }
    if (dilated) snprintf(dil, sizeof dil, " dilated to %s", dims_str(ke, g->rank, e, sizeof e));
    if (g->rank == 1)
        return k2t_fail(err, K2T_ESHAPE, "input length %s is shorter than the kernel size %s%s",
                        dims_str(in, 1, a, sizeof a), dims_str(kd, 1, k, sizeof k), dil);
    return k2t_fail(err, K2T_ESHAPE, "input %s is smaller than the %s kernel%s",
                    dims_str(in, 2, a, sizeof a), dims_str(kd, 2, k, sizeof k), dil);
}

/* Checks that the weights this input implies are not absurd either
** (Dense-like blowups: a 3x3 kernel over 10^5 channels into 10^5). */
static k2t_status check_weights(const k2t_wspec *spec, int n, k2t_err *err)
{
    for (int i = 0; i < n; i++) {
        k2t_status st = k2t_shape_check(&spec[i].shape, spec[i].name, err);
        if (st) return st;
    }
    return K2T_OK;
}

static int conv_weights(const k2t_layer *L, const k2t_shape *in, k2t_wspec *spec);
static int transpose_weights(const k2t_layer *L, const k2t_shape *in, k2t_wspec *spec);
static int depthwise_weights(const k2t_layer *L, const k2t_shape *in, k2t_wspec *spec);
static int separable_weights(const k2t_layer *L, const k2t_shape *in, k2t_wspec *spec);

static k2t_status conv_infer(const k2t_layer *L, const k2t_shape *in, int n_in, k2t_shape *out,
                             k2t_err *err)
{
    const k2t_cfg *g = &L->cfg;
    int64_t sp[2], o[2], ch;
    k2t_wspec spec[K2T_MAX_WEIGHTS];
    k2t_status st;
    if ((st = split_input(L, in, n_in, sp, &ch, err)) || (st = window_out(g, sp, o, err)))
        return st;
    if (ch >= 0 && ch % g->groups)
        return k2t_fail(err, K2T_ESHAPE, "input channels (%lld) are not divisible by groups=%d",
                        (long long)ch, g->groups);
    *out = join_output(g, o, g->filters);
    if ((st = k2t_shape_check(out, "output", err))) return st;
    return check_weights(spec, conv_weights(L, in, spec), err);
}

/* tfk conv_utils.deconv_output_length, with the dilated kernel size. */
static int64_t deconv_len(int64_t in, int k, int s, int d, k2t_pad pad, int has_op, int op)
{
    int64_t k_eff = (int64_t)(k - 1) * d + 1;
    if (in < 0) return -1;
    if (!has_op) {
        if (pad == K2T_PAD_SAME) return in * s;
        return in * s + (k_eff > s ? k_eff - s : 0);
    }
    int64_t p = pad == K2T_PAD_SAME ? k_eff / 2 : 0;
    return (in - 1) * s + k_eff - 2 * p + op;
}

static k2t_status transpose_infer(const k2t_layer *L, const k2t_shape *in, int n_in,
                                  k2t_shape *out, k2t_err *err)
{
    const k2t_cfg *g = &L->cfg;
    int64_t sp[2], o[2] = {1, 1}, ch;
    k2t_wspec spec[K2T_MAX_WEIGHTS];
    k2t_status st;
    if ((st = split_input(L, in, n_in, sp, &ch, err))) return st;
    for (int i = 0; i < g->rank; i++) {
        /* Inputs are at most 2^31 and so are strides and the dilated
        ** kernel (parse_window), so this stays below 2^63. */
        o[i] = deconv_len(sp[i], g->kernel[i], g->strides[i], g->dilation[i], g->padding,
                          g->has_output_padding, g->output_padding[i]);
        if (o[i] < -1 || (o[i] == 0 && sp[i] > 0))
            return k2t_fail(err, K2T_ESHAPE, "output length along spatial axis %d would be %lld",
                            i, (long long)o[i]);
    }
    *out = join_output(g, o, g->filters);
    if ((st = k2t_shape_check(out, "output", err))) return st;
    return check_weights(spec, transpose_weights(L, in, spec), err);
}

/* DepthwiseConv2D writes Cin*M channels, SeparableConv2D 'filters'. */
static k2t_status depthwise_common(const k2t_layer *L, const k2t_shape *in, int n_in,
                                   int separable, k2t_shape *out, k2t_err *err)
{
    const k2t_cfg *g = &L->cfg;
    int64_t sp[2], o[2], ch;
    k2t_wspec spec[K2T_MAX_WEIGHTS];
    k2t_status st;
    if ((st = split_input(L, in, n_in, sp, &ch, err)) || (st = window_out(g, sp, o, err)))
        return st;
    int64_t oc = separable ? g->filters : ch < 0 ? -1 : ch * g->depth_multiplier;
    *out = join_output(g, o, oc);
    if ((st = k2t_shape_check(out, "output", err))) return st;
    int n = separable ? separable_weights(L, in, spec) : depthwise_weights(L, in, spec);
    return check_weights(spec, n, err);
}

static k2t_status depthwise_infer(const k2t_layer *L, const k2t_shape *in, int n_in,
                                  k2t_shape *out, k2t_err *err)
{
    return depthwise_common(L, in, n_in, 0, out, err);
}

static k2t_status separable_infer(const k2t_layer *L, const k2t_shape *in, int n_in,
                                  k2t_shape *out, k2t_err *err)
{
    return depthwise_common(L, in, n_in, 1, out, err);
}

/*----------------------------------------------------------- weights */

/* Input channels of 'in' in the layer's layout, or -1 when unknown. */
static int64_t in_channels(const k2t_layer *L, const k2t_shape *in)
{
    const k2t_cfg *g = &L->cfg;
    if (!in || in->ndim != g->rank + 1) return -1;
    return in->d[g->channels_first ? 0 : g->rank];
}

/* A kernel shape: the spatial dims, then a and b. */
static k2t_shape kernel_shape(const k2t_cfg *g, int64_t a, int64_t b)
{
    k2t_shape s;
    memset(&s, 0, sizeof s);
    s.ndim = g->rank + 2;
    for (int i = 0; i < g->rank; i++) s.d[i] = g->kernel[i];
    s.d[g->rank] = a;
    s.d[g->rank + 1] = b;
    return s;
}

static int add_bias(const k2t_cfg *g, k2t_wspec *spec, int n, int64_t units)
{
    if (!g->use_bias) return n;
    spec[n] = (k2t_wspec){.name = "bias", .shape = {.ndim = 1, .d = {units}}, .trainable = 1};
    return n + 1;
}

static int conv_weights(const k2t_layer *L, const k2t_shape *in, k2t_wspec *spec)
{
    const k2t_cfg *g = &L->cfg;
    int64_t ch = in_channels(L, in);
    spec[0] = (k2t_wspec){.name = "kernel", .trainable = 1,
                          .shape = kernel_shape(g, ch < 0 ? -1 : ch / g->groups, g->filters)};
    return add_bias(g, spec, 1, g->filters);
}

static int transpose_weights(const k2t_layer *L, const k2t_shape *in, k2t_wspec *spec)
{
    const k2t_cfg *g = &L->cfg;
    /* Output channels before input: the kernel of the forward conv
    ** whose gradient this layer computes. */
    spec[0] = (k2t_wspec){.name = "kernel", .trainable = 1,
                          .shape = kernel_shape(g, g->filters, in_channels(L, in))};
    return add_bias(g, spec, 1, g->filters);
}

static int depthwise_weights(const k2t_layer *L, const k2t_shape *in, k2t_wspec *spec)
{
    const k2t_cfg *g = &L->cfg;
    int64_t ch = in_channels(L, in);
    /* Keras 3 names the variable "kernel" (base_depthwise_conv.py). */
    spec[0] = (k2t_wspec){.name = "depthwise_kernel", .alt = "kernel", .trainable = 1,
                          .shape = kernel_shape(g, ch, g->depth_multiplier)};
    return add_bias(g, spec, 1, ch < 0 ? -1 : ch * g->depth_multiplier);
}

static int separable_weights(const k2t_layer *L, const k2t_shape *in, k2t_wspec *spec)
{
    const k2t_cfg *g = &L->cfg;
    int64_t ch = in_channels(L, in);
    spec[0] = (k2t_wspec){.name = "depthwise_kernel", .trainable = 1,
                          .shape = kernel_shape(g, ch, g->depth_multiplier)};
    k2t_shape pw;
    memset(&pw, 0, sizeof pw);
    pw.ndim = g->rank + 2;
    for (int i = 0; i < g->rank; i++) pw.d[i] = 1;
    pw.d[g->rank] = ch < 0 ? -1 : ch * g->depth_multiplier;
    pw.d[g->rank + 1] = g->filters;
    spec[1] = (k2t_wspec){.name = "pointwise_kernel", .trainable = 1, .shape = pw};
    return add_bias(g, spec, 2, g->filters);
}

/*------------------------------------------------------------ describe */

static void put_dims(k2t_buf *b, const char *key, const int *v, int n)
{
    if (n == 1) k2t_buf_printf(b, ", %s=%d", key, v[0]);
    else k2t_buf_printf(b, ", %s=%dx%d", key, v[0], v[1]);
}

/* kernel, strides, padding, [output_padding], dilation. */
static void put_window(const k2t_cfg *g, k2t_buf *b)
{
    put_dims(b, "kernel", g->kernel, g->rank);
    put_dims(b, "strides", g->strides, g->rank);
    k2t_buf_printf(b, ", padding=%s", k2t_pad_name(g->padding));
    if (g->has_output_padding) put_dims(b, "output_padding", g->output_padding, g->rank);
    put_dims(b, "dilation", g->dilation, g->rank);
}

static void put_tail(const k2t_cfg *g, k2t_buf *b)
{
    k2t_buf_printf(b, ", use_bias=%d, activation=%s", g->use_bias, k2t_act_name(g->act));
    if (g->channels_first) k2t_buf_printf(b, ", data_format=channels_first");
}

static void conv_describe(const k2t_layer *L, k2t_buf *b)
{
    const k2t_cfg *g = &L->cfg;
    k2t_buf_printf(b, "filters=%d", g->filters);
    put_window(g, b);
    k2t_buf_printf(b, ", groups=%d", g->groups);
    put_tail(g, b);
}

static void transpose_describe(const k2t_layer *L, k2t_buf *b)
{
    k2t_buf_printf(b, "filters=%d", L->cfg.filters);
    put_window(&L->cfg, b);
    put_tail(&L->cfg, b);
}

static void depthwise_describe(const k2t_layer *L, k2t_buf *b)
{
    k2t_buf_printf(b, "depth_multiplier=%d", L->cfg.depth_multiplier);
    put_window(&L->cfg, b);
    put_tail(&L->cfg, b);
}

static void separable_describe(const k2t_layer *L, k2t_buf *b)
{
    k2t_buf_printf(b, "filters=%d, ", L->cfg.filters);
    depthwise_describe(L, b);
}

/*--------------------------------------------------------------- torch */

/* Keras (spatial..., I, O) -> PyTorch (O, I, spatial...): Conv, the
** separable pointwise kernel, and ConvTranspose, whose Keras (.., O, I)
** becomes torch's (I, O, ..) by the very same permutation. */
static void tw_oi(const k2t_weight *w, k2t_tw *tw, int transposed)
{
    int n = w->shape.ndim;
    tw->shape = w->shape;
    if (n < 2) return;
    tw->n_perm = n;
    tw->perm[0] = n - 1;
    tw->perm[1] = n - 2;
    for (int i = 0; i < n - 2; i++) tw->perm[2 + i] = i;
    for (int i = 0; i < n; i++) tw->shape.d[i] = w->shape.d[tw->perm[i]];
    if (transposed) {
        tw->keras_axes = "(kh, kw, out, in)";
        tw->torch_axes = "(in, out, kh, kw)";
    } else if (n == 3) {
        tw->keras_axes = "(k, in, out)";
        tw->torch_axes = "(out, in, k)";
    } else {
        tw->keras_axes = "HWIO";
        tw->torch_axes = "OIHW";
    }
}

/* Keras depthwise (spatial..., C, M) -> torch (C*M, 1, spatial...):
** .permute(C, M, spatial...) then the reshape, so that output channel
** c*M+m is input channel c's m-th filter, as in Keras. */
static void tw_depthwise(const k2t_weight *w, k2t_tw *tw)
{
    int n = w->shape.ndim;
    tw->shape = w->shape;
    if (n < 2) return;
    int64_t c = w->shape.d[n - 2], m = w->shape.d[n - 1];
    tw->n_perm = n;
    tw->perm[0] = n - 2;
    tw->perm[1] = n - 1;
    for (int i = 0; i < n - 2; i++) tw->perm[2 + i] = i;
    tw->shape.d[0] = c < 0 || m < 0 ? -1 : c * m;
    tw->shape.d[1] = 1;
    for (int i = 0; i < n - 2; i++) tw->shape.d[2 + i] = w->shape.d[i];
    tw->keras_axes = "(kh, kw, C, M)";
    tw->torch_axes = m == 1 ? "(C, 1, kh, kw), one filter per channel"
                            : "(C*M, 1, kh, kw), output channel c*M+m from input channel c";
}

/* Weights are matched by name, not position: the loader keeps Keras's
** order, and a missing bias shifts nothing that way.  'kind' is 'c'
** (Conv), 't' (ConvTranspose), 'd' (depthwise) or 's' (separable, whose
** torch port is a depthwise and a pointwise Conv2d in a module). */
static int torch_common(const k2t_layer *L, int wi, int kind, k2t_tw *tw)
{
    const k2t_weight *w = &L->w[wi];
    int sep = kind == 's';
    if (!strcmp(w->name, "bias")) {
        tw->suffix = sep ? "pointwise.bias" : "bias";
        tw->shape = w->shape;
        return 0;
    }
    /* Keras 3 calls the depthwise variable "kernel". */
    if (!strcmp(w->name, "depthwise_kernel") || (kind == 'd' && !strcmp(w->name, "kernel"))) {
        tw->suffix = sep ? "depthwise.weight" : "weight";
        tw_depthwise(w, tw);
        return 0;
    }
    if (!strcmp(w->name, "kernel") || !strcmp(w->name, "pointwise_kernel")) {
        tw->suffix = sep ? "pointwise.weight" : "weight";
        tw_oi(w, tw, kind == 't');
        return 0;
    }
    return -1;
}

static int conv_torch(const k2t_layer *L, int wi, k2t_tw *tw)
{
    return torch_common(L, wi, 'c', tw);
}

static int transpose_torch(const k2t_layer *L, int wi, k2t_tw *tw)
{
    return torch_common(L, wi, 't', tw);
}

static int depthwise_torch(const k2t_layer *L, int wi, k2t_tw *tw)
{
    return torch_common(L, wi, 'd', tw);
}

static int separable_torch(const k2t_layer *L, int wi, k2t_tw *tw)
{
    return torch_common(L, wi, 's', tw);
}

/*----------------------------------------------------------- port hazards */

static void conv_hazards(k2t_hz *h)
{
    k2t_hz_window(h, 'c');
    k2t_hz_act(h, h->L->cfg.act);
    if (h->L->cfg.act == K2T_ACT_SOFTMAX) k2t_hz_softmax_out(h);
}

/* Conv2DTranspose: Keras keeps out = in*stride of the full transposed
** convolution F, starting at c = (len(F) - out) // 2 (KERAS-FORMAT 4). */
static void transpose_hazards(k2t_hz *h)
{
    const k2t_cfg *cf = &h->L->cfg;
    const k2t_shape *in = h->in, *o = &h->N->shape;
    if (in && k2t_shape_known(in) && k2t_shape_known(o) && in->ndim == 3 && o->ndim == 3) {
        int p[2], op[2], crop[2], after[2], full[2], out[2], ok = 1, any = 0;
        for (int a = 0; a < 2; a++) {
            int d = cf->dilation[a] ? cf->dilation[a] : 1, s = cf->strides[a];
            full[a] = (int)((in->d[a] - 1) * s + (cf->kernel[a] - 1) * d + 1);
            out[a] = (int)o->d[a];
            crop[a] = full[a] > out[a] ? (full[a] - out[a]) / 2 : 0;
            after[a] = full[a] - out[a] - crop[a];
            p[a] = crop[a], op[a] = crop[a] - after[a];
            if (op[a] < 0 || op[a] >= (s > d ? s : d)) ok = 0;
            if (p[a] || op[a]) any = 1;
        }
        char k[32], s[32], pp[32], oo[32];
        k2t_pair(k, sizeof k, 2, cf->kernel[0], cf->kernel[1]);
        k2t_pair(s, sizeof s, 2, cf->strides[0], cf->strides[1]);
        if (ok && any) {
            k2t_pair(pp, sizeof pp, 2, p[0], p[1]);
            k2t_pair(oo, sizeof oo, 2, op[0], op[1]);
            k2t_hz_say(h, K2T_PIT_PADDING, 0, "Keras keeps rows %d..%d and columns %d..%d of the full %dx%d "
                       "output, as nn.ConvTranspose2d(padding=%s, output_padding=%s) does", crop[0],
                       crop[0] + out[0] - 1, crop[1], crop[1] + out[1] - 1, full[0], full[1], pp, oo);
        } else if (!ok) {
            k2t_hz_say(h, K2T_PIT_PADDING, 1, "'%s' at stride %s: Keras keeps rows %d..%d and columns %d..%d of "
                       "the full %dx%d output; no padding/output_padding of nn.ConvTranspose2d selects that",
                       cf->padding == K2T_PAD_SAME ? "same" : "valid", s, crop[0], crop[0] + out[0] - 1,
                       crop[1], crop[1] + out[1] - 1, full[0], full[1]);
            k2t_hz_code(h, "nn.ConvTranspose2d(%lld, %d, %s, stride=%s, padding=0)", (long long)in->d[2],
                        cf->filters, k, s);
            if (after[0] >= 0 && after[1] >= 0)
                k2t_hz_code(h, "y = y[:, :, %d:%d, %d:%d]", crop[0], crop[0] + out[0], crop[1], crop[1] + out[1]);
            else
                k2t_hz_code(h, "y = F.pad(y, (%d, %d, %d, %d))[:, :, %d:%d, %d:%d]  # zeros (then the bias) past "
                            "the full output", 0, after[1] < 0 ? -after[1] : 0, 0, after[0] < 0 ? -after[0] : 0,
                            crop[0], crop[0] + out[0], crop[1], crop[1] + out[1]);
        }
    }
    k2t_hz_act(h, cf->act);
}

/*--- PyTorch export ---*/

/* The arguments after kernel_size every windowed module shares: stride
** when not 1, padding always, dilation when not 1.  Returns the length. */
static size_t window_args(const k2t_cfg *g, int rank, int ph, int pw, char *buf, size_t n)
{
    char s[64];
    size_t len = 0;
    int st = g->strides[0] != 1 || (rank == 2 && g->strides[1] != 1);
    int dl = g->dilation[0] > 1 || (rank == 2 && g->dilation[1] > 1);
    if (st)
        len += (size_t)snprintf(buf + len, n - len, ", stride=%s",
                                k2t_py_win_str(g->strides, rank, 1, s, sizeof s));
    if (len < n && ph >= 0)
        len += (size_t)snprintf(buf + len, n - len, ", padding=%s",
                                k2t_py_padding(rank, ph, pw, s, sizeof s));
    if (len < n && dl)
        len += (size_t)snprintf(buf + len, n - len, ", dilation=%s",
                                k2t_py_win_str(g->dilation, rank, 1, s, sizeof s));
    return len < n ? len : n - 1;
}

/* Conv1D/Conv2D: nn.Conv1d/2d(in, filters, k, ...). */
static int conv_module(const k2t_layer *L, const k2t_shape *in, int ph, int pw, char *buf, size_t n)
{
    const k2t_cfg *g = &L->cfg;
    const k2t_weight *kw = k2t_layer_weight(L, "kernel");
    int groups = g->groups ? g->groups : 1;
    char k[64];
    long long cin = kw && kw->shape.ndim >= 2 ? (long long)kw->shape.d[kw->shape.ndim - 2] * groups
                                              : in->ndim ? (long long)in->d[in->ndim - 1] : -1;
    size_t len = (size_t)snprintf(buf, n, "nn.Conv%dd(%lld, %d, %s", g->rank, cin, g->filters,
                                  k2t_py_win_str(g->kernel, g->rank, 1, k, sizeof k));
    if (len >= n) return -1;
    len += window_args(g, g->rank, ph, pw, buf + len, n - len);
    if (groups > 1) len += (size_t)snprintf(buf + len, n - len, ", groups=%d", groups);
    if (len < n && !g->use_bias) len += (size_t)snprintf(buf + len, n - len, ", bias=False");
    if (len < n) len += (size_t)snprintf(buf + len, n - len, ")");
    return len < n ? (int)len : -1;
}

/* DepthwiseConv2D: nn.Conv2d(C, C*M, k, ..., groups=C). */
static int depthwise_module(const k2t_layer *L, const k2t_shape *in, int ph, int pw, char *buf,
                            size_t n)
{
    const k2t_cfg *g = &L->cfg;
    const k2t_weight *w = k2t_layer_weight(L, "depthwise_kernel");
    char k[64];
    if (!w) w = k2t_layer_weight(L, "kernel");
    (void)in;
    if (!w || w->shape.ndim != 4) return -1;
    long long C = (long long)w->shape.d[2], M = (long long)w->shape.d[3];
    size_t len = (size_t)snprintf(buf, n, "nn.Conv2d(%lld, %lld, %s", C, C * M,
                                  k2t_py_win_str(g->kernel, 2, 1, k, sizeof k));
    if (len >= n) return -1;
    len += window_args(g, 2, ph, pw, buf + len, n - len);
    if (len < n) len += (size_t)snprintf(buf + len, n - len, ", groups=%lld", C);
    if (len < n && !g->use_bias) len += (size_t)snprintf(buf + len, n - len, ", bias=False");
    if (len < n) len += (size_t)snprintf(buf + len, n - len, ")");
    return len < n ? (int)len : -1;
}

/* SeparableConv2D: the generated file's SeparableConv2d helper class. */
static int separable_module(const k2t_layer *L, const k2t_shape *in, int ph, int pw, char *buf,
                            size_t n)
{
    const k2t_cfg *g = &L->cfg;
    const k2t_weight *w = k2t_layer_weight(L, "depthwise_kernel");
    char k[64];
    (void)in;
    if (!w || w->shape.ndim != 4) return -1;
    size_t len = (size_t)snprintf(buf, n, "SeparableConv2d(%lld, %d, %s", (long long)w->shape.d[2],
                                  g->filters, k2t_py_win_str(g->kernel, 2, 1, k, sizeof k));
    if (len >= n) return -1;
    len += window_args(g, 2, ph, pw, buf + len, n - len);
    if (len < n && w->shape.d[3] != 1)
        len += (size_t)snprintf(buf + len, n - len, ", depth_multiplier=%lld", (long long)w->shape.d[3]);
    if (len < n && !g->use_bias) len += (size_t)snprintf(buf + len, n - len, ", bias=False");
    if (len < n) len += (size_t)snprintf(buf + len, n - len, ")");
    return len < n ? (int)len : -1;
}

/* Conv2DTranspose: nn.ConvTranspose2d with padding 0 (the default, so
** not written): forward() crops as Keras does. */
static int transpose_module(const k2t_layer *L, const k2t_shape *in, int ph, int pw, char *buf,
                            size_t n)
{
    const k2t_cfg *g = &L->cfg;
    const k2t_weight *kw = k2t_layer_weight(L, "kernel");
    char k[64];
    (void)in, (void)ph, (void)pw;
    if (!kw || kw->shape.ndim != 4) return -1;
    size_t len = (size_t)snprintf(buf, n, "nn.ConvTranspose2d(%lld, %d, %s", (long long)kw->shape.d[3],
                                  g->filters, k2t_py_win_str(g->kernel, 2, 1, k, sizeof k));
    if (len >= n) return -1;
    len += window_args(g, 2, -1, -1, buf + len, n - len);
    if (len < n && !g->use_bias) len += (size_t)snprintf(buf + len, n - len, ", bias=False");
    if (len < n) len += (size_t)snprintf(buf + len, n - len, ")");
    return len < n ? (int)len : -1;
}

static k2t_status depthwise_py_init(k2t_py *y, int li, k2t_err *err)
{
    const k2t_layer *L = k2t_py_layer_at(y, li);
    const k2t_weight *w = k2t_layer_weight(L, "depthwise_kernel");
    char mod[600];
    k2t_status st = k2t_py_module(y, li, mod, sizeof mod, err);
    if (!w) w = k2t_layer_weight(L, "kernel");
    if (st != K2T_OK) return st;
    k2t_py_printf(y, "        self.%s = %s  # %s, depth_multiplier %lld\n", k2t_py_attr(y, li), mod,
                  L->class_name, (long long)w->shape.d[3]);
    return K2T_OK;
}

/* The module a SeparableConv2D exports to (a helper class of the file). */
static const char py_helpers_sep[] =
    "class SeparableConv2d(nn.Module):\n"
    "    \"\"\"Keras SeparableConv2D: a depthwise convolution (groups=in_channels, no bias), then\n"
    "    a 1x1 pointwise one with the bias.\"\"\"\n"
    "\n"
    "    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, "
    "dilation=1,\n"
    "                 depth_multiplier=1, bias=True):\n"
    "        super().__init__()\n"
    "        self.depthwise = nn.Conv2d(in_channels, in_channels * depth_multiplier, kernel_size,\n"
    "                                   stride=stride, padding=padding, dilation=dilation,\n"
    "                                   groups=in_channels, bias=False)\n"
    "        self.pointwise = nn.Conv2d(in_channels * depth_multiplier, out_channels, 1, "
    "bias=bias)\n"
    "\n"
    "    def forward(self, x):\n"
    "        return self.pointwise(self.depthwise(x))\n";

static k2t_status separable_py_init(k2t_py *y, int li, k2t_err *err)
{
    const k2t_layer *L = k2t_py_layer_at(y, li);
    char mod[600];
    k2t_status st = k2t_py_module(y, li, mod, sizeof mod, err);
    if (st != K2T_OK) return st;
    k2t_py_helper(y, py_helpers_sep);
    k2t_py_printf(y, "        self.%s = %s  # %s\n", k2t_py_attr(y, li), mod, L->class_name);
    return K2T_OK;
}

static k2t_status transpose_py_init(k2t_py *y, int li, k2t_err *err)
{
    const k2t_layer *L = k2t_py_layer_at(y, li);
    char mod[600];
    k2t_status st = k2t_py_module(y, li, mod, sizeof mod, err);
    if (st != K2T_OK) return st;
    k2t_py_printf(y, "        self.%s = %s  # %s; Keras's cropping in forward()\n",
                  k2t_py_attr(y, li), mod, L->class_name);
    return K2T_OK;
}

/* Conv, depthwise and separable: the module on the (F.pad-ed) input, then
** the fused activation. */
static k2t_status conv_py_forward(k2t_py *y, int i, k2t_err *err)
{
    const k2t_model *m = k2t_py_model(y);
    const k2t_layer *L = k2t_py_layer(y, i);
    const char *v = k2t_py_var(y, i);
    char b[1200];
    k2t_win g;
    k2t_status st = k2t_py_window(y, i, &g, err);
    if (st != K2T_OK) return st;
    if (L->cfg.padding == K2T_PAD_CAUSAL) k2t_py_printf(y, "        # causal: pads only on the left\n");
    k2t_py_printf(y, "        %s = self.%s(%s)\n", v, k2t_py_attr(y, m->nodes[i].layer),
                  k2t_py_module_input(y, i, &g, k2t_py_in(y, i, 0), b, sizeof b));
    k2t_py_put_act(y, v, L->cfg.act);
    return K2T_OK;
}

/* F: the full transposed convolution; Keras keeps out rows from crop on,
** and rows past F are zero (plus the bias). */
static k2t_status transpose_py_forward(k2t_py *y, int i, k2t_err *err)
{
    const k2t_model *m = k2t_py_model(y);
    const k2t_layer *L = k2t_py_layer(y, i);
    const k2t_cfg *c = &L->cfg;
    const char *v = k2t_py_var(y, i), *a = k2t_py_in(y, i, 0), *attr = k2t_py_attr(y, m->nodes[i].layer);
    const k2t_shape *in = k2t_py_in_shape(y, i, 0), *out = k2t_py_shape(y, i);
    int64_t fh = (in->d[0] - 1) * c->strides[0] + (int64_t)(c->kernel[0] - 1) * c->dilation[0] + 1;
    int64_t fw = (in->d[1] - 1) * c->strides[1] + (int64_t)(c->kernel[1] - 1) * c->dilation[1] + 1;
    int64_t oh = out->d[0], ow = out->d[1];
    int64_t ct = fh > oh ? (fh - oh) / 2 : 0, cl = fw > ow ? (fw - ow) / 2 : 0;
    int64_t eh = oh + ct > fh ? oh + ct - fh : 0, ew = ow + cl > fw ? ow + cl - fw : 0;
    int mh = c->strides[0] > c->dilation[0] ? c->strides[0] : c->dilation[0];
    int mw = c->strides[1] > c->dilation[1] ? c->strides[1] : c->dilation[1];
    if (eh >= mh || ew >= mw)
        return k2t_py_fail(L, err, "its output extends past the transposed convolution by "
                           "more than PyTorch's output_padding allows");
    if (eh || ew)
        k2t_py_printf(y, "        %s = self.%s(%s, output_size=(%lld, %lld))  # the full %lldx%lld and "
                      "%lld row(s), %lld column(s) of bias past it, as Keras pads\n", v, attr, a,
                      (long long)(fh + eh), (long long)(fw + ew), (long long)fh, (long long)fw,
                      (long long)eh, (long long)ew);
    else
        k2t_py_printf(y, "        %s = self.%s(%s)  # full %lldx%lld\n", v, attr, a, (long long)fh,
                      (long long)fw);
    if (ct || cl || fh + eh != oh || fw + ew != ow)
        k2t_py_printf(y, "        %s = %s[:, :, %lld:%lld, %lld:%lld]  # Keras's cropping\n", v, v,
                      (long long)ct, (long long)(ct + oh), (long long)cl, (long long)(cl + ow));
    k2t_py_put_act(y, v, c->act);
    return K2T_OK;
}

/*----------------------------------------------------------- execution */

#include "../op.h"

/* Conv1D/Conv2D: the direct kernel (or a GEMM per tile) on Keras's layout,
** also under layout nchw: the executor converts each sample around it
** (no K2T_OPF_NCHW), so the port's layout costs two transposes, not a
** slower kernel; the weights are the port's (k2t_prep_kernel), in Keras's
** layout. */
static k2t_status conv_plan(k2t_step *s, const k2t_plan_ctx *c, k2t_err *err)
{
    const k2t_layer *L = s->L;
    const k2t_cfg *g = &L->cfg;
    if (k2t_plan_win(s, &c->in[0], c->o->emu.pad_torch) != 0)
        return k2t_fail(err, K2T_ESHAPE, "input smaller than the kernel");
    s->groups = g->groups ? g->groups : 1;
    s->cout = g->filters;
    s->cf = g->channels_first; /* channels-last kernel between conversions (k2t_cf_run) */
    s->w = k2t_prep_kernel(L, k2t_layer_weight(L, "kernel"), 0, c->o->emu.no_transpose, &s->own_w);
    if (g->use_bias) s->epi.bias = k2t_layer_weight(L, "bias")->data;
    s->epi.act = g->act;
    s->ws = kern_conv2d_ws(&s->win, s->groups);
    if (s->cf) s->ws = k2t_cf_ws(s, s->ws);
    s->epi_keep = !s->cf && !s->nchw; /* kern_conv2d on the step's own buffers */
    s->epi_res = s->epi_keep;
    s->slice_ok = s->epi_keep && kern_conv2d_direct(&s->win, s->groups, s->cout) ? 1 : 0;
    s->epi_ldy = s->slice_ok;
    int64_t packed = kern_conv2d_packed_size(&s->win, s->groups, s->cout);
    if (packed) {
        s->own_wp = k2t_xmalloc((size_t)packed * sizeof(float));
        kern_conv2d_pack(&s->win, s->groups, s->cout, s->w, s->own_wp);
    }
    return K2T_OK;
}

/* A ZeroPadding2D before the layer: the same windows read from the pad's
** input, its zeros as more padding (the kernels take any pads). */
static void window_fold_pad(k2t_step *s, const int pad[2][2], const k2t_shape *src)
{
    k2t_win *g = &s->win_fold;
    *g = s->win;
    g->ih = (int)src->d[0];
    g->iw = (int)src->d[1];
    g->pt += pad[0][0];
    g->pb += pad[0][1];
    g->pl += pad[1][0];
    g->pr += pad[1][1];
}

/* The direct route's band copy now pads. */
static void conv_fold_pad(k2t_step *s, const int pad[2][2], const k2t_shape *src)
{
    window_fold_pad(s, pad, src);
    int64_t ws = kern_conv2d_ws(&s->win_fold, s->groups);
    if (ws > s->ws) s->ws = ws;
}

static void conv_one(const k2t_step *s, const float *x, float *y, float *ws, const k2t_epi *e)
{
    kern_conv2d(&s->win, s->groups, s->cout, x, 1, s->w, s->own_wp, e, y, ws);
}

static void conv_forward(const k2t_step *s, const k2t_fwd *f)
{
    if (s->cf) k2t_cf_run(s, f, f->g, kern_conv2d_ws(&s->win, s->groups), conv_one);
    else kern_conv2d(&s->win, s->groups, s->cout, f->x[0], f->n, s->w, s->own_wp, f->epi, f->g, f->ws);
}

/* DepthwiseConv2D, and SeparableConv2D's first half. */
static k2t_status depthwise_plan(k2t_step *s, const k2t_plan_ctx *c, k2t_err *err)
{
    const k2t_layer *L = s->L;
    const k2t_cfg *g = &L->cfg;
    if (k2t_plan_win(s, &c->in[0], c->o->emu.pad_torch) != 0)
        return k2t_fail(err, K2T_ESHAPE, "input smaller than the kernel");
    s->mult = g->depth_multiplier ? g->depth_multiplier : 1;
    s->cf = g->channels_first;
    s->w = k2t_prep_kernel(L, k2t_layer_weight(L, "depthwise_kernel"), 0, c->o->emu.no_transpose,
                           &s->own_w);
    if (g->use_bias) s->epi.bias = k2t_layer_weight(L, "bias")->data;
    s->epi.act = g->act;
    if (s->cf && s->L->op == K2T_OP_DEPTHWISE) s->ws = k2t_cf_ws(s, 0);
    s->epi_keep = !s->cf && !s->nchw; /* kern_depthwise (separable: kern_dense) on its buffers */
    /* the AVX-512 depthwise kernel by output rows (not separable's per-sample passes) */
    s->slice_ok = s->epi_keep && s->mult == 1 && kern_simd() && L->op == K2T_OP_DEPTHWISE ? 2 : 0;
    return K2T_OK;
}

static void depthwise_one(const k2t_step *s, const float *x, float *y, float *ws, const k2t_epi *e)
{
    (void)ws;
    kern_depthwise(&s->win, s->mult, x, 1, s->w, e, y);
}

static void depthwise_forward(const k2t_step *s, const k2t_fwd *f)
{
    if (s->cf) k2t_cf_run(s, f, f->g, 0, depthwise_one);
    else kern_depthwise(&s->win, s->mult, f->x[0], f->n, s->w, f->epi, f->g);
}

/* SeparableConv2D: the depthwise pass of one sample into the workspace,
** then the pointwise kernel as a 1x1 convolution (a Dense over rows). */
static k2t_status separable_plan(k2t_step *s, const k2t_plan_ctx *c, k2t_err *err)
{
    k2t_status st = depthwise_plan(s, c, err);
    if (st) return st;
    s->w2 = k2t_prep_kernel(s->L, k2t_layer_weight(s->L, "pointwise_kernel"), 0,
                            c->o->emu.no_transpose, &s->own_w2);
    s->cout = s->L->cfg.filters;
    /* the depthwise result of one sample */
    s->ws = (int64_t)s->win.oh * s->win.ow * s->win.c * s->mult;
    if (s->cf) s->ws = k2t_cf_ws(s, s->ws);
    return K2T_OK;
}

/* One channels-last sample: the depthwise pass into ws, then the
** pointwise kernel as a Dense over its rows. */
static void separable_one(const k2t_step *s, const float *x, float *y, float *ws, const k2t_epi *e)
{
    k2t_epi none = {0};
    none.act = K2T_ACT_LINEAR;
    kern_depthwise(&s->win, s->mult, x, 1, s->w, &none, ws);
    kern_dense(ws, (int64_t)s->win.oh * s->win.ow, s->win.c * s->mult, s->w2, s->cout, e, y);
}

static void separable_forward(const k2t_step *s, const k2t_fwd *f)
{
    const k2t_step *p = k2t_step_in(s, 0);
    k2t_epi none = {0};
    none.act = K2T_ACT_LINEAR;
    int64_t rows = (int64_t)s->win.oh * s->win.ow;
    int cm = s->win.c * s->mult;
    if (s->cf) {
        k2t_cf_run(s, f, f->g, rows * cm, separable_one);
        return;
    }
    for (int i = 0; i < f->n; i++) {
        const float *xi = f->x[0] + (int64_t)i * p->numel;
        float *gi = f->g + (int64_t)i * s->numel;
        kern_depthwise(&s->win, s->mult, xi, 1, s->w, &none, f->ws);
        kern_dense(f->ws, rows, cm, s->w2, s->cout, f->epi, gi);
    }
}

/* Conv2DTranspose: Keras's geometry (as for the other convolutions, under
** layout nchw the executor converts each sample around it; a channels_first layer
** converts each sample itself, in its workspace: input, then output,
** after the kernel's scratch). */
static k2t_status transpose_plan(k2t_step *s, const k2t_plan_ctx *c, k2t_err *err)
{
    const k2t_layer *L = s->L;
    const k2t_cfg *cf = &L->cfg;
    const k2t_shape *in = &c->in[0];
    k2t_win *g = &s->win;
    (void)err;
    int h0 = cf->channels_first ? 1 : 0; /* where H is */
    memset(g, 0, sizeof *g);
    g->ih = (int)in->d[h0], g->iw = (int)in->d[h0 + 1], g->c = (int)in->d[cf->channels_first ? 0 : 2];
    g->kh = cf->kernel[0], g->kw = cf->kernel[1], g->sh = cf->strides[0], g->sw = cf->strides[1];
    g->dh = cf->dilation[0] ? cf->dilation[0] : 1, g->dw = cf->dilation[1] ? cf->dilation[1] : 1;
    s->cout = cf->filters;
    /* Keras: F has (in-1)*s + k_eff; the output starts at
    ** c = max(F - out, 0) // 2 (KERAS-FORMAT 4). */
    int64_t fh = (int64_t)(g->ih - 1) * g->sh + (int64_t)(g->kh - 1) * g->dh + 1;
    int64_t fw = (int64_t)(g->iw - 1) * g->sw + (int64_t)(g->kw - 1) * g->dw + 1;
    int64_t oh = s->shape.d[h0], ow = s->shape.d[h0 + 1];
    s->crop_t = (int)(fh > oh ? (fh - oh) / 2 : 0);
    s->crop_l = (int)(fw > ow ? (fw - ow) / 2 : 0);
    s->w = k2t_prep_kernel(L, k2t_layer_weight(L, "kernel"), 0, c->o->emu.no_transpose, &s->own_w);
    if (cf->use_bias) s->epi.bias = k2t_layer_weight(L, "bias")->data;
    s->epi.act = cf->act;
    s->ws = kern_conv2d_transpose_ws(g, s->cout);
    s->cf = cf->channels_first;
    if (s->cf) s->ws += (int64_t)g->ih * g->iw * g->c + s->numel;
    s->epi_keep = !s->cf;
    return K2T_OK;
}

static void transpose_forward(const k2t_step *s, const k2t_fwd *f)
{
    const k2t_win *g = &s->win;
    if (!s->cf) {
        kern_conv2d_transpose(g, s->cout, (int)s->shape.d[0], (int)s->shape.d[1], s->crop_t,
                              s->crop_l, f->x[0], f->n, s->w, f->epi, f->g, f->ws);
        return;
    }
    int oh = (int)s->shape.d[1], ow = (int)s->shape.d[2];
    int64_t ihw = (int64_t)g->ih * g->iw, in_n = ihw * g->c;
    float *xt = f->ws + kern_conv2d_transpose_ws(g, s->cout), *yt = xt + in_n;
    for (int i = 0; i < f->n; i++) {
        kern_to_nhwc(f->x[0] + (int64_t)i * in_n, 1, g->c, ihw, xt);
        kern_conv2d_transpose(g, s->cout, oh, ow, s->crop_t, s->crop_l, xt, 1, s->w, f->epi, yt,
                              f->ws);
        kern_to_nchw(yt, 1, (int64_t)oh * ow, s->cout, f->g + (int64_t)i * s->numel);
    }
}

/*---------------------------------------------------------------- defs */

static const char *const conv_classes[] = {"Conv1D", "Conv2D", "Convolution1D", "Convolution2D",
                                           NULL};
static const char *const transpose_classes[] = {"Conv2DTranspose", "Convolution2DTranspose",
                                                NULL};
static const char *const depthwise_classes[] = {"DepthwiseConv2D", NULL};
static const char *const separable_classes[] = {"SeparableConv2D", "SeparableConvolution2D",
                                                NULL};

/* The PyTorch modules that compute these layers (compare pairs a port's
** modules with Keras layers by them). */
static const char *const conv_modules[] = {"Conv1d", "Conv2d", "Conv3d", "LazyConv1d", "LazyConv2d", NULL};
static const char *const convt_modules[] = {"ConvTranspose1d", "ConvTranspose2d", NULL};
static const char *const dw_modules[] = {"Conv2d", "LazyConv2d", NULL};
static const char *const sep_modules[] = {"Conv2d", "SeparableConv2d", NULL};

const k2t_op_def k2t_op_conv = {
    .op = K2T_OP_CONV, .torch_modules = conv_modules, .classes = conv_classes, .min_in = 1,
    .max_in = 1, .parse = conv_parse, .infer = conv_infer, .weights = conv_weights,
    .describe = conv_describe, .torch = conv_torch, .hazards = conv_hazards,
    .flags = K2T_OPF_MODULE | K2T_OPF_WINDOW | K2T_OPF_GEMM, .module = conv_module,
    .py_forward = conv_py_forward, .plan = conv_plan, .forward = conv_forward,
    .fold_pad = conv_fold_pad,
};

const k2t_op_def k2t_op_conv_transpose = {
    .op = K2T_OP_CONV_TRANSPOSE, .torch_modules = convt_modules, .classes = transpose_classes,
    .min_in = 1, .max_in = 1, .parse = transpose_parse, .infer = transpose_infer,
    .weights = transpose_weights, .describe = transpose_describe, .torch = transpose_torch,
    .hazards = transpose_hazards, .flags = K2T_OPF_MODULE | K2T_OPF_GEMM,
    .module = transpose_module, .py_init = transpose_py_init, .py_forward = transpose_py_forward,
    .plan = transpose_plan, .forward = transpose_forward,
};

const k2t_op_def k2t_op_depthwise = {
    .op = K2T_OP_DEPTHWISE, .torch_modules = dw_modules, .classes = depthwise_classes, .min_in = 1,
    .max_in = 1, .parse = depthwise_parse, .infer = depthwise_infer, .weights = depthwise_weights,
    .describe = depthwise_describe, .torch = depthwise_torch, .hazards = conv_hazards,
    .flags = K2T_OPF_MODULE | K2T_OPF_WINDOW | K2T_OPF_GEMM,
    .module = depthwise_module, .py_init = depthwise_py_init, .py_forward = conv_py_forward,
    .plan = depthwise_plan, .forward = depthwise_forward, .fold_pad = window_fold_pad,
};

const k2t_op_def k2t_op_separable = {
    .op = K2T_OP_SEPARABLE, .torch_modules = sep_modules, .classes = separable_classes, .min_in = 1,
    .max_in = 1, .parse = separable_parse, .infer = separable_infer, .weights = separable_weights,
    .describe = separable_describe, .torch = separable_torch, .hazards = conv_hazards,
    .flags = K2T_OPF_MODULE | K2T_OPF_WINDOW | K2T_OPF_GEMM,
    .module = separable_module, .py_init = separable_py_init, .py_forward = conv_py_forward,
    .plan = separable_plan, .forward = separable_forward, .fold_pad = window_fold_pad,
};
