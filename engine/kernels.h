/*
** kernels.h -- the numeric kernels the executor calls, float32, NHWC.
**
** A kernel computes one layer's output for a range of samples; it never
** allocates (scratch comes from the caller's workspace), never prints and
** never fails: the executor has checked shapes before calling.  Per-sample
** tensors are contiguous, so sample i of an (n, ...) tensor starts at
** i * per_sample_elements.
**
** Keras semantics live here: TF padding (asymmetric 'same'), -inf padding
** for max pooling, average pooling that leaves padding out of the count,
** depth multiplier channel order c*M+m, Conv2DTranspose cropping.  The
** count_include_pad flag exists for the PyTorch emulation.
*/
#ifndef K2T_ENGINE_KERNELS_H
#define K2T_ENGINE_KERNELS_H

#include <stdint.h>
#include "k2t.h"

/* What follows a GEMM: per-channel bias, then an activation.
**
** The keep path's chains (a run that keeps every layer's output at the
** cost of inference): from v = acc*scale + bias, v*post_scale + post_shift
** (a BatchNormalization after the GEMM, as its kern_scale_shift computes
** it: a product, then a sum; not an FMA), the residual and the activation
** give y: the values of the layers after the GEMM run one by one, bit for
** bit. */
typedef struct k2t_epi {
    const float *bias;      /* per output channel, or NULL */
    const float *scale;     /* per output channel multiplier before bias (folded BN), or NULL */
    k2t_act act;
    const float *post_scale, *post_shift; /* both or neither */
    int64_t res;            /* floats from y to a tensor of y's layout added before the
                               activation (a residual Add: v + r, kern_merge's sum); 0: none */
    int64_t ldy;            /* floats between y's pixels, 0: the channel count (a slice of a
                               Concatenate's output); only the direct convolution takes it,
                               with an activation applied in registers (linear, relu, relu6)
                               and no res */
} k2t_epi;

/* y[rows][c] = act(y * scale + bias), in place (with post_scale: v =
** y*scale + bias, then act(v*post_scale + post_shift); with res, the
** residual added before the activation).
** softmax acts on each row.  e == NULL does nothing.  Every activation is
** within a few float ulps of its double formula (KERAS-FORMAT 4; gelu is
** the exact erf form). */
void kern_epilogue(float *y, int64_t rows, int c, const k2t_epi *e);

/* Elementwise activation in place; softmax treats the n floats as one row. */
void kern_act(float *y, int64_t n, k2t_act act);
/* y = act(x) elementwise (not softmax), in L1-sized pieces: one pass over
** memory where a copy and kern_act would make two. */
void kern_act_from(float *y, const float *x, int64_t n, k2t_act act);
/* Softmax over the middle axis of an (outer, len, inner) view, in place. */
void kern_softmax(float *y, int64_t outer, int64_t len, int64_t inner);

/*------------------------------------------------------------ convolution */

/* Workspace (floats) kern_conv2d needs for geometry g and 'groups' (either
** route below; independent of n, typically a few hundred KiB). */
int64_t kern_conv2d_ws(const k2t_win *g, int groups);

/* y (n, oh, ow, cout) = conv(x (n, ih, iw, c), w) then the epilogue.
** w is Keras's kernel (kh, kw, c/groups, cout) as stored (row-major: a
** [kh*kw*c/groups][cout] matrix); output channels of group q are
** q*cout/groups ... (q+1)*cout/groups-1, as in TF and PyTorch.  im2col of
** a tile of output rows into ws, then cblas_sgemm; a 1x1 stride-1
** unpadded convolution is one GEMM on x directly.  Tiles run across
** samples; the epilogue runs on each tile as it is produced. */
void kern_conv2d(const k2t_win *g, int groups, int cout, const float *x, int n,
                 const float *w, const float *wp, const k2t_epi *e, float *y, float *ws);
