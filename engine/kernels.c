/*
** kernels.c -- window geometry, activations, the GEMM epilogue, dense,
** normalisation and the elementwise and layout kernels.
**
** The window kernels live in kern_conv.c (convolution, transposed
** convolution, pooling) and kern_depthwise.c.  Everything here is a tight loop over
** contiguous floats that gcc -O2 vectorises; the activation switch sits
** outside the loops so that each loop body is one formula.
**
** Accuracy: every activation stays within a few float ulps of the double
** formula in KERAS-FORMAT 4.  Where the textbook float form cancels
** (1 + erf(x) for x << 0, log(1 + e^x) for x >> 0) the code uses the
** algebraically equal form that does not (erfc, x + log1p(e^-x)).
*/
/* GCC 12's -O2 vectorises only loops whose trip count is a known multiple
** of the vector width ("very-cheap" cost model); these loops run over a
** channel count, so ask for the ordinary cost model here. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=dynamic")
#endif
#include <math.h>
#include <string.h>
#include <cblas.h>
#include "kernels.h"

/* The tight loops are compiled twice, for AVX-512 and for the baseline,
** and the loader picks one (GCC function multi-versioning).  Plain IEEE
** single operations either way (no contraction into FMA under -std=c11),
** so both give the same bits; only the exp-based activations differ in
** the last bits between the two (libmvec below). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define K2T_CLONES __attribute__((target_clones("avx512f", "default")))
#else
#define K2T_CLONES
#endif

/*------------------------------------------------------------- geometry */

/* One spatial dimension by TF's rule (GetWindowedOutputSizeVerbose). */
static int win_dim_tf(int in, int k, int s, int d, k2t_pad pad, int *out, int *before,
                      int *after)
{
    if (in <= 0 || k <= 0 || s <= 0 || d <= 0)
        return -1;
    int64_t keff = (int64_t)(k - 1) * d + 1;
    switch (pad) {
    case K2T_PAD_VALID:
        if (in < keff)
            return -1;
        *out = (int)((in - keff) / s + 1);
        *before = *after = 0;
        return 0;
    case K2T_PAD_SAME: {
        int o = (in + s - 1) / s;
        int64_t total = (int64_t)(o - 1) * s + keff - in;
        if (total < 0)
            total = 0;
        *out = o;
        *before = (int)(total / 2);
        *after = (int)(total - total / 2);
        return 0;
    }
    case K2T_PAD_CAUSAL:
        /* Pad k_eff-1 on the left, then 'valid'. */
        *out = (in - 1) / s + 1;
        *before = (int)(keff - 1);
        *after = 0;
        return 0;
    }
    return -1;
}

int k2t_win_tf(k2t_win *g, k2t_pad pad)
{
    if (win_dim_tf(g->ih, g->kh, g->sh, g->dh, pad, &g->oh, &g->pt, &g->pb) < 0)
        return -1;
    if (win_dim_tf(g->iw, g->kw, g->sw, g->dw, pad, &g->ow, &g->pl, &g->pr) < 0)
        return -1;
    return 0;
}

static int win_dim_sym(int in, int k, int s, int d, int p, int *out)
{
    if (in <= 0 || k <= 0 || s <= 0 || d <= 0 || p < 0)
        return -1;
    int64_t keff = (int64_t)(k - 1) * d + 1;
    if (in + 2 * (int64_t)p < keff)
        return -1;
    *out = (int)((in + 2 * (int64_t)p - keff) / s + 1);
    return 0;
}

int k2t_win_sym(k2t_win *g, int ph, int pw)
{
    if (win_dim_sym(g->ih, g->kh, g->sh, g->dh, ph, &g->oh) < 0 ||
        win_dim_sym(g->iw, g->kw, g->sw, g->dw, pw, &g->ow) < 0)
        return -1;
    g->pt = g->pb = ph;
    g->pl = g->pr = pw;
    return 0;
}

/*---------------------------------------------------------- activations */

