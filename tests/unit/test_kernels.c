/*
** test_kernels.c -- every kernel of engine/kernels.h against naive
** reference loops written here, in double precision.
**
** The references are the textbook definitions, deliberately unlike the
** kernels: direct nested-loop convolution that tests each tap against the
** explicit TF padding, transposed convolution by scattering into the full
** output F and cropping, pooling that walks the padded window cell by
** cell.  Inputs are random with odd sizes; strides 1, 2 and 3, dilation,
** groups, depth multipliers, 'same'/'valid'/'causal', asymmetric pads and
** the Conv2DTranspose crops are all exercised, the convolution both
** through the AVX-512 direct route (when the CPU has it) and the portable
** im2col + GEMM route.  A few values are checked by hand as well (a 'same'
** average pool of a 2x2 input with a 3x3 window averages all four cells
** everywhere).  Every output buffer has a guard zone after it, so writing
** past the end is a failure too.
**
** Tolerance: |got - ref| <= 1e-5 * m, where m is |ref| for elementwise
** results and the sum of the absolute values of the terms for sums (the
** scale float rounding errors are proportional to).
**
** Prints "ok - <group>" per passing group and "not ok - <what>" per
** failure; exits 1 on any failure.
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../engine/kernels.h"

#define TOL 1e-5
#define GUARD 64
#define SENTINEL 12345.678f

static int n_failed, g_failed;
static char g_name[256];

static void begin(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_name, sizeof g_name, fmt, ap);
    va_end(ap);
    g_failed = 0;
}

static void end(void)
{
    if (g_failed == 0)
        printf("ok - %s\n", g_name);
    else if (g_failed > 5)
        printf("not ok - %s: %d failures in all\n", g_name, g_failed);
    fflush(stdout);
}

static void fail(const char *fmt, ...)
{
    n_failed++;
    if (++g_failed > 5)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("not ok - %s: ", g_name);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

/*--------------------------------------------------------------- buffers */

static uint64_t rng = 88172645463325252ull;

static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* n floats followed by a guard zone of sentinels. */
static float *fbuf(int64_t n)
{
    float *p = malloc((size_t)(n + GUARD) * sizeof(float));
    if (!p) {
        printf("not ok - out of memory\n");
        exit(1);
    }
    for (int i = 0; i < GUARD; i++)
        p[n + i] = SENTINEL;
    return p;
}

/* An input: exactly n floats (so that AddressSanitizer sees over-reads). */
static float *frand(int64_t n, double lo, double hi)
{
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!p) {
        printf("not ok - out of memory\n");
        exit(1);
    }
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)(lo + (hi - lo) * urand());
    return p;
}

static double *dbuf(int64_t n)
{
    double *p = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
    if (!p) {
        printf("not ok - out of memory\n");
        exit(1);
    }
    return p;
}

static void guard_check(const float *p, int64_t n, const char *what)
{
    for (int i = 0; i < GUARD; i++)
        if (p[n + i] != SENTINEL) {
            fail("%s: wrote past the end (float %lld)", what, (long long)(n + i));
            return;
        }
}

/* got against ref within TOL * mag (mag NULL: |ref|); tol 0: exact. */
static void cmp(const char *what, const float *got, const double *ref, const double *mag,
                int64_t n, double tol)
{
    for (int64_t i = 0; i < n; i++) {
        double r = ref[i], gv = got[i];
        if (isnan(r) || isnan(gv)) {
            if (isnan(r) != isnan(gv))
                fail("%s[%lld] = %.9g, want %.9g", what, (long long)i, gv, r);
            continue;
        }
        if (isinf(r) || isinf(gv)) {
            if (r != gv)
                fail("%s[%lld] = %.9g, want %.9g", what, (long long)i, gv, r);
            continue;
        }
        double m = mag ? mag[i] : fabs(r);
        if (fabs(gv - r) > tol * m + (tol > 0 ? 1e-37 : 0.0))
            fail("%s[%lld] = %.9g, want %.9g (diff %.3g, scale %.3g)", what, (long long)i, gv, r,
                 fabs(gv - r), m);
    }
}

/*------------------------------------------------------ reference maths */

static double sigm(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

static double clipd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The formulas of KERAS-FORMAT 4, in double. */
static double ref_act(double x, k2t_act a)
{
    switch (a) {
    case K2T_ACT_LINEAR: return x;
    case K2T_ACT_RELU: return x > 0 ? x : 0;
    case K2T_ACT_RELU6: return clipd(x, 0, 6);
    case K2T_ACT_SIGMOID: return sigm(x);
    case K2T_ACT_HARD_SIGMOID: return clipd(0.2 * x + 0.5, 0, 1);
    case K2T_ACT_HARD_SIGMOID3: return clipd(x / 6.0 + 0.5, 0, 1);
    case K2T_ACT_TANH: return tanh(x);
    case K2T_ACT_SOFTPLUS: return log1p(exp(x));
    case K2T_ACT_SOFTSIGN: return x / (1 + fabs(x));
    case K2T_ACT_ELU: return x > 0 ? x : exp(x) - 1;
    case K2T_ACT_SELU: return 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * (exp(x) - 1));
    case K2T_ACT_SWISH: return x * sigm(x);
    case K2T_ACT_GELU: /* 0.5 x (1 + erf(x/sqrt 2)); erfc keeps the x << 0 tail */
        return 0.5 * x * erfc(-x / sqrt(2.0));
    case K2T_ACT_EXPONENTIAL: return exp(x);
    case K2T_ACT_LEAKY_RELU: return x > 0 ? x : 0.2 * x;
    case K2T_ACT_HARD_SWISH: return x * clipd(x / 6.0 + 0.5, 0, 1);
    case K2T_ACT_SOFTMAX:
    case K2T_ACT_COUNT: break;
    }
    return NAN;
}

static const char *act_str(k2t_act a)
{
    static const char *names[] = {"linear", "relu", "relu6", "sigmoid", "hard_sigmoid",
                                  "hard_sigmoid3", "tanh", "softmax", "softplus", "softsign",
                                  "elu", "selu", "swish", "gelu", "exponential", "leaky_relu",
                                  "hard_swish"};
    return a < K2T_ACT_COUNT ? names[a] : "?";
}

/* Reference epilogue over rows of c: v*scale + bias, then act (softmax per
** row).  mag (the term scale) goes through the same affine map. */
static void ref_epilogue(double *y, double *mag, int64_t rows, int c, const float *scale,
                         const float *bias, k2t_act act)
{
    for (int64_t r = 0; r < rows; r++) {
        double *p = y + r * c, *m = mag + r * c;
        for (int j = 0; j < c; j++) {
            double s = scale ? scale[j] : 1.0, b = bias ? bias[j] : 0.0;
            p[j] = p[j] * s + b;
            m[j] = m[j] * fabs(s) + fabs(b);
        }
        if (act == K2T_ACT_SOFTMAX) {
            double mx = p[0], sum = 0;
            for (int j = 1; j < c; j++)
                mx = p[j] > mx ? p[j] : mx;
            for (int j = 0; j < c; j++)
                sum += exp(p[j] - mx);
            for (int j = 0; j < c; j++) {
                p[j] = exp(p[j] - mx) / sum;
                m[j] = p[j] * (1 + m[j]); /* error ~ value * input error */
            }
        } else if (act != K2T_ACT_LINEAR) {
            for (int j = 0; j < c; j++) {
                double v = ref_act(p[j], act);
                m[j] = 1.2 * m[j] + fabs(v);
                p[j] = v;
            }
        }
    }
}

/*------------------------------------------------------------- geometry */

static void test_geometry(void)
{
    begin("k2t_win_tf / k2t_win_sym geometry");
    /* Independent formulas for each dim, over a grid of sizes. */
    for (int in = 1; in <= 12; in++)
        for (int k = 1; k <= 5; k++)
            for (int s = 1; s <= 3; s++)
                for (int d = 1; d <= 3; d++)
                    for (int pad = 0; pad < 3; pad++) {
                        k2t_win g = {.ih = in, .iw = 1, .kh = k, .kw = 1, .sh = s, .sw = 1,
                                     .dh = d, .dw = 1};
                        int rc = k2t_win_tf(&g, (k2t_pad)pad);
                        int keff = (k - 1) * d + 1, out, before, after;
                        if (pad == K2T_PAD_VALID) {
                            if (in < keff) {
                                if (rc != -1)
                                    fail("valid in=%d keff=%d accepted", in, keff);
                                continue;
                            }
                            out = (int)floor((double)(in - keff) / s) + 1;
                            before = after = 0;
                        } else if (pad == K2T_PAD_SAME) {
                            out = (int)ceil((double)in / s);
                            int total = (out - 1) * s + keff - in;
                            total = total > 0 ? total : 0;
                            before = total / 2;
                            after = total - before;
                        } else {
                            out = (int)floor((double)(in - 1) / s) + 1;
                            before = keff - 1;
                            after = 0;
                        }
                        if (rc != 0 || g.oh != out || g.pt != before || g.pb != after ||
                            g.ow != 1 || g.pl != 0 || g.pr != 0)
                            fail("pad %d in=%d k=%d s=%d d=%d: rc %d out %d pads %d,%d; want %d "
                                 "%d,%d",
                                 pad, in, k, s, d, rc, g.oh, g.pt, g.pb, out, before, after);
                    }
    /* By hand. */
    struct { int in, k, s, d; k2t_pad p; int out, pt, pb; } hc[] = {
        {5, 3, 2, 1, K2T_PAD_SAME, 3, 1, 1},   {6, 3, 2, 1, K2T_PAD_SAME, 3, 0, 1},
        {4, 4, 1, 1, K2T_PAD_SAME, 4, 1, 2},   {2, 3, 1, 1, K2T_PAD_SAME, 2, 1, 1},
        {7, 3, 3, 1, K2T_PAD_VALID, 2, 0, 0},  {10, 3, 1, 2, K2T_PAD_CAUSAL, 10, 4, 0},
        {10, 3, 2, 2, K2T_PAD_CAUSAL, 5, 4, 0}, {1, 5, 1, 1, K2T_PAD_SAME, 1, 2, 2},
    };
    for (size_t i = 0; i < sizeof hc / sizeof hc[0]; i++) {
        k2t_win g = {.ih = hc[i].in, .iw = hc[i].in, .kh = hc[i].k, .kw = hc[i].k, .sh = hc[i].s,
                     .sw = hc[i].s, .dh = hc[i].d, .dw = hc[i].d};
        if (k2t_win_tf(&g, hc[i].p) != 0 || g.oh != hc[i].out || g.pt != hc[i].pt ||
            g.pb != hc[i].pb || g.ow != hc[i].out || g.pl != hc[i].pt || g.pr != hc[i].pb)
            fail("case %zu: out %d pads %d,%d", i, g.oh, g.pt, g.pb);
    }
    k2t_win g = {.ih = 7, .iw = 8, .kh = 3, .kw = 2, .sh = 2, .sw = 3, .dh = 1, .dw = 2};
    if (k2t_win_sym(&g, 1, 2) != 0 || g.oh != 4 || g.ow != 4 || g.pt != 1 || g.pb != 1 ||
        g.pl != 2 || g.pr != 2)
        fail("sym: out %dx%d", g.oh, g.ow);
    k2t_win g2 = {.ih = 2, .iw = 2, .kh = 5, .kw = 5, .sh = 1, .sw = 1, .dh = 1, .dw = 1};
    if (k2t_win_sym(&g2, 1, 1) != -1)
        fail("sym: a window larger than the padded input accepted");
    end();
}