/* The direct route's kernel layout: w's columns in the chunks the
** micro-kernel takes, each chunk's rows contiguous (the rows of a chunk
** of 32 output channels are then one stream, not rows cout floats apart
** on as many pages).  kern_conv2d takes it as wp (or NULL).  The size in
** floats is 0 where the direct route is never taken. */
int64_t kern_conv2d_packed_size(const k2t_win *g, int groups, int cout);
void kern_conv2d_pack(const k2t_win *g, int groups, int cout, const float *w, float *wp);

/* On x86-64 CPUs with AVX-512, kern_conv2d reads x in place with a
** register-blocked micro-kernel instead of im2col + GEMM (same sums in the
** same order of k, the epilogue's v*scale + bias fused into one rounding),
** kern_depthwise and the exp/erf activations use AVX-512 code too.  A 3x3
** stride-1 convolution with a packed kernel and enough channels
** (kern_winograd_ok) goes through Winograd's F(2x2, 3x3) or, on maps of
** 20x20 or more, F(4x4, 3x3) instead (kern_winograd.c): 16 multiplications
** for 36, or 36 for 144, a different rounding (about 1e-6 of the layer's
** largest output); the packed kernel then holds the transformed one.
** kern_set_simd(0) forces the portable routes (tests compare the two);
** call it before any kernel runs, not during. */
void kern_set_simd(int enable);
/* Nonzero when the AVX-512 kernels are in use (the CPU has AVX-512F and
** kern_set_simd has not turned them off). */
int kern_simd(void);
/* Make this thread's next kernel calls compute slice i of n of their
** output (one image split between threads): the direct convolution (and
** Dense through it) its i-th share of the 32-channel chunks (or pixels,
** or rows), the Winograd route its share of the rows of tiles, the
** AVX-512 depthwise convolution its share of the output rows.  Only those two
** routes honour it; (0, 1), the default, is the whole call. */
void kern_slice(int i, int n);
/* Whether kern_conv2d takes the direct route for this geometry (the one
** kern_slice splits). */
int kern_conv2d_direct(const k2t_win *g, int groups, int cout);
/* Whether a packed kernel for this geometry is Winograd's (and kern_conv2d
** takes that route when kern_simd()). */
int kern_winograd_ok(const k2t_win *g, int groups, int cout);

/* Depthwise: y (n, oh, ow, c*m)[..., ci*m+j] = sum x[..., ci] * w[kh][kw][ci][j],
** then the epilogue (bias indexed by ci*m+j).  w is (kh, kw, c, m). */
void kern_depthwise(const k2t_win *g, int m, const float *x, int n, const float *w,
                    const k2t_epi *e, float *y);

/* Transposed convolution (Conv2DTranspose) with Keras's geometry.  g holds
** the INPUT size (ih, iw, c = cin), kernel, strides and dilation (pads and
** oh/ow unused).  The full output F has size (ih-1)*sh + (kh-1)*dh + 1 by
** the same for w; y (n, out_h, out_w, cout)[i][j] = F[i + crop_t][j + crop_l],
** zero where that falls outside F ('valid' with stride > kernel).
** w is Keras's (kh, kw, cout, cin).  Workspace: kern_conv2d_transpose_ws.
** Computed as GEMM (x times the kernel) then col2im into y. */
int64_t kern_conv2d_transpose_ws(const k2t_win *g, int cout);
void kern_conv2d_transpose(const k2t_win *g, int cout, int out_h, int out_w, int crop_t,
                           int crop_l, const float *x, int n, const float *w,
                           const k2t_epi *e, float *y, float *ws);

/*---------------------------------------------------------------- pooling */

/* Max pooling: padded cells never win (-inf).  Average pooling: divides by
** the real cells of each window unless count_include_pad (PyTorch's
** default), which divides by kh*kw. */
void kern_maxpool(const k2t_win *g, const float *x, int n, float *y);
void kern_avgpool(const k2t_win *g, int count_include_pad, const float *x, int n, float *y);
/* x (n, hw, c) -> y (n, c) */
void kern_global_pool(int64_t hw, int c, int is_max, const float *x, int n, float *y);