/* With AVX-512, the activations built on exp, expm1, log1p, tanh and erfc
** take 16 floats at a time through glibc's vector math library libmvec
** (linked through libm's AS_NEEDED; glibc >= 2.35 for all of them).  Its
** AVX-512 functions are within a few ulps, like the scalar ones; the
** tests hold both routes to 1e-5 of the double formulas. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 35)
#define HAVE_MVEC 1
#endif
#endif

#ifdef HAVE_MVEC
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f")))
AVX512 __m512 _ZGVeN16v_expf(__m512 x);
AVX512 __m512 _ZGVeN16v_expm1f(__m512 x);
AVX512 __m512 _ZGVeN16v_log1pf(__m512 x);
AVX512 __m512 _ZGVeN16v_tanhf(__m512 x);
AVX512 __m512 _ZGVeN16v_erfcf(__m512 x);

static AVX512 __m512 sigmoid16(__m512 x)
{
    /* e = exp(-|x|); (x >= 0 ? 1 : e) / (1 + e) */
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 e = _ZGVeN16v_expf(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(x)));
    __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
    return _mm512_div_ps(_mm512_mask_blend_ps(pos, e, one), _mm512_add_ps(one, e));
}

/* The activation on y[0..n) 16 at a time; 0 if this one is not done here. */
static AVX512 int act_avx512(float *y, int64_t n, k2t_act act)
{
    switch (act) {
    case K2T_ACT_SIGMOID: case K2T_ACT_TANH: case K2T_ACT_SOFTPLUS: case K2T_ACT_ELU:
    case K2T_ACT_SELU: case K2T_ACT_SWISH: case K2T_ACT_GELU: case K2T_ACT_EXPONENTIAL:
        break;
    default:
        return 0;
    }
    const __m512 z = _mm512_setzero_ps(), half = _mm512_set1_ps(0.5f);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 mk = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        __m512 x = _mm512_maskz_loadu_ps(mk, y + i), r = x;
        __mmask16 pos = _mm512_cmp_ps_mask(x, z, _CMP_GT_OQ);
        switch (act) {
        case K2T_ACT_SIGMOID:
            r = sigmoid16(x);
            break;
        case K2T_ACT_TANH:
            r = _ZGVeN16v_tanhf(x);
            break;
        case K2T_ACT_SOFTPLUS: /* max(x, 0) + log1p(exp(-|x|)) */
            r = _mm512_add_ps(_mm512_max_ps(x, z),
                              _ZGVeN16v_log1pf(_ZGVeN16v_expf(_mm512_sub_ps(z, _mm512_abs_ps(x)))));
            break;
        case K2T_ACT_ELU:
            r = _mm512_mask_blend_ps(pos, _ZGVeN16v_expm1f(_mm512_min_ps(x, z)), x);
            break;
        case K2T_ACT_SELU:
            r = _mm512_mask_blend_ps(pos,
                                     _mm512_mul_ps(_mm512_set1_ps(1.6732632423543772f),
                                                   _ZGVeN16v_expm1f(_mm512_min_ps(x, z))),
                                     x);
            r = _mm512_mul_ps(_mm512_set1_ps(1.0507009873554805f), r);
            break;
        case K2T_ACT_SWISH:
            r = _mm512_mul_ps(x, sigmoid16(x));
            break;
        case K2T_ACT_GELU: {
            /* 0.5 x erfc(a), a = -x/sqrt 2.  The rounding of a, da, is put
            ** back to first order: erfc(a + da) = erfc(a) - da 2/sqrt(pi)
            ** exp(-a^2); in the far tail erfc magnifies it by ~2a^2. */
            const __m512 k = _mm512_set1_ps(-0.70710678118654752f);
            const __m512 klo = _mm512_set1_ps(-0.70710678118654752440f - -0.70710678118654752f);
            __m512 a = _mm512_mul_ps(x, k);
            __m512 da = _mm512_fmadd_ps(x, klo, _mm512_fmsub_ps(x, k, a));
            __m512 ec = _ZGVeN16v_erfcf(a);
            __m512 d = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(1.1283791670955126f), da),
                                     _ZGVeN16v_expf(_mm512_mul_ps(_mm512_sub_ps(z, a), a)));
            r = _mm512_mul_ps(_mm512_mul_ps(half, x), _mm512_sub_ps(ec, d));
            break;
        }
        case K2T_ACT_EXPONENTIAL:
            r = _ZGVeN16v_expf(x);
            break;
        default:
            break;
        }
        _mm512_mask_storeu_ps(y + i, mk, r);
    }
    return 1;
}
#endif