/*---------------------------------------------------------- activations */

static void test_activations(void)
{
    enum { N = 2000 };
    float *x = fbuf(N);
    double *ref = dbuf(N);
    for (int i = 0; i < N; i++)
        x[i] = (float)(-30.0 + 60.0 * i / (N - 1));
    const float special[] = {0.0f, -0.0f, 1e-7f, -1e-7f, 1e-3f, -1e-3f, 0.5f, -0.5f, 3.0f, -3.0f,
                             6.0f, -6.0f, 2.5f, -2.5f, 20.0f, -20.0f};
    memcpy(x, special, sizeof special);
    float *y = fbuf(N);
    for (int simd = 1; simd >= 0; simd--)
    for (int a = 0; a < K2T_ACT_COUNT; a++) {
        if (a == K2T_ACT_SOFTMAX)
            continue;
        begin("kern_act %s%s", act_str((k2t_act)a), simd ? "" : " (portable)");
        kern_set_simd(simd);
        for (int len = N - 3; len <= N; len += 3) { /* a partial last vector, then none */
            memcpy(y, x, N * sizeof(float));
            kern_act(y, len, (k2t_act)a);
            for (int i = 0; i < N; i++)
                ref[i] = i < len ? ref_act(x[i], (k2t_act)a) : x[i];
            cmp(act_str((k2t_act)a), y, ref, NULL, N, TOL);
        }
        kern_set_simd(1);
        guard_check(y, N, "y");
        end();
    }
    /* The far tails, where naive float forms cancel or overflow. */
    for (int simd = 1; simd >= 0; simd--) {
    kern_set_simd(simd);
    begin("kern_act tails (gelu, softplus, swish, sigmoid, elu at +-80)%s", simd ? "" : " (portable)");
    const float tail[] = {-80.0f, -40.0f, -12.5f, -9.0f, 9.0f, 12.0f, 40.0f, 80.0f};
    const k2t_act ta[] = {K2T_ACT_GELU, K2T_ACT_SOFTPLUS, K2T_ACT_SWISH, K2T_ACT_SIGMOID,
                          K2T_ACT_ELU, K2T_ACT_SELU, K2T_ACT_TANH};
    for (size_t j = 0; j < sizeof ta / sizeof ta[0]; j++) {
        float t[8];
        double r[8];
        memcpy(t, tail, sizeof t);
        kern_act(t, 8, ta[j]);
        for (int i = 0; i < 8; i++)
            r[i] = ref_act(tail[i], ta[j]);
        cmp(act_str(ta[j]), t, r, NULL, 8, TOL);
    }
    /* Exact values by hand. */
    float h[4] = {-2.5f, 2.5f, -3.0f, 3.0f};
    kern_act(h, 4, K2T_ACT_HARD_SIGMOID);
    if (h[0] != 0.0f || h[1] != 1.0f || h[2] != 0.0f || h[3] != 1.0f)
        fail("hard_sigmoid (Keras 2) clips at +-2.5: %g %g %g %g", h[0], h[1], h[2], h[3]);
    float h3[3] = {-3.0f, 0.0f, 3.0f};
    kern_act(h3, 3, K2T_ACT_HARD_SIGMOID3);
    if (h3[0] != 0.0f || h3[1] != 0.5f || h3[2] != 1.0f)
        fail("hard_sigmoid (Keras 3) clips at +-3: %g %g %g", h3[0], h3[1], h3[2]);
    float ov[1] = {100.0f};
    kern_act(ov, 1, K2T_ACT_EXPONENTIAL);
    if (!isinf(ov[0]))
        fail("exponential(100) = %g, want inf (float overflow)", ov[0]);
    end();
    kern_set_simd(1);
    }
    free(x);
    free(y);
    free(ref);
}

static void test_softmax(void)
{
    begin("kern_softmax (inner 1, 3, 70) and softmax epilogue");
    int64_t shapes[][3] = {{5, 7, 1}, {3, 11, 3}, {2, 6, 70}, {1, 1, 1}, {4, 200, 1}};
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int64_t outer = shapes[t][0], len = shapes[t][1], inner = shapes[t][2];
        int64_t n = outer * len * inner;
        float *x = frand(n, -20, 20), *y = fbuf(n);
        if (t == 4)
            x[3] = 300.0f; /* exp would overflow without the max */
        double *ref = dbuf(n);
        memcpy(y, x, (size_t)n * sizeof(float));
        kern_softmax(y, outer, len, inner);
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                double mx = -INFINITY, s = 0;
                for (int64_t l = 0; l < len; l++)
                    mx = fmax(mx, x[(o * len + l) * inner + i]);
                for (int64_t l = 0; l < len; l++)
                    s += exp(x[(o * len + l) * inner + i] - mx);
                for (int64_t l = 0; l < len; l++)
                    ref[(o * len + l) * inner + i] = exp(x[(o * len + l) * inner + i] - mx) / s;
            }
        cmp("softmax", y, ref, NULL, n, TOL);
        guard_check(y, n, "softmax");
        free(x);
        free(y);
        free(ref);
    }
    end();
}

static void test_epilogue(void)
{
    const int rows = 13, c = 37;
    float *x = frand(rows * c, -4, 4), *sc = frand(c, -2, 2), *b = frand(c, -1, 1);
    float *y = fbuf(rows * c);
    double *ref = dbuf(rows * c), *mag = dbuf(rows * c);
    for (int a = 0; a < K2T_ACT_COUNT; a++)
        for (int mode = 0; mode < 4; mode++) {
            const float *s = mode & 1 ? sc : NULL, *bb = mode & 2 ? b : NULL;
            begin("kern_epilogue %s%s%s", act_str((k2t_act)a), s ? " scale" : "",
                  bb ? " bias" : "");
            k2t_epi e = {.bias = bb, .scale = s, .act = (k2t_act)a};
            memcpy(y, x, rows * c * sizeof(float));
            kern_epilogue(y, rows, c, &e);
            for (int i = 0; i < rows * c; i++) {
                ref[i] = x[i];
                mag[i] = fabs(x[i]);
            }
            ref_epilogue(ref, mag, rows, c, s, bb, (k2t_act)a);
            cmp("y", y, ref, mag, rows * c, TOL);
            guard_check(y, rows * c, "y");
            end();
        }
    begin("kern_epilogue NULL");
    memcpy(y, x, rows * c * sizeof(float));
    kern_epilogue(y, rows, c, NULL);
    if (memcmp(y, x, rows * c * sizeof(float)) != 0)
        fail("changed y");
    end();
    free(x), free(sc), free(b), free(y), free(ref), free(mag);
}

/*---------------------------------------------------------- convolution */

/* Direct nested loops: every tap tested against the padded input. */
static void ref_conv(const k2t_win *g, int groups, int cout, const float *x, int n,
                     const float *w, double *y, double *mag)
{
    int cg = g->c / groups, coutg = cout / groups;
    for (int s = 0; s < n; s++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++)
                for (int co = 0; co < cout; co++) {
                    int q = co / coutg;
                    double acc = 0, m = 0;
                    for (int ky = 0; ky < g->kh; ky++)
                        for (int kx = 0; kx < g->kw; kx++) {
                            int iy = oy * g->sh + ky * g->dh - g->pt;
                            int ix = ox * g->sw + kx * g->dw - g->pl;
                            if (iy < 0 || iy >= g->ih || ix < 0 || ix >= g->iw)
                                continue; /* zero padding */
                            for (int ci = 0; ci < cg; ci++) {
                                double xv = x[(((int64_t)s * g->ih + iy) * g->iw + ix) * g->c +
                                              q * cg + ci];
                                double wv = w[(((int64_t)ky * g->kw + kx) * cg + ci) * cout + co];
                                acc += xv * wv;
                                m += fabs(xv * wv);
                            }
                        }
                    int64_t o = (((int64_t)s * g->oh + oy) * g->ow + ox) * cout + co;
                    y[o] = acc;
                    mag[o] = m;
                }
}

typedef struct convcase {
    int n, ih, iw, c, cout, kh, kw, sh, sw, dh, dw, groups;
    int pad;       /* k2t_pad, or -1: symmetric PyTorch padding sym_h, sym_w */
    int sym_h, sym_w;
} convcase;

static const k2t_act conv_acts[] = {K2T_ACT_LINEAR, K2T_ACT_RELU, K2T_ACT_RELU6,
                                    K2T_ACT_GELU, K2T_ACT_SOFTMAX, K2T_ACT_TANH};

/* k2t_epi's chain form (the keep path's chains) against the plain one:
** run(ctx, e, y) computes ny floats of rows x c into y.  With post_scale
** (and the residual) y must be act(v*post_scale + post_shift [+ the
** residual]) as the layers' own kernels compute it from the plain linear
** output v: the BatchNormalization's product and sum, then kern_merge's
** a + b, bit for bit; nothing is written outside y. */
typedef void (*epi_run)(const void *ctx, const k2t_epi *e, float *y);

