/*
** reshape.c -- layers that move elements without arithmetic on them
** (Flatten, Reshape, Permute, ZeroPadding2D, Cropping2D, UpSampling2D),
** plus Rescaling, the one elementwise affine map in the family.
**
** Flatten is a row-major reshape of the NHWC tensor; with
** data_format=channels_first Keras first transposes to channels-last,
** so the element order is always H, W, C, which is what a PyTorch port
** must undo before its Linear.  Reshape allows one -1 and wants element
** counts to match; Permute takes 1-based dims that exclude the batch.
** Padding and cropping accept Keras's three spellings: n, [h, w], or
** [[top, bottom], [left, right]].
*/
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../internal.h"
#include "../py.h"

static k2t_status one_input(const k2t_shape *in, int n_in, k2t_err *err)
{
    if (n_in != 1) return k2t_fail(err, K2T_ESHAPE, "expects 1 input, got %d", n_in);
    return k2t_shape_check(in, "input", err);
}

/*-------------------------------------------------------------- Flatten */

static k2t_status flatten_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_status st = cfg_channels_first(c, &L->cfg.channels_first, err);
    (void)m;
    return st;
}

static k2t_status flatten_infer(const k2t_layer *L, const k2t_shape *in, int n_in,
                                k2t_shape *out, k2t_err *err)
{
    k2t_status st = one_input(in, n_in, err);
    (void)L;
    if (st) return st;
    /* (batch,) flattens to (batch, 1): a scalar sample is one element. */
    *out = (k2t_shape){.ndim = 1, .d = {k2t_shape_numel(in)}};
    return K2T_OK;
}

static void format_describe(const k2t_layer *L, k2t_buf *b)
{
    if (L->cfg.channels_first) k2t_buf_printf(b, "data_format=channels_first");
}

/*-------------------------------------------------------------- Reshape */

static k2t_status reshape_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    json_t *v = json_object_get(c, "target_shape");
    int n_unknown = 0;
    k2t_status st;
    (void)m;
    if ((st = cfg_require(c, "target_shape", err))) return st;
    if (!json_is_array(v) || json_array_size(v) > K2T_MAX_DIMS)
        return k2t_fail(err, K2T_EFORMAT, "config key 'target_shape' must be a list of at most "
                        "%d dimensions", K2T_MAX_DIMS);
    g->n_target = (int)json_array_size(v);
    for (int i = 0; i < g->n_target; i++) {
        json_t *e = json_array_get(v, (size_t)i);
        double r = json_number_value(e); /* 0 for a non-number */
        json_int_t x = 0;                /* 0: not a valid entry */
        if (json_is_null(e)) x = -1;     /* Keras 3 may write None for -1 */
        else if (json_is_integer(e)) x = json_integer_value(e);
        else if (json_is_real(e) && r >= -1 && r <= (double)K2T_MAX_NUMEL && (double)(json_int_t)r == r)
            x = (json_int_t)r;
        if (x != -1 && (x < 1 || x > K2T_MAX_NUMEL))
            return k2t_fail(err, K2T_EFORMAT, "config key 'target_shape' entry %d must be -1 or "
                            "1..%lld", i, (long long)K2T_MAX_NUMEL);
        if (x == -1 && ++n_unknown > 1)
            return k2t_fail(err, K2T_EFORMAT, "config key 'target_shape' may hold only one -1");
        g->target[i] = x;
    }
    return K2T_OK;
}

