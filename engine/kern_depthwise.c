/*
** kern_depthwise.c -- the depthwise convolution (DepthwiseConv2D, and
** SeparableConv2D's first half) on NHWC float tensors.
*/
/* As kern_conv.c: the ordinary vectoriser cost model, short copies kept
** loops. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=dynamic", "no-tree-loop-distribute-patterns")
#endif
#include <string.h>
#include "kern_window.h"

/* Depthwise convolution does 2*kh*kw flops per output value, so its cost
** is loop overhead, memory and the latency of each output's chain of
** kh*kw multiply-adds, not arithmetic.
**
** Portable route: pixel by pixel, a block of up to DW_JB output channels
** summed in a local array over the taps (the depth multiplier through
** an expanded copy of the input channels), the epilogue per output row.
**
** AVX-512 route (m == 1):
** - a block of P pixels x V vectors of 16 channels (P*V = 16 independent
**   accumulators, covering the FMA latency and the per-tap overhead) in
**   registers over all taps, the epilogue applied before the store.  Pixels whose window is
**   inside the input are blocked; border pixels go one at a time with
**   their own taps.
** - stride 1 with a channel count that is not a multiple of 16 (8, 24,
**   ...): along an output row the inside pixels form one flat run,
**   y[j] = sum over taps of x_tap[j] * w_tap[j mod c], x_tap contiguous
**   for every tap; the run goes in blocks of 128 floats with the tap's
**   weights (and the epilogue's scale and bias) repeated on the stack so
**   that w_tap[j mod c] is contiguous too.  No lane is wasted on c = 8. */

#define DW_JB 64

#define DW_TILE_MAX 8192 /* floats of rearranged weights kept on the stack */

/* One output pixel: taps [ky0, ky1) x [kx0, kx1), window at input (iy0,
** ix0).  With a depth multiplier, wt (if not NULL) holds the kernel as
** [tap][j][ci], so that each of the m outputs of a channel is a
** contiguous multiply-add over channels (the store interleaves them);
** without wt the input channels are expanded m times per tap. */
static inline __attribute__((always_inline)) void
dw_pixel(const k2t_win *g, int m, const float *xs, const float *w, const float *wt, int iy0,
         int ix0, int ky0, int ky1, int kx0, int kx1, float *o)
{
    const int c = g->c, cm = c * m;
    float acc[DW_JB], xe[DW_JB];
    /* Blocks of whole input channels: cb channels, cb*m outputs. */
    const int cb = DW_JB / m;
    for (int c0 = 0; c0 < c; c0 += cb) {
        int nc = c - c0 < cb ? c - c0 : cb, no = nc * m;
        for (int j = 0; j < DW_JB; j++)
            acc[j] = 0.0f;
        for (int ky = ky0; ky < ky1; ky++) {
            const float *xr = xs + (int64_t)(iy0 + ky * g->dh) * g->iw * c + c0;
            for (int kx = kx0; kx < kx1; kx++) {
                const float *xp = xr + (int64_t)(ix0 + kx * g->dw) * c;
                int64_t tap = (int64_t)ky * g->kw + kx;
                if (m > 1 && wt) {
                    for (int j = 0; j < m; j++) {
                        const float *wq = wt + (tap * m + j) * c + c0;
                        float *aq = acc + j * cb;
                        for (int ci = 0; ci < nc; ci++)
                            aq[ci] += xp[ci] * wq[ci];
                    }
                    continue;
                }
                const float *wp = w + tap * cm + (int64_t)c0 * m;
                if (m > 1) {
                    for (int ci = 0; ci < nc; ci++)
                        for (int j = 0; j < m; j++)
                            xe[ci * m + j] = xp[ci];
                    xp = xe;
                }
                for (int j = 0; j < no; j++)
                    acc[j] += xp[j] * wp[j];
            }
        }
        if (m > 1 && wt) {
            for (int ci = 0; ci < nc; ci++)
                for (int j = 0; j < m; j++)
                    o[(int64_t)(c0 + ci) * m + j] = acc[j * cb + ci];
        } else {
            memcpy(o + (int64_t)c0 * m, acc, (size_t)no * sizeof(float));
        }
    }
}