/*------------------------------------------------------------ dense & norm */

/* y (rows, units) = x (rows, in) * w (in, units), then the epilogue. */
void kern_dense(const float *x, int64_t rows, int in, const float *w, int units,
                const k2t_epi *e, float *y);

/* In the elementwise kernels below (scale_shift, layernorm, relu, leaky_relu,
** elu, prelu, merge, affine) y may be x: they run in place. */

/* y = x * scale[c] + shift[c] over (rows, c) (BatchNormalization folded
** into scale and shift). */
void kern_scale_shift(const float *x, int64_t rows, int c, const float *scale,
                      const float *shift, float *y);
/* NCHW: x (n, c, hw). */
void kern_scale_shift_nchw(const float *x, int n, int c, int64_t hw, const float *scale,
                           const float *shift, float *y);

/* LayerNormalization over the last 'len' elements of each of 'rows' rows:
** population mean and variance, y = (x-mean)/sqrt(var+eps)*gamma+beta;
** gamma/beta of length len or NULL. */
void kern_layernorm(const float *x, int64_t rows, int64_t len, const float *gamma,
                    const float *beta, float eps, float *y);

/*---------------------------------------------------------- elementwise */

/* ReLU layer: see KERAS-FORMAT 4 (threshold t, max_value m (NAN: none),
** negative slope a). */
void kern_relu(const float *x, int64_t n, float t, float m, float a, float *y);
void kern_leaky_relu(const float *x, int64_t n, float alpha, float *y);
void kern_elu(const float *x, int64_t n, float alpha, float *y);
/* PReLU: y = x > 0 ? x : alpha * x, alpha already broadcast to the
** per-sample shape (per_sample floats). */
void kern_prelu(const float *x, int n, int64_t per_sample, const float *alpha, float *y);

typedef enum { K2T_MERGE_ADD, K2T_MERGE_SUB, K2T_MERGE_MUL, K2T_MERGE_AVG,
               K2T_MERGE_MAX, K2T_MERGE_MIN } k2t_merge;
/* y = op(x[0], ..., x[k-1]) elementwise over n floats, folded left to
** right as Keras does (AVG divides the sum by k; SUB uses x[0] - x[1]).
** y may be any of the inputs. */
void kern_merge(k2t_merge op, const float *const *x, int k, int64_t n, float *y);

/* Concatenate k inputs along an axis: each input is (outer, len_i, inner);
** y is (outer, sum len_i, inner). */
void kern_concat(const float *const *x, const int64_t *len, int k, int64_t outer,
                 int64_t inner, float *y);

/* Per-sample axis permutation: x has shape in[0..nd-1] (per sample),
** y[...] = x transposed so that y's axis i is x's axis perm[i]. */
void kern_permute(const float *x, int n, int nd, const int64_t *in, const int *perm, float *y);

/* Zero padding / cropping of (n, h, w, c) to (n, h+pt+pb, w+pl+pr, c);
** negative pads crop. */
void kern_pad2d(const float *x, int n, int h, int w, int c, int pt, int pb, int pl, int pr,
                float *y);

/* UpSampling2D: nearest repeats rows sh times and columns sw times;
** bilinear follows tf.image.resize (half-pixel centres). */
void kern_upsample2d(const float *x, int n, int h, int w, int c, int sh, int sw,
                     int bilinear, float *y);

/* y = x * scale + offset */
void kern_affine(const float *x, int64_t n, float scale, float offset, float *y);
/* y[i] = q[i]: uint8 pixels (a .npy's, a CIFAR record's) to floats. */
void kern_u8_to_float(const unsigned char *q, int64_t n, float *y);

#endif /* K2T_ENGINE_KERNELS_H */