static const char *target_str(const k2t_cfg *g, char *buf, size_t n)
{
    size_t len = 0;
    len += (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < g->n_target && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%lld", i ? ", " : "", (long long)g->target[i]);
    if (len < n) snprintf(buf + len, n - len, "%s)", g->n_target == 1 ? "," : "");
    return buf;
}

static k2t_status reshape_infer(const k2t_layer *L, const k2t_shape *in, int n_in,
                                k2t_shape *out, k2t_err *err)
{
    const k2t_cfg *g = &L->cfg;
    char a[160], b[160];
    int64_t known = 1, n = k2t_shape_numel(in);
    int hole = -1;
    k2t_status st = one_input(in, n_in, err);
    if (st) return st;
    memset(out, 0, sizeof *out);
    out->ndim = g->n_target;
    for (int i = 0; i < g->n_target; i++) {
        out->d[i] = g->target[i];
        if (g->target[i] < 0) hole = i;
        else if (known <= K2T_MAX_NUMEL) known *= g->target[i]; /* both <= 2^31: no wrap */
    }
    if (n < 0) return k2t_shape_check(out, "output", err); /* a None dim: Keras checks at run time */
    if (hole >= 0 && known > 0 && known <= n && n % known == 0) {
        out->d[hole] = n / known;
        return K2T_OK;
    }
    if (hole < 0 && known == n) return K2T_OK;
    return k2t_fail(err, K2T_ESHAPE, "cannot reshape input %s (%lld elements) into "
                    "target_shape %s", k2t_shape_str(in, 0, a, sizeof a), (long long)n,
                    target_str(g, b, sizeof b));
}

static void reshape_describe(const k2t_layer *L, k2t_buf *b)
{
    char buf[200];
    k2t_buf_printf(b, "target_shape=%s", target_str(&L->cfg, buf, sizeof buf));
}

/*-------------------------------------------------------------- Permute */

static k2t_status permute_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    int seen[K2T_MAX_DIMS + 1] = {0};
    k2t_status st;
    (void)m;
    if ((st = cfg_require(c, "dims", err)) ||
        (st = cfg_int_list(c, "dims", g->dims, K2T_MAX_DIMS, &g->n_dims, err)))
        return st;
    for (int i = 0; i < g->n_dims; i++) {
        int d = g->dims[i];
        if (d < 1 || d > g->n_dims || seen[d]++)
            return k2t_fail(err, K2T_EFORMAT, "config key 'dims' must be a permutation of "
                            "1..%d (the batch is not counted), got %d at position %d",
                            g->n_dims, d, i);
    }
    return K2T_OK;
}

static k2t_status permute_infer(const k2t_layer *L, const k2t_shape *in, int n_in,
                                k2t_shape *out, k2t_err *err)
{
    const k2t_cfg *g = &L->cfg;
    char buf[160];
    k2t_status st = one_input(in, n_in, err);
    if (st) return st;
    if (in->ndim != g->n_dims)
        return k2t_fail(err, K2T_ESHAPE, "dims has %d entries but the input %s has %d dimensions",
                        g->n_dims, k2t_shape_str(in, 0, buf, sizeof buf), in->ndim);
    *out = *in;
    for (int i = 0; i < g->n_dims; i++) out->d[i] = in->d[g->dims[i] - 1];
    return K2T_OK;
}

static void permute_describe(const k2t_layer *L, k2t_buf *b)
{
    k2t_buf_printf(b, "dims=(");
    for (int i = 0; i < L->cfg.n_dims; i++)
        k2t_buf_printf(b, "%s%d", i ? ", " : "", L->cfg.dims[i]);
    k2t_buf_printf(b, "%s)", L->cfg.n_dims == 1 ? "," : "");
}

/*------------------------------------------------- ZeroPadding2D, Cropping2D */

/* A non-negative int from a JSON number that holds one (2 or 2.0), else -1. */
static int count_of(json_t *e)
{
    double r = json_number_value(e);
    if (!json_is_number(e) || r < 0 || r > INT_MAX || (double)(int)r != r) return -1;
    return (int)r;
}

/* n means (n, n); [a, b] is itself. */
static int pair_of(json_t *e, int out[2])
{
    if (json_is_array(e) && json_array_size(e) == 2) {
        out[0] = count_of(json_array_get(e, 0));
        out[1] = count_of(json_array_get(e, 1));
    } else {
        out[0] = out[1] = count_of(e);
    }
    return out[0] >= 0 && out[1] >= 0;
}