static inline float sigmoid1(float x)
{
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

static inline float clip01(float v)
{
    return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
}

/* Softmax of one contiguous row: exp(x - max) / sum. */
static void softmax_row(float *restrict y, int64_t n)
{
    if (n <= 0)
        return;
    float m = y[0];
    for (int64_t i = 1; i < n; i++)
        m = y[i] > m ? y[i] : m;
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        y[i] = expf(y[i] - m);
        s += y[i];
    }
    float inv = (float)(1.0 / s);
    for (int64_t i = 0; i < n; i++)
        y[i] *= inv;
}

void kern_act_from(float *y, const float *x, int64_t n, k2t_act act)
{
    for (int64_t i = 0; i < n; i += 2048) {
        int64_t c = n - i < 2048 ? n - i : 2048;
        memcpy(y + i, x + i, (size_t)c * sizeof(float));
        kern_act(y + i, c, act);
    }
}

/* The activation over n contiguous floats; softmax treats them as one row. */
K2T_CLONES
void kern_act(float *restrict y, int64_t n, k2t_act act)
{
    int64_t i;
#ifdef HAVE_MVEC
    if (kern_simd() && act_avx512(y, n, act))
        return;
#endif
    switch (act) {
    case K2T_ACT_LINEAR:
    case K2T_ACT_COUNT:
        return;
    case K2T_ACT_RELU:
        for (i = 0; i < n; i++)
            y[i] = y[i] > 0.0f ? y[i] : 0.0f;
        return;
    case K2T_ACT_RELU6:
        for (i = 0; i < n; i++) {
            float v = y[i] > 0.0f ? y[i] : 0.0f;
            y[i] = v < 6.0f ? v : 6.0f;
        }
        return;
    case K2T_ACT_SIGMOID:
        for (i = 0; i < n; i++)
            y[i] = sigmoid1(y[i]);
        return;
    case K2T_ACT_HARD_SIGMOID:
        for (i = 0; i < n; i++)
            y[i] = clip01(0.2f * y[i] + 0.5f);
        return;
    case K2T_ACT_HARD_SIGMOID3:
        for (i = 0; i < n; i++)
            y[i] = clip01(y[i] / 6.0f + 0.5f);
        return;
    case K2T_ACT_HARD_SWISH:
        for (i = 0; i < n; i++)
            y[i] = y[i] * clip01(y[i] / 6.0f + 0.5f);
        return;
    case K2T_ACT_TANH:
        for (i = 0; i < n; i++)
            y[i] = tanhf(y[i]);
        return;
    case K2T_ACT_SOFTMAX:
        softmax_row(y, n);
        return;
    case K2T_ACT_SOFTPLUS:
        for (i = 0; i < n; i++) {
            float x = y[i];
            y[i] = x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x));
        }
        return;
    case K2T_ACT_SOFTSIGN:
        for (i = 0; i < n; i++)
            y[i] = y[i] / (1.0f + fabsf(y[i]));
        return;
    case K2T_ACT_ELU:
        for (i = 0; i < n; i++)
            y[i] = y[i] > 0.0f ? y[i] : expm1f(y[i]);
        return;
    case K2T_ACT_SELU:
        for (i = 0; i < n; i++) {
            float x = y[i];
            y[i] = 1.0507009873554805f * (x > 0.0f ? x : 1.6732632423543772f * expm1f(x));
        }
        return;
    case K2T_ACT_SWISH:
        for (i = 0; i < n; i++)
            y[i] = y[i] * sigmoid1(y[i]);
        return;
    case K2T_ACT_GELU:
        /* 0.5 x (1 + erf(x/sqrt 2)) == 0.5 x erfc(-x/sqrt 2), without the
        ** cancellation for x << 0.  Far in that tail erfc magnifies the
        ** rounding of its argument (relative error ~ x^2 * ulp), so there
        ** the argument is formed in double. */
        for (i = 0; i < n; i++) {
            float x = y[i];
            y[i] = x > -4.0f ? 0.5f * x * erfcf(-x * 0.70710678118654752f)
                             : (float)(0.5 * x * erfc(-x * 0.70710678118654752440));
        }
        return;
    case K2T_ACT_EXPONENTIAL:
        for (i = 0; i < n; i++)
            y[i] = expf(y[i]);
        return;
    case K2T_ACT_LEAKY_RELU:
        for (i = 0; i < n; i++)
            y[i] = y[i] > 0.0f ? y[i] : 0.2f * y[i];
        return;
    }
}