static inline __attribute__((always_inline)) void
dw_portable_body(const k2t_win *g, int m, const float *x, int n, const float *w,
                 const k2t_epi *e, float *y)
{
    const int c = g->c, cm = c * m, ntap = g->kh * g->kw;
    float wt[DW_TILE_MAX];
    const int use_wt = m > 1 && (int64_t)ntap * cm <= DW_TILE_MAX;
    if (use_wt)
        for (int t = 0; t < ntap; t++)
            for (int ci = 0; ci < c; ci++)
                for (int j = 0; j < m; j++)
                    wt[((int64_t)t * m + j) * c + ci] = w[(int64_t)t * cm + ci * m + j];
    for (int s = 0; s < n; s++) {
        const float *xs = x + (int64_t)s * g->ih * g->iw * c;
        for (int oy = 0; oy < g->oh; oy++) {
            int iy0 = oy * g->sh - g->pt, ky0, ky1;
            tap_range(iy0, g->kh, g->dh, g->ih, &ky0, &ky1);
            float *yrow = y + (((int64_t)s * g->oh + oy) * g->ow) * cm;
            for (int ox = 0; ox < g->ow; ox++) {
                int ix0 = ox * g->sw - g->pl, kx0, kx1;
                tap_range(ix0, g->kw, g->dw, g->iw, &kx0, &kx1);
                dw_pixel(g, m, xs, w, use_wt ? wt : NULL, iy0, ix0, ky0, ky1, kx0, kx1,
                         yrow + (int64_t)ox * cm);
            }
            kern_epilogue(yrow, g->ow, cm, e);
        }
    }
}

static void dw_portable(const k2t_win *g, int m, const float *x, int n, const float *w,
                        const k2t_epi *e, float *y)
{
    dw_portable_body(g, m, x, n, w, e, y);
}

#ifdef HAVE_DIRECT
/* The portable loops compiled for AVX-512 (the depth multiplier case). */
static AVX512 void dw_portable_avx512(const k2t_win *g, int m, const float *x, int n,
                                      const float *w, const k2t_epi *e, float *y)
{
    dw_portable_body(g, m, x, n, w, e, y);
}

/* A depthwise micro-kernel call: everything but the pixels' position. */
typedef struct dwk {
    int64_t rowstep, colstep;   /* floats between taps ky and kx in x */
    int64_t ps;                 /* floats between the windows of adjacent pixels (sw*c) */
    int64_t ys;                 /* floats between output pixels (c) */
    int ky0, ky1, kx0, kx1, kw; /* taps used; kernel width */
    const float *w;             /* w + c0: tap t's channels at w + t*c */
    int64_t wstep;              /* c */
    const float *scale, *bias;  /* + c0, or NULL */
    int clip;                   /* 0, max(v,0) (1), then min(v,6) (2) */
    __mmask16 tail;             /* lanes of the last vector */
    const float *post_scale, *post_shift; /* + c0, or NULL */
} dwk;