/* n, [h, w] or [[top, bottom], [left, right]] into pad[2][2], all >= 0. */
static k2t_status parse_pairs(json_t *c, const char *key, int def, int pad[2][2], k2t_err *err)
{
    json_t *v = json_object_get(c, key);
    int ok;
    if (!v || json_is_null(v)) {
        pad[0][0] = pad[0][1] = pad[1][0] = pad[1][1] = def;
        return K2T_OK;
    }
    if (json_is_array(v) && json_array_size(v) == 1) v = json_array_get(v, 0);
    if (json_is_array(v))
        ok = json_array_size(v) == 2 && pair_of(json_array_get(v, 0), pad[0]) &&
             pair_of(json_array_get(v, 1), pad[1]);
    else
        ok = count_of(v) >= 0 && pair_of(v, pad[0]) && pair_of(v, pad[1]);
    if (ok) return K2T_OK;
    char d[80];
    char *s = json_dumps(json_object_get(c, key), JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(d, sizeof d, "%.60s", s ? s : "?");
    free(s);
    return k2t_fail(err, K2T_EFORMAT, "config key '%s' must be an integer, a list of 2 integers "
                    "or a list of 2 pairs, all >= 0, got %s", key, d);
}

static k2t_status spatial_format(k2t_layer *L, json_t *c, k2t_err *err)
{
    k2t_status st = cfg_channels_first(c, &L->cfg.channels_first, err);
    if (st) return st;
    L->cfg.rank = 2;
    return K2T_OK;
}

static k2t_status zeropad_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_status st = parse_pairs(c, "padding", 1, L->cfg.pad, err);
    (void)m;
    return st ? st : spatial_format(L, c, err);
}

static k2t_status crop_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_status st = parse_pairs(c, "cropping", 0, L->cfg.pad, err);
    (void)m;
    return st ? st : spatial_format(L, c, err);
}

/* The index of H in a 3-D per-sample input (W follows). */
static k2t_status spatial_input(const k2t_layer *L, const k2t_shape *in, int n_in, int *h,
                                k2t_err *err)
{
    char buf[160];
    k2t_status st = one_input(in, n_in, err);
    if (st) return st;
    if (in->ndim != 3)
        return k2t_fail(err, K2T_ESHAPE, "expects a 3-dimensional input %s per sample, got %s",
                        L->cfg.channels_first ? "(C, H, W)" : "(H, W, C)",
                        k2t_shape_str(in, 0, buf, sizeof buf));
    *h = L->cfg.channels_first ? 1 : 0;
    return K2T_OK;
}

static k2t_status zeropad_infer(const k2t_layer *L, const k2t_shape *in, int n_in,
                                k2t_shape *out, k2t_err *err)
{
    int h;
    k2t_status st = spatial_input(L, in, n_in, &h, err);
    if (st) return st;
    *out = *in;
    for (int i = 0; i < 2; i++)
        if (in->d[h + i] >= 0) out->d[h + i] += (int64_t)L->cfg.pad[i][0] + L->cfg.pad[i][1];
    return k2t_shape_check(out, "output", err);
}

static k2t_status crop_infer(const k2t_layer *L, const k2t_shape *in, int n_in, k2t_shape *out,
                             k2t_err *err)
{
    static const char *const what[2] = {"rows", "columns"};
    int h;
    k2t_status st = spatial_input(L, in, n_in, &h, err);
    if (st) return st;
    *out = *in;
    for (int i = 0; i < 2; i++) {
        int64_t cut = (int64_t)L->cfg.pad[i][0] + L->cfg.pad[i][1];
        if (in->d[h + i] < 0) continue;
        if (cut >= in->d[h + i])
            return k2t_fail(err, K2T_ESHAPE, "cropping %d+%d of the %lld %s leaves nothing",
                            L->cfg.pad[i][0], L->cfg.pad[i][1], (long long)in->d[h + i], what[i]);
        out->d[h + i] -= cut;
    }
    return K2T_OK;
}

static void pairs_describe(const k2t_layer *L, const char *key, k2t_buf *b)
{
    const int (*p)[2] = (const int (*)[2])L->cfg.pad;
    k2t_buf_printf(b, "%s=((%d, %d), (%d, %d))", key, p[0][0], p[0][1], p[1][0], p[1][1]);
    if (L->cfg.channels_first) k2t_buf_printf(b, ", data_format=channels_first");
}

static void zeropad_describe(const k2t_layer *L, k2t_buf *b)
{
    pairs_describe(L, "padding", b);
}

static void crop_describe(const k2t_layer *L, k2t_buf *b)
{
    pairs_describe(L, "cropping", b);
}

/*--------------------------------------------------------- UpSampling2D */

