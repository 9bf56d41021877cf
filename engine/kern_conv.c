/*
** kern_conv.c -- the window kernels: convolution (im2col + GEMM),
** depthwise convolution, transposed convolution (GEMM + col2im) and
** pooling, all on NHWC float tensors.
**
** Convolution follows Darknet: the output is a [n*oh*ow][cout] matrix,
** the input patches an [n*oh*ow][kh*kw*cin] matrix, the Keras kernel a
** [kh*kw*cin][cout] matrix as stored, so the layer is one product.  The
** patch matrix is never built whole: a tile of output rows, sized so its
** patches fit in L2, is unfolded into the caller's workspace, multiplied
** by cblas_sgemm, and the epilogue (folded BN, bias, activation) runs on
** the output tile while it is still in cache.  In NHWC a patch row is
** kh runs of kw*cin contiguous floats (when the width dilation is 1), so
** the unfold is a few memcpy calls per output pixel plus memset for the
** padding.  A 1x1, stride-1, unpadded convolution needs no unfold at all:
** x already is the patch matrix.
**
** Tiles run across sample boundaries, so a batch of small images still
** makes full-sized GEMMs.
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

/* Floats of the patch tile: 64K floats = 256 KiB, half a typical L2, which
** leaves room for the kernel panel and the output tile. */
#define TILE_FLOATS (64 * 1024)
#define TILE_MIN 32
#define TILE_MAX 1024

/* Output rows per tile for patch rows of k floats. */
static int tile_rows(int64_t k)
{
    int64_t r = k > 0 ? TILE_FLOATS / k : TILE_MAX;
    r = r < TILE_MIN ? TILE_MIN : r > TILE_MAX ? TILE_MAX : r;
    return (int)(r & ~(int64_t)7) > 0 ? (int)(r & ~(int64_t)7) : (int)r;
}

/* The kernel taps k0 <= k < k1 of a window starting at input index 'base'
** with dilation d that fall inside [0, in). */
static inline void tap_range(int base, int k, int d, int in, int *k0, int *k1)
{
    int a = 0, b = k;
    if (base < 0)
        a = (-base + d - 1) / d;
    int last = in - 1 - base; /* largest reachable offset */
    if (last < 0)
        b = 0;
    else if ((int64_t)(k - 1) * d > last)
        b = last / d + 1;
    *k0 = a;
    *k1 = b > a ? b : a;
}

/*---------------------------------------------------------- convolution */

static int conv_is_pointwise(const k2t_win *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pb == 0 &&
           g->pl == 0 && g->pr == 0 && g->oh == g->ih && g->ow == g->iw;
}

int64_t kern_conv2d_ws(const k2t_win *g, int groups)
{
    if (conv_is_pointwise(g))
        return 0;
    int64_t k = (int64_t)g->kh * g->kw * (g->c / groups);
    return (int64_t)tile_rows(k) * k;
}

