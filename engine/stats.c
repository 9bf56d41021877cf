/*
** stats.c -- what a weight tensor looks like, and whether it looks trained.
**
** Numbers are accumulated in double so they agree with numpy's float64
** reductions to the printed precision.  The flags catch the classic port
** failures: a tensor never loaded (all zero, constant, NaN) and a layer
** never trained (BatchNormalization still at gamma=1, beta=0, mean=0,
** var=1; a kernel whose distribution is exactly its initializer's: bounded
** by the initializer's limit, with its variance and, for uniform
** initializers, a uniform distribution's kurtosis of 1.8 where trained
** weights are peaked and heavy-tailed).
*/
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

/* Case-insensitive compare ignoring '_' ("glorot_uniform" == "GlorotUniform"). */
static int init_is(const char *a, const char *b)
{
    for (;;) {
        while (*a == '_') a++;
        while (*b == '_') b++;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
        if (!*a) return 1;
        a++, b++;
    }
}

/* Keras's fan computation (initializers._compute_fans). */
static void fans(const k2t_shape *s, double *fan_in, double *fan_out)
{
    if (s->ndim < 1) { *fan_in = *fan_out = 1; return; }
    if (s->ndim == 1) { *fan_in = *fan_out = (double)s->d[0]; return; }
    double rf = 1;
    for (int i = 0; i < s->ndim - 2; i++) rf *= (double)s->d[i];
    *fan_in = (double)s->d[s->ndim - 2] * rf;
    *fan_out = (double)s->d[s->ndim - 1] * rf;
}

/* An initializer as Keras's VarianceScaling describes most of them:
** variance scale/n with n = fan_in, fan_out or their mean, drawn uniform,
** truncated normal (cut at 2 sigma, rescaled so the std is exact) or
** normal.  RandomNormal/RandomUniform/TruncatedNormal have explicit
** parameters.  Returns 0 when the initializer is not one of these. */
typedef struct init_dist { int kind; double limit, std; } init_dist; /* kind: 1 uniform, 2 truncated, 3 normal */

static double jnum(json_t *o, const char *k, double def)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : def;
}

static int init_describe(json_t *init, const k2t_weight *w, init_dist *d, char *name, size_t nn)
{
    double fi, fo;
    json_t *cls = json_object_get(init, "class_name"), *c = json_object_get(init, "config");
    const char *cn = json_is_string(cls) ? json_string_value(cls) : json_is_string(init) ? json_string_value(init) : "";
    snprintf(name, nn, "%s", cn);
    fans(&w->shape, &fi, &fo);
    double scale = 1;
    const char *mode = "fan_in", *dist = "truncated_normal";
    if (init_is(cn, "GlorotUniform")) mode = "fan_avg", dist = "uniform";
    else if (init_is(cn, "GlorotNormal")) mode = "fan_avg";
    else if (init_is(cn, "HeNormal")) scale = 2;
    else if (init_is(cn, "HeUniform")) scale = 2, dist = "uniform";
    else if (init_is(cn, "LecunNormal")) ;
    else if (init_is(cn, "LecunUniform")) dist = "uniform";
    else if (init_is(cn, "VarianceScaling")) {
        json_t *m = json_object_get(c, "mode"), *ds = json_object_get(c, "distribution");
        scale = jnum(c, "scale", 1);
        if (json_is_string(m)) mode = json_string_value(m);
        if (json_is_string(ds)) dist = json_string_value(ds);
    } else if (init_is(cn, "RandomUniform")) {
        d->kind = 1, d->limit = fmax(fabs(jnum(c, "minval", -0.05)), fabs(jnum(c, "maxval", 0.05)));
        d->std = (jnum(c, "maxval", 0.05) - jnum(c, "minval", -0.05)) / sqrt(12.0);
        return 1;
    } else if (init_is(cn, "RandomNormal")) {
        d->kind = 3, d->std = jnum(c, "stddev", 0.05);
        return 1;
    } else if (init_is(cn, "TruncatedNormal")) {
        /* Keras's TruncatedNormal cuts at 2 stddev without rescaling. */
        d->kind = 2, d->std = jnum(c, "stddev", 0.05) * 0.87962566103423978;
        d->limit = 2 * jnum(c, "stddev", 0.05);
        return 1;
    } else {
        return 0;
    }
    double n = !strcmp(mode, "fan_out") ? fo : !strcmp(mode, "fan_avg") ? (fi + fo) / 2 : fi;
    double var = scale / (n > 1 ? n : 1);
    if (!strcmp(dist, "uniform")) {
        d->kind = 1, d->limit = sqrt(3 * var), d->std = sqrt(var);
    } else if (!strcmp(dist, "untruncated_normal")) {
        d->kind = 3, d->std = sqrt(var);
    } else { /* truncated_normal, and Keras 2's "normal" */
        d->kind = 2, d->std = sqrt(var), d->limit = 2 * sqrt(var) / 0.87962566103423978;
    }
    return 1;
}