static k2t_status upsample_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    const char *interp;
    k2t_status st;
    (void)m;
    if ((st = cfg_ints(c, "size", 2, 2, g->size, err)) ||
        (st = cfg_str(c, "interpolation", "nearest", &interp, err)) ||
        (st = spatial_format(L, c, err)))
        return st;
    for (int i = 0; i < 2; i++)
        if (g->size[i] < 1)
            return k2t_fail(err, K2T_EFORMAT, "config key 'size' must be positive, got %d",
                            g->size[i]);
    g->bilinear = !strcmp(interp, "bilinear");
    if (!g->bilinear && strcmp(interp, "nearest") != 0)
        k2t_set_unsupported(L, "interpolation '%.40s' is not supported", interp);
    return K2T_OK;
}

static k2t_status upsample_infer(const k2t_layer *L, const k2t_shape *in, int n_in,
                                 k2t_shape *out, k2t_err *err)
{
    int h;
    k2t_status st = spatial_input(L, in, n_in, &h, err);
    if (st) return st;
    *out = *in;
    for (int i = 0; i < 2; i++)
        if (in->d[h + i] >= 0) out->d[h + i] *= L->cfg.size[i]; /* <= 2^31 * 2^31 */
    return k2t_shape_check(out, "output", err);
}

static void upsample_describe(const k2t_layer *L, k2t_buf *b)
{
    k2t_buf_printf(b, "size=%dx%d, interpolation=%s", L->cfg.size[0], L->cfg.size[1],
                   L->cfg.bilinear ? "bilinear" : "nearest");
    if (L->cfg.channels_first) k2t_buf_printf(b, ", data_format=channels_first");
}

/*------------------------------------------------------------ Rescaling */

static k2t_status rescaling_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    k2t_status st;
    (void)m;
    if ((st = cfg_require(c, "scale", err))) return st;
    /* Keras 3 allows a per-channel list (or array config) for either. */
    if (!json_is_number(json_object_get(c, "scale")) ||
        (json_object_get(c, "offset") && !json_is_null(json_object_get(c, "offset")) &&
         !json_is_number(json_object_get(c, "offset")))) {
        g->rescale = 1;
        g->offset = 0;
        k2t_set_unsupported(L, "Rescaling with a per-channel scale or offset is not supported");
        return K2T_OK;
    }
    if ((st = cfg_double(c, "scale", 1, &g->rescale, err)) ||
        (st = cfg_double(c, "offset", 0, &g->offset, err)))
        return st;
    return K2T_OK;
}

static k2t_status rescaling_infer(const k2t_layer *L, const k2t_shape *in, int n_in,
                                  k2t_shape *out, k2t_err *err)
{
    (void)L;
    if (n_in != 1) return k2t_fail(err, K2T_ESHAPE, "expects 1 input, got %d", n_in);
    *out = *in;
    return K2T_OK;
}

static void rescaling_describe(const k2t_layer *L, k2t_buf *b)
{
    k2t_buf_printf(b, "scale=%g, offset=%g", L->cfg.rescale, L->cfg.offset);
}

/*--- PyTorch export ---*/

/* The variables every forward() here uses. */
#define PY_VARS                                                                            \
    const k2t_model *m = k2t_py_model(y);                                                 \
    const k2t_layer *L = k2t_py_layer(y, i);                                              \
    const k2t_cfg *c = &L->cfg;                                                           \
    const char *v = k2t_py_var(y, i), *a = k2t_py_in(y, i, 0);                            \
    const k2t_shape *in = k2t_py_in_shape(y, i, 0), *out = k2t_py_shape(y, i);            \
    int ind = in ? in->ndim : 0;                                                          \
    (void)m, (void)c, (void)out, (void)ind, (void)err

/* NCHW as is when export's plan permuted the Dense after it, else in
** Keras's H,W,C order. */
static k2t_status flatten_py_forward(k2t_py *y, int i, k2t_err *err)
{
    PY_VARS;
    if (ind < 2) k2t_py_printf(y, "        %s = %s\n", v, a);
    else if (k2t_py_chw(y, i))
        k2t_py_printf(y, "        %s = %s.flatten(1)  # C,H,W order: the Linear after it has permuted "
                      "columns\n", v, a);
    else k2t_py_printf(y, "        %s = %s.movedim(1, -1).flatten(1)  # Keras's H,W,C order\n", v, a);
    return K2T_OK;
}