/* Unfold output rows [r0, r0+rows) (row = (sample, oy, ox) flattened) of
** channel slice [coff, coff+cg) into ws, one row of kh*kw*cg floats each,
** ordered (ky, kx, ci) as the Keras kernel's rows. */
static void im2col(const k2t_win *g, const float *x, int cg, int coff, int64_t r0, int rows,
                   float *ws)
{
    const int c = g->c, kw = g->kw, ih = g->ih, iw = g->iw;
    const int64_t plane = (int64_t)g->oh * g->ow, ssize = (int64_t)ih * iw * c;
    const int contig = g->dw == 1 && cg == c; /* kw taps are one run of kw*c */
    const size_t fs = sizeof(float);
    int64_t s = r0 / plane, rem = r0 % plane;
    int oy = (int)(rem / g->ow), ox = (int)(rem % g->ow);
    float *d = ws;
    for (int r = 0; r < rows; r++) {
        const float *xs = x + s * ssize + coff;
        int iy0 = oy * g->sh - g->pt, ix0 = ox * g->sw - g->pl;
        int kx0, kx1;
        tap_range(ix0, kw, g->dw, iw, &kx0, &kx1);
        for (int ky = 0; ky < g->kh; ky++) {
            int iy = iy0 + ky * g->dh;
            if (iy < 0 || iy >= ih) {
                memset(d, 0, (size_t)kw * cg * fs);
                d += (int64_t)kw * cg;
                continue;
            }
            const float *xr = xs + (int64_t)iy * iw * c;
            if (contig) {
                memset(d, 0, (size_t)kx0 * c * fs);
                memcpy(d + (int64_t)kx0 * c, xr + (int64_t)(ix0 + kx0) * c,
                       (size_t)(kx1 - kx0) * c * fs);
                memset(d + (int64_t)kx1 * c, 0, (size_t)(kw - kx1) * c * fs);
                d += (int64_t)kw * c;
            } else {
                for (int kx = 0; kx < kw; kx++, d += cg) {
                    if (kx < kx0 || kx >= kx1)
                        memset(d, 0, (size_t)cg * fs);
                    else
                        memcpy(d, xr + (int64_t)(ix0 + kx * g->dw) * c, (size_t)cg * fs);
                }
            }
        }
        if (++ox == g->ow) {
            ox = 0;
            if (++oy == g->oh) {
                oy = 0;
                s++;
            }
        }
    }
}

void kern_conv2d(const k2t_win *g, int groups, int cout, const float *x, int n,
                 const float *w, const k2t_epi *e, float *y, float *ws)
{
    const int cg = g->c / groups, coutg = cout / groups;
    const int64_t m = (int64_t)n * g->oh * g->ow;
    const int64_t k = (int64_t)g->kh * g->kw * cg;
    const int point = conv_is_pointwise(g);
    const int t = point ? 256 : tile_rows(k);
    for (int64_t r0 = 0; r0 < m; r0 += t) {
        int rows = (int)(m - r0 < t ? m - r0 : t);
        float *yt = y + r0 * cout;
        for (int q = 0; q < groups; q++) {
            const float *a;
            int lda;
            if (point) {
                a = x + r0 * g->c + (int64_t)q * cg;
                lda = g->c;
            } else {
                im2col(g, x, cg, q * cg, r0, rows, ws);
                a = ws;
                lda = (int)k;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, coutg, (int)k, 1.0f, a,
                        lda, w + (int64_t)q * coutg, cout, 0.0f, yt + (int64_t)q * coutg, cout);
        }
        kern_epilogue(yt, rows, cout, e);
    }
}

/*------------------------------------------------------------ depthwise */

void kern_depthwise(const k2t_win *g, int m, const float *x, int n, const float *w,
                    const k2t_epi *e, float *y)
{
    const int c = g->c, cm = c * m;
    for (int s = 0; s < n; s++) {
        const float *xs = x + (int64_t)s * g->ih * g->iw * c;
        for (int oy = 0; oy < g->oh; oy++) {
            int iy0 = oy * g->sh - g->pt, ky0, ky1;
            tap_range(iy0, g->kh, g->dh, g->ih, &ky0, &ky1);
            float *yrow = y + (((int64_t)s * g->oh + oy) * g->ow) * cm;
            for (int ox = 0; ox < g->ow; ox++) {
                int ix0 = ox * g->sw - g->pl, kx0, kx1;
                tap_range(ix0, g->kw, g->dw, g->iw, &kx0, &kx1);
                float *restrict o = yrow + (int64_t)ox * cm;
                memset(o, 0, (size_t)cm * sizeof(float));
                for (int ky = ky0; ky < ky1; ky++) {
                    const float *xr = xs + (int64_t)(iy0 + ky * g->dh) * g->iw * c;
                    for (int kx = kx0; kx < kx1; kx++) {
                        const float *restrict xp = xr + (int64_t)(ix0 + kx * g->dw) * c;
                        const float *restrict wp = w + ((int64_t)ky * g->kw + kx) * cm;
                        if (m == 1) {
                            for (int ci = 0; ci < c; ci++)
                                o[ci] += xp[ci] * wp[ci];
                        } else {
                            for (int ci = 0; ci < c; ci++)
                                for (int j = 0; j < m; j++)
                                    o[ci * m + j] += xp[ci] * wp[ci * m + j];
                        }
                    }
                }
            }
            kern_epilogue(yrow, g->ow, cm, e);
        }
    }
}