/* Does the tensor match a fresh draw from its initializer?  Only checked on
** tensors large enough for the moments to mean something. */
static int init_like(json_t *init, const k2t_weight *w, const k2t_wstats *st, double kurt,
                     char *why, size_t n)
{
    init_dist d = {0};
    char name[64];
    double maxabs = fmax(fabs(st->min), fabs(st->max));
    if (!init || st->n < 64 || st->std <= 0 || !init_describe(init, w, &d, name, sizeof name))
        return 0;
    if (fabs(st->std - d.std) >= 0.05 * d.std) return 0;
    if (d.kind == 1 && maxabs <= d.limit * 1.0001 && kurt > 1.55 && kurt < 2.05) {
        snprintf(why, n, "looks freshly initialized: uniform within +-%.4g like %s, never trained?",
                 d.limit, name);
        return 1;
    }
    if (d.kind == 2 && maxabs <= d.limit * 1.0001) {
        snprintf(why, n, "looks freshly initialized: truncated normal with std %.4g like %s, "
                 "never trained?", d.std, name);
        return 1;
    }
    if (d.kind == 3 && kurt > 2.7 && kurt < 3.3) {
        snprintf(why, n, "looks freshly initialized: normal with std %.4g like %s, never trained?",
                 d.std, name);
        return 1;
    }
    return 0;
}

static int all_equal(const float *x, int64_t n, float v)
{
    for (int64_t i = 0; i < n; i++)
        if (x[i] != v) return 0;
    return 1;
}