static k2t_status reshape_py_forward(k2t_py *y, int i, k2t_err *err)
{
    PY_VARS;
    char b[1200];
    k2t_py_printf(y, "        %s = %s.reshape(%s.shape[0]", v, k2t_py_to_last(a, ind, b, sizeof b), a);
    for (int k = 0; k < out->ndim; k++) k2t_py_printf(y, ", %lld", (long long)out->d[k]);
    k2t_py_printf(y, ")%s  # Keras's layout, reshaped%s\n", out->ndim >= 2 ? ".movedim(-1, 1)" : "",
                  out->ndim >= 2 ? ", back to channels first" : "");
    return K2T_OK;
}

static k2t_status permute_py_forward(k2t_py *y, int i, k2t_err *err)
{
    PY_VARS;
    char b[1200];
    if (ind < 2) {
        k2t_py_printf(y, "        %s = %s\n", v, a);
        return K2T_OK;
    }
    k2t_py_printf(y, "        %s = %s.permute(0", v, k2t_py_to_last(a, ind, b, sizeof b));
    for (int k = 0; k < c->n_dims; k++) k2t_py_printf(y, ", %d", c->dims[k]);
    k2t_py_printf(y, ").movedim(-1, 1)  # Keras's dims on its layout\n");
    return K2T_OK;
}

static k2t_status zeropad_py_forward(k2t_py *y, int i, k2t_err *err)
{
    PY_VARS;
    k2t_py_printf(y, "        %s = F.pad(%s, (%d, %d, %d, %d))\n", v, a, c->pad[1][0], c->pad[1][1],
                  c->pad[0][0], c->pad[0][1]);
    return K2T_OK;
}

static k2t_status crop_py_forward(k2t_py *y, int i, k2t_err *err)
{
    PY_VARS;
    k2t_py_printf(y, "        %s = %s[:, :, %d:%lld, %d:%lld]\n", v, a, c->pad[0][0],
                  (long long)(c->pad[0][0] + out->d[0]), c->pad[1][0],
                  (long long)(c->pad[1][0] + out->d[1]));
    return K2T_OK;
}

static k2t_status upsample_py_forward(k2t_py *y, int i, k2t_err *err)
{
    PY_VARS;
    if (c->bilinear)
        k2t_py_printf(y, "        %s = F.interpolate(%s, size=(%lld, %lld), mode=\"bilinear\", "
                      "align_corners=False)  # tf.image.resize, half-pixel centers\n", v, a,
                      (long long)out->d[0], (long long)out->d[1]);
    else
        k2t_py_printf(y, "        %s = %s.repeat_interleave(%d, dim=2).repeat_interleave(%d, dim=3)  "
                      "# nearest\n", v, a, c->size[0], c->size[1]);
    return K2T_OK;
}

static k2t_status rescaling_py_forward(k2t_py *y, int i, k2t_err *err)
{
    PY_VARS;
    char f1[64], f2[64];
    if (c->offset != 0)
        k2t_py_printf(y, "        %s = %s * %s + %s\n", v, a, k2t_pyfloat(c->rescale, f1, sizeof f1),
                      k2t_pyfloat(c->offset, f2, sizeof f2));
    else
        k2t_py_printf(y, "        %s = %s * %s\n", v, a, k2t_pyfloat(c->rescale, f1, sizeof f1));
    return K2T_OK;
}

#undef PY_VARS
/*----------------------------------------------------------- execution */

#include "../op.h"