void kern_softmax(float *y, int64_t outer, int64_t len, int64_t inner)
{
    if (inner == 1) {
        for (int64_t o = 0; o < outer; o++)
            softmax_row(y + o * len, len);
        return;
    }
    /* Strided: a block of up to 64 columns at a time, so the running max
    ** and sum live on the stack and the inner loops run over contiguous
    ** floats. */
    enum { B = 64 };
    float m[B];
    double s[B];
    for (int64_t o = 0; o < outer; o++) {
        float *base = y + o * len * inner;
        for (int64_t j0 = 0; j0 < inner; j0 += B) {
            int nb = (int)(inner - j0 < B ? inner - j0 : B);
            for (int j = 0; j < nb; j++) {
                m[j] = base[j0 + j];
                s[j] = 0.0;
            }
            for (int64_t l = 1; l < len; l++) {
                const float *r = base + l * inner + j0;
                for (int j = 0; j < nb; j++)
                    m[j] = r[j] > m[j] ? r[j] : m[j];
            }
            for (int64_t l = 0; l < len; l++) {
                float *r = base + l * inner + j0;
                for (int j = 0; j < nb; j++) {
                    r[j] = expf(r[j] - m[j]);
                    s[j] += r[j];
                }
            }
            for (int j = 0; j < nb; j++)
                m[j] = (float)(1.0 / s[j]); /* m now holds 1/sum */
            for (int64_t l = 0; l < len; l++) {
                float *r = base + l * inner + j0;
                for (int j = 0; j < nb; j++)
                    r[j] *= m[j];
            }
        }
    }
}

/*------------------------------------------------------------ epilogue */

/* The layers after a GEMM (post_scale, the residual), a row at a time
** while it is in cache. */
K2T_CLONES
static void epilogue_keep(float *y, int64_t rows, int c, const k2t_epi *e)
{
    const float *sc = e->scale, *b = e->bias, *ps = e->post_scale, *pt = e->post_shift;
    for (int64_t r = 0; r < rows; r++) {
        float *restrict p = y + r * c;
        for (int j = 0; j < c; j++) {
            float v = p[j];
            if (sc)
                v *= sc[j];
            if (b)
                v += b[j];
            if (ps)
                v = v * ps[j] + pt[j];
            if (e->res)
                v += p[j + e->res];
            p[j] = v;
        }
        if (e->act == K2T_ACT_SOFTMAX)
            softmax_row(p, c);
        else
            kern_act(p, c, e->act);
    }
}

