/*
** kern_winograd.c -- 3x3 stride-1 convolutions as Winograd F(2x2, 3x3)
** (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
** 2016) on the AVX-512 route: 16 multiplications for a 2x2 block of
** outputs per input and output channel where the direct route makes 36.
**
** A 4x4 input tile d (zero outside the input, the layer's padding) and the
** 3x3 kernel g of an (input, output) channel pair give the 2x2 outputs
**     Y = A^T [ (G g G^T) .* (B^T d B) ] A
** with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
**      G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
**      A^T = [1 1 1 0; 0 1 -1 -1].
** The sum over input channels of the 16 products is 16 matrix products
** [tiles x cin] x [cin x cout], one per tile position xi, which run on the
** direct route's micro-kernel (kern_direct_gemm).  U = G g G^T is computed
** once, in double, when the kernel is packed.
**
** Blocking: a band of tile rows, as many tiles as keep the transformed
** input (16 x tiles x cin) and one channel chunk's products (16 x tiles x
** 48) in L2; for each chunk of output channels the 16 products, then the
** output transform with the epilogue (scale, bias, the chain's product and
** sum, the residual, ReLU/ReLU6) applied in registers before the store.
**
** Rounding: the transforms add and subtract (B, A) and halve (G), so the
** error stays within a few float ulps of the sum's magnitude, as a
** different order of summation would give; unit tests bound it against a
** double reference.  The result does not depend on the band, the chunk or
** the thread a tile falls in: a run split between threads, run and step
** give the same floats.
*/
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=dynamic", "no-tree-loop-distribute-patterns")
#endif
#include <string.h>
#include "kern_window.h"

/* The transformed input of a band: at most this many floats (256 KiB). */
#define WINO_V_FLOATS (64 * 1024)
#define WINO_NT_MAX 128 /* tiles a band takes when a row of tiles is shorter */
#define WINO_NC_MAX 48 /* the widest channel chunk (kern_conv.c chunk_width) */

int kern_winograd_ok(const k2t_win *g, int groups, int cout)
{
#ifdef HAVE_DIRECT
    /* Where it pays (measured on Zen 5 against the direct route): the
    ** products' depth (cin) and width (cout) make up for the transforms
    ** from 16 x 64 or 32 x 32 channels on; a map of 3x3 or less wastes
    ** most of its tiles' work. */
    return g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 &&
           groups == 1 && g->c >= 16 && g->c <= 2048 && cout >= 32 && cout <= 4096 &&
           (int64_t)g->c * cout >= 1024 && g->oh >= 4 && g->ow >= 4;
#else
    (void)g, (void)groups, (void)cout;
    return 0;
#endif
}

int64_t kern_winograd_packed_size(const k2t_win *g, int cout)
{
    return (int64_t)16 * g->c * cout;
}

/* U = G g G^T for every (ci, co): chunk by chunk of output channels (the
** widths kern_conv2d_pack uses), in each the 16 panels [c][nc]. */
void kern_winograd_pack(const k2t_win *g, int cout, const float *w, float *wp)
{
    const int c = g->c;
    for (int c0 = 0, nc; c0 < cout; c0 += nc) {
        nc = kern_chunk_width(cout - c0);
        float *base = wp + (int64_t)16 * c * c0;
        for (int ci = 0; ci < c; ci++)
            for (int j = 0; j < nc; j++) {
                double k[3][3], t[4][3];
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++)
                        k[ky][kx] = w[((int64_t)(ky * 3 + kx) * c + ci) * cout + c0 + j];
                for (int kx = 0; kx < 3; kx++) { /* G g */
                    t[0][kx] = k[0][kx];
                    t[1][kx] = 0.5 * (k[0][kx] + k[1][kx] + k[2][kx]);
                    t[2][kx] = 0.5 * (k[0][kx] - k[1][kx] + k[2][kx]);
                    t[3][kx] = k[2][kx];
                }
                for (int i = 0; i < 4; i++) { /* (G g) G^T */
                    double u[4] = {t[i][0], 0.5 * (t[i][0] + t[i][1] + t[i][2]),
                                   0.5 * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
                    for (int jj = 0; jj < 4; jj++)
                        base[((int64_t)(i * 4 + jj) * c + ci) * nc + j] = (float)u[jj];
                }
            }
    }
}