static void check_chain(epi_run run, const void *ctx, int64_t ny, int c, const float *bias,
                       k2t_act act, int simd, int with_res)
{
    int64_t gap = 48, rows = ny / c;
    float *both = fbuf(2 * ny + gap), *plain = fbuf(ny), *want = fbuf(ny);
    float *ps = frand(c, 0.5, 1.5), *pt = frand(c, -0.5, 0.5), *res = both + ny + gap;
    for (int64_t i = 0; i < ny; i++)
        res[i] = (float)(urand() * 4.0 - 2.0);
    k2t_epi lin = {.bias = bias, .act = K2T_ACT_LINEAR};
    k2t_epi chain = {.bias = bias, .act = act, .post_scale = ps, .post_shift = pt,
                     .res = with_res ? ny + gap : 0};
    kern_set_simd(simd);
    run(ctx, &lin, plain);
    run(ctx, &chain, both);
    for (int64_t i = 0; i < ny; i++) {
        want[i] = plain[i] * ps[i % c] + pt[i % c];
        if (with_res)
            want[i] = want[i] + res[i];
    }
    k2t_epi a = {.act = act};
    kern_epilogue(want, rows, c, &a);
    kern_set_simd(1);
    if (memcmp(both, want, (size_t)ny * sizeof(float)))
        fail("chain form: the output differs from the unfused passes");
    guard_check(both, 2 * ny + gap, "chain form");
    free(both), free(plain), free(want), free(ps), free(pt);
}

typedef struct conv_ctx {
    const k2t_win *g;
    int groups, cout, n;
    const float *x, *w, *wp;
    float *ws;
} conv_ctx;

static void conv_run(const void *ctx, const k2t_epi *e, float *y)
{
    const conv_ctx *c = ctx;
    kern_conv2d(c->g, c->groups, c->cout, c->x, c->n, c->w, c->wp, e, y, c->ws);
}

static void run_conv(const convcase *cc, int ci, int simd)
{
    static const char *pads[] = {"valid", "same", "causal"};
    k2t_win g = {.ih = cc->ih, .iw = cc->iw, .c = cc->c, .kh = cc->kh, .kw = cc->kw,
                 .sh = cc->sh, .sw = cc->sw, .dh = cc->dh, .dw = cc->dw};
    int rc = cc->pad < 0 ? k2t_win_sym(&g, cc->sym_h, cc->sym_w) : k2t_win_tf(&g, (k2t_pad)cc->pad);
    char padstr[32];
    if (cc->pad < 0)
        snprintf(padstr, sizeof padstr, "pad %d,%d", cc->sym_h, cc->sym_w);
    else
        snprintf(padstr, sizeof padstr, "%s", pads[cc->pad]);
    k2t_act act = conv_acts[ci % (int)(sizeof conv_acts / sizeof conv_acts[0])];
    int use_scale = ci % 3 == 1, use_bias = ci % 4 != 3;
    begin("kern_conv2d %s n%d %dx%dx%d->%d k%dx%d s%dx%d d%dx%d g%d %s%s%s %s", simd ? "direct" : "gemm",
          cc->n, cc->ih, cc->iw, cc->c, cc->cout, cc->kh, cc->kw, cc->sh, cc->sw, cc->dh, cc->dw,
          cc->groups, padstr, use_scale ? " scale" : "", use_bias ? " bias" : "", act_str(act));
    if (rc != 0) {
        fail("geometry rejected");
        end();
        return;
    }
    int64_t nx = (int64_t)cc->n * g.ih * g.iw * g.c;
    int64_t nw = (int64_t)g.kh * g.kw * (g.c / cc->groups) * cc->cout;
    int64_t ny = (int64_t)cc->n * g.oh * g.ow * cc->cout;
    float *x = frand(nx, -1, 1), *w = frand(nw, -1, 1);
    float *sc = frand(cc->cout, 0.5, 1.5), *b = frand(cc->cout, -0.5, 0.5);
    float *y = fbuf(ny);
    int64_t nws = kern_conv2d_ws(&g, cc->groups);
    float *ws = fbuf(nws);
    double *ref = dbuf(ny), *mag = dbuf(ny);
    k2t_epi e = {.bias = use_bias ? b : NULL, .scale = use_scale ? sc : NULL, .act = act};
    kern_set_simd(simd);
    kern_conv2d(&g, cc->groups, cc->cout, x, cc->n, w, NULL, &e, y, ws);
    kern_set_simd(1);
    ref_conv(&g, cc->groups, cc->cout, x, cc->n, w, ref, mag);
    ref_epilogue(ref, mag, (int64_t)cc->n * g.oh * g.ow, cc->cout, e.scale, e.bias, act);
    cmp("y", y, ref, mag, ny, TOL);
    guard_check(y, ny, "y");
    guard_check(ws, nws, "ws");
    /* The packed kernel: the same sums in the same order, bit for bit;
    ** or, for a 3x3 stride-1 kernel on the AVX-512 route, Winograd's
    ** within the tolerance of the double reference. */
    int64_t np = kern_conv2d_packed_size(&g, cc->groups, cc->cout);
    float *wp = NULL;
    if (np) {
        float *y2 = fbuf(ny);
        wp = fbuf(np);
        kern_conv2d_pack(&g, cc->groups, cc->cout, w, wp);
        kern_set_simd(simd);
        kern_conv2d(&g, cc->groups, cc->cout, x, cc->n, w, wp, &e, y2, ws);
        kern_set_simd(1);
        if (simd && kern_winograd_ok(&g, cc->groups, cc->cout))
            cmp("y (Winograd)", y2, ref, mag, ny, TOL);
        else if (memcmp(y, y2, (size_t)ny * sizeof(float)))
            fail("the packed kernel's output differs from the unpacked one's");
        guard_check(wp, np, "packed kernel");
        free(y2);
    }
    /* The fast path's residual Add: act(v + r) from the same v. */
    {
        float *yr = fbuf(2 * ny), *lin = fbuf(ny), *want = fbuf(ny);
        for (int64_t i = 0; i < ny; i++)
            yr[ny + i] = (float)(urand() * 4.0 - 2.0);
        k2t_epi el = e, er = e, ea = {.act = act};
        el.act = K2T_ACT_LINEAR;
        er.res = ny;
        kern_set_simd(simd);
        kern_conv2d(&g, cc->groups, cc->cout, x, cc->n, w, wp, &el, lin, ws);
        kern_conv2d(&g, cc->groups, cc->cout, x, cc->n, w, wp, &er, yr, ws);
        for (int64_t i = 0; i < ny; i++)
            want[i] = lin[i] + yr[ny + i];
        kern_epilogue(want, ny / cc->cout, cc->cout, &ea);
        kern_set_simd(1);
        if (memcmp(yr, want, (size_t)ny * sizeof(float)))
            fail("the residual in the output pass differs from the Add after it");
        guard_check(yr, 2 * ny, "residual");
        free(yr), free(lin), free(want);
    }
    /* A slice of a wider tensor (k2t_epi.ldy: a Concatenate's output),
    ** with and without the chain form: the direct route with an
    ** activation applied in registers. */
    if (simd && wp && (act == K2T_ACT_LINEAR || act == K2T_ACT_RELU || act == K2T_ACT_RELU6)) {
        int64_t pix = ny / cc->cout, ld = cc->cout + 7;
        float *wide = fbuf(pix * ld), *ps = frand(cc->cout, 0.5, 1.5);
        float *pt = frand(cc->cout, -0.5, 0.5), *want = fbuf(ny);
        for (int chain = 0; chain < 2; chain++) {
            k2t_epi es = e, ew = e;
            ew.ldy = ld;
            if (chain) {
                es.act = K2T_ACT_LINEAR; /* v: acc*scale + bias */
                ew.post_scale = ps;
                ew.post_shift = pt;
            }
            kern_conv2d(&g, cc->groups, cc->cout, x, cc->n, w, wp, &es, want, ws);
            kern_conv2d(&g, cc->groups, cc->cout, x, cc->n, w, wp, &ew, wide, ws);
            int bad = 0;
            for (int64_t p = 0; p < pix && !bad; p++)
                for (int j = 0; j < cc->cout && !bad; j++) {
                    float v = want[p * cc->cout + j];
                    if (chain) {
                        v = v * ps[j] + pt[j];
                        v = act == K2T_ACT_LINEAR ? v : v > 0.0f ? v : 0.0f;
                        v = act == K2T_ACT_RELU6 && v > 6.0f ? 6.0f : v;
                    }
                    bad = memcmp(&wide[p * ld + j], &v, sizeof v) != 0;
                }
            if (bad)
                fail("a strided output (ldy%s) differs from the dense one", chain ? ", chain form" : "");
            guard_check(wide, pix * ld, "ldy");
        }
        free(wide), free(ps), free(pt), free(want);
    }
    conv_ctx cx = {&g, cc->groups, cc->cout, cc->n, x, w, wp, ws};
    check_chain(conv_run, &cx, ny, cc->cout, use_bias ? b : NULL, act, simd, 0);
    check_chain(conv_run, &cx, ny, cc->cout, use_bias ? b : NULL, act, simd, 1);
    end();
    free(x), free(w), free(wp), free(sc), free(b), free(y), free(ws), free(ref), free(mag);
}

/* One image split between threads (kern_slice): every slice run in turn
** into the same output must give the unsplit result bit for bit, whether
** the slices take channel chunks (many of them) or pixels and output rows
** (too few chunks to go round). */
static void test_slices(void)
{
    static const struct { int ih, iw, c, cout, k, s, pad; } cases[] = {
        {30, 30, 16, 24, 1, 1, K2T_PAD_VALID},   /* one chunk: by pixels */
        {33, 33, 3, 32, 3, 2, K2T_PAD_VALID},    /* one chunk: by output rows */
        {13, 13, 64, 96, 3, 1, K2T_PAD_SAME},    /* three chunks: by rows, banded */
        {13, 13, 512, 300, 1, 1, K2T_PAD_VALID}, /* ten chunks, kernel rows in blocks */
        {9, 9, 32, 640, 3, 1, K2T_PAD_SAME},     /* twenty chunks */
        {40, 37, 32, 64, 3, 1, K2T_PAD_SAME},    /* Winograd: tile rows, several bands */
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++)
        for (int n = 2; n <= 3; n++) {
            k2t_win g = {.ih = cases[t].ih, .iw = cases[t].iw, .c = cases[t].c, .kh = cases[t].k,
                         .kw = cases[t].k, .sh = cases[t].s, .sw = cases[t].s, .dh = 1, .dw = 1};
            k2t_win_tf(&g, (k2t_pad)cases[t].pad);
            int cout = cases[t].cout;
            begin("kern_conv2d %dx%dx%d->%d k%d s%d in %d slices = whole", g.ih, g.iw, g.c, cout, g.kh, g.sh, n);
            int64_t nx = (int64_t)g.ih * g.iw * g.c, nw = (int64_t)g.kh * g.kw * g.c * cout;
            int64_t ny = (int64_t)g.oh * g.ow * cout;
            float *x = frand(nx, -1, 1), *w = frand(nw, -1, 1), *b = frand(cout, -0.5, 0.5);
            float *whole = fbuf(ny), *parts = fbuf(ny), *ws = fbuf(kern_conv2d_ws(&g, 1));
            int64_t np = kern_conv2d_packed_size(&g, 1, cout);
            float *wp = np ? fbuf(np) : NULL;
            if (wp)
                kern_conv2d_pack(&g, 1, cout, w, wp);
            k2t_epi e = {.bias = b, .act = K2T_ACT_RELU6};
            kern_conv2d(&g, 1, cout, x, 1, w, wp, &e, whole, ws);
            for (int i = 0; i < n; i++) {
                kern_slice(i, n);
                kern_conv2d(&g, 1, cout, x, 1, w, wp, &e, parts, ws);
            }
            kern_slice(0, 1);
            if (memcmp(whole, parts, (size_t)ny * sizeof(float)))
                fail("the slices' output differs from the whole");
            guard_check(parts, ny, "slices");
            end();
            free(x), free(w), free(b), free(whole), free(parts), free(ws), free(wp);
        }
}

