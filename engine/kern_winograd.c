/*
** kern_winograd.c -- 3x3 stride-1 convolutions as Winograd's minimal
** filtering (Lavin and Gray, "Fast Algorithms for Convolutional Neural
** Networks", 2016) on the AVX-512 route: F(2x2, 3x3) makes 16
** multiplications for a 2x2 block of outputs per input and output channel,
** F(4x4, 3x3) 36 for a 4x4 block, where the direct route makes 36 and 144.
**
** An input tile d of a x a (a = m + 2 for m x m outputs; zero outside the
** input, the layer's padding) and the 3x3 kernel g of an (input, output)
** channel pair give the outputs
**     Y = A^T [ (G g G^T) .* (B^T d B) ] A
** F(2x2, 3x3): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
**              G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
**              A^T = [1 1 1 0; 0 1 -1 -1].
** F(4x4, 3x3), from the points 0, 1, -1, 1/2, -2 and infinity (not the
** usual 0, +-1, +-2: in a float32 simulation over 64 channels half the
** mean error and a quarter of the worst, for four more operations in
** each input transform of six values; on the choice of points, Barabasz
** et al., "Error analysis and improving the accuracy of Winograd
** convolution for deep neural networks", 2020):
**     B^T = [1 -3/2 -2 3/2 1 0; 0 -1 1/2 5/2 1 0; 0 1 -5/2 1/2 1 0;
**            0 -2 -1 2 1 0; 0 1/2 -1 -1/2 1 0; 0 1 -3/2 -2 3/2 1],
**     G   = [1 0 0; 1/3 1/3 1/3; -1/3 1/3 -1/3; -16/15 -8/15 -4/15;
**            1/15 -2/15 4/15; 0 0 1],
**     A^T = [1 1 1 1 1 0; 0 1 -1 1/2 -2 0; 0 1 1 1/4 4 0;
**            0 1 -1 1/8 -8 1].
** The sum over input channels of the a*a products is a*a matrix products
** [tiles x cin] x [cin x cout], one per tile position xi, which run on the
** direct route's micro-kernel (kern_direct_gemm).  U = G g G^T is computed
** once, in double, when the kernel is packed.  F(4x4) goes to maps of
** 20x20 or more, where its larger tiles waste little; smaller maps take
** F(2x2).
**
** Blocking: a band of tile rows, as many tiles as keep the transformed
** input (a*a x tiles x cin) and one channel chunk's products (a*a x tiles
** x 48) in L2; for each chunk of output channels the products, then the
** output transform with the epilogue (scale, bias, the chain's product and
** sum, the residual, ReLU/ReLU6) applied in registers before the store.
**
** Rounding: the transformed tiles and kernels are larger than the values
** they come from and the output transform cancels them, so the error
** grows: about 1e-6 of the layer's largest output (execution fixture
** winograd.h5 against tfjs-layers: 1.1e-6 for F(2x2), 9.2e-7 for F(4x4);
** 3.5e-6 with the usual points), where the direct route's is 3e-7; unit
** tests bound it against a double reference.  The result does not depend
** on the band, the chunk or the thread a tile falls in: a run split
** between threads, run and step give the same floats.
*/
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=dynamic", "no-tree-loop-distribute-patterns")
#endif
#include <string.h>
#include "kern_window.h"

/* Tiles a band takes: as many as keep its transformed input within
** WINO_V_FLOATS (256 KiB), at most WINO_NT_MAX, and at least WINO_NT_MIN
** whatever the channels: each band reads the whole transformed kernel
** (38 MB for a 512 x 512-channel F(4x4)), which only enough tiles a band
** keep from being memory-bound (28x28x512->512: 14.0 -> 6.9 ms). */
#define WINO_V_FLOATS (64 * 1024)
#define WINO_NT_MAX 128
#define WINO_NT_MIN 64
#define WINO_NC_MAX 48 /* the widest channel chunk (kern_conv.c chunk_width) */

/* The output tile's side: 4 on maps of 20x20 or more where F(4x4)'s
** products (36 per 16 outputs, tiles rounded up) cost under 0.8 of
** F(2x2)'s (16 per 4). */
static int wino_m(const k2t_win *g)
{
    int64_t c2 = (int64_t)((g->oh + 1) / 2) * ((g->ow + 1) / 2) * 16;
    int64_t c4 = (int64_t)((g->oh + 3) / 4) * ((g->ow + 3) / 4) * 36;
    return g->oh >= 20 && g->ow >= 20 && 5 * c4 < 4 * c2 ? 4 : 2;
}