K2T_CLONES
void kern_epilogue(float *restrict y, int64_t rows, int c, const k2t_epi *e)
{
    if (!e)
        return;
    if (e->post_scale || e->res) {
        epilogue_keep(y, rows, c, e);
        return;
    }
    const float *restrict sc = e->scale, *restrict b = e->bias;
    int fuse_relu = e->act == K2T_ACT_RELU;
    if (sc || b) {
        for (int64_t r = 0; r < rows; r++) {
            float *restrict p = y + r * c;
            if (sc && b) {
                if (fuse_relu)
                    for (int j = 0; j < c; j++) {
                        float v = p[j] * sc[j] + b[j];
                        p[j] = v > 0.0f ? v : 0.0f;
                    }
                else
                    for (int j = 0; j < c; j++)
                        p[j] = p[j] * sc[j] + b[j];
            } else if (b) {
                if (fuse_relu)
                    for (int j = 0; j < c; j++) {
                        float v = p[j] + b[j];
                        p[j] = v > 0.0f ? v : 0.0f;
                    }
                else
                    for (int j = 0; j < c; j++)
                        p[j] += b[j];
            } else {
                if (fuse_relu)
                    for (int j = 0; j < c; j++) {
                        float v = p[j] * sc[j];
                        p[j] = v > 0.0f ? v : 0.0f;
                    }
                else
                    for (int j = 0; j < c; j++)
                        p[j] *= sc[j];
            }
        }
        if (fuse_relu)
            return;
    }
    if (e->act == K2T_ACT_SOFTMAX) {
        for (int64_t r = 0; r < rows; r++)
            softmax_row(y + r * c, c);
        return;
    }
    kern_act(y, rows * c, e->act);
}

/*---------------------------------------------------------------- dense */

/* Rows per GEMM call, so the epilogue runs on an output block that is
** still in cache. */
#define DENSE_TILE 256

void kern_dense(const float *x, int64_t rows, int in, const float *w, int units,
                const k2t_epi *e, float *y)
{
    for (int64_t r0 = 0; r0 < rows; r0 += DENSE_TILE) {
        int m = (int)(rows - r0 < DENSE_TILE ? rows - r0 : DENSE_TILE);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, units, in, 1.0f,
                    x + r0 * in, in, w, units, 0.0f, y + r0 * units, units);
        kern_epilogue(y + r0 * units, m, units, e);
    }
}

/*-------------------------------------------------------- normalisation */

K2T_CLONES
void kern_scale_shift(const float *x, int64_t rows, int c, const float *scale, const float *shift,
                      float *y)
{
    int64_t r = 0;
    if (c > 0 && c < 64) {
        /* Few channels: the per-channel factors repeated over k rows (P >= 64
        ** floats), one flat loop that vectorizes; the same a*s + t per float. */
        float sp[128], tp[128];
        int k = (64 + c - 1) / c, P = k * c;
        for (int i = 0; i < P; i++) {
            sp[i] = scale[i % c];
            tp[i] = shift[i % c];
        }
        for (; r + k <= rows; r += k) {
            const float *a = x + r * c;
            float *b = y + r * c;
            for (int i = 0; i < P; i++)
                b[i] = a[i] * sp[i] + tp[i];
        }
    }
    for (; r < rows; r++) {
        const float *a = x + r * c;
        float *b = y + r * c;
        for (int j = 0; j < c; j++)
            b[j] = a[j] * scale[j] + shift[j];
    }
}

K2T_CLONES
void kern_scale_shift_nchw(const float *x, int n, int c, int64_t hw, const float *scale,
                           const float *shift, float *y)
{
    for (int64_t p = 0; p < (int64_t)n * c; p++) {
        float s = scale[p % c], t = shift[p % c];
        const float *a = x + p * hw;
        float *b = y + p * hw;
        for (int64_t i = 0; i < hw; i++)
            b[i] = a[i] * s + t;
    }
}