#ifdef HAVE_DIRECT

typedef struct wgeo {
    int tw, th;    /* tiles across and down */
    int rows;      /* tile rows a band takes */
    int nt;        /* tiles a band holds at most */
    int64_t bw;    /* floats of a band input row: (2 tw + 2) pixels */
    int64_t in_f, v_f, m_f; /* floats of the band input, V and one chunk's M */
} wgeo;

static wgeo wino_geo(const k2t_win *g)
{
    wgeo w;
    w.tw = (g->ow + 1) / 2;
    w.th = (g->oh + 1) / 2;
    int64_t nt_max = WINO_V_FLOATS / (16 * (int64_t)g->c);
    if (nt_max > WINO_NT_MAX) nt_max = WINO_NT_MAX;
    int rows = (int)(nt_max / w.tw);
    rows = rows < 1 ? 1 : rows > w.th ? w.th : rows;
    int bands = (w.th + rows - 1) / rows; /* as even as the bands go */
    w.rows = (w.th + bands - 1) / bands;
    w.nt = w.rows * w.tw;
    w.bw = (int64_t)(2 * w.tw + 2) * g->c;
    w.in_f = (int64_t)(2 * w.rows + 2) * w.bw;
    w.v_f = (int64_t)16 * w.nt * g->c;
    w.m_f = (int64_t)16 * w.nt * WINO_NC_MAX;
    return w;
}

/* Input rows [iy0, iy0 + rows) of sample xs, columns [-pl, -pl + 2 tw + 2),
** into band; zeros outside the input. */
static void wino_fill(const k2t_win *g, const wgeo *w, const float *xs, int iy0, int rows,
                      float *band)
{
    const int c = g->c, width = 2 * w->tw + 2;
    int x0 = g->pl < width ? g->pl : width; /* zero columns before the input's */
    int nb = g->iw < width - x0 ? g->iw : width - x0;
    for (int r = 0; r < rows; r++) {
        float *row = band + r * w->bw;
        int iy = iy0 + r;
        if (iy < 0 || iy >= g->ih) {
            memset(row, 0, (size_t)w->bw * sizeof(float));
            continue;
        }
        memset(row, 0, (size_t)x0 * c * sizeof(float));
        memcpy(row + (int64_t)x0 * c, xs + (int64_t)iy * g->iw * c, (size_t)nb * c * sizeof(float));
        memset(row + (int64_t)(x0 + nb) * c, 0, (size_t)(width - x0 - nb) * c * sizeof(float));
    }
}

/* V[xi][t][ci] = (B^T d B)[xi] for the band's tiles t, 16 channels at a time. */
static AVX512 void wino_in(const wgeo *w, int c, int trows, const float *band, float *v)
{
    const int64_t nt = (int64_t)trows * w->tw, vs = nt * c; /* floats between xi panels */
    for (int r = 0; r < trows; r++)
        for (int tx = 0; tx < w->tw; tx++) {
            const float *b = band + 2 * r * w->bw + (int64_t)2 * tx * c;
            float *o = v + ((int64_t)r * w->tw + tx) * c;
            for (int ci = 0; ci < c; ci += 16) {
                __mmask16 m = c - ci >= 16 ? 0xffff : (__mmask16)((1u << (c - ci)) - 1u);
                __m512 d[4][4], t[4][4];
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++)
                        d[i][j] = _mm512_maskz_loadu_ps(m, b + i * w->bw + j * c + ci);
                for (int j = 0; j < 4; j++) {
                    t[0][j] = _mm512_sub_ps(d[0][j], d[2][j]);
                    t[1][j] = _mm512_add_ps(d[1][j], d[2][j]);
                    t[2][j] = _mm512_sub_ps(d[2][j], d[1][j]);
                    t[3][j] = _mm512_sub_ps(d[1][j], d[3][j]);
                }
                for (int i = 0; i < 4; i++) {
                    float *p = o + (int64_t)i * 4 * vs + ci;
                    _mm512_mask_storeu_ps(p, m, _mm512_sub_ps(t[i][0], t[i][2]));
                    _mm512_mask_storeu_ps(p + vs, m, _mm512_add_ps(t[i][1], t[i][2]));
                    _mm512_mask_storeu_ps(p + 2 * vs, m, _mm512_sub_ps(t[i][2], t[i][1]));
                    _mm512_mask_storeu_ps(p + 3 * vs, m, _mm512_sub_ps(t[i][1], t[i][3]));
                }
            }
        }
}