/* Accumulator i is pixel i/V, channel vector i%V.  The per-vector
** operands are named registers (an array of __m512 would live on the
** stack and be stored at every tap): SEL8(w, v) is w<v> for a constant v. */
#define SEL8(p, v)                                                                     \
    ((v) == 0 ? p##0 : (v) == 1 ? p##1 : (v) == 2 ? p##2 : (v) == 3 ? p##3 :          \
     (v) == 4 ? p##4 : (v) == 5 ? p##5 : (v) == 6 ? p##6 : p##7)
/* dst<v> = 16 floats at src + 16v (the last vector masked), for v < V. */
#define LOAD8(dst, src, LD)                                                            \
    do {                                                                               \
        dst##0 = LD(0, src);                                                           \
        if (V > 1) dst##1 = LD(1, src);                                                \
        if (V > 2) dst##2 = LD(2, src);                                                \
        if (V > 3) dst##3 = LD(3, src);                                                \
        if (V > 4) dst##4 = LD(4, src);                                                \
        if (V > 5) dst##5 = LD(5, src);                                                \
        if (V > 6) dst##6 = LD(6, src);                                                \
        if (V > 7) dst##7 = LD(7, src);                                                \
    } while (0)
#define LDZ(v, src) _mm512_maskz_loadu_ps((v) == V - 1 ? tail : 0xffff, (src) + 16 * (v))
#define LD1(v, src) _mm512_mask_loadu_ps(one, (v) == V - 1 ? tail : 0xffff, (src) + 16 * (v))
#define DW_ACC(i)                                                                      \
    if ((i) < P * V) {                                                                 \
        const int v = (i) % V;                                                         \
        __m512 xv = _mm512_maskz_loadu_ps(v == V - 1 ? tail : 0xffff,                 \
                                          xt + ((i) / V) * ps + 16 * v);               \
        a##i = _mm512_fmadd_ps(xv, SEL8(w, v), a##i);                                 \
    }
#define DW_EPI(i)                                                                      \
    if ((i) < P * V) {                                                                 \
        const int v = (i) % V;                                                         \
        a##i = _mm512_fmadd_ps(a##i, SEL8(s, v), SEL8(b, v));                          \
    }
#define DW_CLIP(i)                                                                     \
    if ((i) < P * V) {                                                                 \
        a##i = _mm512_max_ps(a##i, z);                                                 \
        if (a->clip == 2)                                                              \
            a##i = _mm512_min_ps(a##i, six);                                           \
    }
#define DW_STORE(i)                                                                    \
    if ((i) < P * V) {                                                                 \
        const int v = (i) % V;                                                         \
        _mm512_mask_storeu_ps(y + ((i) / V) * a->ys + 16 * v,                          \
                              v == V - 1 ? a->tail : 0xffff, a##i);                    \
    }
#define DW_POST(i)                                                                     \
    if ((i) < P * V) {                                                                 \
        const int v = (i) % V;                                                         \
        a##i = _mm512_add_ps(_mm512_mul_ps(a##i, SEL8(s, v)), SEL8(b, v));             \
    }
#define DW_ALL(M)                                                                      \
    M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)

/* P pixels (windows at xs + off + p*ps) x V channel vectors. */
static inline __attribute__((always_inline)) AVX512 void
dwk_body(const int P, const int V, const dwk *a, const float *xs, int64_t off, float *y)
{
    const __m512 z = _mm512_setzero_ps();
    __m512 a0 = z, a1 = z, a2 = z, a3 = z, a4 = z, a5 = z, a6 = z, a7 = z;
    __m512 a8 = z, a9 = z, a10 = z, a11 = z, a12 = z, a13 = z, a14 = z, a15 = z;
    __m512 w0 = z, w1 = z, w2 = z, w3 = z, w4 = z, w5 = z, w6 = z, w7 = z;
    const int64_t rs = a->rowstep, cs = a->colstep, wst = a->wstep, ps = a->ps;
    const __mmask16 tail = a->tail;
    const int nky = a->ky1 - a->ky0, nkx = a->kx1 - a->kx0;
    const float *xr = xs + off + a->ky0 * rs + a->kx0 * cs;
    const float *wr = a->w + (int64_t)(a->ky0 * a->kw + a->kx0) * wst;
    for (int ky = 0; ky < nky; ky++, xr += rs, wr += a->kw * wst) {
        const float *xt = xr, *wt = wr;
        for (int kx = 0; kx < nkx; kx++, xt += cs, wt += wst) {
            LOAD8(w, wt, LDZ);
            DW_ALL(DW_ACC)
        }
    }
    if (a->scale || a->bias) {
        const __m512 one = _mm512_set1_ps(1.0f);
        __m512 s0 = one, s1 = one, s2 = one, s3 = one, s4 = one, s5 = one, s6 = one, s7 = one;
        __m512 b0 = z, b1 = z, b2 = z, b3 = z, b4 = z, b5 = z, b6 = z, b7 = z;
        if (a->scale)
            LOAD8(s, a->scale, LD1);
        if (a->bias)
            LOAD8(b, a->bias, LDZ);
        DW_ALL(DW_EPI)
    }
    if (a->post_scale) {
        __m512 s0, s1 = z, s2 = z, s3 = z, s4 = z, s5 = z, s6 = z, s7 = z;
        __m512 b0, b1 = z, b2 = z, b3 = z, b4 = z, b5 = z, b6 = z, b7 = z;
        LOAD8(s, a->post_scale, LDZ);
        LOAD8(b, a->post_shift, LDZ);
        DW_ALL(DW_POST)
    }
    if (a->clip) {
        const __m512 six = _mm512_set1_ps(6.0f);
        DW_ALL(DW_CLIP)
    }
    DW_ALL(DW_STORE)
}
#undef DW_ACC
#undef DW_EPI
#undef DW_CLIP
#undef DW_STORE
#undef DW_POST
#undef DW_ALL
#undef SEL8
#undef LOAD8
#undef LDZ
#undef LD1

typedef void (*dwk_fn)(const dwk *, const float *, int64_t, float *);
#define DWK(P, V)                                                                        \
    static AVX512 void dwk_##P##_##V(const dwk *a, const float *xs, int64_t off, float *y) \
    {                                                                                    \
        dwk_body(P, V, a, xs, off, y);                                                   \
    }
DWK(16, 1) DWK(8, 1) DWK(4, 1) DWK(2, 1) DWK(1, 1)
DWK(8, 2) DWK(4, 2) DWK(2, 2) DWK(1, 2)
DWK(4, 4) DWK(2, 4) DWK(1, 4)
#undef DWK

/* dwk_tab[log2 V][i]: blocks of 16/V pixels and smaller, ending with 1. */
static const dwk_fn dwk_tab[3][5] = {
    {dwk_16_1, dwk_8_1, dwk_4_1, dwk_2_1, dwk_1_1},
    {dwk_8_2, dwk_4_2, dwk_2_2, dwk_1_2, NULL},
    {dwk_4_4, dwk_2_4, dwk_1_4, NULL, NULL},
};

/* The flat run of one output row (stride 1, m 1): len floats from
** y + 0 and x offset xoff, taps [ky0, ky1) x [0, kw); wt, st, bt: per tap
** weights (and scale, bias) repeated, tstride floats per tap. */
static AVX512 void dw_flat(const k2t_win *g, const float *xs, int64_t xoff, int64_t len,
                           int ky0, int ky1, const float *wt, const float *st, const float *bt,
                           const float *pst, const float *ptt,
                           int64_t tstride, int clip, float *y)
{
    const int c = g->c, kw = g->kw;
    const __m512 z = _mm512_setzero_ps(), six = _mm512_set1_ps(6.0f);
    int phase = 0; /* j0 mod c */
    for (int64_t j0 = 0; j0 < len; j0 += 128) {
        int nb = len - j0 < 128 ? (int)(len - j0) : 128;
        int nv = (nb + 15) / 16;
        __mmask16 tail = (__mmask16)((1u << (nb - 16 * (nv - 1))) - 1u);
        __m512 acc[8];
        if (nb == 128) {
            /* The common case, all eight accumulators live. */
            __m512 a0 = z, a1 = z, a2 = z, a3 = z, a4 = z, a5 = z, a6 = z, a7 = z;
            for (int ky = ky0; ky < ky1; ky++)
                for (int kx = 0; kx < kw; kx++) {
                    const float *xp = xs + xoff + ((int64_t)ky * g->dh * g->iw +
                                                   (int64_t)kx * g->dw) * c + j0;
                    const float *wp = wt + (ky * kw + kx) * tstride + phase;
                    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(xp), _mm512_loadu_ps(wp), a0);
                    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(xp + 16), _mm512_loadu_ps(wp + 16), a1);
                    a2 = _mm512_fmadd_ps(_mm512_loadu_ps(xp + 32), _mm512_loadu_ps(wp + 32), a2);
                    a3 = _mm512_fmadd_ps(_mm512_loadu_ps(xp + 48), _mm512_loadu_ps(wp + 48), a3);
                    a4 = _mm512_fmadd_ps(_mm512_loadu_ps(xp + 64), _mm512_loadu_ps(wp + 64), a4);
                    a5 = _mm512_fmadd_ps(_mm512_loadu_ps(xp + 80), _mm512_loadu_ps(wp + 80), a5);
                    a6 = _mm512_fmadd_ps(_mm512_loadu_ps(xp + 96), _mm512_loadu_ps(wp + 96), a6);
                    a7 = _mm512_fmadd_ps(_mm512_loadu_ps(xp + 112), _mm512_loadu_ps(wp + 112), a7);
                }
            acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
            acc[4] = a4, acc[5] = a5, acc[6] = a6, acc[7] = a7;
        } else {
            for (int v = 0; v < nv; v++)
                acc[v] = z;
            for (int ky = ky0; ky < ky1; ky++)
                for (int kx = 0; kx < kw; kx++) {
                    const float *xp = xs + xoff + ((int64_t)ky * g->dh * g->iw +
                                                   (int64_t)kx * g->dw) * c + j0;
                    const float *wp = wt + (ky * kw + kx) * tstride + phase;
                    for (int v = 0; v < nv; v++) {
                        __mmask16 mk = v == nv - 1 ? tail : 0xffff;
                        acc[v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, xp + 16 * v),
                                                 _mm512_maskz_loadu_ps(mk, wp + 16 * v), acc[v]);
                    }
                }
        }
        for (int v = 0; v < nv; v++) {
            __mmask16 mk = v == nv - 1 ? tail : 0xffff;
            __m512 r = acc[v];
            if (st)
                r = _mm512_mul_ps(r, _mm512_loadu_ps(st + phase + 16 * v));
            if (bt)
                r = _mm512_add_ps(r, _mm512_loadu_ps(bt + phase + 16 * v));
            if (pst)
                r = _mm512_add_ps(_mm512_mul_ps(r, _mm512_loadu_ps(pst + phase + 16 * v)),
                                  _mm512_loadu_ps(ptt + phase + 16 * v));
            if (clip)
                r = _mm512_max_ps(r, z);
            if (clip == 2)
                r = _mm512_min_ps(r, six);
            _mm512_mask_storeu_ps(y + j0 + 16 * v, mk, r);
        }
        phase = (int)((phase + 128) % c);
    }
}