int kern_winograd_ok(const k2t_win *g, int groups, int cout)
{
#ifdef HAVE_DIRECT
    /* Where it pays (measured on Zen 5 against the direct route): the
    ** products' depth (cin) and width (cout) make up for the transforms
    ** from 16 x 32 or 32 x 16 channels on with F(4x4), from 16 x 64 or
    ** 32 x 32 with F(2x2); a map of 3x3 or less wastes most of its tiles'
    ** work. */
    if (!(g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 &&
          groups == 1 && g->c >= 16 && g->c <= 2048 && cout >= 16 && cout <= 4096 && g->oh >= 4 &&
          g->ow >= 4))
        return 0;
    return (int64_t)g->c * cout >= (wino_m(g) == 4 ? 512 : 1024) && cout >= (wino_m(g) == 4 ? 16 : 32);
#else
    (void)g, (void)groups, (void)cout;
    return 0;
#endif
}

int64_t kern_winograd_packed_size(const k2t_win *g, int cout)
{
    int a = wino_m(g) + 2;
    return (int64_t)a * a * g->c * cout;
}

/* U = G g G^T for every (ci, co): chunk by chunk of output channels (the
** widths kern_conv2d_pack uses), in each the a*a panels [c][nc]. */
void kern_winograd_pack(const k2t_win *g, int cout, const float *w, float *wp)
{
    static const double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    static const double G4[6][3] = {{1, 0, 0},
                                    {1.0 / 3, 1.0 / 3, 1.0 / 3},
                                    {-1.0 / 3, 1.0 / 3, -1.0 / 3},
                                    {-16.0 / 15, -8.0 / 15, -4.0 / 15},
                                    {1.0 / 15, -2.0 / 15, 4.0 / 15},
                                    {0, 0, 1}};
    const int c = g->c, a = wino_m(g) + 2;
    const double(*G)[3] = a == 4 ? G2 : G4;
    for (int c0 = 0, nc; c0 < cout; c0 += nc) {
        nc = kern_chunk_width(cout - c0);
        float *base = wp + (int64_t)a * a * c * c0;
        for (int ci = 0; ci < c; ci++)
            for (int j = 0; j < nc; j++) {
                double k[3][3], t[6][3];
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++)
                        k[ky][kx] = w[((int64_t)(ky * 3 + kx) * c + ci) * cout + c0 + j];
                for (int i = 0; i < a; i++) /* G g */
                    for (int kx = 0; kx < 3; kx++)
                        t[i][kx] = G[i][0] * k[0][kx] + G[i][1] * k[1][kx] + G[i][2] * k[2][kx];
                for (int i = 0; i < a; i++) /* (G g) G^T */
                    for (int jj = 0; jj < a; jj++) {
                        double u = G[jj][0] * t[i][0] + G[jj][1] * t[i][1] + G[jj][2] * t[i][2];
                        base[((int64_t)(i * a + jj) * c + ci) * nc + j] = (float)u;
                    }
            }
    }
}

#ifdef HAVE_DIRECT

typedef struct wgeo {
    int m, a, nx;  /* output tile side, input tile side (m + 2), positions (a*a) */
    int tw, th;    /* tiles across and down */
    int rows;      /* tile rows a band takes */
    int nt;        /* tiles a band holds at most */
    int64_t bw;    /* floats of a band input row: (m tw + 2) pixels */
    int64_t in_f, v_f, m_f; /* floats of the band input, V and one chunk's M */
} wgeo;

static wgeo wino_geo(const k2t_win *g)
{
    wgeo w;
    w.m = wino_m(g);
    w.a = w.m + 2;
    w.nx = w.a * w.a;
    w.tw = (g->ow + w.m - 1) / w.m;
    w.th = (g->oh + w.m - 1) / w.m;
    int64_t nt_max = WINO_V_FLOATS / (w.nx * (int64_t)g->c);
    if (nt_max > WINO_NT_MAX) nt_max = WINO_NT_MAX;
    if (nt_max < WINO_NT_MIN) nt_max = WINO_NT_MIN;
    int rows = (int)(nt_max / w.tw);
    rows = rows < 1 ? 1 : rows > w.th ? w.th : rows;
    int bands = (w.th + rows - 1) / rows; /* as even as the bands go */
    w.rows = (w.th + bands - 1) / bands;
    w.nt = w.rows * w.tw;
    w.bw = (int64_t)(w.m * w.tw + 2) * g->c;
    w.in_f = (int64_t)(w.m * w.rows + 2) * w.bw;
    w.v_f = (int64_t)w.nx * w.nt * g->c;
    w.m_f = (int64_t)w.nx * w.nt * WINO_NC_MAX;
    return w;
}