K2T_CLONES
void kern_layernorm(const float *x, int64_t rows, int64_t len, const float *gamma,
                    const float *beta, float eps, float *y)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *a = x + r * len;
        float *b = y + r * len;
        double s = 0.0;
        for (int64_t i = 0; i < len; i++)
            s += a[i];
        double mean = s / (double)len, v = 0.0;
        for (int64_t i = 0; i < len; i++) {
            double d = a[i] - mean;
            v += d * d;
        }
        v /= (double)len;
        float inv = (float)(1.0 / sqrt(v + (double)eps)), mf = (float)mean;
        if (gamma && beta)
            for (int64_t i = 0; i < len; i++)
                b[i] = (a[i] - mf) * inv * gamma[i] + beta[i];
        else if (gamma)
            for (int64_t i = 0; i < len; i++)
                b[i] = (a[i] - mf) * inv * gamma[i];
        else if (beta)
            for (int64_t i = 0; i < len; i++)
                b[i] = (a[i] - mf) * inv + beta[i];
        else
            for (int64_t i = 0; i < len; i++)
                b[i] = (a[i] - mf) * inv;
    }
}

/*---------------------------------------------------------- elementwise */

K2T_CLONES
void kern_relu(const float *x, int64_t n, float t, float m, float a, float *y)
{
    int clip = !isnan(m);
    if (t == 0.0f && a == 0.0f) {
        if (!clip) {
            for (int64_t i = 0; i < n; i++)
                y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        } else {
            for (int64_t i = 0; i < n; i++) {
                float v = x[i] > 0.0f ? x[i] : 0.0f;
                y[i] = v < m ? v : m;
            }
        }
        return;
    }
    /* Keras ReLU.static_call: x if x > t else 0; clip to [0, m]; then
    ** subtract a * max(t - x, 0). */
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] > t ? x[i] : 0.0f;
        if (clip)
            v = v < 0.0f ? 0.0f : v > m ? m : v;
        if (a != 0.0f) {
            float d = t - x[i];
            v -= a * (d > 0.0f ? d : 0.0f);
        }
        y[i] = v;
    }
}

K2T_CLONES
void kern_leaky_relu(const float *x, int64_t n, float alpha, float *y)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : alpha * x[i];
}

void kern_elu(const float *x, int64_t n, float alpha, float *y)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : alpha * expm1f(x[i]);
}

K2T_CLONES
void kern_prelu(const float *x, int n, int64_t per_sample, const float *alpha, float *y)
{
    for (int s = 0; s < n; s++) {
        const float *a = x + s * per_sample;
        float *b = y + s * per_sample;
        for (int64_t i = 0; i < per_sample; i++)
            b[i] = a[i] > 0.0f ? a[i] : alpha[i] * a[i];
    }
}