/* Keras flattens H, W, C; a port flattens C, H, W.  The emulation keeps
** whichever order the setting asks for (flatten torch), so that the Dense
** after it sees what the port's Linear would.  A view when the input is
** already in that order; otherwise forward reorders.
**
** A channels_first model holds (C, H, W) in Keras as in the port: a
** Flatten in channels_last flattens C, H, W in both (nothing to emulate);
** one in channels_first moves C last first (Keras's H, W, C), which the
** port's flatten(1) does not (the emulated order is then (C, H, W), as
** held). */
static k2t_status flatten_plan(k2t_step *s, const k2t_plan_ctx *c, k2t_err *err)
{
    const k2t_shape *in = &c->in[0];
    const k2t_step *p = k2t_step_in(s, 0);
    int chw = c->o->emu.flatten_torch && in->ndim >= 2 && !k2t_model_chw(c->m);
    (void)err;
    if (s->L->cfg.channels_first && in->ndim >= 2) {
        if (p->nchw) {
            s->fallback = 1; /* Keras's order from Keras's layout */
            return K2T_OK;
        }
        s->chw_order = c->o->emu.flatten_torch;
        s->chw_c = s->chw_order ? (int)in->d[0] : 0;
        s->alias = s->chw_order;
        return K2T_OK;
    }
    s->chw_order = chw;
    s->chw_c = chw ? (int)in->d[in->ndim - 1] : 0;
    s->alias = in->ndim < 2 || k2t_step_in(s, 0)->nchw == chw;
    return K2T_OK;
}

static void flatten_forward(const k2t_step *s, const k2t_fwd *f)
{
    const k2t_step *p = k2t_step_in(s, 0);
    if (s->L->cfg.channels_first) { /* (C, H, W) as held, H, W, C wanted */
        int c0 = (int)p->shape.d[0];
        kern_to_nhwc(f->x[0], f->n, c0, p->numel / c0, f->y);
        return;
    }
    int pc = (int)p->shape.d[p->shape.ndim - 1];
    int64_t phw = p->numel / pc;
    if (s->chw_order) kern_to_nchw(f->x[0], f->n, phw, pc, f->y);   /* HWC data, CHW order wanted */
    else kern_to_nhwc(f->x[0], f->n, pc, phw, f->y);                /* CHW data, HWC order wanted */
}

/* A view of Keras-ordered data; anything else goes through Keras's
** layout (the fallback). */
static k2t_status reshape_plan(k2t_step *s, const k2t_plan_ctx *c, k2t_err *err)
{
    const k2t_step *p = k2t_step_in(s, 0);
    (void)c, (void)err;
    s->alias = !p->nchw && !p->chw_order;
    s->fallback = !s->alias;
    return K2T_OK;
}

static void copy_forward(const k2t_step *s, const k2t_fwd *f)
{
    if (f->x[0] != f->y) memcpy(f->y, f->x[0], (size_t)((int64_t)f->n * s->numel) * sizeof(float));
}

static void permute_forward(const k2t_step *s, const k2t_fwd *f)
{
    const k2t_step *p = k2t_step_in(s, 0);
    const k2t_cfg *c = &s->L->cfg;
    int perm[K2T_MAX_DIMS];
    for (int i = 0; i < c->n_dims; i++) perm[i] = c->dims[i] - 1;
    kern_permute(f->x[0], f->n, p->shape.ndim, p->shape.d, perm, f->y);
}

/* A (C, H, W) sample is C samples of (H, W, 1) to the channels-last
** kernels below. */
static void spatial_dims(const k2t_step *s, int n, int *nn, int *h, int *w, int *c)
{
    const k2t_step *p = k2t_step_in(s, 0);
    if (s->L->cfg.channels_first) {
        *nn = n * (int)p->shape.d[0], *h = (int)p->shape.d[1], *w = (int)p->shape.d[2], *c = 1;
    } else {
        *nn = n, *h = (int)p->shape.d[0], *w = (int)p->shape.d[1], *c = (int)p->shape.d[2];
    }
}

/* Cropping is negative padding. */
static void pad_forward(const k2t_step *s, const k2t_fwd *f, int sign)
{
    const int (*pad)[2] = (const int (*)[2])s->L->cfg.pad;
    int nn, h, w, c;
    spatial_dims(s, f->n, &nn, &h, &w, &c);
    kern_pad2d(f->x[0], nn, h, w, c, sign * pad[0][0], sign * pad[0][1], sign * pad[1][0],
               sign * pad[1][1], f->y);
}

static void zeropad_forward(const k2t_step *s, const k2t_fwd *f)
{
    pad_forward(s, f, 1);
}

static void crop_forward(const k2t_step *s, const k2t_fwd *f)
{
    pad_forward(s, f, -1);
}