/* The output transform of one chunk (channels c0 .. c0 + nc) and its
** epilogue, as kern_conv.c's micro-kernel applies it: v*scale + bias in
** one rounding, then the chain's v*post_scale + post_shift, the residual,
** the clip.  Tile rows [ty0, ty0 + trows) of one sample's output ys.  A
** run that keeps every layer writes to memory nothing touched since the
** last run: the lines of the tiles two ahead are asked for writing. */
static AVX512 void wino_out(const k2t_win *g, const wgeo *w, const float *mb, int nc, int c0,
                            const k2t_epi *e, int clip, int64_t ys, int ty0, int trows, float *yo)
{
    const int64_t nt = (int64_t)trows * w->tw, ms = nt * nc, rs = (int64_t)g->ow * ys;
    const __m512 z = _mm512_setzero_ps(), six = _mm512_set1_ps(6.0f), one = _mm512_set1_ps(1.0f);
    const int epi = e && (e->scale || e->bias), post = e && e->post_scale;
    const int64_t res = e ? e->res : 0;
    const int lines = (nc * 4 + 63) / 64;
    /* Tile t is (r, tx); the one two ahead (r2, tx2). */
    int r = 0, tx = 0, r2 = 2 / w->tw, tx2 = 2 % w->tw;
    for (int64_t t = 0; t < nt; t++, tx2++, r2 += tx2 == w->tw, tx2 = tx2 == w->tw ? 0 : tx2,
                 tx++, r += tx == w->tw, tx = tx == w->tw ? 0 : tx) {
        const int oy = 2 * (ty0 + r), ox = 2 * tx;
        const int ni = oy + 1 < g->oh ? 2 : 1, nj = ox + 1 < g->ow ? 2 : 1; /* pixels inside */
        float *yb = yo + ((int64_t)oy * g->ow + ox) * ys + c0;
        if (t + 2 < nt) {
            const int oy2 = 2 * (ty0 + r2), ox2 = 2 * tx2;
            const char *q = (const char *)(yo + ((int64_t)oy2 * g->ow + ox2) * ys + c0);
            const int ni2 = oy2 + 1 < g->oh ? 2 : 1, nj2 = ox2 + 1 < g->ow ? 2 : 1;
            for (int i = 0; i < ni2; i++)
                for (int j = 0; j < nj2; j++)
                    for (int l = 0; l < lines; l++)
                        __asm__ volatile("prefetchw %0" : : "m"(*(q + (i * rs + j * ys) * 4 + 64 * l)));
        }
        const float *p = mb + t * nc;
        for (int v = 0; v < nc; v += 16, p += 16, yb += 16) {
            __mmask16 m = nc - v >= 16 ? 0xffff : (__mmask16)((1u << (nc - v)) - 1u);
            __m512 s[2][4];
            for (int j = 0; j < 4; j++) { /* A^T m */
                __m512 m0 = _mm512_maskz_loadu_ps(m, p + j * ms);
                __m512 m1 = _mm512_maskz_loadu_ps(m, p + (4 + j) * ms);
                __m512 m2 = _mm512_maskz_loadu_ps(m, p + (8 + j) * ms);
                __m512 m3 = _mm512_maskz_loadu_ps(m, p + (12 + j) * ms);
                s[0][j] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
                s[1][j] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
            }
            __m512 sc = one, bi = z, ps = z, pt = z;
            const int ch = c0 + v;
            if (epi) {
                sc = e->scale ? _mm512_mask_loadu_ps(one, m, e->scale + ch) : one;
                bi = e->bias ? _mm512_maskz_loadu_ps(m, e->bias + ch) : z;
            }
            if (post) {
                ps = _mm512_maskz_loadu_ps(m, e->post_scale + ch);
                pt = _mm512_maskz_loadu_ps(m, e->post_shift + ch);
            }
            for (int i = 0; i < ni; i++) /* (A^T m) A */
                for (int j = 0; j < nj; j++) {
                    __m512 y = j == 0 ? _mm512_add_ps(_mm512_add_ps(s[i][0], s[i][1]), s[i][2])
                                      : _mm512_sub_ps(_mm512_sub_ps(s[i][1], s[i][2]), s[i][3]);
                    float *yp = yb + i * rs + j * ys;
                    if (epi) y = _mm512_fmadd_ps(y, sc, bi);
                    if (post) y = _mm512_add_ps(_mm512_mul_ps(y, ps), pt);
                    if (res) y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(m, yp + res));
                    if (clip) y = _mm512_max_ps(y, z);
                    if (clip == 2) y = _mm512_min_ps(y, six);
                    _mm512_mask_storeu_ps(yp, m, y);
                }
        }
    }
}