void k2t_weight_stats(const k2t_model *m, const k2t_layer *L, int wi, k2t_wstats *st)
{
    const k2t_weight *w = &L->w[wi];
    const float *x = w->data;
    double sum = 0, sumabs = 0, mn = INFINITY, mx = -INFINITY;
    int64_t zeros = 0, fin = 0;
    (void)m;
    memset(st, 0, sizeof *st);
    st->n = w->size;
    for (int64_t i = 0; i < w->size; i++) {
        float v = x[i];
        if (isnan(v)) { st->n_nan++; continue; }
        if (isinf(v)) { st->n_inf++; continue; }
        fin++;
        sum += v;
        sumabs += fabs(v);
        if (v < mn) mn = v;
        if (v > mx) mx = v;
        if (v == 0) zeros++;
    }
    if (fin == 0) { st->min = st->max = st->mean = st->std = NAN; }
    else {
        st->mean = sum / (double)fin;
        st->mean_abs = sumabs / (double)fin;
        st->min = mn;
        st->max = mx;
    }
    /* Two passes: the second for the central moments (numpy's std is
    ** two-pass too, so the digits agree). */
    double m2 = 0, m4 = 0;
    for (int64_t i = 0; i < w->size && fin; i++) {
        if (!isfinite(x[i])) continue;
        double d = x[i] - st->mean;
        m2 += d * d;
        m4 += d * d * d * d;
    }
    if (fin) st->std = sqrt(m2 / (double)fin);
    st->zero_frac = w->size ? (double)zeros / (double)w->size : 0;
    double kurt = m2 > 0 ? (m4 / (double)fin) / ((m2 / (double)fin) * (m2 / (double)fin)) : 0;

    /* Flags, most telling first: the sentence explains the first one. */
    const char *v = w->name;
    if (st->n_nan || st->n_inf) {
        st->flags |= K2T_FLAG_NONFINITE;
        snprintf(st->why, sizeof st->why, "holds %lld NaN and %lld Inf: a broken load or a "
                 "diverged training", (long long)st->n_nan, (long long)st->n_inf);
    }
    const k2t_op_def *def_op = k2t_op_def_of(L->op);
    if (def_op && def_op->mode_stats && w->size > 0) { /* BatchNormalization's four vectors */
        float def = -1;
        if (strcmp(v, "gamma") == 0 || strcmp(v, "moving_variance") == 0) def = 1;
        else if (strcmp(v, "beta") == 0 || strcmp(v, "moving_mean") == 0) def = 0;
        if (def >= 0 && all_equal(x, w->size, def)) {
            st->flags |= K2T_FLAG_BN_DEFAULT;
            if (!st->why[0])
                snprintf(st->why, sizeof st->why, "all %g: BatchNormalization's initial %s, "
                         "never trained or never loaded?", def, v);
        }
    }
    if (w->size > 0 && fin == w->size && zeros == w->size) {
        st->flags |= K2T_FLAG_ALL_ZERO;
        if (!st->why[0])
            snprintf(st->why, sizeof st->why, "all zero: never loaded%s?",
                     strcmp(v, "bias") == 0 ? " (or a bias never trained)" : "");
    } else if (w->size > 1 && fin == w->size && all_equal(x, w->size, x[0])) {
        st->flags |= K2T_FLAG_CONSTANT;
        if (!st->why[0])
            snprintf(st->why, sizeof st->why, "constant %g everywhere: never loaded or "
                     "never trained?", (double)x[0]);
    }
    if (!st->flags && (strcmp(v, "kernel") == 0 || strcmp(v, "depthwise_kernel") == 0 ||
                       strcmp(v, "pointwise_kernel") == 0)) {
        /* The initializer object from the layer's config. */
        json_t *cfg = json_loads(L->config_json, 0, NULL);
        const char *key = strcmp(v, "kernel") == 0 ? "kernel_initializer"
                        : strcmp(v, "pointwise_kernel") == 0 ? "pointwise_initializer"
                        : "depthwise_initializer";
        json_t *init = json_object_get(cfg, key);
        if (!init && strcmp(v, "kernel") == 0) init = json_object_get(cfg, "depthwise_initializer");
        char why[sizeof st->why];
        if (init_like(init, w, st, kurt, why, sizeof why)) {
            st->flags |= K2T_FLAG_INIT_LIKE;
            snprintf(st->why, sizeof st->why, "%s", why);
        }
        json_decref(cfg);
    }
}

int64_t k2t_histogram(const float *x, int64_t n, int64_t *bins, int n_bins,
                      double *lo, double *hi)
{
    double mn = INFINITY, mx = -INFINITY;
    int64_t count = 0;
    for (int i = 0; i < n_bins; i++) bins[i] = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) continue;
        if (x[i] < mn) mn = x[i];
        if (x[i] > mx) mx = x[i];
    }
    if (mn > mx) { *lo = *hi = 0; return 0; }
    *lo = mn;
    *hi = mx;
    double width = (mx - mn) / n_bins;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) continue;
        int b = width > 0 ? (int)((x[i] - mn) / width) : 0;
        if (b >= n_bins) b = n_bins - 1;
        if (b < 0) b = 0;
        bins[b]++;
        count++;
    }
    return count;
}