static void dw_avx512(const k2t_win *g, const float *x, int n, const float *w, const k2t_epi *e,
                      float *y)
{
    const int c = g->c, kw = g->kw, ntap = g->kh * g->kw;
    k2t_act act = e ? e->act : K2T_ACT_LINEAR;
    int clip = act == K2T_ACT_RELU ? 1 : act == K2T_ACT_RELU6 ? 2 : 0;
    const float *scale = e ? e->scale : NULL, *bias = e ? e->bias : NULL;
    const float *post_scale = e ? e->post_scale : NULL, *post_shift = e ? e->post_shift : NULL;
    /* Interior columns: ox*sw - pl >= 0 and ox*sw - pl + (kw-1)*dw <= iw-1. */
    int oxa = (g->pl + g->sw - 1) / g->sw, num = g->iw - 1 - (kw - 1) * g->dw + g->pl;
    int oxb = num < 0 ? 0 : num / g->sw + 1;
    oxa = oxa < g->ow ? oxa : g->ow;
    oxb = oxb < g->ow ? oxb : g->ow;
    oxb = oxb > oxa ? oxb : oxa;
    /* The flat run, with its repeated weights, scale and bias. */
    const int64_t tstride = (int64_t)c + 128;
    const int flat = g->sw == 1 && c % 16 != 0 && (ntap + 4) * tstride <= DW_TILE_MAX;
    float tile[DW_TILE_MAX];
    float *st = NULL, *bt = NULL, *pst = NULL, *ptt = NULL;
    if (flat) {
        for (int t = 0; t < ntap; t++)
            for (int64_t i = 0; i < tstride; i++)
                tile[t * tstride + i] = w[(int64_t)t * c + i % c];
        if (scale) {
            st = tile + ntap * tstride;
            for (int64_t i = 0; i < tstride; i++)
                st[i] = scale[i % c];
        }
        if (bias) {
            bt = tile + (ntap + 1) * tstride;
            for (int64_t i = 0; i < tstride; i++)
                bt[i] = bias[i % c];
        }
        if (post_scale) {
            pst = tile + (ntap + 2) * tstride;
            ptt = tile + (ntap + 3) * tstride;
            for (int64_t i = 0; i < tstride; i++) {
                pst[i] = post_scale[i % c];
                ptt[i] = post_shift[i % c];
            }
        }
    }
    dwk a;
    a.rowstep = (int64_t)g->dh * g->iw * c;
    a.colstep = (int64_t)g->dw * c;
    a.ps = (int64_t)g->sw * c;
    a.ys = c;
    a.kw = kw;
    a.wstep = c;
    a.clip = clip;
    int64_t oy_lo, oy_hi; /* a sliced call's share of the rows (kern_slice) */
    kern_slice_range(g->oh, &oy_lo, &oy_hi);
    for (int s = 0; s < n; s++) {
        const float *xs = x + (int64_t)s * g->ih * g->iw * c;
        for (int oy = (int)oy_lo; oy < oy_hi; oy++) {
            int iy0 = oy * g->sh - g->pt;
            tap_range(iy0, g->kh, g->dh, g->ih, &a.ky0, &a.ky1);
            float *yrow = y + (((int64_t)s * g->oh + oy) * g->ow) * c;
            const int64_t row0 = (int64_t)iy0 * g->iw * c; /* may lie in the padding */
            if (flat && oxb > oxa)
                dw_flat(g, xs, row0 + (int64_t)(oxa - g->pl) * c, (int64_t)(oxb - oxa) * c,
                        a.ky0, a.ky1, tile, st, bt, pst, ptt, tstride, clip,
                        yrow + (int64_t)oxa * c);
            for (int c0 = 0; c0 < c;) {
                /* Chunks of 4, 2 or 1 vectors, the last one masked: blocks
                ** of 4 pixels x 4 vectors reload each tap's weights for 4
                ** pixels, not 2 (2 x 8: 4% more time in MobileNetV2-224's
                ** depthwise layers). */
                int vec = (c - c0 + 15) / 16, li = vec >= 4 ? 2 : vec >= 2 ? 1 : 0;
                int nv = 1 << li, nc = c - c0 < 16 * nv ? c - c0 : 16 * nv;
                a.tail = (__mmask16)((1u << (nc - 16 * (nv - 1))) - 1u);
                a.w = w + c0;
                a.scale = scale ? scale + c0 : NULL;
                a.bias = bias ? bias + c0 : NULL;
                a.post_scale = post_scale ? post_scale + c0 : NULL;
                a.post_shift = post_shift ? post_shift + c0 : NULL;
                for (int ox = 0; ox < g->ow; ox++) {
                    if (ox == oxa && oxb > oxa) {
                        if (!flat) {
                            /* Inside pixels in blocks. */
                            a.kx0 = 0;
                            a.kx1 = kw;
                            for (int i = 0, o = oxa; o < oxb; i++) {
                                int pb = (16 >> li) >> i;
                                for (; o + pb <= oxb; o += pb)
                                    dwk_tab[li][i](&a, xs, row0 + ((int64_t)o * g->sw - g->pl) * c + c0,
                                                   yrow + (int64_t)o * c + c0);
                            }
                        }
                        ox = oxb - 1;
                        continue;
                    }
                    int ix0 = ox * g->sw - g->pl;
                    tap_range(ix0, kw, g->dw, g->iw, &a.kx0, &a.kx1);
                    dwk_tab[li][4 - li](&a, xs, row0 + (int64_t)ix0 * c + c0,
                                        yrow + (int64_t)ox * c + c0);
                }
                c0 += nc;
            }
            if (act == K2T_ACT_SOFTMAX) {
                k2t_epi sm = {.act = act};
                kern_epilogue(yrow, g->ow, c, &sm);
            } else if (!clip && act != K2T_ACT_LINEAR) {
                kern_act(yrow, (int64_t)g->ow * c, act);
            }
        }
    }
}
#endif

void kern_depthwise(const k2t_win *g, int m, const float *x, int n, const float *w,
                    const k2t_epi *e, float *y)
{
#ifdef HAVE_DIRECT
    if (kern_simd()) {
        if (m == 1) {
            dw_avx512(g, x, n, w, e, y);
        } else
            dw_portable_avx512(g, m, x, n, w, e, y);
        return;
    }
#endif
    dw_portable(g, m, x, n, w, e, y);
}

