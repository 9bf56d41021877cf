/*
** preprocessing.c -- Keras's preprocessing layers that live inside a model:
** Normalization, Resizing and CenterCrop.
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
** Resizing(height, width, interpolation) is Keras 2.6+'s tf.image.resize
** without antialiasing: bilinear and nearest with half-pixel centers,
** source coordinate (i + 0.5) * in/out - 0.5 (bilinear; its floor and ceil
** clamped to the image) and floor((i + 0.5) * in/out) (nearest).
** PyTorch's F.interpolate(mode="bilinear", align_corners=False) computes
** the same bilinear; its mode="nearest" is floor(i * in/out), a pixel off
** where Keras's is not: the half-pixel nearest is mode="nearest-exact".
** crop_to_aspect_ratio, pad_to_aspect_ratio, antialias and the other
** interpolations are kept inspectable but not executed.
**
** CenterCrop(height, width) keeps the centre window, starting at
** (in - out) // 2 on each axis; an input smaller than the window (which
** Keras resizes) is refused.  Both take data_format.
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
    const k2t_layer *L = k2t_py_layer(y, i);
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

/*---------------------------------------------- Resizing and CenterCrop */

/* cfg.size = (height, width), cfg.bilinear: the interpolation (Resizing),
** cfg.channels_first: data_format. */
static k2t_status image_size_parse(k2t_layer *L, json_t *c, k2t_err *err)
{
    k2t_status st;
    if ((st = cfg_require(c, "height", err)) || (st = cfg_int(c, "height", 0, &L->cfg.size[0], err)) ||
        (st = cfg_require(c, "width", err)) || (st = cfg_int(c, "width", 0, &L->cfg.size[1], err)) ||
        (st = cfg_channels_first(c, &L->cfg.channels_first, err)))
        return st;
    if (L->cfg.size[0] <= 0 || L->cfg.size[1] <= 0)
        return k2t_fail(err, K2T_EFORMAT, "config keys 'height' and 'width' must be positive, got %d and %d",
                        L->cfg.size[0], L->cfg.size[1]);
    return K2T_OK;
}

static k2t_status resizing_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    const char *ip;
    int crop = 0, pad = 0, aa = 0;
    k2t_status st;
    (void)m;
    if ((st = image_size_parse(L, c, err)) || (st = cfg_str(c, "interpolation", "bilinear", &ip, err)) ||
        (st = cfg_bool(c, "crop_to_aspect_ratio", 0, &crop, err)) ||
        (st = cfg_bool(c, "pad_to_aspect_ratio", 0, &pad, err)) || (st = cfg_bool(c, "antialias", 0, &aa, err)))
        return st;
    L->cfg.bilinear = !strcmp(ip, "bilinear");
    if (!L->cfg.bilinear && strcmp(ip, "nearest"))
        k2t_set_unsupported(L, "Resizing interpolation '%s' is not supported (bilinear and nearest are)", ip);
    if (crop) k2t_set_unsupported(L, "Resizing with crop_to_aspect_ratio=True is not supported");
    if (pad) k2t_set_unsupported(L, "Resizing with pad_to_aspect_ratio=True is not supported");
    if (aa) k2t_set_unsupported(L, "Resizing with antialias=True is not supported");
    return K2T_OK;
}

static k2t_status center_crop_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    (void)m;
    return image_size_parse(L, c, err);
}

/* An image (H, W, C), or (C, H, W) channels first; h is H's index. */
static k2t_status image_infer(const k2t_layer *L, const k2t_shape *in, int n_in, k2t_shape *out, int crop,
                              k2t_err *err)
{
    int h = L->cfg.channels_first ? 1 : 0;
    if (n_in != 1) return k2t_fail(err, K2T_ESHAPE, "expects 1 input, got %d", n_in);
    if (in->ndim != 3)
        return k2t_fail(err, K2T_ESHAPE, "expects an image %s per sample, got %d dimensions",
                        L->cfg.channels_first ? "(C, H, W)" : "(H, W, C)", in->ndim);
    for (int i = 0; crop && i < 2; i++)
        if (in->d[h + i] >= 0 && in->d[h + i] < L->cfg.size[i])
            return k2t_fail(err, K2T_EUNSUPPORTED, "a %lldx%lld input is smaller than the %dx%d crop (Keras "
                            "resizes it first; k2t does not)", (long long)in->d[h], (long long)in->d[h + 1],
                            L->cfg.size[0], L->cfg.size[1]);
    *out = *in;
    out->d[h] = L->cfg.size[0];
    out->d[h + 1] = L->cfg.size[1];
    return K2T_OK;
}