static void test_conv(void)
{
    static const convcase cases[] = {
        /* n  ih  iw   c cout kh kw sh sw dh dw  g  pad */
        {2, 7, 9, 3, 5, 3, 3, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        {2, 8, 8, 4, 6, 3, 3, 2, 2, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        {1, 9, 8, 4, 6, 3, 3, 2, 2, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        {2, 11, 10, 5, 7, 3, 2, 3, 2, 1, 1, 1, K2T_PAD_VALID, 0, 0},
        {1, 11, 10, 5, 7, 3, 3, 3, 3, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        {2, 9, 9, 4, 8, 3, 3, 1, 1, 2, 2, 1, K2T_PAD_SAME, 0, 0},
        {1, 12, 11, 3, 5, 3, 2, 1, 1, 2, 3, 1, K2T_PAD_VALID, 0, 0},
        {2, 9, 11, 6, 8, 3, 3, 1, 1, 1, 1, 2, K2T_PAD_SAME, 0, 0},
        {1, 8, 7, 12, 8, 3, 3, 2, 1, 1, 1, 4, K2T_PAD_SAME, 0, 0},
        {2, 6, 9, 10, 48, 2, 3, 1, 2, 2, 1, 2, K2T_PAD_SAME, 0, 0},
        {2, 1, 17, 3, 4, 1, 5, 1, 1, 1, 2, 1, K2T_PAD_CAUSAL, 0, 0},
        {1, 1, 17, 3, 4, 1, 3, 1, 2, 1, 1, 1, K2T_PAD_CAUSAL, 0, 0},
        {3, 6, 7, 8, 10, 1, 1, 1, 1, 1, 1, 1, K2T_PAD_VALID, 0, 0},
        {2, 6, 7, 8, 12, 1, 1, 1, 1, 1, 1, 2, K2T_PAD_SAME, 0, 0},
        {2, 8, 8, 4, 5, 1, 1, 2, 2, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        {2, 30, 30, 3, 16, 3, 3, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        {1, 12, 13, 16, 70, 3, 3, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        {2, 10, 10, 8, 40, 3, 3, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        {1, 10, 23, 16, 32, 3, 3, 1, 1, 1, 1, 1, K2T_PAD_VALID, 0, 0},
        {1, 5, 26, 16, 20, 3, 3, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        {2, 5, 5, 2, 3, 5, 5, 1, 1, 1, 1, 1, K2T_PAD_VALID, 0, 0},
        {2, 4, 4, 3, 5, 3, 3, 1, 1, 3, 3, 1, K2T_PAD_SAME, 0, 0},
        {2, 2, 2, 3, 4, 5, 5, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        {1, 7, 7, 3, 4, 3, 3, 1, 1, 1, 1, 1, -1, 2, 2},
        {2, 8, 9, 5, 6, 4, 3, 2, 2, 1, 1, 1, -1, 1, 0},
        {2, 13, 13, 64, 64, 3, 3, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        {2, 8, 8, 64, 130, 3, 3, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        {2, 7, 9, 32, 17, 3, 3, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        {1, 6, 6, 200, 24, 5, 5, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        {1, 6, 7, 80, 24, 5, 5, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        {1, 9, 9, 256, 40, 3, 3, 2, 2, 1, 1, 1, K2T_PAD_SAME, 0, 0}, /* K 2304: in blocks of rows */
        {1, 3, 3, 8, 600, 3, 3, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        /* short kernels (a first convolution, a 1x1 from 16 or 32 channels) to many */
        {2, 9, 11, 3, 70, 3, 3, 2, 2, 1, 1, 1, K2T_PAD_VALID, 0, 0},
        {1, 7, 9, 16, 130, 1, 1, 1, 1, 1, 1, 1, K2T_PAD_VALID, 0, 0},
        {2, 6, 7, 16, 128, 1, 1, 1, 1, 1, 1, 2, K2T_PAD_SAME, 0, 0},
        {1, 13, 13, 32, 64, 1, 1, 1, 1, 1, 1, 1, K2T_PAD_VALID, 0, 0},
        {2, 3, 2, 5, 7, 3, 1, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        /* Winograd F(2x2, 3x3) (kern_winograd.c): odd and even maps, valid,
        ** 'same' and symmetric pads, a 38-channel chunk, channels not a
        ** multiple of 16, several bands of tile rows, products cut into
        ** blocks of rows (300 channels) */
        {1, 11, 7, 40, 70, 3, 3, 1, 1, 1, 1, 1, K2T_PAD_VALID, 0, 0},
        {2, 9, 12, 24, 80, 3, 3, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        {1, 8, 9, 32, 64, 3, 3, 1, 1, 1, 1, 1, -1, 2, 1},
        {1, 41, 37, 32, 33, 3, 3, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        {2, 6, 5, 300, 40, 3, 3, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        /* F(4x4, 3x3) on maps of 20x20 or more: partial tiles at both edges */
        {1, 24, 30, 40, 70, 3, 3, 1, 1, 1, 1, 1, K2T_PAD_VALID, 0, 0},
        {2, 21, 22, 16, 64, 3, 3, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0},
        {1, 23, 20, 48, 96, 3, 3, 1, 1, 1, 1, 1, -1, 2, 1},
        {1, 22, 24, 32, 16, 3, 3, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0}, /* one 16-channel vector */
        /* pointwise kernels cut into blocks of rows (partial sums in y) */
        {2, 7, 9, 300, 40, 1, 1, 1, 1, 1, 1, 1, K2T_PAD_VALID, 0, 0},
        {1, 3, 7, 520, 33, 1, 1, 1, 1, 1, 1, 1, K2T_PAD_VALID, 0, 0},
        {2, 1, 21, 300, 40, 1, 3, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0}, /* a 1-D kernel's one run */
    };
    int nc = (int)(sizeof cases / sizeof cases[0]);
    for (int simd = 1; simd >= 0; simd--)
        for (int i = 0; i < nc; i++)
            run_conv(&cases[i], i + simd, simd);
    /* Every activation once through each route. */
    for (int a = 0; a < K2T_ACT_COUNT; a++)
        for (int simd = 1; simd >= 0; simd--) {
            convcase cc = {1, 5, 6, 3, 17, 3, 3, 1, 1, 1, 1, 1, K2T_PAD_SAME, 0, 0};
            k2t_win g = {.ih = cc.ih, .iw = cc.iw, .c = cc.c, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                         .dh = 1, .dw = 1};
            k2t_win_tf(&g, K2T_PAD_SAME);
            begin("kern_conv2d %s epilogue %s", simd ? "direct" : "gemm", act_str((k2t_act)a));
            int64_t ny = (int64_t)g.oh * g.ow * cc.cout;
            float *x = frand(cc.ih * cc.iw * cc.c, -1, 1), *w = frand(9 * cc.c * cc.cout, -1, 1);
            float *b = frand(cc.cout, -0.5, 0.5), *sc = frand(cc.cout, 0.5, 1.5), *y = fbuf(ny);
            float *ws = fbuf(kern_conv2d_ws(&g, 1));
            double *ref = dbuf(ny), *mag = dbuf(ny);
            k2t_epi e = {.bias = b, .scale = sc, .act = (k2t_act)a};
            kern_set_simd(simd);
            kern_conv2d(&g, 1, cc.cout, x, 1, w, NULL, &e, y, ws);
            kern_set_simd(1);
            ref_conv(&g, 1, cc.cout, x, 1, w, ref, mag);
            ref_epilogue(ref, mag, g.oh * g.ow, cc.cout, sc, b, (k2t_act)a);
            cmp("y", y, ref, mag, ny, TOL);
            guard_check(y, ny, "y");
            end();
            free(x), free(w), free(b), free(sc), free(y), free(ws), free(ref), free(mag);
        }
}

/*------------------------------------------------------------ depthwise */

typedef struct dw_ctx {
    const k2t_win *g;
    int m, n;
    const float *x, *w;
} dw_ctx;

static void dw_run(const void *ctx, const k2t_epi *e, float *y)
{
    const dw_ctx *c = ctx;
    kern_depthwise(c->g, c->m, c->x, c->n, c->w, e, y);
}

static void test_depthwise(void)
{
    struct { int n, ih, iw, c, m, kh, kw, sh, sw, dh, dw; k2t_pad pad; } cases[] = {
        {2, 7, 9, 5, 1, 3, 3, 1, 1, 1, 1, K2T_PAD_SAME},
        {2, 7, 9, 5, 2, 3, 3, 1, 1, 1, 1, K2T_PAD_SAME},
        {1, 10, 11, 3, 3, 3, 3, 2, 2, 1, 1, K2T_PAD_SAME},
        {2, 11, 8, 4, 2, 3, 2, 3, 2, 1, 1, K2T_PAD_VALID},
        {1, 9, 9, 6, 1, 3, 3, 1, 1, 2, 2, K2T_PAD_SAME},
        {1, 8, 8, 33, 1, 5, 5, 2, 2, 1, 1, K2T_PAD_SAME},
        {2, 1, 15, 4, 2, 1, 3, 1, 1, 1, 2, K2T_PAD_CAUSAL},
        {1, 2, 2, 3, 2, 5, 5, 1, 1, 1, 1, K2T_PAD_SAME},
        {2, 11, 50, 8, 1, 3, 3, 1, 1, 1, 1, K2T_PAD_SAME},   /* flat runs > 128 floats */
        {1, 9, 13, 24, 1, 3, 3, 1, 1, 2, 2, K2T_PAD_SAME},   /* flat, dilated */
        {1, 9, 21, 8, 1, 3, 5, 1, 1, 1, 1, K2T_PAD_VALID},
        {2, 7, 23, 16, 1, 3, 3, 1, 1, 1, 1, K2T_PAD_SAME},   /* 16-pixel blocks */
        {1, 8, 13, 32, 1, 3, 3, 2, 2, 1, 1, K2T_PAD_SAME},
        {1, 6, 11, 64, 1, 3, 3, 1, 1, 1, 1, K2T_PAD_SAME},
        {1, 5, 7, 130, 1, 3, 3, 1, 1, 1, 1, K2T_PAD_SAME},   /* 8 vectors + a tail */
        {1, 5, 6, 200, 1, 3, 3, 2, 1, 1, 1, K2T_PAD_VALID},
        {1, 4, 5, 7, 1, 7, 7, 1, 1, 1, 1, K2T_PAD_SAME},     /* window wider than the input */
        {1, 6, 7, 5, 3, 3, 3, 1, 1, 1, 1, K2T_PAD_SAME},
        {1, 6, 6, 100, 2, 5, 5, 1, 1, 1, 1, K2T_PAD_SAME},   /* m > 1 without the stack copy */
        {1, 3, 3, 256, 1, 3, 3, 1, 1, 1, 1, K2T_PAD_SAME},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        k2t_win g = {.ih = cases[t].ih, .iw = cases[t].iw, .c = cases[t].c, .kh = cases[t].kh,
                     .kw = cases[t].kw, .sh = cases[t].sh, .sw = cases[t].sw, .dh = cases[t].dh,
                     .dw = cases[t].dw};
        k2t_win_tf(&g, cases[t].pad);
        int n = cases[t].n, m = cases[t].m, c = g.c, cm = c * m;
        static const k2t_act dacts[] = {K2T_ACT_LINEAR, K2T_ACT_RELU6, K2T_ACT_RELU,
                                        K2T_ACT_SOFTMAX, K2T_ACT_SWISH};
        k2t_act act = dacts[t % 5];
        begin("kern_depthwise n%d %dx%dx%d m%d k%dx%d s%dx%d d%dx%d pad %d %s", n, g.ih, g.iw, c,
              m, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, (int)cases[t].pad, act_str(act));
        int64_t nx = (int64_t)n * g.ih * g.iw * c, ny = (int64_t)n * g.oh * g.ow * cm;
        float *x = frand(nx, -1, 1), *w = frand((int64_t)g.kh * g.kw * cm, -1, 1);
        float *b = frand(cm, -0.5, 0.5), *sc = frand(cm, 0.5, 1.5), *y = fbuf(ny);
        double *ref = dbuf(ny), *mag = dbuf(ny);
        k2t_epi e = {.bias = t % 4 == 3 ? NULL : b, .scale = t % 3 ? sc : NULL, .act = act};
        float *y2 = fbuf(ny);
        kern_set_simd(0);
        kern_depthwise(&g, m, x, n, w, &e, y2);
        kern_set_simd(1);
        kern_depthwise(&g, m, x, n, w, &e, y);
        for (int s = 0; s < n; s++)
            for (int oy = 0; oy < g.oh; oy++)
                for (int ox = 0; ox < g.ow; ox++)
                    for (int ci = 0; ci < c; ci++)
                        for (int j = 0; j < m; j++) {
                            double acc = 0, mg = 0;
                            for (int ky = 0; ky < g.kh; ky++)
                                for (int kx = 0; kx < g.kw; kx++) {
                                    int iy = oy * g.sh + ky * g.dh - g.pt;
                                    int ix = ox * g.sw + kx * g.dw - g.pl;
                                    if (iy < 0 || iy >= g.ih || ix < 0 || ix >= g.iw)
                                        continue;
                                    double v = (double)x[(((int64_t)s * g.ih + iy) * g.iw + ix) * c + ci] *
                                               w[(((int64_t)ky * g.kw + kx) * c + ci) * m + j];
                                    acc += v;
                                    mg += fabs(v);
                                }
                            int64_t o = (((int64_t)s * g.oh + oy) * g.ow + ox) * cm + ci * m + j;
                            ref[o] = acc;
                            mag[o] = mg;
                        }
        ref_epilogue(ref, mag, (int64_t)n * g.oh * g.ow, cm, e.scale, e.bias, act);
        cmp("y", y, ref, mag, ny, TOL);
        cmp("y (portable)", y2, ref, mag, ny, TOL);
        guard_check(y, ny, "y");
        guard_check(y2, ny, "y (portable)");
        dw_ctx dx = {&g, m, n, x, w};
        check_chain(dw_run, &dx, ny, cm, e.bias, act, 1, 0);
        check_chain(dw_run, &dx, ny, cm, e.bias, act, 0, 0);
        end();
        free(x), free(w), free(b), free(sc), free(y), free(y2), free(ref), free(mag);
    }
}

/*------------------------------------------------- transposed convolution */

/* Keras's output size and crop (KERAS-FORMAT 4, deconv_output_length). */
static void deconv_geom(int in, int k, int s, int d, int same, int op, int *out, int *crop)
{
    int keff = (k - 1) * d + 1;
    if (op < 0) {
        *out = same ? in * s : (in - 1) * s + (keff > s ? keff : s);
        *crop = same ? (keff - s > 0 ? keff - s : 0) / 2 : 0;
    } else {
        int pad = same ? keff / 2 : 0;
        *out = (in - 1) * s + keff - 2 * pad + op;
        int t = (in - 1) * s + keff - *out;
        *crop = (t > 0 ? t : 0) / 2;
    }
}

static void test_conv_transpose(void)
{
    struct { int n, ih, iw, cin, cout, kh, kw, sh, sw, dh, dw, same, oph, opw; } cases[] = {
        {2, 5, 4, 3, 4, 3, 3, 2, 2, 1, 1, 1, -1, -1},
        {2, 5, 4, 3, 4, 3, 3, 2, 2, 1, 1, 0, -1, -1},
        {1, 4, 5, 3, 5, 3, 3, 3, 3, 1, 1, 1, -1, -1},
        {1, 4, 5, 3, 5, 3, 3, 3, 3, 1, 1, 0, -1, -1},
        {2, 3, 4, 2, 3, 2, 2, 3, 3, 1, 1, 0, -1, -1}, /* stride > kernel: zeros past F */
        {1, 4, 4, 3, 2, 4, 4, 2, 2, 1, 1, 1, -1, -1}, /* even kernel */
        {1, 5, 6, 4, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1},   /* output_padding */
        {1, 5, 6, 4, 3, 3, 3, 2, 2, 1, 1, 0, 1, 0},
        {1, 4, 4, 2, 3, 3, 3, 3, 3, 1, 1, 1, 2, 2},
        {2, 6, 5, 3, 4, 3, 3, 1, 1, 2, 2, 1, -1, -1}, /* dilation */
        {1, 3, 5, 3, 4, 3, 2, 2, 3, 1, 1, 1, -1, -1},
        {1, 1, 9, 3, 4, 1, 3, 1, 2, 1, 1, 1, -1, -1}, /* 1-D shaped */
        {1, 7, 7, 16, 40, 3, 3, 2, 2, 1, 1, 1, -1, -1},
        {2, 5, 6, 3, 4, 5, 3, 1, 1, 1, 1, 1, -1, -1},  /* crop 2 top, 1 left */
        {1, 4, 5, 2, 3, 5, 2, 2, 3, 1, 2, 1, 1, -1},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        int n = cases[t].n, cin = cases[t].cin, cout = cases[t].cout;
        k2t_win g = {.ih = cases[t].ih, .iw = cases[t].iw, .c = cin, .kh = cases[t].kh,
                     .kw = cases[t].kw, .sh = cases[t].sh, .sw = cases[t].sw, .dh = cases[t].dh,
                     .dw = cases[t].dw};
        int oh, ow, ct, cl;
        deconv_geom(g.ih, g.kh, g.sh, g.dh, cases[t].same, cases[t].oph, &oh, &ct);
        deconv_geom(g.iw, g.kw, g.sw, g.dw, cases[t].same, cases[t].opw, &ow, &cl);
        k2t_act act = t % 2 ? K2T_ACT_RELU : K2T_ACT_LINEAR;
        begin("kern_conv2d_transpose n%d %dx%dx%d->%d k%dx%d s%dx%d d%dx%d %s op %d,%d -> %dx%d "
              "crop %d,%d %s",
              n, g.ih, g.iw, cin, cout, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw,
              cases[t].same ? "same" : "valid", cases[t].oph, cases[t].opw, oh, ow, ct, cl,
              act_str(act));
        int64_t fh = (int64_t)(g.ih - 1) * g.sh + (g.kh - 1) * g.dh + 1;
        int64_t fw = (int64_t)(g.iw - 1) * g.sw + (g.kw - 1) * g.dw + 1;
        int64_t nx = (int64_t)n * g.ih * g.iw * cin, ny = (int64_t)n * oh * ow * cout;
        float *x = frand(nx, -1, 1), *w = frand((int64_t)g.kh * g.kw * cout * cin, -1, 1);
        float *b = frand(cout, -0.5, 0.5), *y = fbuf(ny);
        int64_t nws = kern_conv2d_transpose_ws(&g, cout);
        float *ws = fbuf(nws);
        double *F = dbuf(fh * fw * cout), *Fm = dbuf(fh * fw * cout);
        double *ref = dbuf(ny), *mag = dbuf(ny);
        k2t_epi e = {.bias = b, .scale = NULL, .act = act};
        kern_conv2d_transpose(&g, cout, oh, ow, ct, cl, x, n, w, &e, y, ws);
        for (int s = 0; s < n; s++) {
            memset(F, 0, (size_t)(fh * fw * cout) * sizeof(double));
            memset(Fm, 0, (size_t)(fh * fw * cout) * sizeof(double));
            /* Scatter every input pixel through the kernel into F. */
            for (int iy = 0; iy < g.ih; iy++)
                for (int ix = 0; ix < g.iw; ix++)
                    for (int ky = 0; ky < g.kh; ky++)
                        for (int kx = 0; kx < g.kw; kx++)
                            for (int co = 0; co < cout; co++)
                                for (int ci = 0; ci < cin; ci++) {
                                    int64_t f = ((int64_t)(iy * g.sh + ky * g.dh) * fw +
                                                 ix * g.sw + kx * g.dw) * cout + co;
                                    double v = (double)x[(((int64_t)s * g.ih + iy) * g.iw + ix) * cin + ci] *
                                               w[(((int64_t)ky * g.kw + kx) * cout + co) * cin + ci];
                                    F[f] += v;
                                    Fm[f] += fabs(v);
                                }
            /* Crop (or extend with zeros). */
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    for (int co = 0; co < cout; co++) {
                        int64_t fy = oy + ct, fx = ox + cl;
                        int64_t o = (((int64_t)s * oh + oy) * ow + ox) * cout + co;
                        int in = fy >= 0 && fy < fh && fx >= 0 && fx < fw;
                        ref[o] = in ? F[(fy * fw + fx) * cout + co] : 0.0;
                        mag[o] = in ? Fm[(fy * fw + fx) * cout + co] : 0.0;
                    }
        }
        ref_epilogue(ref, mag, (int64_t)n * oh * ow, cout, NULL, b, act);
        cmp("y", y, ref, mag, ny, TOL);
        guard_check(y, ny, "y");
        guard_check(ws, nws, "ws");
        end();
        free(x), free(w), free(b), free(y), free(ws), free(F), free(Fm), free(ref), free(mag);
    }
}

/*-------------------------------------------------------------- pooling */

static void ref_pool(const k2t_win *g, int is_max, int include_pad, const float *x, int n,
                     double *y, double *mag)
{
    for (int s = 0; s < n; s++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++)
                for (int ch = 0; ch < g->c; ch++) {
                    double acc = is_max ? -INFINITY : 0, m = 0;
                    int cnt = 0;
                    for (int ky = 0; ky < g->kh; ky++)
                        for (int kx = 0; kx < g->kw; kx++) {
                            int iy = oy * g->sh + ky * g->dh - g->pt;
                            int ix = ox * g->sw + kx * g->dw - g->pl;
                            if (iy < 0 || iy >= g->ih || ix < 0 || ix >= g->iw)
                                continue; /* padding: never wins, never counts */
                            double v = x[(((int64_t)s * g->ih + iy) * g->iw + ix) * g->c + ch];
                            acc = is_max ? fmax(acc, v) : acc + v;
                            m += fabs(v);
                            cnt++;
                        }
                    int64_t o = (((int64_t)s * g->oh + oy) * g->ow + ox) * g->c + ch;
                    if (!is_max) {
                        int d = include_pad ? g->kh * g->kw : cnt;
                        acc /= d;
                        m /= d;
                    }
                    y[o] = acc;
                    mag[o] = is_max ? 0.0 : m;
                }
}

static void test_pool(void)
{
    struct { int n, ih, iw, c, kh, kw, sh, sw; int pad; int ph, pw; } cases[] = {
        {2, 7, 9, 5, 2, 2, 2, 2, K2T_PAD_VALID, 0, 0},
        {2, 7, 9, 5, 2, 2, 2, 2, K2T_PAD_SAME, 0, 0},
        {1, 8, 11, 3, 3, 3, 2, 2, K2T_PAD_SAME, 0, 0},
        {1, 8, 11, 3, 3, 3, 1, 1, K2T_PAD_SAME, 0, 0},
        {2, 10, 10, 4, 3, 3, 3, 3, K2T_PAD_SAME, 0, 0},
        {1, 10, 7, 4, 3, 2, 3, 1, K2T_PAD_VALID, 0, 0},
        {1, 1, 13, 6, 1, 3, 1, 2, K2T_PAD_SAME, 0, 0},
        {1, 2, 2, 3, 3, 3, 1, 1, K2T_PAD_SAME, 0, 0},
        {1, 9, 9, 3, 3, 3, 2, 2, -1, 1, 1},
        {1, 8, 7, 3, 4, 3, 2, 1, -1, 2, 1},
        {2, 11, 12, 37, 3, 3, 2, 2, K2T_PAD_VALID, 0, 0}, /* vectors and a tail (AVX-512) */
        {1, 9, 10, 64, 3, 3, 2, 2, K2T_PAD_SAME, 0, 0},
        {1, 7, 9, 100, 3, 3, 2, 2, K2T_PAD_SAME, 0, 0}, /* 64 channels, then 36 */
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++)
        for (int kind = 0; kind < 3; kind++) { /* max, avg, avg counting padding */
            if (kind == 2 && cases[t].pad != -1)
                continue;
            k2t_win g = {.ih = cases[t].ih, .iw = cases[t].iw, .c = cases[t].c, .kh = cases[t].kh,
                         .kw = cases[t].kw, .sh = cases[t].sh, .sw = cases[t].sw, .dh = 1, .dw = 1};
            if (cases[t].pad < 0)
                k2t_win_sym(&g, cases[t].ph, cases[t].pw);
            else
                k2t_win_tf(&g, (k2t_pad)cases[t].pad);
            int n = cases[t].n;
            begin("kern_%s n%d %dx%dx%d k%dx%d s%dx%d pads %d,%d,%d,%d%s", kind ? "avgpool" : "maxpool",
                  n, g.ih, g.iw, g.c, g.kh, g.kw, g.sh, g.sw, g.pt, g.pb, g.pl, g.pr,
                  kind == 2 ? " count_include_pad" : "");
            int64_t nx = (int64_t)n * g.ih * g.iw * g.c, ny = (int64_t)n * g.oh * g.ow * g.c;
            /* All negative for max pooling: a padded zero must never win. */
            float *x = kind ? frand(nx, -1, 1) : frand(nx, -2, -0.1), *y = fbuf(ny);
            double *ref = dbuf(ny), *mag = dbuf(ny);
            if (kind == 0)
                kern_maxpool(&g, x, n, y);
            else
                kern_avgpool(&g, kind == 2, x, n, y);
            ref_pool(&g, kind == 0, kind == 2, x, n, ref, mag);
            cmp("y", y, ref, mag, ny, kind == 0 ? 0.0 : TOL);
            guard_check(y, ny, "y");
            if (kind == 0) {
                /* The AVX-512 route and the portable loop, bit for bit,
                ** NaN and signed zeros included. */
                x[0] = NAN, x[nx / 2] = -0.0f, x[nx / 2 + g.c] = 0.0f, x[nx - 1] = NAN;
                float *y2 = fbuf(ny);
                kern_maxpool(&g, x, n, y);
                kern_set_simd(0);
                kern_maxpool(&g, x, n, y2);
                kern_set_simd(1);
                if (memcmp(y, y2, (size_t)ny * sizeof(float)))
                    fail("max pooling: AVX-512 and portable results differ");
                free(y2);
            }
            end();
            free(x), free(y), free(ref), free(mag);
        }

    begin("pooling by hand: 'same' 3x3 on 2x2 divides by 4; max ignores padding");
    {
        k2t_win g = {.ih = 2, .iw = 2, .c = 1, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .dh = 1, .dw = 1};
        k2t_win_tf(&g, K2T_PAD_SAME);
        float x[4] = {1, 2, 3, 6}, y[4];
        kern_avgpool(&g, 0, x, 1, y);
        for (int i = 0; i < 4; i++)
            if (y[i] != 3.0f)
                fail("avg[%d] = %g, want 3 (12/4)", i, y[i]);
        kern_avgpool(&g, 1, x, 1, y);
        for (int i = 0; i < 4; i++)
            if (fabsf(y[i] - 12.0f / 9.0f) > 1e-6f)
                fail("avg count_include_pad[%d] = %g, want 12/9", i, y[i]);
        float xn[4] = {-1, -2, -3, -6};
        kern_maxpool(&g, xn, 1, y);
        for (int i = 0; i < 4; i++)
            if (y[i] != -1.0f)
                fail("max[%d] = %g, want -1", i, y[i]);
        /* 3x3 input, 2x2 window stride 2 'same': out 2x2, pad bottom/right 1. */
        k2t_win h = {.ih = 3, .iw = 3, .c = 1, .kh = 2, .kw = 2, .sh = 2, .sw = 2, .dh = 1, .dw = 1};
        k2t_win_tf(&h, K2T_PAD_SAME);
        float x9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, want[4] = {3, 4.5f, 7.5f, 9};
        kern_avgpool(&h, 0, x9, 1, y);
        for (int i = 0; i < 4; i++)
            if (y[i] != want[i])
                fail("3x3 s2 avg[%d] = %g, want %g", i, y[i], want[i]);
        float wmax[4] = {5, 6, 8, 9};
        kern_maxpool(&h, x9, 1, y);
        for (int i = 0; i < 4; i++)
            if (y[i] != wmax[i])
                fail("3x3 s2 max[%d] = %g, want %g", i, y[i], wmax[i]);
    }
    end();

    for (int is_max = 0; is_max < 2; is_max++) {
        begin("kern_global_pool %s", is_max ? "max" : "avg");
        int n = 3, c = 300;
        int64_t hw = 37;
        float *x = frand(n * hw * c, -3, 1), *y = fbuf(n * c);
        double *ref = dbuf(n * c), *mag = dbuf(n * c);
        kern_global_pool(hw, c, is_max, x, n, y);
        for (int s = 0; s < n; s++)
            for (int j = 0; j < c; j++) {
                double a = is_max ? -INFINITY : 0, m = 0;
                for (int64_t p = 0; p < hw; p++) {
                    double v = x[(s * hw + p) * c + j];
                    a = is_max ? fmax(a, v) : a + v;
                    m += fabs(v);
                }
                ref[s * c + j] = is_max ? a : a / hw;
                mag[s * c + j] = is_max ? 0 : m / hw;
            }
        cmp("y", y, ref, mag, n * c, is_max ? 0 : TOL);
        guard_check(y, n * c, "y");
        end();
        free(x), free(y), free(ref), free(mag);
    }
}

/*--------------------------------------------------------- dense & norm */

static void test_dense(void)
{
    int shapes[][3] = {{1, 7, 5}, {3, 64, 10}, {300, 33, 17}, {5, 1, 1}};
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int rows = shapes[t][0], in = shapes[t][1], units = shapes[t][2];
        k2t_act act = t == 1 ? K2T_ACT_SOFTMAX : t == 2 ? K2T_ACT_RELU : K2T_ACT_LINEAR;
        begin("kern_dense %dx%d -> %d %s", rows, in, units, act_str(act));
        float *x = frand((int64_t)rows * in, -1, 1), *w = frand((int64_t)in * units, -1, 1);
        float *b = frand(units, -1, 1), *y = fbuf((int64_t)rows * units);
        double *ref = dbuf((int64_t)rows * units), *mag = dbuf((int64_t)rows * units);
        k2t_epi e = {.bias = b, .scale = NULL, .act = act};
        kern_dense(x, rows, in, w, units, &e, y);
        for (int r = 0; r < rows; r++)
            for (int u = 0; u < units; u++) {
                double a = 0, m = 0;
                for (int i = 0; i < in; i++) {
                    a += (double)x[r * in + i] * w[i * units + u];
                    m += fabs((double)x[r * in + i] * w[i * units + u]);
                }
                ref[r * units + u] = a;
                mag[r * units + u] = m;
            }
        ref_epilogue(ref, mag, rows, units, NULL, b, act);
        cmp("y", y, ref, mag, (int64_t)rows * units, TOL);
        guard_check(y, (int64_t)rows * units, "y");
        end();
        free(x), free(w), free(b), free(y), free(ref), free(mag);
    }
}

static void test_norm(void)
{
    begin("kern_scale_shift / kern_scale_shift_nchw");
    {
        int rows = 23, c = 19;
        float *x = frand(rows * c, -3, 3), *s = frand(c, -2, 2), *t = frand(c, -1, 1);
        float *y = fbuf(rows * c);
        double *ref = dbuf(rows * c), *mag = dbuf(rows * c);
        kern_scale_shift(x, rows, c, s, t, y);
        for (int i = 0; i < rows * c; i++) {
            ref[i] = (double)x[i] * s[i % c] + t[i % c];
            mag[i] = fabs((double)x[i] * s[i % c]) + fabs(t[i % c]);
        }
        cmp("nhwc", y, ref, mag, rows * c, TOL);
        guard_check(y, rows * c, "nhwc");
        int n = 3, hw = 11;
        float *x2 = frand(n * c * hw, -3, 3), *y2 = fbuf(n * c * hw);
        double *r2 = dbuf(n * c * hw), *m2 = dbuf(n * c * hw);
        kern_scale_shift_nchw(x2, n, c, hw, s, t, y2);
        for (int i = 0; i < n * c * hw; i++) {
            int ch = (i / hw) % c;
            r2[i] = (double)x2[i] * s[ch] + t[ch];
            m2[i] = fabs((double)x2[i] * s[ch]) + fabs(t[ch]);
        }
        cmp("nchw", y2, r2, m2, n * c * hw, TOL);
        guard_check(y2, n * c * hw, "nchw");
        free(x), free(s), free(t), free(y), free(ref), free(mag);
        free(x2), free(y2), free(r2), free(m2);
    }
    end();
    for (int mode = 0; mode < 4; mode++) {
        begin("kern_layernorm%s%s", mode & 1 ? " gamma" : "", mode & 2 ? " beta" : "");
        int rows = 7, len = 45;
        float *x = frand(rows * len, -2, 5), *ga = frand(len, 0.5, 2), *be = frand(len, -1, 1);
        float *y = fbuf(rows * len);
        double *ref = dbuf(rows * len), *mag = dbuf(rows * len);
        const float *gp = mode & 1 ? ga : NULL, *bp = mode & 2 ? be : NULL;
        kern_layernorm(x, rows, len, gp, bp, 1e-3f, y);
        for (int r = 0; r < rows; r++) {
            double mean = 0, var = 0;
            for (int i = 0; i < len; i++)
                mean += x[r * len + i];
            mean /= len;
            for (int i = 0; i < len; i++)
                var += (x[r * len + i] - mean) * (x[r * len + i] - mean);
            var /= len;
            for (int i = 0; i < len; i++) {
                double v = (x[r * len + i] - mean) / sqrt(var + 1e-3);
                double gv = gp ? gp[i] : 1, bv = bp ? bp[i] : 0;
                ref[r * len + i] = v * gv + bv;
                mag[r * len + i] = (fabs(v) + 1) * fabs(gv) + fabs(bv);
            }
        }
        cmp("y", y, ref, mag, rows * len, TOL);
        guard_check(y, rows * len, "y");
        end();
        free(x), free(ga), free(be), free(y), free(ref), free(mag);
    }
}

/*---------------------------------------------------------- elementwise */

static void test_elementwise(void)
{
    enum { N = 1001 };
    float *x = frand(N, -10, 10), *y = fbuf(N);
    double *ref = dbuf(N);
    x[0] = 0.0f, x[1] = 1.5f, x[2] = -1.5f, x[3] = 6.0f, x[4] = 0.5f;
    /* ReLU(threshold t, max_value m, negative_slope a), Keras's static_call. */
    struct { float t, m, a; } rc[] = {{0, NAN, 0},   {0, 6, 0},     {0, NAN, 0.1f}, {1.5f, NAN, 0},
                                      {-2, NAN, 0},  {1, 4, 0.3f},  {0, 6, 0.2f},   {-1, 3, 0.5f},
                                      {0.5f, 0.5f, 0}};
    for (size_t t = 0; t < sizeof rc / sizeof rc[0]; t++) {
        begin("kern_relu threshold %g max %g slope %g", rc[t].t, rc[t].m, rc[t].a);
        kern_relu(x, N, rc[t].t, rc[t].m, rc[t].a, y);
        for (int i = 0; i < N; i++) {
            double v = x[i];
            double r = rc[t].t != 0 ? (v > rc[t].t ? v : 0) : (v > 0 ? v : 0);
            if (!isnan(rc[t].m))
                r = clipd(r, 0, rc[t].m);
            if (rc[t].a != 0)
                r -= (double)rc[t].a * fmax((double)rc[t].t - v, 0);
            ref[i] = r;
        }
        cmp("y", y, ref, NULL, N, TOL);
        guard_check(y, N, "y");
        end();
    }
    begin("kern_relu by hand: threshold is strict");
    {
        float a[3] = {1.5f, 1.6f, 1.0f}, b[3];
        kern_relu(a, 3, 1.5f, NAN, 0, b);
        if (b[0] != 0 || b[1] != 1.6f || b[2] != 0)
            fail("threshold 1.5: %g %g %g", b[0], b[1], b[2]);
        float c2[2] = {-2.0f, 8.0f};
        kern_relu(c2, 2, 0, 6, 0.5f, b);
        if (b[0] != -1.0f || b[1] != 6.0f)
            fail("max 6 slope 0.5: %g %g, want -1 6", b[0], b[1]);
    }
    end();
    begin("kern_leaky_relu / kern_elu / kern_affine");
    kern_leaky_relu(x, N, 0.3f, y);
    for (int i = 0; i < N; i++)
        ref[i] = x[i] > 0 ? x[i] : 0.3 * x[i];
    cmp("leaky", y, ref, NULL, N, TOL);
    kern_elu(x, N, 1.7f, y);
    for (int i = 0; i < N; i++)
        ref[i] = x[i] > 0 ? x[i] : 1.7 * (exp(x[i]) - 1);
    cmp("elu", y, ref, NULL, N, TOL);
    kern_affine(x, N, 1.0f / 255.0f, -0.5f, y);
    for (int i = 0; i < N; i++)
        ref[i] = x[i] / 255.0 - 0.5;
    {
        double *m = dbuf(N);
        for (int i = 0; i < N; i++)
            m[i] = fabs(x[i] / 255.0) + 0.5;
        cmp("affine", y, ref, m, N, TOL);
        free(m);
    }
    guard_check(y, N, "y");
    end();
    begin("kern_prelu");
    {
        int n = 3, per = 17;
        float *px = frand(n * per, -2, 2), *al = frand(per, -0.5, 0.9), *py = fbuf(n * per);
        double *pr = dbuf(n * per);
        kern_prelu(px, n, per, al, py);
        for (int i = 0; i < n * per; i++)
            pr[i] = px[i] > 0 ? px[i] : (double)al[i % per] * px[i];
        cmp("y", py, pr, NULL, n * per, TOL);
        guard_check(py, n * per, "y");
        free(px), free(al), free(py), free(pr);
    }
    end();
    begin("elementwise kernels in place (y == x)");
    {
        int rows = 9, c = 11;
        float *a = frand(rows * c, -3, 3), *sc = frand(c, -2, 2), *sh = frand(c, -1, 1);
        float *want = fbuf(rows * c), *ip = fbuf(rows * c);
#define INPLACE(name, call_out, call_in)                                                   \
    do {                                                                                   \
        float *out = want, *in = a;                                                        \
        call_out;                                                                          \
        memcpy(ip, a, (size_t)rows * c * sizeof(float));                                   \
        out = ip, in = ip;                                                                 \
        call_in;                                                                           \
        if (memcmp(ip, want, (size_t)rows * c * sizeof(float)) != 0)                       \
            fail("%s in place differs", name);                                             \
    } while (0)
        INPLACE("scale_shift", kern_scale_shift(in, rows, c, sc, sh, out),
                kern_scale_shift(in, rows, c, sc, sh, out));
        INPLACE("scale_shift_nchw", kern_scale_shift_nchw(in, 1, c, rows, sc, sh, out),
                kern_scale_shift_nchw(in, 1, c, rows, sc, sh, out));
        INPLACE("layernorm", kern_layernorm(in, rows, c, sc, sh, 1e-3f, out),
                kern_layernorm(in, rows, c, sc, sh, 1e-3f, out));
        INPLACE("relu", kern_relu(in, rows * c, 0.5f, 2.0f, 0.1f, out),
                kern_relu(in, rows * c, 0.5f, 2.0f, 0.1f, out));
        INPLACE("leaky_relu", kern_leaky_relu(in, rows * c, 0.3f, out),
                kern_leaky_relu(in, rows * c, 0.3f, out));
        INPLACE("elu", kern_elu(in, rows * c, 1.5f, out), kern_elu(in, rows * c, 1.5f, out));
        INPLACE("prelu", kern_prelu(in, rows, c, sc, out), kern_prelu(in, rows, c, sc, out));
        INPLACE("affine", kern_affine(in, rows * c, 0.5f, 1.0f, out),
                kern_affine(in, rows * c, 0.5f, 1.0f, out));
#undef INPLACE
        free(a), free(sc), free(sh), free(want), free(ip);
    }
    end();
    static const char *mn[] = {"add", "sub", "mul", "avg", "max", "min"};
    for (int kk = 1; kk <= 4; kk++)
    for (int op = K2T_MERGE_ADD; op <= K2T_MERGE_MIN; op++) {
        int k = op == K2T_MERGE_SUB ? 2 : kk;
        if (op == K2T_MERGE_SUB && kk != 2)
            continue;
        begin("kern_merge %s of %d", mn[op], k);
        const float *in[4] = {x, frand(N, -5, 5), frand(N, -5, 5), frand(N, -5, 5)};
        double *mag = dbuf(N);
        kern_merge((k2t_merge)op, in, k, N, y);
        for (int i = 0; i < N; i++) {
            double r = in[0][i], m = fabs(r);
            for (int j = 1; j < k; j++) {
                double v = in[j][i];
                switch (op) {
                case K2T_MERGE_ADD: case K2T_MERGE_AVG: r += v; break;
                case K2T_MERGE_SUB: r -= v; break;
                case K2T_MERGE_MUL: r *= v; break;
                case K2T_MERGE_MAX: r = fmax(r, v); break;
                case K2T_MERGE_MIN: r = fmin(r, v); break;
                }
                m += fabs(v);
            }
            ref[i] = op == K2T_MERGE_AVG ? r / k : r;
            mag[i] = op == K2T_MERGE_MUL ? fabs(ref[i]) : op == K2T_MERGE_AVG ? m / k : m;
        }
        cmp("y", y, ref, mag, N, op >= K2T_MERGE_MAX ? 0 : TOL);
        guard_check(y, N, "y");
        /* In place into each of the inputs. */
        float *ip = fbuf(N);
        for (int j = 0; j < k; j++) {
            const float *in2[4] = {in[0], in[1], in[2], in[3]};
            memcpy(ip, in[j], N * sizeof(float));
            in2[j] = ip;
            kern_merge((k2t_merge)op, in2, k, N, ip);
            if (memcmp(ip, y, N * sizeof(float)) != 0)
                fail("in place into input %d differs", j);
        }
        free((void *)in[1]), free((void *)in[2]), free((void *)in[3]), free(mag), free(ip);
        end();
    }
    free(x), free(y), free(ref);
}

/*--------------------------------------------------------------- layout */

static void test_layout(void)
{
    begin("kern_concat");
    {
        int64_t len[3] = {2, 5, 1}, outer = 3, inner = 4, tot = 8;
        float *a[3];
        for (int j = 0; j < 3; j++)
            a[j] = frand(outer * len[j] * inner, -1, 1);
        float *y = fbuf(outer * tot * inner);
        kern_concat((const float *const *)a, len, 3, outer, inner, y);
        for (int64_t o = 0; o < outer; o++)
            for (int64_t l = 0, base = 0; l < 3; base += len[l], l++)
                for (int64_t i = 0; i < len[l] * inner; i++)
                    if (y[(o * tot + base) * inner + i] != a[l][o * len[l] * inner + i])
                        fail("y[%lld][%lld]", (long long)o, (long long)(base * inner + i));
        guard_check(y, outer * tot * inner, "y");
        for (int j = 0; j < 3; j++)
            free(a[j]);
        free(y);
    }
    end();

    struct { int nd; int64_t in[4]; int perm[4]; } pc[] = {
        {2, {3, 5}, {1, 0}},          {3, {2, 3, 4}, {2, 0, 1}},  {3, {2, 3, 4}, {0, 2, 1}},
        {3, {4, 3, 2}, {0, 1, 2}},    {4, {2, 3, 4, 5}, {3, 1, 0, 2}}, {1, {7}, {0}},
        {4, {2, 1, 3, 2}, {0, 3, 1, 2}},
    };
    for (size_t t = 0; t < sizeof pc / sizeof pc[0]; t++) {
        int nd = pc[t].nd, n = 2;
        begin("kern_permute nd %d perm %d%d%d%d", nd, pc[t].perm[0], nd > 1 ? pc[t].perm[1] : 0,
              nd > 2 ? pc[t].perm[2] : 0, nd > 3 ? pc[t].perm[3] : 0);
        int64_t per = 1, os[4], is[4];
        for (int i = nd - 1; i >= 0; i--) {
            is[i] = per;
            per *= pc[t].in[i];
        }
        float *x = frand(n * per, -1, 1), *y = fbuf(n * per);
        kern_permute(x, n, nd, pc[t].in, pc[t].perm, y);
        int64_t oshape[4];
        for (int i = 0; i < nd; i++)
            oshape[i] = pc[t].in[pc[t].perm[i]];
        int64_t acc = 1;
        for (int i = nd - 1; i >= 0; i--) {
            os[i] = acc;
            acc *= oshape[i];
        }
        for (int s = 0; s < n; s++)
            for (int64_t o = 0; o < per; o++) {
                /* Output index -> coordinates -> input offset. */
                int64_t rem = o, src = 0;
                for (int i = 0; i < nd; i++) {
                    int64_t ci = rem / os[i];
                    rem %= os[i];
                    src += ci * is[pc[t].perm[i]];
                }
                if (y[s * per + o] != x[s * per + src])
                    fail("sample %d y[%lld]", s, (long long)o);
            }
        guard_check(y, n * per, "y");
        end();
        free(x), free(y);
    }

    int pads[][4] = {{1, 2, 3, 0}, {0, 0, 0, 0}, {-1, 0, -2, -1}, {2, -1, -1, 3}, {0, 0, 5, 5}};
    for (size_t t = 0; t < sizeof pads / sizeof pads[0]; t++) {
        int n = 2, h = 5, w = 6, c = 3, pt = pads[t][0], pb = pads[t][1], pl = pads[t][2],
            pr = pads[t][3];
        int oh = h + pt + pb, ow = w + pl + pr;
        begin("kern_pad2d %d %d %d %d", pt, pb, pl, pr);
        float *x = frand(n * h * w * c, -1, 1), *y = fbuf((int64_t)n * oh * ow * c);
        kern_pad2d(x, n, h, w, c, pt, pb, pl, pr, y);
        for (int s = 0; s < n; s++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    for (int j = 0; j < c; j++) {
                        int iy = oy - pt, ix = ox - pl;
                        float want = iy >= 0 && iy < h && ix >= 0 && ix < w
                                         ? x[((s * h + iy) * w + ix) * c + j]
                                         : 0.0f;
                        if (y[((s * oh + oy) * ow + ox) * c + j] != want)
                            fail("y[%d][%d][%d][%d]", s, oy, ox, j);
                    }
        guard_check(y, (int64_t)n * oh * ow * c, "y");
        end();
        free(x), free(y);
    }

    for (int bil = 0; bil < 2; bil++) {
        int sizes[][2] = {{2, 2}, {3, 2}, {1, 3}};
        for (size_t t = 0; t < 3; t++) {
            int n = 2, h = 4, w = 5, c = 3, sh = sizes[t][0], sw = sizes[t][1];
            int oh = h * sh, ow = w * sw;
            begin("kern_upsample2d %s %dx%d", bil ? "bilinear" : "nearest", sh, sw);
            float *x = frand(n * h * w * c, -1, 1), *y = fbuf((int64_t)n * oh * ow * c);
            double *ref = dbuf((int64_t)n * oh * ow * c), *mag = dbuf((int64_t)n * oh * ow * c);
            kern_upsample2d(x, n, h, w, c, sh, sw, bil, y);
            for (int s = 0; s < n; s++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                        for (int j = 0; j < c; j++) {
                            int64_t o = (((int64_t)s * oh + oy) * ow + ox) * c + j;
                            if (!bil) {
                                ref[o] = x[((s * h + oy / sh) * w + ox / sw) * c + j];
                                continue;
                            }
                            /* Half-pixel centres, clamped at the edges. */
                            double sy = (oy + 0.5) / sh - 0.5, sx = (ox + 0.5) / sw - 0.5;
                            sy = sy < 0 ? 0 : sy;
                            sx = sx < 0 ? 0 : sx;
                            int y0 = (int)floor(sy), x0 = (int)floor(sx);
                            int y1 = y0 + 1 < h ? y0 + 1 : h - 1, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
                            double fy = sy - y0, fx = sx - x0;
#define X(yy, xx) ((double)x[((s * h + (yy)) * w + (xx)) * c + j])
                            ref[o] = (1 - fy) * ((1 - fx) * X(y0, x0) + fx * X(y0, x1)) +
                                     fy * ((1 - fx) * X(y1, x0) + fx * X(y1, x1));
                            mag[o] = fabs(X(y0, x0)) + fabs(X(y0, x1)) + fabs(X(y1, x0)) +
                                     fabs(X(y1, x1));
#undef X
                        }
            cmp("y", y, ref, bil ? mag : NULL, (int64_t)n * oh * ow * c, bil ? TOL : 0);
            guard_check(y, (int64_t)n * oh * ow * c, "y");
            end();
            free(x), free(y), free(ref), free(mag);
        }
    }
    begin("kern_upsample2d bilinear by hand: [0 1] x2 -> [0 .25 .75 1]");
    {
        float x[2] = {0, 1}, y[4];
        kern_upsample2d(x, 1, 1, 2, 1, 1, 2, 1, y);
        float want[4] = {0, 0.25f, 0.75f, 1};
        for (int i = 0; i < 4; i++)
            if (y[i] != want[i])
                fail("y[%d] = %g, want %g", i, y[i], want[i]);
    }
    end();
}

/* uint8 pixels to floats: every byte value, a length with a tail, on the
** AVX-512 route and the portable loop. */
static void test_u8(void)
{
    begin("kern_u8_to_float: 0..255 exactly, 16-wide and a tail of 7");
    enum { N = 16 * 20 + 7 };
    unsigned char q[N];
    for (int i = 0; i < N; i++)
        q[i] = (unsigned char)(i * 37 + 11);
    for (int simd = 0; simd < 2; simd++) {
        float *y = fbuf(N);
        kern_set_simd(simd);
        kern_u8_to_float(q, N, y);
        kern_set_simd(1);
        for (int i = 0; i < N; i++)
            if (y[i] != (float)q[i]) {
                fail("%s: y[%d] = %g, want %d", simd ? "avx-512" : "portable", i, y[i], q[i]);
                break;
            }
        guard_check(y, N, "y");
        free(y);
    }
    end();
}

int main(void)
{
    test_geometry();
    test_activations();
    test_softmax();
    test_epilogue();
    test_conv();
    test_slices();
    test_depthwise();
    test_conv_transpose();
    test_pool();
    test_dense();
    test_norm();
    test_elementwise();
    test_layout();
    test_u8();
    printf("%s: %d failures\n", n_failed ? "FAIL" : "PASS", n_failed);
    return n_failed ? 1 : 0;
}
