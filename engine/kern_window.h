/*
** kern_window.h -- what the window kernels (kern_conv.c, kern_depthwise.c)
** share: the AVX-512 build switches, window tap ranges and this thread's
** slice (kern_slice).  Internal to the kernels; the executor sees
** kernels.h.
*/
#ifndef K2T_ENGINE_KERN_WINDOW_H
#define K2T_ENGINE_KERN_WINDOW_H

#include <stdint.h>
#include "kernels.h"

/* See kernels.c: loops compiled for AVX-512 and the baseline. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define K2T_CLONES __attribute__((target_clones("avx512f", "default")))
#else
#define K2T_CLONES
#endif

/* The hand-written AVX-512 routes (taken when kern_simd()). */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_DIRECT 1
#define AVX512 __attribute__((target("avx512f")))

#endif

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

/* [*lo, *hi): this thread's part of count items (kern_slice). */
void kern_slice_range(int64_t count, int64_t *lo, int64_t *hi);
/* How many slices this thread's calls are cut into (1: unsliced). */
int kern_slice_count(void);

/* The direct route's channel chunks (kern_conv.c): 32 output channels, or
** one of up to 48 to finish (kern_chunk_count: how many cout make). */
int kern_chunk_width(int rest);

/* kern_winograd.c: 3x3 stride-1 convolutions on the AVX-512 route, with
** their own packed kernel (a*a transformed panels a chunk, 16 or 36). */
int64_t kern_winograd_packed_size(const k2t_win *g, int cout);
void kern_winograd_pack(const k2t_win *g, int cout, const float *w, float *wp);
int64_t kern_winograd_ws(const k2t_win *g);
void kern_winograd(const k2t_win *g, int cout, const float *x, int n, const float *wp,
                   const k2t_epi *e, float *y, float *ws);

#ifdef HAVE_DIRECT
int64_t kern_chunk_count(int cout);
/* The activation the direct route's stores did not apply (all but linear,
** ReLU and ReLU6), on rows pixels of cout channels. */
void kern_conv_tail(float *y, int64_t rows, int cout, k2t_act act);

/* Ask for a run of lines from p for writing: a run that keeps every layer
** writes each to memory no earlier pass touched. */
static inline __attribute__((always_inline)) void kern_prefetchw(const float *p, int lines)
{
    for (int l = 0; l < lines; l++)
        __asm__ volatile("prefetchw %0" : : "m"(*((const char *)p + 64 * l)));
}

/* c[m][nc] = a[m][k] (rows lda floats apart) x p[k][nc] (a packed chunk
** panel, nc <= 48), rows of c ldc floats apart, on the direct route's
** micro-kernel; the floats of p after the panel, up to pf_end, are
** brought into L2 meanwhile. */
void kern_direct_gemm(const float *a, int64_t lda, int m, int k, const float *p, int nc, float *c,
                      int64_t ldc, const float *pf_end);
#endif

#endif /* K2T_ENGINE_KERN_WINDOW_H */
