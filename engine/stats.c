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

/* Does the tensor match a fresh draw from initializer 'init'?  Only
** checked on tensors large enough for the moments to mean something. */
static int init_like(const char *init, const k2t_weight *w, const k2t_wstats *st,
                     double kurt, char *why, size_t n)
{
    double fi, fo, maxabs = fmax(fabs(st->min), fabs(st->max));
    if (!init[0] || st->n < 64 || st->std <= 0) return 0;
    fans(&w->shape, &fi, &fo);
    int uniform = 0;
    double scale = 0, limit = 0;
    if (init_is(init, "GlorotUniform")) uniform = 1, scale = 1, limit = sqrt(6 / (fi + fo));
    else if (init_is(init, "HeUniform")) uniform = 1, limit = sqrt(6 / fi);
    else if (init_is(init, "LecunUniform")) uniform = 1, limit = sqrt(3 / fi);
    else if (init_is(init, "RandomUniform")) uniform = 1, limit = 0.05;
    else if (init_is(init, "GlorotNormal") || init_is(init, "VarianceScaling"))
        scale = init_is(init, "GlorotNormal") ? sqrt(2 / (fi + fo)) : sqrt(1 / fi);
    else if (init_is(init, "HeNormal")) scale = sqrt(2 / fi);
    else if (init_is(init, "LecunNormal")) scale = sqrt(1 / fi);
    else if (init_is(init, "TruncatedNormal")) scale = 0.05 * 0.87962566103423978;
    else if (init_is(init, "RandomNormal")) scale = -0.05; /* untruncated */
    else return 0;
    if (uniform) {
        double sd = limit / sqrt(3.0);
        if (maxabs <= limit * 1.0001 && fabs(st->std - sd) < 0.05 * sd &&
            kurt > 1.55 && kurt < 2.05) {
            snprintf(why, n, "looks freshly initialized: uniform within +-%.4g like %s, "
                     "never trained?", limit, init);
            return 1;
        }
        return 0;
    }
    if (scale < 0) {
        scale = -scale;
        if (fabs(st->std - scale) < 0.05 * scale && kurt > 2.7 && kurt < 3.3) {
            snprintf(why, n, "looks freshly initialized: normal with std %.4g like %s, "
                     "never trained?", scale, init);
            return 1;
        }
        return 0;
    }
    /* Truncated normal at two (untruncated) standard deviations: the
    ** truncated std is 'scale', the bound 2*scale/0.8796. */
    double bound = 2 * scale / 0.87962566103423978;
    if (maxabs <= bound * 1.0001 && fabs(st->std - scale) < 0.05 * scale) {
        snprintf(why, n, "looks freshly initialized: truncated normal with std %.4g like %s, "
                 "never trained?", scale, init);
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
    if (L->op == K2T_OP_BATCHNORM && w->size > 0) {
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
    if (!st->flags) {
        const char *init = strcmp(v, "bias") == 0 ? "" : L->cfg.initializer;
        char why[sizeof st->why];
        if (strcmp(v, "kernel") == 0 || strcmp(v, "depthwise_kernel") == 0 ||
            strcmp(v, "pointwise_kernel") == 0) {
            if (init_like(init, w, st, kurt, why, sizeof why)) {
                st->flags |= K2T_FLAG_INIT_LIKE;
                snprintf(st->why, sizeof st->why, "%s", why);
            }
        }
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
