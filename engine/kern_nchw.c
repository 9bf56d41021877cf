/*
** kern_nchw.c -- kernels for executing as a PyTorch port does: NCHW
** activations, nn.Linear's (out, in) weights.  The convolutions are not
** here: under layout nchw they run kernels.c's direct kernels between
** layout conversions (the port's numbers up to the order of a sum; a
** 224x224 MobileNetV2 took 40 ms through im2col and GEMM here, 19 ms so).
** These serve diff, step and eval under a PyTorch profile.
*/
#include <cblas.h>
#include <math.h>
#include <string.h>
#include "kern_nchw.h"

void kern_epilogue_nchw(float *y, int n, int c, int64_t hw, const k2t_epi *e)
{
    if (!e) return;
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++) {
            float *p = y + ((int64_t)i * c + ch) * hw;
            float s = e->scale ? e->scale[ch] : 1.0f, b = e->bias ? e->bias[ch] : 0.0f;
            if (e->scale || e->bias)
                for (int64_t j = 0; j < hw; j++) p[j] = p[j] * s + b;
            if (e->act != K2T_ACT_LINEAR && e->act != K2T_ACT_SOFTMAX) kern_act(p, hw, e->act);
        }
    if (e->act == K2T_ACT_SOFTMAX) kern_softmax(y, n, c, hw);
}

static void pool_nchw(const k2t_win *g, int is_max, int count_include_pad, const float *x, int n, float *y)
{
    int64_t ohw = (int64_t)g->oh * g->ow, ihw = (int64_t)g->ih * g->iw;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < g->c; c++) {
            const float *xc = x + ((int64_t)i * g->c + c) * ihw;
            float *yc = y + ((int64_t)i * g->c + c) * ohw;
            for (int oy = 0; oy < g->oh; oy++)
                for (int ox = 0; ox < g->ow; ox++) {
                    float best = -INFINITY;
                    double sum = 0;
                    int cnt = 0, padcnt = 0;
                    for (int a = 0; a < g->kh; a++) {
                        int iy = oy * g->sh - g->pt + a;
                        for (int b = 0; b < g->kw; b++) {
                            int ix = ox * g->sw - g->pl + b;
                            /* PyTorch counts window cells inside the padded input */
                            int inpad = iy >= -g->pt && iy < g->ih + g->pb && ix >= -g->pl && ix < g->iw + g->pr;
                            padcnt += inpad;
                            if (iy < 0 || iy >= g->ih || ix < 0 || ix >= g->iw) continue;
                            float v = xc[(int64_t)iy * g->iw + ix];
                            if (v > best) best = v;
                            sum += v;
                            cnt++;
                        }
                    }
                    if (is_max) yc[oy * g->ow + ox] = best;
                    else yc[oy * g->ow + ox] = (float)(sum / (count_include_pad ? padcnt : (cnt ? cnt : 1)));
                }
        }
}

void kern_maxpool_nchw(const k2t_win *g, const float *x, int n, float *y)
{
    pool_nchw(g, 1, 0, x, n, y);
}

void kern_avgpool_nchw(const k2t_win *g, int count_include_pad, const float *x, int n, float *y)
{
    pool_nchw(g, 0, count_include_pad, x, n, y);
}

void kern_global_pool_nchw(int c, int64_t hw, int is_max, const float *x, int n, float *y)
{
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++) {
            const float *p = x + ((int64_t)i * c + ch) * hw;
            if (is_max) {
                float b = -INFINITY;
                for (int64_t j = 0; j < hw; j++) if (p[j] > b) b = p[j];
                y[(int64_t)i * c + ch] = b;
            } else {
                double s = 0;
                for (int64_t j = 0; j < hw; j++) s += p[j];
                y[(int64_t)i * c + ch] = (float)(s / (double)hw);
            }
        }
}

void kern_linear(const float *x, int64_t rows, int in, const float *w, int out,
                 const k2t_epi *e, float *y)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, out, in, 1.0f, x, in, w, in,
                0.0f, y, out);
    kern_epilogue(y, rows, out, e);
}

/* b (cols, rows) = a (rows, cols) transposed, in 16x16 blocks so that
** neither the reads nor the writes stride through memory (a (hw, c) map
** with c = 3 or hw = 1024 has one of them far apart). */
static void transpose(const float *restrict a, int64_t rows, int64_t cols, float *restrict b)
{
    enum { B = 16 };
    if (cols <= B) { /* read in order, write cols streams */
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++) b[c * rows + r] = a[r * cols + c];
        return;
    }
    if (rows <= B) { /* write in order, read rows streams */
        for (int64_t c = 0; c < cols; c++)
            for (int64_t r = 0; r < rows; r++) b[c * rows + r] = a[r * cols + c];
        return;
    }
    for (int64_t r0 = 0; r0 < rows; r0 += B) {
        int64_t r1 = r0 + B < rows ? r0 + B : rows;
        for (int64_t c0 = 0; c0 < cols; c0 += B) {
            int64_t c1 = c0 + B < cols ? c0 + B : cols;
            for (int64_t r = r0; r < r1; r++)
                for (int64_t c = c0; c < c1; c++) b[c * rows + r] = a[r * cols + c];
        }
    }
}

void kern_to_nchw(const float *x, int n, int64_t hw, int c, float *y)
{
    for (int i = 0; i < n; i++) transpose(x + (int64_t)i * hw * c, hw, c, y + (int64_t)i * hw * c);
}

void kern_to_nhwc(const float *x, int n, int c, int64_t hw, float *y)
{
    for (int i = 0; i < n; i++) transpose(x + (int64_t)i * hw * c, c, hw, y + (int64_t)i * hw * c);
}

void kern_channel_stats(const float *x, int n, int c, int64_t hw, int nchw, double *mean, double *var)
{
    for (int ch = 0; ch < c; ch++) mean[ch] = var[ch] = 0;
    for (int i = 0; i < n; i++)
        for (int64_t p = 0; p < hw; p++)
            for (int ch = 0; ch < c; ch++) {
                float v = nchw ? x[((int64_t)i * c + ch) * hw + p] : x[((int64_t)i * hw + p) * c + ch];
                mean[ch] += v;
            }
    double cnt = (double)n * (double)hw;
    for (int ch = 0; ch < c; ch++) mean[ch] /= cnt;
    for (int i = 0; i < n; i++)
        for (int64_t p = 0; p < hw; p++)
            for (int ch = 0; ch < c; ch++) {
                float v = nchw ? x[((int64_t)i * c + ch) * hw + p] : x[((int64_t)i * hw + p) * c + ch];
                var[ch] += (v - mean[ch]) * (v - mean[ch]);
            }
    for (int ch = 0; ch < c; ch++) var[ch] /= cnt;
}
