/*
** kern_conv.c -- the window kernels: convolution, transposed convolution
** (GEMM + col2im) and pooling, all on NHWC float tensors (the depthwise
** convolution is in kern_depthwise.c).
**
** Convolution has two routes with the same sums in the same order (and
** 3x3 stride-1 convolutions with enough channels a third, Winograd's, in
** kern_winograd.c).
**
** The portable route follows Darknet: the output is a [n*oh*ow][cout]
** matrix, the input patches an [n*oh*ow][kh*kw*cin] matrix, the Keras
** kernel a [kh*kw*cin][cout] matrix as stored, so the layer is one
** product.  The patch matrix is never built whole: a tile of output rows,
** sized so its patches fit in L2, is unfolded into the caller's workspace,
** multiplied by cblas_sgemm, and the epilogue (folded BN, bias,
** activation) runs on the output tile while it is still in cache.  In
** NHWC a patch row is kh runs of kw*cin contiguous floats (when the width
** dilation is 1).  A 1x1, stride-1, unpadded convolution needs no unfold:
** x already is the patch matrix.  Tiles run across sample boundaries, so
** a batch of small images still makes full-sized GEMMs.
**
** On CPUs with AVX-512 the direct route (below) reads x in place with a
** register-blocked micro-kernel: for the channel counts of small image
** models the unfold and OpenBLAS's packing of it cost more than the
** multiplications (ResNet8's convolutions on Zen 5, one core: 2.6x the
** GEMM route with OpenBLAS's default kernels, 1.75x with its AVX-512 ones).
*/
/* GCC 12's -O2 vectorises only loops whose trip count is a known multiple
** of the vector width ("very-cheap" cost model); these loops run over a
** channel count, so ask for the ordinary cost model here, and keep short
** copy loops loops. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=dynamic", "no-tree-loop-distribute-patterns")
#endif
#include <math.h>
#include <string.h>
#include <cblas.h>
#include "kern_window.h"


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
    return (int)(r & ~(int64_t)7);
}

/*---------------------------------------------------------- convolution */

/* A short copy: the runs here are tens of floats.  (The pragma above keeps
** gcc from turning it back into a call to memcpy.) */
static inline void copy_floats(float *restrict d, const float *restrict s, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        d[i] = s[i];
}