/*------------------------------------------------- transposed convolution */

int64_t kern_conv2d_transpose_ws(const k2t_win *g, int cout)
{
    int64_t k = (int64_t)g->kh * g->kw * cout;
    return (int64_t)tile_rows(k) * k;
}

/* Each input pixel p contributes x[p] . w[ky][kx][co][:] to the full
** output F at (iy*sh + ky*dh, ix*sw + kx*dw).  A tile of input pixels
** times the kernel (as a [kh*kw*cout][cin] matrix, transposed) gives
** those contributions; they are added into y where the crop keeps them. */
void kern_conv2d_transpose(const k2t_win *g, int cout, int out_h, int out_w, int crop_t,
                           int crop_l, const float *x, int n, const float *w,
                           const k2t_epi *e, float *y, float *ws)
{
    const int cin = g->c, kh = g->kh, kw = g->kw;
    const int64_t k = (int64_t)kh * kw * cout, plane = (int64_t)g->ih * g->iw;
    const int64_t p_all = (int64_t)n * plane, osample = (int64_t)out_h * out_w * cout;
    const int t = tile_rows(k);
    memset(y, 0, (size_t)(n * osample) * sizeof(float));
    for (int64_t p0 = 0; p0 < p_all; p0 += t) {
        int rows = (int)(p_all - p0 < t ? p_all - p0 : t);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, (int)k, cin, 1.0f,
                    x + p0 * cin, cin, w, cin, 0.0f, ws, (int)k);
        for (int r = 0; r < rows; r++) {
            int64_t p = p0 + r, s = p / plane, rem = p % plane;
            int iy = (int)(rem / g->iw), ix = (int)(rem % g->iw);
            float *ys = y + s * osample;
            int oy0 = iy * g->sh - crop_t, ox0 = ix * g->sw - crop_l;
            int ky0, ky1, kx0, kx1;
            tap_range(oy0, kh, g->dh, out_h, &ky0, &ky1);
            tap_range(ox0, kw, g->dw, out_w, &kx0, &kx1);
            const float *cr = ws + (int64_t)r * k;
            for (int ky = ky0; ky < ky1; ky++) {
                float *yr = ys + (int64_t)(oy0 + ky * g->dh) * out_w * cout;
                for (int kx = kx0; kx < kx1; kx++) {
                    float *restrict o = yr + (int64_t)(ox0 + kx * g->dw) * cout;
                    const float *restrict src = cr + ((int64_t)ky * kw + kx) * cout;
                    for (int j = 0; j < cout; j++)
                        o[j] += src[j];
                }
            }
        }
    }
    kern_epilogue(y, (int64_t)n * out_h * out_w, cout, e);
}

/*-------------------------------------------------------------- pooling */