static void upsample_forward(const k2t_step *s, const k2t_fwd *f)
{
    const k2t_cfg *c = &s->L->cfg;
    int nn, h, w, ch;
    spatial_dims(s, f->n, &nn, &h, &w, &ch);
    kern_upsample2d(f->x[0], nn, h, w, ch, c->size[0], c->size[1], c->bilinear, f->y);
}

static void rescaling_forward(const k2t_step *s, const k2t_fwd *f)
{
    kern_affine(f->x[0], (int64_t)f->n * s->numel, (float)s->L->cfg.rescale,
                (float)s->L->cfg.offset, f->y);
}

/*---------------------------------------------------------------- defs */

/*----------------------------------------------------------- port hazards */

/* A Reshape to a map (not a vector: that is the flatten pitfall) moves
** elements in Keras's channels-last order. */
static void reshape_hazards(k2t_hz *h)
{
    const k2t_shape *in = h->in, *o = &h->N->shape;
    char s1[96], s2[96], p1[64], p2[64], tgt[96] = "";
    if (!in || o->ndim < 2 || !k2t_shape_known(o)) return;
    if (k2t_model_chw(h->m)) return; /* channels_first: the port reshapes the same tensor */
    for (int a = 0; a < o->ndim; a++) k2t_cat(tgt, sizeof tgt, ", %lld", (long long)o->d[a]);
    k2t_hz_say(h, K2T_PIT_LAYOUT, 1, "reshapes %s to %s in Keras's channels-last element order",
               k2t_shape_str(in, 1, s1, sizeof s1), k2t_shape_str(o, 1, s2, sizeof s2));
    k2t_hz_code(h, "x = x%s%s.reshape(-1%s).%s", in->ndim >= 2 ? "." : "",
                in->ndim >= 2 ? k2t_perm_str(p1, sizeof p1, in->ndim, 1) : "", tgt,
                k2t_perm_str(p2, sizeof p2, o->ndim, 0));
}

static void permute_hazards(k2t_hz *h)
{
    const k2t_cfg *cf = &h->L->cfg;
    int r = h->in ? h->in->ndim : 0;
    if (r < 2 || cf->n_dims != r) return;
    if (k2t_model_chw(h->m)) return; /* channels_first: the port permutes the same tensor */
    /* Port axis j (1..r) of the output is Keras output axis kout(j); it
    ** is Keras input axis dims[kout(j)-1], held at port axis pin(). */
    char perm[64] = "permute(0", kd[64] = "";
    for (int j = 1; j <= r; j++) {
        int kout = j == 1 ? r : j - 1, a = cf->dims[kout - 1];
        k2t_cat(perm, sizeof perm, ", %d", a == r ? 1 : a + 1);
    }
    k2t_cat(perm, sizeof perm, ")");
    for (int j = 0; j < r; j++) k2t_cat(kd, sizeof kd, "%s%d", j ? ", " : "", cf->dims[j]);
    k2t_hz_say(h, K2T_PIT_LAYOUT, 1, "Permute((%s)) numbers the axes of NHWC; on the NCHW tensor the same move "
               "is %s", kd, perm);
    k2t_hz_code(h, "x = x.%s", perm);
}

static void zeropad_hazards(k2t_hz *h)
{
    const k2t_cfg *cf = &h->L->cfg;
    int t = cf->pad[0][0], b = cf->pad[0][1], l = cf->pad[1][0], r = cf->pad[1][1];
    if (t == l && b == r) return;
    k2t_hz_say(h, K2T_PIT_PADDING, 1, "Keras writes ((top, bottom), (left, right)) = ((%d, %d), (%d, %d)); "
               "F.pad and nn.ZeroPad2d take (left, right, top, bottom)", t, b, l, r);
    k2t_hz_code(h, "x = F.pad(x, (%d, %d, %d, %d))", l, r, t, b);
}

static void rescaling_hazards(k2t_hz *h)
{
    const k2t_cfg *cf = &h->L->cfg;
    k2t_hz_say(h, K2T_PIT_PREPROCESS, 1, "the model scales its own input (x * %.9g + %g): keep it in forward() "
               "and feed the port what Keras is fed", cf->rescale, cf->offset);
    if (fabs(cf->rescale * 255 - 1) < 1e-6 && cf->offset == 0) k2t_hz_code(h, "x = x / 255");
    else k2t_hz_code(h, "x = x * %.9g + %.9g", cf->rescale, cf->offset);
}

