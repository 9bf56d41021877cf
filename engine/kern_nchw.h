/*
** kern_nchw.h -- the kernels of the PyTorch emulation: NCHW tensors and
** weights as PyTorch holds them (Linear (out,in)); the convolutions run
** kernels.h's between layout conversions.  Same conventions as kernels.h:
** sample ranges, no allocation, no failure.  1-D ops use ih = 1.
*/
#ifndef K2T_ENGINE_KERN_NCHW_H
#define K2T_ENGINE_KERN_NCHW_H

#include "kernels.h"

/* Per-channel scale, bias and activation over (n, c, hw); softmax over channels. */
void kern_epilogue_nchw(float *y, int n, int c, int64_t hw, const k2t_epi *e);
void kern_maxpool_nchw(const k2t_win *g, const float *x, int n, float *y);
void kern_avgpool_nchw(const k2t_win *g, int count_include_pad, const float *x, int n, float *y);
/* x (n, c, hw) -> y (n, c) */
void kern_global_pool_nchw(int c, int64_t hw, int is_max, const float *x, int n, float *y);
/* y (rows, out) = x (rows, in) * w^T, w (out, in) as nn.Linear holds it. */
void kern_linear(const float *x, int64_t rows, int in, const float *w, int out,
                 const k2t_epi *e, float *y);
/* Per sample (hw, c) <-> (c, hw). */
void kern_to_nchw(const float *x, int n, int64_t hw, int c, float *y);
void kern_to_nhwc(const float *x, int n, int c, int64_t hw, float *y);
/* Batch statistics per channel (train-mode BatchNormalization): mean and
** biased variance over every sample and position; x is (n, c, hw) when
** nchw, else (n, hw, c). */
void kern_channel_stats(const float *x, int n, int c, int64_t hw, int nchw, double *mean,
                        double *var);

#endif /* K2T_ENGINE_KERN_NCHW_H */