K2T_CLONES
void kern_merge(k2t_merge op, const float *const *x, int k, int64_t n, float *y)
{
    /* A block at a time through a stack buffer: every input is read at an
    ** index before y is written there, so y may be any of the inputs.
    ** The fold is left to right, as Keras's _merge_function. */
    enum { B = 1024 };
    float acc[B];
    if (k <= 0)
        return;
    if (k == 1) {
        if (y != x[0])
            memmove(y, x[0], (size_t)n * sizeof(float));
        return;
    }
    if (k == 2 || op == K2T_MERGE_SUB) {
        const float *a = x[0], *b = x[1];
        switch (op) {
        case K2T_MERGE_ADD:
            for (int64_t i = 0; i < n; i++)
                y[i] = a[i] + b[i];
            break;
        case K2T_MERGE_SUB:
            for (int64_t i = 0; i < n; i++)
                y[i] = a[i] - b[i];
            break;
        case K2T_MERGE_MUL:
            for (int64_t i = 0; i < n; i++)
                y[i] = a[i] * b[i];
            break;
        case K2T_MERGE_AVG:
            for (int64_t i = 0; i < n; i++)
                y[i] = (a[i] + b[i]) / 2.0f;
            break;
        case K2T_MERGE_MAX:
            for (int64_t i = 0; i < n; i++)
                y[i] = b[i] > a[i] ? b[i] : a[i];
            break;
        case K2T_MERGE_MIN:
            for (int64_t i = 0; i < n; i++)
                y[i] = b[i] < a[i] ? b[i] : a[i];
            break;
        }
        return;
    }
    for (int64_t i0 = 0; i0 < n; i0 += B) {
        int nb = (int)(n - i0 < B ? n - i0 : B);
        memcpy(acc, x[0] + i0, (size_t)nb * sizeof(float));
        for (int j = 1; j < k; j++) {
            const float *a = x[j] + i0;
            switch (op) {
            case K2T_MERGE_ADD:
            case K2T_MERGE_AVG:
                for (int i = 0; i < nb; i++)
                    acc[i] += a[i];
                break;
            case K2T_MERGE_SUB:
                if (j == 1)
                    for (int i = 0; i < nb; i++)
                        acc[i] -= a[i];
                break;
            case K2T_MERGE_MUL:
                for (int i = 0; i < nb; i++)
                    acc[i] *= a[i];
                break;
            case K2T_MERGE_MAX:
                for (int i = 0; i < nb; i++)
                    acc[i] = a[i] > acc[i] ? a[i] : acc[i];
                break;
            case K2T_MERGE_MIN:
                for (int i = 0; i < nb; i++)
                    acc[i] = a[i] < acc[i] ? a[i] : acc[i];
                break;
            }
        }
        if (op == K2T_MERGE_AVG) {
            float d = (float)k;
            for (int i = 0; i < nb; i++)
                acc[i] /= d;
        }
        memcpy(y + i0, acc, (size_t)nb * sizeof(float));
    }
}

/*--------------------------------------------------------------- layout */

void kern_concat(const float *const *x, const int64_t *len, int k, int64_t outer,
                 int64_t inner, float *y)
{
    int64_t total = 0;
    for (int j = 0; j < k; j++)
        total += len[j];
    for (int64_t o = 0; o < outer; o++) {
        float *dst = y + o * total * inner;
        for (int j = 0; j < k; j++) {
            int64_t run = len[j] * inner;
            memcpy(dst, x[j] + o * run, (size_t)run * sizeof(float));
            dst += run;
        }
    }
}

void kern_permute(const float *x, int n, int nd, const int64_t *in, const int *perm, float *y)
{
    int64_t istride[K2T_MAX_DIMS], ostride[K2T_MAX_DIMS], oshape[K2T_MAX_DIMS];
    int64_t per = 1;
    for (int i = nd - 1; i >= 0; i--) {
        istride[i] = per;
        per *= in[i];
    }
    if (nd == 0 || per == 0) {
        if (per > 0)
            memcpy(y, x, (size_t)n * (size_t)per * sizeof(float));
        return;
    }
    /* ostride[i]: the input stride of output axis i. */
    for (int i = 0; i < nd; i++) {
        oshape[i] = in[perm[i]];
        ostride[i] = istride[perm[i]];
    }
    int64_t inner = oshape[nd - 1], is = ostride[nd - 1];
    for (int s = 0; s < n; s++) {
        const float *xs = x + (int64_t)s * per;
        float *ys = y + (int64_t)s * per;
        int64_t idx[K2T_MAX_DIMS] = {0};
        int64_t off = 0;
        for (int64_t o = 0; o < per; o += inner) {
            const float *src = xs + off;
            if (is == 1)
                memcpy(ys + o, src, (size_t)inner * sizeof(float));
            else
                for (int64_t j = 0; j < inner; j++)
                    ys[o + j] = src[j * is];
            /* Advance the odometer over the outer output axes. */
            for (int d = nd - 2; d >= 0; d--) {
                off += ostride[d];
                if (++idx[d] < oshape[d])
                    break;
                off -= ostride[d] * oshape[d];
                idx[d] = 0;
            }
        }
    }
}