static const char *const flatten_classes[] = {"Flatten", NULL};
static const char *const reshape_classes[] = {"Reshape", NULL};
static const char *const permute_classes[] = {"Permute", NULL};
static const char *const zeropad_classes[] = {"ZeroPadding2D", NULL};
static const char *const crop_classes[] = {"Cropping2D", NULL};
static const char *const upsample_classes[] = {"UpSampling2D", NULL};
static const char *const rescaling_classes[] = {"Rescaling", NULL};

/* The PyTorch modules that compute these layers (compare pairs a port's
** modules with Keras layers by them). */
static const char *const flatten_modules[] = {"Flatten", "Unflatten", NULL};
static const char *const pad_modules[] = {"ZeroPad2d", "ConstantPad1d", "ConstantPad2d", NULL};
static const char *const upsample_modules[] = {"Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", NULL};

const k2t_op_def k2t_op_flatten = {
    .op = K2T_OP_FLATTEN, .torch_modules = flatten_modules, .classes = flatten_classes, .min_in = 1,
    .max_in = 1, .flags = K2T_OPF_FLATTENS | K2T_OPF_NCHW, .parse = flatten_parse,
    .infer = flatten_infer, .describe = format_describe, .py_forward = flatten_py_forward,
    .plan = flatten_plan, .forward = flatten_forward,
};

const k2t_op_def k2t_op_reshape = {
    .op = K2T_OP_RESHAPE, .torch_modules = flatten_modules, .classes = reshape_classes, .min_in = 1,
    .max_in = 1, .flags = K2T_OPF_FLATTENS | K2T_OPF_NCHW, .parse = reshape_parse,
    .infer = reshape_infer, .describe = reshape_describe, .hazards = reshape_hazards,
    .py_forward = reshape_py_forward, .plan = reshape_plan, .forward = copy_forward,
};

const k2t_op_def k2t_op_permute = {
    .op = K2T_OP_PERMUTE, .classes = permute_classes, .min_in = 1, .max_in = 1,
    .parse = permute_parse, .infer = permute_infer, .describe = permute_describe,
    .hazards = permute_hazards, .py_forward = permute_py_forward, .flags = K2T_OPF_KEEPS_ORDER,
    .forward = permute_forward,
};

const k2t_op_def k2t_op_zeropad = {
    .op = K2T_OP_ZEROPAD, .torch_modules = pad_modules, .classes = zeropad_classes, .min_in = 1,
    .max_in = 1, .parse = zeropad_parse, .infer = zeropad_infer, .describe = zeropad_describe,
    .hazards = zeropad_hazards, .py_forward = zeropad_py_forward,
    .flags = K2T_OPF_KEEPS_ORDER | K2T_OPF_ZERO_PAD,
    .forward = zeropad_forward,
};

const k2t_op_def k2t_op_crop = {
    .op = K2T_OP_CROP, .classes = crop_classes, .min_in = 1, .max_in = 1, .parse = crop_parse,
    .infer = crop_infer, .describe = crop_describe, .py_forward = crop_py_forward,
    .flags = K2T_OPF_KEEPS_ORDER, .forward = crop_forward,
};

const k2t_op_def k2t_op_upsample = {
    .op = K2T_OP_UPSAMPLE, .torch_modules = upsample_modules, .classes = upsample_classes,
    .min_in = 1, .max_in = 1, .parse = upsample_parse, .infer = upsample_infer,
    .describe = upsample_describe, .py_forward = upsample_py_forward, .flags = K2T_OPF_KEEPS_ORDER,
    .forward = upsample_forward,
};

const k2t_op_def k2t_op_rescaling = {
    .op = K2T_OP_RESCALING, .classes = rescaling_classes, .min_in = 1, .max_in = 1,
    .flags = K2T_OPF_KEEPS_ORDER | K2T_OPF_INPLACE | K2T_OPF_NCHW, .parse = rescaling_parse,
    .infer = rescaling_infer, .describe = rescaling_describe, .hazards = rescaling_hazards,
    .py_forward = rescaling_py_forward, .forward = rescaling_forward,
};