static k2t_status resizing_infer(const k2t_layer *L, const k2t_shape *in, int n_in, k2t_shape *out, k2t_err *err)
{
    return image_infer(L, in, n_in, out, 0, err);
}

static k2t_status center_crop_infer(const k2t_layer *L, const k2t_shape *in, int n_in, k2t_shape *out,
                                    k2t_err *err)
{
    return image_infer(L, in, n_in, out, 1, err);
}

static void resizing_describe(const k2t_layer *L, k2t_buf *b)
{
    k2t_buf_printf(b, "height=%d, width=%d, interpolation=%s%s", L->cfg.size[0], L->cfg.size[1],
                   L->cfg.bilinear ? "bilinear" : "nearest", L->cfg.channels_first ? ", channels_first" : "");
}

static void center_crop_describe(const k2t_layer *L, k2t_buf *b)
{
    k2t_buf_printf(b, "height=%d, width=%d%s", L->cfg.size[0], L->cfg.size[1],
                   L->cfg.channels_first ? ", channels_first" : "");
}

/* The element (y, x, c) of an image (H, W, C), or (C, H, W). */
static inline int64_t px(int cf, int64_t H, int64_t W, int64_t C, int64_t y, int64_t x, int64_t c)
{
    return cf ? (c * H + y) * W + x : (y * W + x) * C + c;
}

/* Image geometry of step s: input (H, W), output (OH, OW), channels C. */
static void image_dims(const k2t_step *s, int64_t *H, int64_t *W, int64_t *OH, int64_t *OW, int64_t *C)
{
    const k2t_shape *in = &k2t_step_in(s, 0)->shape;
    int cf = s->L->cfg.channels_first, h = cf ? 1 : 0;
    *H = in->d[h], *W = in->d[h + 1], *C = in->d[cf ? 0 : 2];
    *OH = s->shape.d[h], *OW = s->shape.d[h + 1];
}

/* TF's half-pixel source index along one axis: bilinear's (lo, hi, frac),
** nearest's lo. */
static void resize_src(int64_t i, int64_t in, int64_t out, int bilinear, int64_t *lo, int64_t *hi, float *fr)
{
    float scale = (float)in / (float)out;
    if (!bilinear) {
        int64_t k = (int64_t)floorf(((float)i + 0.5f) * scale);
        *lo = *hi = k < in - 1 ? k : in - 1;
        *fr = 0.0f;
        return;
    }
    float v = ((float)i + 0.5f) * scale - 0.5f, f = floorf(v);
    *lo = f > 0 ? (int64_t)f : 0;
    *hi = (int64_t)ceilf(v) < in - 1 ? (int64_t)ceilf(v) : in - 1;
    if (*hi < 0) *hi = 0;
    *fr = v - f;
}

static void resizing_forward(const k2t_step *s, const k2t_fwd *f)
{
    int64_t H, W, OH, OW, C;
    int cf = s->L->cfg.channels_first, bl = s->L->cfg.bilinear;
    image_dims(s, &H, &W, &OH, &OW, &C);
    int64_t per = H * W * C;
    for (int n = 0; n < f->n; n++) {
        const float *x = f->x[0] + n * per;
        float *y = f->y + (int64_t)n * s->numel;
        for (int64_t oy = 0; oy < OH; oy++) {
            int64_t y0, y1, x0, x1;
            float fy, fx;
            resize_src(oy, H, OH, bl, &y0, &y1, &fy);
            for (int64_t ox = 0; ox < OW; ox++) {
                resize_src(ox, W, OW, bl, &x0, &x1, &fx);
                for (int64_t c = 0; c < C; c++) {
                    float tl = x[px(cf, H, W, C, y0, x0, c)], tr = x[px(cf, H, W, C, y0, x1, c)];
                    float bl_ = x[px(cf, H, W, C, y1, x0, c)], br = x[px(cf, H, W, C, y1, x1, c)];
                    float top = tl + (tr - tl) * fx, bot = bl_ + (br - bl_) * fx;
                    y[px(cf, OH, OW, C, oy, ox, c)] = top + (bot - top) * fy;
                }
            }
        }
    }
}