/* Input rows [iy0, iy0 + rows) of sample xs, columns [-pl, -pl + m tw + 2),
** into band; zeros outside the input. */
static void wino_fill(const k2t_win *g, const wgeo *w, const float *xs, int iy0, int rows,
                      float *band)
{
    const int c = g->c, width = w->m * w->tw + 2;
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

/* B^T and A^T of F(2x2, 3x3) on four vectors: r = B^T d, o = A^T m. */
static inline __attribute__((always_inline)) AVX512 void bt4(const __m512 *d, __m512 *r)
{
    r[0] = _mm512_sub_ps(d[0], d[2]);
    r[1] = _mm512_add_ps(d[1], d[2]);
    r[2] = _mm512_sub_ps(d[2], d[1]);
    r[3] = _mm512_sub_ps(d[1], d[3]);
}

static inline __attribute__((always_inline)) AVX512 void at4(const __m512 *m, __m512 *o)
{
    o[0] = _mm512_add_ps(_mm512_add_ps(m[0], m[1]), m[2]);
    o[1] = _mm512_sub_ps(_mm512_sub_ps(m[1], m[2]), m[3]);
}

/* The same for F(4x4, 3x3) on six vectors. */
static inline __attribute__((always_inline)) AVX512 void bt6(const __m512 *d, __m512 *r)
{
    const __m512 half = _mm512_set1_ps(0.5f), one5 = _mm512_set1_ps(1.5f), two = _mm512_set1_ps(2.0f);
    const __m512 two5 = _mm512_set1_ps(2.5f);
    __m512 a = _mm512_sub_ps(d[3], d[1]), b = _mm512_sub_ps(d[4], d[2]);
    r[0] = _mm512_fmadd_ps(one5, a, _mm512_fnmadd_ps(two, d[2], _mm512_add_ps(d[0], d[4])));
    r[1] = _mm512_fmadd_ps(two5, d[3], _mm512_fmadd_ps(half, d[2], _mm512_sub_ps(d[4], d[1])));
    r[2] = _mm512_fmadd_ps(half, d[3], _mm512_fnmadd_ps(two5, d[2], _mm512_add_ps(d[4], d[1])));
    r[3] = _mm512_fmadd_ps(two, a, b);
    r[4] = _mm512_fnmadd_ps(half, a, b);
    r[5] = _mm512_fmadd_ps(one5, b, _mm512_fnmadd_ps(two, d[3], _mm512_add_ps(d[5], d[1])));
}

static inline __attribute__((always_inline)) AVX512 void at6(const __m512 *m, __m512 *o)
{
    const __m512 half = _mm512_set1_ps(0.5f), quarter = _mm512_set1_ps(0.25f);
    const __m512 eighth = _mm512_set1_ps(0.125f), two = _mm512_set1_ps(2.0f);
    const __m512 four = _mm512_set1_ps(4.0f), eight = _mm512_set1_ps(8.0f);
    __m512 p = _mm512_add_ps(m[1], m[2]), q = _mm512_sub_ps(m[1], m[2]);
    o[0] = _mm512_add_ps(_mm512_add_ps(m[0], p), _mm512_add_ps(m[3], m[4]));
    o[1] = _mm512_fnmadd_ps(two, m[4], _mm512_fmadd_ps(half, m[3], q));
    o[2] = _mm512_fmadd_ps(four, m[4], _mm512_fmadd_ps(quarter, m[3], p));
    o[3] = _mm512_add_ps(_mm512_fnmadd_ps(eight, m[4], _mm512_fmadd_ps(eighth, m[3], q)), m[5]);
}

/* V[xi][t][ci] = (B^T d B)[xi] for the band's tiles t (a x a input tiles
** M pixels apart), 16 channels at a time: B^T down each column, then
** across each row. */
static inline __attribute__((always_inline)) AVX512 void
wino_in_body(const int M, const wgeo *w, int c, int trows, const float *band, float *v)
{
    const int A = M + 2;
    const int64_t nt = (int64_t)trows * w->tw, vs = nt * c; /* floats between xi panels */
    for (int r = 0; r < trows; r++)
        for (int tx = 0; tx < w->tw; tx++) {
            const float *b = band + M * r * w->bw + (int64_t)M * tx * c;
            float *o = v + ((int64_t)r * w->tw + tx) * c;
            for (int ci = 0; ci < c; ci += 16) {
                __mmask16 m = c - ci >= 16 ? 0xffff : (__mmask16)((1u << (c - ci)) - 1u);
                __m512 t[6][6], d[6], q[6];
                for (int j = 0; j < A; j++) {
                    for (int i = 0; i < A; i++)
                        d[i] = _mm512_maskz_loadu_ps(m, b + i * w->bw + j * c + ci);
                    if (M == 2) bt4(d, q);
                    else bt6(d, q);
                    for (int i = 0; i < A; i++)
                        t[i][j] = q[i];
                }
                for (int i = 0; i < A; i++) {
                    if (M == 2) bt4(t[i], q);
                    else bt6(t[i], q);
                    float *p = o + (int64_t)i * A * vs + ci;
                    for (int j = 0; j < A; j++)
                        _mm512_mask_storeu_ps(p + j * vs, m, q[j]);
                }
            }
        }
}

static AVX512 void wino_in2(const wgeo *w, int c, int trows, const float *band, float *v)
{
    wino_in_body(2, w, c, trows, band, v);
}

static AVX512 void wino_in4(const wgeo *w, int c, int trows, const float *band, float *v)
{
    wino_in_body(4, w, c, trows, band, v);
}

/* Of the m outputs from o on, those before n. */
static inline int inside(int o, int n, int m)
{
    return n - o < m ? n - o : m;
}

/* The output transform of one chunk (channels c0 .. c0 + nc) and its
** epilogue, as kern_conv.c's micro-kernel applies it: v*scale + bias in
** one rounding, then the chain's v*post_scale + post_shift, the residual,
** the clip.  Tile rows [ty0, ty0 + trows) of one sample's output ys.  A
** run that keeps every layer writes to memory nothing touched since the
** last run: the lines of the tiles two ahead are asked for writing.  M:
** the output tile's side (2 or 4). */
static inline __attribute__((always_inline)) AVX512 void
wino_out_body(const int M, const k2t_win *g, const wgeo *w, const float *mb, int nc, int c0,
              const k2t_epi *e, int clip, int64_t ys, int ty0, int trows, float *yo)
{
    const int A = M + 2;
    const int64_t nt = (int64_t)trows * w->tw, ms = nt * nc, rs = (int64_t)g->ow * ys;
    const __m512 z = _mm512_setzero_ps(), six = _mm512_set1_ps(6.0f), one = _mm512_set1_ps(1.0f);
    const int epi = e && (e->scale || e->bias), post = e && e->post_scale;
    const int64_t res = e ? e->res : 0;
    const int lines = (nc * 4 + 63) / 64;
    /* Tile t is (r, tx); the one two ahead (r2, tx2). */
    int r = 0, tx = 0, r2 = 2 / w->tw, tx2 = 2 % w->tw;
    for (int64_t t = 0; t < nt; t++, tx2++, r2 += tx2 == w->tw, tx2 = tx2 == w->tw ? 0 : tx2,
                 tx++, r += tx == w->tw, tx = tx == w->tw ? 0 : tx) {
        const int oy = M * (ty0 + r), ox = M * tx;
        const int ni = inside(oy, g->oh, M), nj = inside(ox, g->ow, M);
        float *yb = yo + ((int64_t)oy * g->ow + ox) * ys + c0;
        if (t + 2 < nt) {
            const int oy2 = M * (ty0 + r2), ox2 = M * tx2;
            const float *q = yo + ((int64_t)oy2 * g->ow + ox2) * ys + c0;
            for (int i = 0; i < inside(oy2, g->oh, M); i++)
                for (int j = 0; j < inside(ox2, g->ow, M); j++)
                    kern_prefetchw(q + i * rs + j * ys, lines);
        }
        const float *p = mb + t * nc;
        for (int v = 0; v < nc; v += 16, p += 16, yb += 16) {
            __mmask16 m = nc - v >= 16 ? 0xffff : (__mmask16)((1u << (nc - v)) - 1u);
            __m512 y[4][4];
            if (M == 2) {
                __m512 s2[2][4]; /* A^T m, the column's four values loaded by name:
                                 ** through col[] as below, 7% slower on 13x13 */
                for (int j = 0; j < 4; j++) {
                    __m512 m0 = _mm512_maskz_loadu_ps(m, p + j * ms);
                    __m512 m1 = _mm512_maskz_loadu_ps(m, p + (4 + j) * ms);
                    __m512 m2 = _mm512_maskz_loadu_ps(m, p + (8 + j) * ms);
                    __m512 m3 = _mm512_maskz_loadu_ps(m, p + (12 + j) * ms);
                    s2[0][j] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
                    s2[1][j] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
                }
                for (int i = 0; i < 2; i++) /* (A^T m) A */
                    at4(s2[i], y[i]);
            } else {
                __m512 col[6], oc[4], sm[4][6];
                for (int j = 0; j < A; j++) { /* A^T m, column by column */
                    for (int i = 0; i < A; i++)
                        col[i] = _mm512_maskz_loadu_ps(m, p + (i * A + j) * ms);
                    at6(col, oc);
                    for (int i = 0; i < M; i++)
                        sm[i][j] = oc[i];
                }
                for (int i = 0; i < M; i++)
                    at6(sm[i], y[i]);
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
            for (int i = 0; i < ni; i++)
                for (int j = 0; j < nj; j++) {
                    __m512 o = y[i][j];
                    float *yp = yb + i * rs + j * ys;
                    if (epi) o = _mm512_fmadd_ps(o, sc, bi);
                    if (post) o = _mm512_add_ps(_mm512_mul_ps(o, ps), pt);
                    if (res) o = _mm512_add_ps(o, _mm512_maskz_loadu_ps(m, yp + res));
                    if (clip) o = _mm512_max_ps(o, z);
                    if (clip == 2) o = _mm512_min_ps(o, six);
                    _mm512_mask_storeu_ps(yp, m, o);
                }
        }
    }
}

static AVX512 void wino_out2(const k2t_win *g, const wgeo *w, const float *mb, int nc, int c0,
                             const k2t_epi *e, int clip, int64_t ys, int ty0, int trows, float *yo)
{
    wino_out_body(2, g, w, mb, nc, c0, e, clip, ys, ty0, trows, yo);
}

static AVX512 void wino_out4(const k2t_win *g, const wgeo *w, const float *mb, int nc, int c0,
                             const k2t_epi *e, int clip, int64_t ys, int ty0, int trows, float *yo)
{
    wino_out_body(4, g, w, mb, nc, c0, e, clip, ys, ty0, trows, yo);
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
    /* A sliced call (kern_slice) takes its share of the tile rows or, when
    ** the channel chunks go round more evenly (7 tile rows and 4 or 6
    ** chunks between two threads), of the chunks (each slice then
    ** transforms the whole input). */
    int64_t lo = 0, hi = w.th, clo = 0, chunks = kern_chunk_count(cout), chi = chunks;
    int64_t k = kern_slice_count();
    if (k > 1 && chunks >= k && (chunks + k - 1) / k * w.th < (w.th + k - 1) / k * chunks)
        kern_slice_range(chunks, &clo, &chi); /* the larger share smaller as chunks */
    else
        kern_slice_range(w.th, &lo, &hi);
    for (int s = 0; s < n; s++) {
        const float *xs = x + (int64_t)s * g->ih * g->iw * c;
        float *yo = y + (int64_t)s * g->oh * g->ow * ys;
        for (int ty0 = (int)lo; ty0 < hi; ty0 += w.rows) {
            int trows = ty0 + w.rows < hi ? w.rows : (int)(hi - ty0);
            int nt = trows * w.tw;
            wino_fill(g, &w, xs, w.m * ty0 - g->pt, w.m * trows + 2, band);
            if (w.m == 2) wino_in2(&w, c, trows, band, v);
            else wino_in4(&w, c, trows, band, v);
            int64_t ci = 0;
            for (int c0 = 0, nc; c0 < cout; c0 += nc, ci++) {
                nc = kern_chunk_width(cout - c0);
                if (ci < clo || ci >= chi) continue;
                const float *u = wp + (int64_t)w.nx * c * c0;
                for (int xi = 0; xi < w.nx; xi++)
                    kern_direct_gemm(v + (int64_t)xi * nt * c, c, nt, c, u + (int64_t)xi * c * nc, nc,
                                     mb + (int64_t)xi * nt * nc, nc, wp_end);
                if (w.m == 2) wino_out2(g, &w, mb, nc, c0, e, clip, ys, ty0, trows, yo);
                else wino_out4(g, &w, mb, nc, c0, e, clip, ys, ty0, trows, yo);
            }
            int oy0 = w.m * ty0, oy1 = w.m * (ty0 + trows) < g->oh ? w.m * (ty0 + trows) : g->oh;
            kern_conv_tail(yo + (int64_t)oy0 * g->ow * ys, (int64_t)(oy1 - oy0) * g->ow, cout, act);
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