void kern_pad2d(const float *x, int n, int h, int w, int c, int pt, int pb, int pl, int pr,
                float *y)
{
    int oh = h + pt + pb, ow = w + pl + pr;
    /* Output columns [ox0, ox1) come from input columns ox - pl. */
    int ox0 = pl > 0 ? pl : 0, ox1 = w + pl < ow ? w + pl : ow;
    size_t cs = (size_t)c * sizeof(float);
    for (int s = 0; s < n; s++) {
        for (int oy = 0; oy < oh; oy++) {
            float *row = y + (((int64_t)s * oh + oy) * ow) * c;
            int iy = oy - pt;
            if (iy < 0 || iy >= h || ox1 <= ox0) {
                memset(row, 0, (size_t)ow * cs);
                continue;
            }
            memset(row, 0, (size_t)ox0 * cs);
            memcpy(row + (int64_t)ox0 * c,
                   x + (((int64_t)s * h + iy) * w + (ox0 - pl)) * c, (size_t)(ox1 - ox0) * cs);
            memset(row + (int64_t)ox1 * c, 0, (size_t)(ow - ox1) * cs);
        }
    }
}

K2T_CLONES
void kern_upsample2d(const float *x, int n, int h, int w, int c, int sh, int sw,
                     int bilinear, float *y)
{
    int oh = h * sh, ow = w * sw;
    if (!bilinear) {
        for (int s = 0; s < n; s++)
            for (int oy = 0; oy < oh; oy++) {
                const float *src = x + ((int64_t)s * h + oy / sh) * w * c;
                float *dst = y + ((int64_t)s * oh + oy) * ow * c;
                for (int ox = 0; ox < ow; ox++)
                    memcpy(dst + (int64_t)ox * c, src + (int64_t)(ox / sw) * c,
                           (size_t)c * sizeof(float));
            }
        return;
    }
    /* tf.image.resize bilinear, half-pixel centres (TF's
    ** compute_interpolation_weights and resize_image), in float as TF. */
    float scy = (float)h / (float)oh, scx = (float)w / (float)ow;
    for (int s = 0; s < n; s++) {
        const float *xs = x + (int64_t)s * h * w * c;
        for (int oy = 0; oy < oh; oy++) {
            float iny = ((float)oy + 0.5f) * scy - 0.5f, fy = floorf(iny);
            int ya = fy > 0.0f ? (int)fy : 0, yb = (int)ceilf(iny);
            yb = yb < h - 1 ? yb : h - 1;
            float ly = iny - fy;
            const float *r0 = xs + (int64_t)ya * w * c, *r1 = xs + (int64_t)yb * w * c;
            float *dst = y + ((int64_t)s * oh + oy) * ow * c;
            for (int ox = 0; ox < ow; ox++) {
                float inx = ((float)ox + 0.5f) * scx - 0.5f, fx = floorf(inx);
                int x0 = fx > 0.0f ? (int)fx : 0, x1 = (int)ceilf(inx);
                x1 = x1 < w - 1 ? x1 : w - 1;
                float lx = inx - fx;
                const float *tl = r0 + (int64_t)x0 * c, *tr = r0 + (int64_t)x1 * c;
                const float *bl = r1 + (int64_t)x0 * c, *br = r1 + (int64_t)x1 * c;
                float *d = dst + (int64_t)ox * c;
                for (int j = 0; j < c; j++) {
                    float top = tl[j] + (tr[j] - tl[j]) * lx;
                    float bot = bl[j] + (br[j] - bl[j]) * lx;
                    d[j] = top + (bot - top) * ly;
                }
            }
        }
    }
}

K2T_CLONES
void kern_affine(const float *x, int64_t n, float scale, float offset, float *y)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] * scale + offset;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
static __attribute__((target("avx512f"))) void u8_avx512(const unsigned char *q, int64_t n, float *y)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(q + i)))));
    for (; i < n; i++)
        y[i] = q[i];
}
#endif

void kern_u8_to_float(const unsigned char *q, int64_t n, float *y)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (kern_simd()) {
        u8_avx512(q, n, y);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++)
        y[i] = q[i];
}