static void center_crop_forward(const k2t_step *s, const k2t_fwd *f)
{
    int64_t H, W, OH, OW, C;
    int cf = s->L->cfg.channels_first;
    image_dims(s, &H, &W, &OH, &OW, &C);
    int64_t t = (H - OH) / 2, l = (W - OW) / 2, per = H * W * C;
    for (int n = 0; n < f->n; n++) {
        const float *x = f->x[0] + n * per;
        float *y = f->y + (int64_t)n * s->numel;
        for (int64_t c = 0; c < (cf ? C : 1); c++)
            for (int64_t oy = 0; oy < OH; oy++) {
                int64_t run = cf ? OW : OW * C;
                memcpy(y + px(cf, OH, OW, C, oy, 0, c), x + px(cf, H, W, C, oy + t, l, c),
                       (size_t)run * sizeof(float));
            }
    }
}

static void resizing_hazards(k2t_hz *h)
{
    const k2t_cfg *g = &h->L->cfg;
    if (g->bilinear) {
        k2t_hz_say(h, K2T_PIT_PADDING, 0, "bilinear resizing with half-pixel centers and no antialiasing (Keras "
                   "2.6+'s tf.image.resize): F.interpolate with align_corners=False computes the same");
        k2t_hz_code(h, "x = F.interpolate(x, size=(%d, %d), mode=\"bilinear\", align_corners=False)", g->size[0],
                    g->size[1]);
    } else {
        k2t_hz_say(h, K2T_PIT_PADDING, 1, "nearest resizing picks source pixel floor((i + 0.5) * in/out) "
                   "(half-pixel centers); F.interpolate(mode=\"nearest\") picks floor(i * in/out), one pixel off "
                   "where the scale is not an integer");
        k2t_hz_code(h, "x = F.interpolate(x, size=(%d, %d), mode=\"nearest-exact\")", g->size[0], g->size[1]);
    }
}

/* The module holds images (N, C, H, W). */
static k2t_status resizing_py_forward(k2t_py *y, int i, k2t_err *err)
{
    const k2t_layer *L = k2t_py_layer(y, i);
    const char *v = k2t_py_var(y, i), *a = k2t_py_in(y, i, 0);
    (void)err;
    k2t_py_printf(y, "        %s = F.interpolate(%s, size=(%d, %d), mode=\"%s\"%s)  # TF's half-pixel %s\n", v, a,
                  L->cfg.size[0], L->cfg.size[1], L->cfg.bilinear ? "bilinear" : "nearest-exact",
                  L->cfg.bilinear ? ", align_corners=False" : "", L->cfg.bilinear ? "bilinear" : "nearest");
    return K2T_OK;
}

static k2t_status center_crop_py_forward(k2t_py *y, int i, k2t_err *err)
{
    const k2t_layer *L = k2t_py_layer(y, i);
    const k2t_shape *in = k2t_py_in_shape(y, i, 0);
    const char *v = k2t_py_var(y, i), *a = k2t_py_in(y, i, 0);
    if (!in || in->ndim != 3) return k2t_py_fail(L, err, "CenterCrop of an input of unknown size");
    int h = L->cfg.channels_first ? 1 : 0;
    int64_t t = (in->d[h] - L->cfg.size[0]) / 2, l = (in->d[h + 1] - L->cfg.size[1]) / 2;
    k2t_py_printf(y, "        %s = %s[:, :, %lld:%lld, %lld:%lld]  # the centre window\n", v, a, (long long)t,
                  (long long)(t + L->cfg.size[0]), (long long)l, (long long)(l + L->cfg.size[1]));
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

static const char *const resizing_classes[] = {"Resizing", NULL};
static const char *const center_crop_classes[] = {"CenterCrop", NULL};

const k2t_op_def k2t_op_resizing = {
    .op = K2T_OP_RESIZING, .classes = resizing_classes, .min_in = 1, .max_in = 1, .parse = resizing_parse,
    .infer = resizing_infer, .describe = resizing_describe, .hazards = resizing_hazards,
    .forward = resizing_forward, .py_forward = resizing_py_forward,
};

const k2t_op_def k2t_op_center_crop = {
    .op = K2T_OP_CENTER_CROP, .classes = center_crop_classes, .min_in = 1, .max_in = 1,
    .parse = center_crop_parse, .infer = center_crop_infer, .describe = center_crop_describe,
    .forward = center_crop_forward, .py_forward = center_crop_py_forward,
};