int64_t kern_winograd_ws(const k2t_win *g)
{
    wgeo w = wino_geo(g);
    return w.in_f + w.v_f + w.m_f + 64;
}

void kern_winograd(const k2t_win *g, int cout, const float *x, int n, const float *wp,
                   const k2t_epi *e, float *y, float *ws)
{
    const int c = g->c;
    const wgeo w = wino_geo(g);
    float *band = ws, *v = band + w.in_f, *mb = v + w.v_f;
    k2t_act act = e ? e->act : K2T_ACT_LINEAR;
    int clip = act == K2T_ACT_RELU ? 1 : act == K2T_ACT_RELU6 ? 2 : 0;
    const int64_t ys = e && e->ldy ? e->ldy : cout;
    const float *wp_end = wp + kern_winograd_packed_size(g, cout);
    /* A sliced call (kern_slice) takes its share of the tile rows. */
    int64_t lo, hi;
    kern_slice_range(w.th, &lo, &hi);
    for (int s = 0; s < n; s++) {
        const float *xs = x + (int64_t)s * g->ih * g->iw * c;
        float *yo = y + (int64_t)s * g->oh * g->ow * ys;
        for (int ty0 = (int)lo; ty0 < hi; ty0 += w.rows) {
            int trows = ty0 + w.rows < hi ? w.rows : (int)(hi - ty0);
            int nt = trows * w.tw;
            wino_fill(g, &w, xs, 2 * ty0 - g->pt, 2 * trows + 2, band);
            wino_in(&w, c, trows, band, v);
            for (int c0 = 0, nc; c0 < cout; c0 += nc) {
                nc = kern_chunk_width(cout - c0);
                const float *u = wp + (int64_t)16 * c * c0;
                for (int xi = 0; xi < 16; xi++)
                    kern_direct_gemm(v + (int64_t)xi * nt * c, c, nt, c, u + (int64_t)xi * c * nc, nc,
                                     mb + (int64_t)xi * nt * nc, nc, wp_end);
                wino_out(g, &w, mb, nc, c0, e, clip, ys, ty0, trows, yo);
            }
            if (!clip && act != K2T_ACT_LINEAR) { /* what the stores did not apply */
                int oy0 = 2 * ty0, oy1 = 2 * (ty0 + trows) < g->oh ? 2 * (ty0 + trows) : g->oh;
                float *yb = yo + (int64_t)oy0 * g->ow * ys;
                int64_t rows = (int64_t)(oy1 - oy0) * g->ow;
                if (act == K2T_ACT_SOFTMAX) {
                    k2t_epi sm = {.act = act};
                    kern_epilogue(yb, rows, cout, &sm);
                } else {
                    kern_act(yb, rows * cout, act);
                }
            }
        }
    }
}

#else

int64_t kern_winograd_ws(const k2t_win *g)
{
    (void)g;
    return 0;
}

void kern_winograd(const k2t_win *g, int cout, const float *x, int n, const float *wp,
                   const k2t_epi *e, float *y, float *ws)
{
    (void)g, (void)cout, (void)x, (void)n, (void)wp, (void)e, (void)y, (void)ws;
}

#endif