void kern_maxpool(const k2t_win *g, const float *x, int n, float *y)
{
    const int c = g->c;
    for (int s = 0; s < n; s++) {
        const float *xs = x + (int64_t)s * g->ih * g->iw * c;
        float *ys = y + (int64_t)s * g->oh * g->ow * c;
        for (int oy = 0; oy < g->oh; oy++) {
            int iy0 = oy * g->sh - g->pt, ky0, ky1;
            tap_range(iy0, g->kh, g->dh, g->ih, &ky0, &ky1);
            for (int ox = 0; ox < g->ow; ox++) {
                int ix0 = ox * g->sw - g->pl, kx0, kx1;
                tap_range(ix0, g->kw, g->dw, g->iw, &kx0, &kx1);
                float *restrict o = ys + ((int64_t)oy * g->ow + ox) * c;
                int first = 1;
                for (int ky = ky0; ky < ky1; ky++) {
                    const float *xr = xs + (int64_t)(iy0 + ky * g->dh) * g->iw * c;
                    for (int kx = kx0; kx < kx1; kx++) {
                        const float *restrict xp = xr + (int64_t)(ix0 + kx * g->dw) * c;
                        if (first) {
                            memcpy(o, xp, (size_t)c * sizeof(float));
                            first = 0;
                        } else {
                            for (int j = 0; j < c; j++)
                                o[j] = xp[j] > o[j] ? xp[j] : o[j];
                        }
                    }
                }
                if (first) /* a window of padding only */
                    for (int j = 0; j < c; j++)
                        o[j] = -INFINITY;
            }
        }
    }
}

void kern_avgpool(const k2t_win *g, int count_include_pad, const float *x, int n, float *y)
{
    const int c = g->c;
    for (int s = 0; s < n; s++) {
        const float *xs = x + (int64_t)s * g->ih * g->iw * c;
        float *ys = y + (int64_t)s * g->oh * g->ow * c;
        for (int oy = 0; oy < g->oh; oy++) {
            int iy0 = oy * g->sh - g->pt, ky0, ky1;
            tap_range(iy0, g->kh, g->dh, g->ih, &ky0, &ky1);
            for (int ox = 0; ox < g->ow; ox++) {
                int ix0 = ox * g->sw - g->pl, kx0, kx1;
                tap_range(ix0, g->kw, g->dw, g->iw, &kx0, &kx1);
                float *restrict o = ys + ((int64_t)oy * g->ow + ox) * c;
                memset(o, 0, (size_t)c * sizeof(float));
                for (int ky = ky0; ky < ky1; ky++) {
                    const float *xr = xs + (int64_t)(iy0 + ky * g->dh) * g->iw * c;
                    for (int kx = kx0; kx < kx1; kx++) {
                        const float *restrict xp = xr + (int64_t)(ix0 + kx * g->dw) * c;
                        for (int j = 0; j < c; j++)
                            o[j] += xp[j];
                    }
                }
                int cnt = count_include_pad ? g->kh * g->kw : (ky1 - ky0) * (kx1 - kx0);
                float d = (float)(cnt > 0 ? cnt : 1);
                for (int j = 0; j < c; j++)
                    o[j] /= d;
            }
        }
    }
}

void kern_global_pool(int64_t hw, int c, int is_max, const float *x, int n, float *y)
{
    enum { B = 256 };
    double acc[B];
    for (int s = 0; s < n; s++) {
        const float *xs = x + (int64_t)s * hw * c;
        float *ys = y + (int64_t)s * c;
        if (is_max) {
            if (hw <= 0) {
                for (int j = 0; j < c; j++)
                    ys[j] = -INFINITY;
                continue;
            }
            memcpy(ys, xs, (size_t)c * sizeof(float));
            for (int64_t p = 1; p < hw; p++) {
                const float *restrict xp = xs + p * c;
                for (int j = 0; j < c; j++)
                    ys[j] = xp[j] > ys[j] ? xp[j] : ys[j];
            }
            continue;
        }
        /* Mean: sums in double, a block of channels at a time. */
        for (int j0 = 0; j0 < c; j0 += B) {
            int nb = c - j0 < B ? c - j0 : B;
            for (int j = 0; j < nb; j++)
                acc[j] = 0.0;
            for (int64_t p = 0; p < hw; p++) {
                const float *restrict xp = xs + p * c + j0;
                for (int j = 0; j < nb; j++)
                    acc[j] += xp[j];
            }
            for (int j = 0; j < nb; j++)
                ys[j0 + j] = (float)(acc[j] / (double)hw);
        }
    }
}