static int conv_is_pointwise(const k2t_win *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pb == 0 &&
           g->pl == 0 && g->pr == 0 && g->oh == g->ih && g->ow == g->iw;
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
                if (kx0 > 0)
                    memset(d, 0, (size_t)kx0 * c * fs);
                copy_floats(d + (int64_t)kx0 * c, xr + (int64_t)(ix0 + kx0) * c,
                            (int64_t)(kx1 - kx0) * c);
                if (kx1 < kw)
                    memset(d + (int64_t)kx1 * c, 0, (size_t)(kw - kx1) * c * fs);
                d += (int64_t)kw * c;
            } else {
                for (int kx = 0; kx < kw; kx++, d += cg) {
                    if (kx < kx0 || kx >= kx1)
                        memset(d, 0, (size_t)cg * fs);
                    else
                        copy_floats(d, xr + (int64_t)(ix0 + kx * g->dw) * c, cg);
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

/*------------------------------------------- direct convolution (AVX-512) */

/* The direct route's channel chunks: 32 channels, or one of up to 48 to
** finish.  Its packed kernel (kern_conv2d_pack) holds each chunk's rows
** contiguous: one stream per block instead of rows cout floats apart. */
int kern_chunk_width(int rest)
{
    return rest > 32 && rest <= 48 ? rest : rest < 32 ? rest : 32;
}
#define chunk_width kern_chunk_width

/* On x86-64 with AVX-512 the convolution skips the unfold.  A micro-kernel
** holds a block of NB output pixels x NV*16 output channels in registers
** and, for each kernel row k = (ky, kx, ci), broadcasts the input value of
** every pixel of the block straight from x and multiplies it by kernel row
** k.  The input is read in place (no im2col, no GEMM packing), which for
** the small channel counts of image models was most of the cost of the
** GEMM route; sums run in the same k order, one fused multiply-add each.
**
** A block is up to four groups of four pixels; the pixels of a group are
** adjacent in one output row, but groups may come from different rows, so
** an 8-pixel-wide feature map still fills 16-pixel blocks.  Each group has
** its own input and output pointer; inside a group pixels are sw*c floats
** apart in x and cout floats apart in y.
**
** Padding: when the layer pads, the input rows a band of output rows
** reads are copied into ws with the zero rows and columns around them, so
** every window lies inside the copy and every pixel takes the same path.
** A band is as many output rows as fit BAND_FLOATS; consecutive rows
** share input rows, so the copy is about one pass over x.  The epilogue's
** scale, bias and ReLU/ReLU6 are applied in registers before the store
** (v*scale + bias as one fused multiply-add); other activations run on
** the band's rows after.
**
** The kernel is read packed (kern_conv2d_pack: a chunk's rows one stream)
** and, when a pointwise chunk's panel would not stay in L1 (512 input
** channels), in blocks of kernel rows: every pixel of the piece goes
** through one block before the next, the partial sums kept in y.  Blocks
** keep the order of k and store floats, so the results are those of one
** pass bit for bit. */

static int simd_enabled = 1;

/* This thread's share of a sliced call (kern_slice): slice i of n. */
static _Thread_local int slice_i = 0, slice_n = 1;

void kern_slice(int i, int n)
{
    slice_n = n > 0 ? n : 1;
    slice_i = i >= 0 && i < slice_n ? i : 0;
}

void kern_slice_range(int64_t count, int64_t *lo, int64_t *hi)
{
    *lo = count * slice_i / slice_n;
    *hi = count * (slice_i + 1) / slice_n;
}

int kern_slice_count(void)
{
    return slice_n;
}

void kern_set_simd(int enable)
{
    simd_enabled = enable;
}

int kern_simd(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    return simd_enabled && __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

#ifdef HAVE_DIRECT

/* A micro-kernel call: everything but the pixels' positions. */
typedef struct dk {
    const float *w;          /* kernel row 0 of this group and channel chunk */
    int64_t ldw;             /* floats between kernel rows (cout; packed: the chunk's width) */
    int64_t ps;              /* floats between the windows of adjacent pixels (sw*c) */
    int64_t rowstep;         /* floats between kernel rows ky in the rows read (dh*width*c) */
    int64_t colstep;         /* floats between kernel columns kx (dw*c) */
    int kh, kw, cg;          /* kernel size, input channels per group */
    int merged;              /* dw == 1 && one group: a kernel row's taps are one run of x */
    /* The block of kernel rows this call sums, k0 <= k < k1 of each run
    ** (w points at row k0; only a pointwise kernel's one run is cut).
    ** accum: the sums start from y (the blocks before); last: the
    ** epilogue follows, else the partial sums are stored as they are. */
    int k0, k1, accum, last;
    int64_t ys;              /* floats between output pixels (cout, or k2t_epi.ldy) */
    __mmask16 tail;          /* the lanes of the last 16-wide channel vector */
    const float *scale;      /* fused epilogue: per-channel scale of this chunk, or NULL */
    const float *bias;       /* per-channel bias of this chunk, or NULL */
    int clip;                /* 0, or max(v, 0) (1), or then min(v, 6) (2) */
    const float *post_scale, *post_shift; /* k2t_epi's: v*post_scale + post_shift */
    int64_t res;             /* k2t_epi.res: the tensor at + res added before the clip */
    /* The kernel panel the next call will read (packed: the floats after
    ** this one's), brought into L2 a share after each block: a model's
    ** weights come from memory once a run (conv10 of SqueezeNet: 2 MB,
    ** 25% slower cold than hot without it).  NULL: none. */
    const float *pf, *pf_end;
    int nopfw;               /* no prefetchw of the output (kern_direct_gemm: it is in cache) */
    int kblock;              /* a kernel of any size may be cut into blocks of rows (one
                                longer than DIRECT_MAX_K on a small map) */
} dk;

/* Ask for the lines of four output pixels (ps floats apart, each lines
** long) for writing, before the block that stores them: a run that keeps
** every layer writes each to memory no earlier pass touched. */
static inline __attribute__((always_inline)) void pf_out(const float *y, int64_t ps, int lines)
{
    for (int i = 0; i < 4; i++)
        kern_prefetchw(y + i * ps, lines);
}

/* Prefetch into L2 the next lines of the panel at *pf (to pf_end). */
static inline __attribute__((always_inline)) void pf_lines(const char **pf, const char *end, int lines)
{
    for (int i = 0; i < lines && *pf < end; i++, *pf += 64)
        _mm_prefetch(*pf, _MM_HINT_T1);
}

/* Named accumulators a<p>_<v> for pixel p and channel vector v (an array
** of __m512 would live in memory); those beyond NB and NV are dead code.
** Pixel p's input is q<p/4>[s<p%4>], so four base pointers and three
** strides address sixteen pixels. */
#define ACC4(p) __m512 a##p##_0 = z, a##p##_1 = z, a##p##_2 = z, a##p##_3 = z;
#define LOADACC(p)                                                                     \
    if ((p) < NB) {                                                                    \
        const float *yp = yo[(p) / 4] + ((p) % 4) * a->ys;                             \
        a##p##_0 = _mm512_maskz_loadu_ps(m0, yp);                                      \
        if (NV > 1) a##p##_1 = _mm512_maskz_loadu_ps(m1, yp + 16);                     \
        if (NV > 2) a##p##_2 = _mm512_maskz_loadu_ps(m2, yp + 32);                     \
        if (NV > 3) a##p##_3 = _mm512_maskz_loadu_ps(m3, yp + 48);                     \
    }
#define STEP(p, val)                                                                   \
    if ((p) < NB) {                                                                    \
        __m512 b = _mm512_set1_ps(val);                                                \
        a##p##_0 = _mm512_fmadd_ps(b, w0, a##p##_0);                                   \
        if (NV > 1) a##p##_1 = _mm512_fmadd_ps(b, w1, a##p##_1);                       \
        if (NV > 2) a##p##_2 = _mm512_fmadd_ps(b, w2, a##p##_2);                       \
        if (NV > 3) a##p##_3 = _mm512_fmadd_ps(b, w3, a##p##_3);                       \
    }
#define EPI(p)                                                                         \
    if ((p) < NB) {                                                                    \
        a##p##_0 = _mm512_fmadd_ps(a##p##_0, e0, f0);                                  \
        if (NV > 1) a##p##_1 = _mm512_fmadd_ps(a##p##_1, e1, f1);                      \
        if (NV > 2) a##p##_2 = _mm512_fmadd_ps(a##p##_2, e2, f2);                      \
        if (NV > 3) a##p##_3 = _mm512_fmadd_ps(a##p##_3, e3, f3);                      \
    }
#define CLIP(p, OP, bound)                                                             \
    if ((p) < NB) {                                                                    \
        a##p##_0 = OP(a##p##_0, bound);                                                \
        if (NV > 1) a##p##_1 = OP(a##p##_1, bound);                                    \
        if (NV > 2) a##p##_2 = OP(a##p##_2, bound);                                    \
        if (NV > 3) a##p##_3 = OP(a##p##_3, bound);                                    \
    }
#define CLIP_LO(p) CLIP(p, _mm512_max_ps, z)
#define CLIP_HI(p) CLIP(p, _mm512_min_ps, six)
#define STORE(p)                                                                       \
    if ((p) < NB) {                                                                    \
        float *yp = yo[(p) / 4] + ((p) % 4) * a->ys;                                   \
        _mm512_mask_storeu_ps(yp, m0, a##p##_0);                                       \
        if (NV > 1) _mm512_mask_storeu_ps(yp + 16, m1, a##p##_1);                      \
        if (NV > 2) _mm512_mask_storeu_ps(yp + 32, m2, a##p##_2);                      \
        if (NV > 3) _mm512_mask_storeu_ps(yp + 48, m3, a##p##_3);                      \
    }
#define POST(p)                                                                        \
    if ((p) < NB) {                                                                    \
        a##p##_0 = _mm512_add_ps(_mm512_mul_ps(a##p##_0, e0), f0);                     \
        if (NV > 1) a##p##_1 = _mm512_add_ps(_mm512_mul_ps(a##p##_1, e1), f1);         \
        if (NV > 2) a##p##_2 = _mm512_add_ps(_mm512_mul_ps(a##p##_2, e2), f2);         \
        if (NV > 3) a##p##_3 = _mm512_add_ps(_mm512_mul_ps(a##p##_3, e3), f3);         \
    }
#define ADDRES(p)                                                                      \
    if ((p) < NB) {                                                                    \
        const float *rp = yo[(p) / 4] + ((p) % 4) * a->ys + a->res;                    \
        a##p##_0 = _mm512_add_ps(a##p##_0, _mm512_maskz_loadu_ps(m0, rp));             \
        if (NV > 1) a##p##_1 = _mm512_add_ps(a##p##_1, _mm512_maskz_loadu_ps(m1, rp + 16)); \
        if (NV > 2) a##p##_2 = _mm512_add_ps(a##p##_2, _mm512_maskz_loadu_ps(m2, rp + 32)); \
        if (NV > 3) a##p##_3 = _mm512_add_ps(a##p##_3, _mm512_maskz_loadu_ps(m3, rp + 48)); \
    }
#define ALL16(M)                                                                       \
    M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)

/* Pixels 4j .. 4j+3 (those < NB) read from q[j] + i*ps and write
** yo[j] + i*ys. */
static inline __attribute__((always_inline)) AVX512 void
mk_body(const int NB, const int NV, const dk *a, const float *const *q, float *const *yo)
{
    const __m512 z = _mm512_setzero_ps();
    ACC4(0) ACC4(1) ACC4(2) ACC4(3) ACC4(4) ACC4(5) ACC4(6) ACC4(7)
    ACC4(8) ACC4(9) ACC4(10) ACC4(11) ACC4(12) ACC4(13) ACC4(14) ACC4(15)
    const int64_t ps = a->ps, ldw = a->ldw, s1 = ps, s2 = 2 * ps, s3 = 3 * ps;
    const __mmask16 m0 = NV == 1 ? a->tail : 0xffff, m1 = NV == 2 ? a->tail : 0xffff;
    const __mmask16 m2 = NV == 3 ? a->tail : 0xffff, m3 = NV == 4 ? a->tail : 0xffff;
    const int nrun = a->merged ? 1 : a->kw;
    if (a->accum) {
        ALL16(LOADACC)
    }
    const float *wr = a->w;
    /* Kernel rows to skip after each run: those outside the block. */
    const int64_t skip = ((int64_t)(a->merged ? a->kw * a->cg : a->cg) - (a->k1 - a->k0)) * ldw;
    for (int ky = 0; ky < a->kh; ky++) {
        int64_t xo = ky * a->rowstep + a->k0;
        for (int r = 0; r < nrun; r++, xo += a->colstep) {
            const float *q0 = q[0] + xo;
            const float *q1 = NB > 4 ? q[1] + xo : q0;
            const float *q2 = NB > 8 ? q[2] + xo : q0;
            const float *q3 = NB > 12 ? q[3] + xo : q0;
            for (int k = a->k0; k < a->k1; k++, wr += ldw, q0++, q1++, q2++, q3++) {
                __m512 w0 = _mm512_maskz_loadu_ps(m0, wr), w1 = z, w2 = z, w3 = z;
                if (NV > 1)
                    w1 = _mm512_maskz_loadu_ps(m1, wr + 16);
                if (NV > 2)
                    w2 = _mm512_maskz_loadu_ps(m2, wr + 32);
                if (NV > 3)
                    w3 = _mm512_maskz_loadu_ps(m3, wr + 48);
                STEP(0, q0[0]) STEP(1, q0[s1]) STEP(2, q0[s2]) STEP(3, q0[s3])
                STEP(4, q1[0]) STEP(5, q1[s1]) STEP(6, q1[s2]) STEP(7, q1[s3])
                STEP(8, q2[0]) STEP(9, q2[s1]) STEP(10, q2[s2]) STEP(11, q2[s3])
                STEP(12, q3[0]) STEP(13, q3[s1]) STEP(14, q3[s2]) STEP(15, q3[s3])
            }
            wr += skip;
        }
    }
    if (!a->last) {
        ALL16(STORE)
        return;
    }
    if (a->scale || a->bias) {
        const __m512 one = _mm512_set1_ps(1.0f);
        __m512 e0 = one, e1 = one, e2 = one, e3 = one, f0 = z, f1 = z, f2 = z, f3 = z;
        if (a->scale) {
            e0 = _mm512_mask_loadu_ps(one, m0, a->scale);
            if (NV > 1) e1 = _mm512_mask_loadu_ps(one, m1, a->scale + 16);
            if (NV > 2) e2 = _mm512_mask_loadu_ps(one, m2, a->scale + 32);
            if (NV > 3) e3 = _mm512_mask_loadu_ps(one, m3, a->scale + 48);
        }
        if (a->bias) {
            f0 = _mm512_maskz_loadu_ps(m0, a->bias);
            if (NV > 1) f1 = _mm512_maskz_loadu_ps(m1, a->bias + 16);
            if (NV > 2) f2 = _mm512_maskz_loadu_ps(m2, a->bias + 32);
            if (NV > 3) f3 = _mm512_maskz_loadu_ps(m3, a->bias + 48);
        }
        ALL16(EPI)
    }
    /* The BatchNormalization after the layer as a product and a sum
    ** (kern_scale_shift's rounding). */
    if (a->post_scale) {
        __m512 e0 = z, e1 = z, e2 = z, e3 = z, f0 = z, f1 = z, f2 = z, f3 = z;
        e0 = _mm512_maskz_loadu_ps(m0, a->post_scale);
        f0 = _mm512_maskz_loadu_ps(m0, a->post_shift);
        if (NV > 1) e1 = _mm512_maskz_loadu_ps(m1, a->post_scale + 16);
        if (NV > 1) f1 = _mm512_maskz_loadu_ps(m1, a->post_shift + 16);
        if (NV > 2) e2 = _mm512_maskz_loadu_ps(m2, a->post_scale + 32);
        if (NV > 2) f2 = _mm512_maskz_loadu_ps(m2, a->post_shift + 32);
        if (NV > 3) e3 = _mm512_maskz_loadu_ps(m3, a->post_scale + 48);
        if (NV > 3) f3 = _mm512_maskz_loadu_ps(m3, a->post_shift + 48);
        ALL16(POST)
    }
    if (a->res) {
        ALL16(ADDRES)
    }
    if (a->clip) {
        ALL16(CLIP_LO)
        if (a->clip == 2) {
            const __m512 six = _mm512_set1_ps(6.0f);
            ALL16(CLIP_HI)
        }
    }
    ALL16(STORE)
}
#undef ACC4
#undef STEP
#undef EPI
#undef CLIP
#undef CLIP_LO
#undef CLIP_HI
#undef STORE
#undef LOADACC
#undef ADDRES
#undef POST
#undef ALL16

typedef void (*mk_fn)(const dk *, const float *const *, float *const *);

#define MK(NB, NV)                                                                       \
    static AVX512 void mk_##NB##_##NV(const dk *a, const float *const *q, float *const *yo) \
    {                                                                                    \
        mk_body(NB, NV, a, q, yo);                                                       \
    }
MK(16, 1) MK(12, 1) MK(8, 1) MK(4, 1) MK(2, 1) MK(1, 1)
MK(12, 2) MK(8, 2) MK(4, 2) MK(2, 2) MK(1, 2)
MK(8, 3) MK(4, 3) MK(2, 3) MK(1, 3)
#undef MK

/* mk_tab[nv-1][g]: a block of g+1 full groups (4(g+1) pixels), or with
** g = 4 and 5 a block of 2 and 1 pixels; NULL where the registers do not
** hold it.  mk_groups[nv-1]: the most groups a block takes. */
static const mk_fn mk_tab[3][6] = {
    {mk_4_1, mk_8_1, mk_12_1, mk_16_1, mk_2_1, mk_1_1},
    {mk_4_2, mk_8_2, mk_12_2, NULL, mk_2_2, mk_1_2},
    {mk_4_3, mk_8_3, NULL, NULL, mk_2_3, mk_1_3},
};
static const int mk_groups[3] = {4, 3, 2};

/* Where the direct route stops paying: each block of pixels streams the
** kernel panel (K rows of one channel chunk, cout floats apart) from L2,
** so with a long K the blocked GEMM, which tiles K and packs the panel,
** wins (measured on Zen 5: 7x7x512 3x3).  Wide outputs stay direct: on
** the AMD EPYC of the benchmarks SqueezeNet's 1x1 512 -> 1000 and
** MobileNetV2's 1x1 convolutions to 576-1280 channels took 5-7% less CPU
** time in all direct than through OpenBLAS (make bench). */
#define DIRECT_MAX_K 2048
#define DIRECT_MAX_COUT 4096

#define BAND_FLOATS (64 * 1024)

/* Whether the whole padded input of a sample fits one band: then a
** kernel longer than DIRECT_MAX_K is cut into blocks of rows (each block
** reads the band again, from L1/L2) and still takes the direct route, 1.4
** to 4 times OpenBLAS's speed (a 9x9x256 5x5, 14x14x256 3x3 stride 2). */
static int direct_small_map(const k2t_win *g)
{
    return (int64_t)(g->ih + g->pt + g->pb) * (g->iw + g->pl + g->pr) * g->c <= BAND_FLOATS;
}

static int direct_shape_ok(const k2t_win *g, int groups, int cout)
{
    int64_t k = (int64_t)g->kh * g->kw * (g->c / groups);
    return (k <= DIRECT_MAX_K || (direct_small_map(g) && k <= 9 * DIRECT_MAX_K)) &&
           cout <= DIRECT_MAX_COUT;
}

static int direct_ok(const k2t_win *g, int groups, int cout)
{
    return kern_simd() && direct_shape_ok(g, groups, cout);
}
/* Floats of kernel panel a block of kernel rows may take (32 KiB of a
** 48 KiB L1). */
#define KB_FLOATS (8 * 1024)

/* The length of the blocks a run of len kernel rows (of K in all) is cut
** into so that a block's panel (its rows of all runs x nc floats) stays in
** L1: as few blocks as fit, of even sizes, multiples of 16; len when the
** whole panel fits. */
static int block_len(int64_t K, int nc, int len)
{
    if (K * nc <= KB_FLOATS)
        return len;
    int nb = (int)((K * nc + KB_FLOATS - 1) / KB_FLOATS);
    return ((len + nb - 1) / nb + 15) & ~15;
}

/* Output rows per band, and the floats of the band (*floats). */
static int band_rows(const k2t_win *g, int64_t *floats)
{
    int64_t row = (int64_t)(g->iw + g->pl + g->pr) * g->c, keh = (int64_t)(g->kh - 1) * g->dh + 1;
    int64_t b = (BAND_FLOATS / row - keh) / g->sh + 1;
    b = b < 1 ? 1 : b > g->oh ? g->oh : b;
    if (floats)
        *floats = ((b - 1) * g->sh + keh) * row;
    return (int)b;
}

/* Copy input rows [first, first + rows) of sample xs into band, with pl
** zero columns before each, pr after, and zero rows outside the input. */
static AVX512 void band_fill(const k2t_win *g, const float *xs, int first, int rows,
                             float *band)
{
    const int c = g->c;
    const int64_t bw = (int64_t)(g->iw + g->pl + g->pr) * c, lead = (int64_t)g->pl * c;
    const int64_t body = (int64_t)g->iw * c, trail = (int64_t)g->pr * c;
    for (int r = 0; r < rows; r++) {
        float *row = band + r * bw;
        int iy = first + r;
        if (iy < 0 || iy >= g->ih) {
            memset(row, 0, (size_t)bw * sizeof(float));
            continue;
        }
        const float *src = xs + (int64_t)iy * body;
        for (int64_t i = 0; i < lead; i++)
            row[i] = 0.0f;
        for (int64_t i = 0; i < body; i++)
            row[lead + i] = src[i];
        for (int64_t i = 0; i < trail; i++)
            row[lead + body + i] = 0.0f;
    }
}

/* Output rows [oy0, oy1) of one sample for the channel chunk a->w..: the
** pixels of each row cut into groups of four, the groups of all rows
** dealt into blocks.  src is the window of pixel (oy0, 0) at tap (0, 0);
** output rows are rstride floats apart in src.  A row's last ow % 4
** pixels go, whichever costs less, in a group shifted back to end at the
** row's end (recomputing pixels), or down their columns in groups of
** four rows (a 13x13 map: 169 pixels computed, not 208); what is left in
** blocks of two and one.  Sums that accumulate in y are never recomputed.
** Rows narrower than four pixels go in blocks of two and one. */
static void direct_rows(const dk *a, int nvi, const float *src, int64_t rstride, int ow, int oy0,
                        int oy1, float *y)
{
    const int gmax = mk_groups[nvi];
    /* The next panel's share per block: the blocks this call makes. */
    const char *pf = (const char *)a->pf, *pf_end = (const char *)a->pf_end;
    int64_t calls = ow < 4 ? (int64_t)(oy1 - oy0) * ow : ((int64_t)(oy1 - oy0) * ((ow + 3) / 4) + gmax - 1) / gmax + 1;
    int share = pf ? (int)(((pf_end - pf) / 64 + calls - 1) / calls) : 0;
#define CALL(fn, d, qq, yy)                                                              \
    do {                                                                                 \
        (fn)(d, qq, yy);                                                                 \
        if (share)                                                                       \
            pf_lines(&pf, pf_end, share);                                                \
    } while (0)
    const float *q[4];
    float *yo[4];
    int64_t ps_y = a->ys;
    const int lines = ((nvi * 16 + __builtin_popcount(a->tail)) * 4 + 63) / 64; /* of a pixel's chunk */
#define AT(pix, slot)                                                                    \
    do {                                                                                 \
        yo[slot] = y + (pix) * a->ys;                                                    \
        if (a->last && !a->nopfw)                                                        \
            pf_out(yo[slot], ps_y, lines);                                               \
    } while (0)
    if (ow < 4) {
        for (int oy = oy0; oy < oy1; oy++)
            for (int ox = 0; ox < ow;) {
                int two = ow - ox >= 2;
                q[0] = src + (oy - oy0) * rstride + ox * a->ps;
                AT((int64_t)(oy - oy0) * ow + ox, 0);
                CALL(mk_tab[nvi][two ? 4 : 5], a, q, yo);
                ox += two ? 2 : 1;
            }
        return;
    }
    /* In pixel-blocks: a shifted group costs four a row; a column group
    ** four per four rows, a pixel left alone about three. */
    const int r = ow % 4, rows = oy1 - oy0, shift_ok = !a->accum && a->last;
    const int vert = r && rows >= 4 && (rows / 4) * 4 * r + (rows % 4) * r * 3 < (shift_ok ? 4 : 3 * r) * rows;
    const int whole = shift_ok && !vert ? ow : ow - r;
    const int vrows = vert ? rows - rows % 4 : 0; /* rows whose last r pixels go down columns */
    int ng = 0;
    for (int oy = oy0; oy < oy1; oy++) {
        for (int ox = oy - oy0 < vrows ? ow : whole; ox < ow;) {
            int two = ow - ox >= 2;
            const float *q1[1] = {src + (oy - oy0) * rstride + ox * a->ps};
            float *y1[1] = {y + ((int64_t)(oy - oy0) * ow + ox) * a->ys};
            CALL(mk_tab[nvi][two ? 4 : 5], a, q1, y1);
            ox += two ? 2 : 1;
        }
        for (int ox = 0; ox < whole; ox += 4) {
            int o = ox + 4 <= ow ? ox : ow - 4;
            q[ng] = src + (oy - oy0) * rstride + o * a->ps;
            AT((int64_t)(oy - oy0) * ow + o, ng);
            if (++ng == gmax) {
                CALL(mk_tab[nvi][ng - 1], a, q, yo);
                ng = 0;
            }
        }
    }
    if (ng)
        CALL(mk_tab[nvi][ng - 1], a, q, yo);
    if (!vrows)
        return;
    /* The last r columns, four rows a group: pixels rstride floats apart in
    ** src, ow pixels apart in y. */
    dk v = *a;
    v.ps = rstride;
    v.ys = ow * a->ys;
    ps_y = v.ys;
    ng = 0;
    for (int ox = ow - r; ox < ow; ox++)
        for (int oy = oy0; oy < oy0 + vrows; oy += 4) {
            q[ng] = src + (oy - oy0) * rstride + ox * a->ps;
            AT((int64_t)(oy - oy0) * ow + ox, ng);
            if (++ng == gmax) {
                CALL(mk_tab[nvi][ng - 1], &v, q, yo);
                ng = 0;
            }
        }
    if (ng)
        CALL(mk_tab[nvi][ng - 1], &v, q, yo);
#undef AT
#undef CALL
}

int64_t kern_chunk_count(int coutg)
{
    int64_t n = 0;
    for (int c0 = 0; c0 < coutg; c0 += chunk_width(coutg - c0)) n++;
    return n;
}

/* Output rows [oy0, oy1) of ow pixels (rstride floats of input apart)
** for every group, in chunks of 32 channels, or one of up to 48 to
** finish; yb is the band's first pixel. */
static void direct_chunks(dk *a, const k2t_epi *e, const float *w, const float *wp, int64_t K,
                          int groups, int cg, int coutg, const float *src,
                          int64_t rstride, int ow, int oy0, int oy1, float *yb, int by_chunks)
{
    /* A call sliced by chunks (kern_slice) takes its share of them. */
    int64_t lo = 0, hi = kern_chunk_count(coutg) * groups, idx = 0;
    if (by_chunks) kern_slice_range(hi, &lo, &hi);
    const float *wp_end = wp ? wp + K * groups * coutg : NULL;
    for (int q = 0; q < groups; q++)
        for (int c0 = 0; c0 < coutg; idx++) {
            int nc = chunk_width(coutg - c0);
            if (idx < lo || idx >= hi) {
                c0 += nc;
                continue;
            }
            int nvi = (nc + 15) / 16 - 1;
            int64_t ch = (int64_t)q * coutg + c0;
            a->tail = (__mmask16)((1u << (nc - 16 * nvi)) - 1u);
            const float *wc = wp ? wp + ch * K : w + ch;
            a->ldw = wp ? nc : a->ys;
            a->scale = e && e->scale ? e->scale + ch : NULL;
            a->bias = e && e->bias ? e->bias + ch : NULL;
            a->post_scale = e && e->post_scale ? e->post_scale + ch : NULL;
            a->post_shift = e && e->post_shift ? e->post_shift + ch : NULL;
            /* A pointwise kernel in blocks of rows whose panel (rows x nc
            ** floats) stays in L1 while every pixel of the piece goes
            ** through it.  (Cutting a 3x3 kernel by rows measured slower:
            ** its band is read again for each block; only one too long
            ** for the direct route otherwise, on a small map, is cut.) */
            const int len = a->merged ? a->kw * cg : cg;
            const int per_k = (a->kh == 1 && a->merged) || a->kblock ? block_len(K, nc, len) : len;
            for (int k = 0; k < len; k += per_k) {
                a->k0 = k;
                a->k1 = k + per_k < len ? k + per_k : len;
                a->accum = k > 0;
                a->last = a->k1 == len;
                a->w = wc + (int64_t)k * a->ldw;
                a->pf = wp ? a->w + (int64_t)(a->k1 - a->k0) * a->ldw : NULL;
                a->pf_end = wp ? a->pf + (int64_t)(a->k1 - a->k0) * a->ldw : NULL;
                if (a->pf_end > wp_end)
                    a->pf_end = wp_end;
                direct_rows(a, nvi, src + (int64_t)q * cg, rstride, ow, oy0, oy1, yb + ch);
            }
            c0 += nc;
        }
}

void kern_direct_gemm(const float *a, int64_t lda, int m, int k, const float *p, int nc, float *c,
                      int64_t ldc, const float *pf_end)
{
    dk d;
    memset(&d, 0, sizeof d);
    d.ps = lda;
    d.kh = d.kw = 1;
    d.cg = k;
    d.merged = 1;
    d.nopfw = 1;
    d.ys = ldc;
    d.ldw = nc;
    int nvi = (nc + 15) / 16 - 1;
    d.tail = (__mmask16)((1u << (nc - 16 * nvi)) - 1u);
    const int per_k = block_len(k, nc, k);
    for (int k0 = 0; k0 < k; k0 += per_k) {
        d.k0 = k0;
        d.k1 = k0 + per_k < k ? k0 + per_k : k;
        d.accum = k0 > 0;
        d.last = d.k1 == k;
        d.w = p + (int64_t)k0 * nc;
        d.pf = d.w + (int64_t)(d.k1 - d.k0) * nc;
        d.pf_end = d.pf + (int64_t)(d.k1 - d.k0) * nc;
        if (d.pf_end > pf_end) d.pf_end = pf_end;
        if (d.pf >= d.pf_end) d.pf = d.pf_end = NULL;
        direct_rows(&d, nvi, a, 0, m, 0, 1, c);
    }
}

void kern_conv_tail(float *yb, int64_t rows, int cout, k2t_act act)
{
    if (act == K2T_ACT_SOFTMAX) {
        k2t_epi sm = {.act = act};
        kern_epilogue(yb, rows, cout, &sm);
    } else if (act != K2T_ACT_LINEAR && act != K2T_ACT_RELU && act != K2T_ACT_RELU6) {
        kern_act(yb, rows * cout, act);
    }
}

static void conv_direct(const k2t_win *g, int groups, int cout, const float *x, int n,
                        const float *w, const float *wp, const k2t_epi *e, float *y, float *ws)
{
    const int64_t K = (int64_t)g->kh * g->kw * (g->c / groups);
    const int c = g->c, cg = c / groups, coutg = cout / groups;
    const int use_band = g->pt > 0 || g->pb > 0 || g->pl > 0 || g->pr > 0;
    const int width = use_band ? g->iw + g->pl + g->pr : g->iw; /* of the rows read */
    const int keh = (g->kh - 1) * g->dh + 1;
    const int brows = use_band ? band_rows(g, NULL) : g->oh;
    /* The epilogue fused into the micro-kernel's stores where it can be;
    ** another activation runs on each band's rows. */
    k2t_act act = e ? e->act : K2T_ACT_LINEAR;
    int clip = act == K2T_ACT_RELU ? 1 : act == K2T_ACT_RELU6 ? 2 : 0;
    dk a = {0};
    a.ps = (int64_t)g->sw * c;
    a.rowstep = (int64_t)g->dh * width * c;
    a.colstep = (int64_t)g->dw * c;
    a.kh = g->kh;
    a.kw = g->kw;
    a.cg = cg;
    a.merged = g->dw == 1 && cg == c;
    a.ys = e && e->ldy ? e->ldy : cout;
    a.kblock = K > DIRECT_MAX_K; /* direct_shape_ok: a small map */
    a.clip = clip;
    a.res = e ? e->res : 0;
    /* A sliced call (kern_slice) takes its share of the channel chunks, or,
    ** when there are too few of them to go round (MobileNetV2's 1x1
    ** convolutions to 24 or 96 channels, a first convolution to 32), of
    ** the pixels or output rows. */
    const int point = conv_is_pointwise(g);
    const int64_t pixels = point ? (int64_t)n * g->oh * g->ow : g->oh; /* or rows */
    const int by_pixels = slice_n > 1 && kern_chunk_count(coutg) * groups < 4 * slice_n &&
                          pixels >= (point ? 12 : 2) * slice_n;
    int64_t plo = 0, phi = pixels;
    if (by_pixels) kern_slice_range(pixels, &plo, &phi);
    if (point) {
        /* A 1x1 convolution reads every pixel in place, in one run across
        ** rows and samples: full blocks of 12 pixels even on a 3x3 map, in
        ** pieces of up to 512 KiB of input, which L2 keeps over the channel
        ** chunks (SqueezeNet's conv10, 169 x 512, is one piece: its 2 MB of
        ** weights are read once). */
        int64_t piece = 2 * BAND_FLOATS / (c ? c : 1);
        piece = piece < 48 ? 48 : piece - piece % 12;
        for (int64_t p0 = plo; p0 < phi; p0 += piece) {
            int len = (int)(phi - p0 < piece ? phi - p0 : piece);
            const float *src = x + p0 * c;
            float *yb = y + p0 * a.ys;
            direct_chunks(&a, e, w, wp, K, groups, cg, coutg, src, 0, len, 0, 1, yb, !by_pixels);
            kern_conv_tail(yb, len, cout, act);
        }
        return;
    }
    for (int s = 0; s < n; s++) {
        const float *xs = x + (int64_t)s * g->ih * g->iw * c;
        for (int oy0 = (int)plo; oy0 < phi; oy0 += brows) {
            int oy1 = oy0 + brows < phi ? oy0 + brows : (int)phi;
            int first = oy0 * g->sh - g->pt; /* input row of the band's row 0 */
            const float *src = xs + (int64_t)first * g->iw * c;
            if (use_band) {
                band_fill(g, xs, first, (oy1 - oy0 - 1) * g->sh + keh, ws);
                src = ws;
            }
            int64_t pix = ((int64_t)s * g->oh + oy0) * g->ow;
            float *yb = y + pix * a.ys;
            direct_chunks(&a, e, w, wp, K, groups, cg, coutg, src, (int64_t)g->sh * width * c, g->ow,
                          oy0, oy1, yb, !by_pixels);
            kern_conv_tail(yb, (int64_t)(oy1 - oy0) * g->ow, cout, act);
        }
    }
}
#else
static int direct_ok(const k2t_win *g, int groups, int cout)
{
    (void)g, (void)groups, (void)cout;
    return 0;
}
#endif

int kern_conv2d_direct(const k2t_win *g, int groups, int cout)
{
    return direct_ok(g, groups, cout) || (kern_simd() && kern_winograd_ok(g, groups, cout));
}


int64_t kern_conv2d_ws(const k2t_win *g, int groups)
{
    int64_t k = (int64_t)g->kh * g->kw * (g->c / groups);
    int64_t tile = conv_is_pointwise(g) ? 0 : (int64_t)tile_rows(k) * k;
    int64_t band = 0;
#ifdef HAVE_DIRECT
    /* Whatever kern_set_simd says now: it may change before the call. */
    if ((g->pt > 0 || g->pb > 0 || g->pl > 0 || g->pr > 0) && direct_shape_ok(g, groups, 1))
        band_rows(g, &band);
    if (kern_winograd_ok(g, groups, DIRECT_MAX_COUT) && kern_winograd_ws(g) > band)
        band = kern_winograd_ws(g);
#endif
    return tile > band ? tile : band;
}

int64_t kern_conv2d_packed_size(const k2t_win *g, int groups, int cout)
{
#ifdef HAVE_DIRECT
    int64_t k = (int64_t)g->kh * g->kw * (g->c / groups);
    if (kern_winograd_ok(g, groups, cout))
        return kern_winograd_packed_size(g, cout);
    return direct_shape_ok(g, groups, cout) ? k * cout : 0;
#else
    (void)g, (void)groups, (void)cout;
    return 0;
#endif
}

void kern_conv2d_pack(const k2t_win *g, int groups, int cout, const float *w, float *wp)
{
    const int64_t K = (int64_t)g->kh * g->kw * (g->c / groups);
    const int coutg = cout / groups;
    if (kern_winograd_ok(g, groups, cout)) {
        kern_winograd_pack(g, cout, w, wp);
        return;
    }
    for (int q = 0; q < groups; q++)
        for (int c0 = 0, nc; c0 < coutg; c0 += nc) {
            nc = chunk_width(coutg - c0);
            int64_t ch = (int64_t)q * coutg + c0;
            float *d = wp + ch * K;
            for (int64_t k = 0; k < K; k++)
                for (int j = 0; j < nc; j++)
                    d[k * nc + j] = w[k * cout + ch + j];
        }
}

void kern_conv2d(const k2t_win *g, int groups, int cout, const float *x, int n,
                 const float *w, const float *wp, const k2t_epi *e, float *y, float *ws)
{
    const int cg = g->c / groups, coutg = cout / groups;
    const int64_t m = (int64_t)n * g->oh * g->ow;
    const int64_t k = (int64_t)g->kh * g->kw * cg;
    const int point = conv_is_pointwise(g);
    const int t = point ? 256 : tile_rows(k);
#ifdef HAVE_DIRECT
    if (wp && kern_simd() && kern_winograd_ok(g, groups, cout)) {
        kern_winograd(g, cout, x, n, wp, e, y, ws);
        return;
    }
    if (direct_ok(g, groups, cout)) {
        conv_direct(g, groups, cout, x, n, w, wp, e, y, ws);
        return;
    }
#endif
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

#ifdef HAVE_DIRECT
/* The max over a window's taps of 64 channels (lanes m0..m3 of four
** vectors) from x0 (tap 0, 0), stored once at o.  _mm512_max_ps(x, m) is
** x > m ? x : m, the portable loop's, NaN and signed zeros alike. */
static inline __attribute__((always_inline)) AVX512 void
max_taps(const float *x0, int nky, int nkx, int64_t rs, int64_t cs, __mmask16 m0, __mmask16 m1,
         __mmask16 m2, __mmask16 m3, float *o)
{
    __m512 a0 = _mm512_maskz_loadu_ps(m0, x0), a1 = _mm512_maskz_loadu_ps(m1, x0 + 16);
    __m512 a2 = _mm512_maskz_loadu_ps(m2, x0 + 32), a3 = _mm512_maskz_loadu_ps(m3, x0 + 48);
    for (int ky = 0; ky < nky; ky++)
        for (int kx = ky ? 0 : 1; kx < nkx; kx++) {
            const float *p = x0 + ky * rs + kx * cs;
            a0 = _mm512_max_ps(_mm512_maskz_loadu_ps(m0, p), a0);
            a1 = _mm512_max_ps(_mm512_maskz_loadu_ps(m1, p + 16), a1);
            a2 = _mm512_max_ps(_mm512_maskz_loadu_ps(m2, p + 32), a2);
            a3 = _mm512_max_ps(_mm512_maskz_loadu_ps(m3, p + 48), a3);
        }
    _mm512_mask_storeu_ps(o, m0, a0);
    _mm512_mask_storeu_ps(o + 16, m1, a1);
    _mm512_mask_storeu_ps(o + 32, m2, a2);
    _mm512_mask_storeu_ps(o + 48, m3, a3);
}

/* The lanes of vector v (0..3) of a run of left channels. */
static __mmask16 lanes(int left, int v)
{
    int k = left - 16 * v;
    return k >= 16 ? 0xffff : k > 0 ? (__mmask16)((1u << k) - 1u) : 0;
}

/* One output pixel of kern_maxpool in registers: each 64 channels in four
** vectors over the window's nky x nkx taps from x0 (rows rs floats apart,
** columns cs), stored once. */
static AVX512 void maxpool_pixel(const float *x0, int c, int nky, int nkx, int64_t rs, int64_t cs, float *o)
{
    const int full = c - c % 64;
    for (int j = 0; j < full; j += 64)
        max_taps(x0 + j, nky, nkx, rs, cs, 0xffff, 0xffff, 0xffff, 0xffff, o + j);
    if (full < c)
        max_taps(x0 + full, nky, nkx, rs, cs, lanes(c - full, 0), lanes(c - full, 1),
                 lanes(c - full, 2), lanes(c - full, 3), o + full);
}
#endif

K2T_CLONES
void kern_maxpool(const k2t_win *g, const float *x, int n, float *y)
{
    const int c = g->c;
#ifdef HAVE_DIRECT
    const int simd = kern_simd();
#endif
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
#ifdef HAVE_DIRECT
                if (simd && ky0 < ky1 && kx0 < kx1) {
                    maxpool_pixel(xs + ((int64_t)(iy0 + ky0 * g->dh) * g->iw + ix0 + kx0 * g->dw) * c, c,
                                  ky1 - ky0, kx1 - kx0, (int64_t)g->dh * g->iw * c, (int64_t)g->dw * c, o);
                    continue;
                }
#endif
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

K2T_CLONES
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

K2T_CLONES
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
