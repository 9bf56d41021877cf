/*
** merge.c -- layers that combine several inputs: the elementwise Add,
** Subtract, Multiply, Average, Maximum, Minimum, and Concatenate.
**
** Keras would broadcast elementwise inputs of different shapes; k2t is
** strict and wants equal shapes, where an unknown dim (-1) matches
** anything, because a shape that differs in a real model is almost
** always a wiring mistake worth naming.  Concatenate wants equal ranks
** and equal dims except along its axis, which it sums.  Errors name the
** two inputs that disagree by their index in the call.
**
** Recent tf-keras and Keras 3 accept a single input (older Keras wanted
** two), so min_in is 1; Subtract takes exactly two.
*/
#include <stdio.h>
#include "../internal.h"

/* First j < i whose known dim k disagrees with input i's, or -1. */
static int conflict(const k2t_shape *in, int i, int k)
{
    for (int j = 0; j < i; j++)
        if (in[j].d[k] >= 0 && in[i].d[k] >= 0 && in[j].d[k] != in[i].d[k]) return j;
    return -1;
}

static k2t_status mismatch(const k2t_shape *in, int i, int j, const char *why, k2t_err *err)
{
    char a[160], b[160];
    return k2t_fail(err, K2T_ESHAPE, "input %d has shape %s, but input %d has %s%s", i,
                    k2t_shape_str(&in[i], 1, a, sizeof a), j,
                    k2t_shape_str(&in[j], 1, b, sizeof b), why);
}

static k2t_status merge_infer(const k2t_layer *L, const k2t_shape *in, int n_in, k2t_shape *out,
                              k2t_err *err)
{
    (void)L;
    if (n_in < 1) return k2t_fail(err, K2T_ESHAPE, "expects at least 1 input, got %d", n_in);
    *out = in[0];
    for (int i = 1; i < n_in; i++) {
        if (in[i].ndim != in[0].ndim) return mismatch(in, i, 0, "", err);
        for (int k = 0; k < in[0].ndim; k++) {
            int j = conflict(in, i, k);
            if (j >= 0) return mismatch(in, i, j, "", err);
            if (out->d[k] < 0) out->d[k] = in[i].d[k];
        }
    }
    return K2T_OK;
}

static k2t_status subtract_infer(const k2t_layer *L, const k2t_shape *in, int n_in,
                                 k2t_shape *out, k2t_err *err)
{
    if (n_in != 2) return k2t_fail(err, K2T_ESHAPE, "expects exactly 2 inputs, got %d", n_in);
    return merge_infer(L, in, n_in, out, err);
}

/* The elementwise layers have nothing to read; parse and describe
** exist so that callers never meet a NULL. */
static k2t_status merge_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    (void)L, (void)c, (void)m, (void)err;
    return K2T_OK;
}

static void merge_describe(const k2t_layer *L, k2t_buf *b)
{
    (void)L, (void)b;
}

static k2t_status concat_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    (void)m;
    return cfg_int(c, "axis", -1, &L->cfg.axis, err);
}

static k2t_status concat_infer(const k2t_layer *L, const k2t_shape *in, int n_in,
                               k2t_shape *out, k2t_err *err)
{
    char buf[160], why[64];
    k2t_status st;
    if (n_in < 1) return k2t_fail(err, K2T_ESHAPE, "expects at least 1 input, got %d", n_in);
    int ax = k2t_norm_axis(L->cfg.axis, in[0].ndim);
    if (ax < 0)
        return k2t_fail(err, K2T_ESHAPE, "axis %d is out of range for input %s (axis 0 is the "
                        "batch)", L->cfg.axis, k2t_shape_str(&in[0], 1, buf, sizeof buf));
    snprintf(why, sizeof why, " (only axis %d may differ)", ax + 1);
    *out = in[0];
    for (int i = 0; i < n_in; i++) {
        if ((st = k2t_shape_check(&in[i], "input", err))) return st;
        if (in[i].ndim != in[0].ndim) return mismatch(in, i, 0, why, err);
        for (int k = 0; k < in[0].ndim; k++) {
            if (k == ax) continue;
            int j = conflict(in, i, k);
            if (j >= 0) return mismatch(in, i, j, why, err);
            if (out->d[k] < 0) out->d[k] = in[i].d[k];
        }
        /* Each term is at most K2T_MAX_NUMEL, so the sum cannot wrap
        ** before k2t_shape_check sees it. */
        if (i > 0) out->d[ax] = out->d[ax] < 0 || in[i].d[ax] < 0 ? -1 : out->d[ax] + in[i].d[ax];
        if (out->d[ax] > K2T_MAX_NUMEL) break;
    }
    return k2t_shape_check(out, "output", err);
}

static void concat_describe(const k2t_layer *L, k2t_buf *b)
{
    k2t_buf_printf(b, "axis=%d", L->cfg.axis);
}

/*----------------------------------------------------------- execution */

#include "../op.h"

/* Elementwise merges are layout-blind: equal shapes, equal layouts. */
#define MERGE_FORWARD(fn, kind)                                                             \
    static void fn(const k2t_step *s, const k2t_fwd *f)                                     \
    {                                                                                       \
        kern_merge(kind, f->x, s->n_in, (int64_t)f->n * s->numel, f->y);                    \
    }

MERGE_FORWARD(add_forward, K2T_MERGE_ADD)
MERGE_FORWARD(subtract_forward, K2T_MERGE_SUB)
MERGE_FORWARD(multiply_forward, K2T_MERGE_MUL)
MERGE_FORWARD(average_forward, K2T_MERGE_AVG)
MERGE_FORWARD(maximum_forward, K2T_MERGE_MAX)
MERGE_FORWARD(minimum_forward, K2T_MERGE_MIN)

/* Concatenate remembers its per-sample axis in s->len; each input's
** length along it comes from that input's step. */
static k2t_status concat_plan(k2t_step *s, const k2t_plan_ctx *c, k2t_err *err)
{
    int ax = k2t_sample_axis(s->L->cfg.axis, s->shape.ndim);
    (void)c;
    if (ax < 0 || ax >= s->shape.ndim) return k2t_fail(err, K2T_ESHAPE, "axis out of range");
    k2t_axis_split(&s->shape, ax, &s->outer, &s->len, &s->inner);
    s->len = ax;
    return K2T_OK;
}

static void concat_forward(const k2t_step *s, const k2t_fwd *f)
{
    int64_t lens[64], outer, len, inner;
    int ax = (int)s->len;
    k2t_axis_split(&s->shape, ax, &outer, &len, &inner);
    for (int j = 0; j < s->n_in && j < 64; j++) lens[j] = k2t_step_in(s, j)->shape.d[ax];
    kern_concat(f->x, lens, s->n_in, (int64_t)f->n * outer, inner, f->y);
}

static const char *const add_classes[] = {"Add", NULL};
static const char *const subtract_classes[] = {"Subtract", NULL};
static const char *const multiply_classes[] = {"Multiply", NULL};
static const char *const average_classes[] = {"Average", NULL};
static const char *const maximum_classes[] = {"Maximum", NULL};
static const char *const minimum_classes[] = {"Minimum", NULL};
static const char *const concat_classes[] = {"Concatenate", NULL};

#define ELEMENTWISE(var, kind, cls, lo, hi, fn, fwd)                                        \
    const k2t_op_def var = {.op = kind, .classes = cls, .min_in = lo, .max_in = hi,        \
                            .parse = merge_parse, .infer = fn, .describe = merge_describe, \
                            .flags = K2T_OPF_NCHW, .forward = fwd}

ELEMENTWISE(k2t_op_add, K2T_OP_ADD, add_classes, 1, -1, merge_infer, add_forward);
ELEMENTWISE(k2t_op_subtract, K2T_OP_SUBTRACT, subtract_classes, 2, 2, subtract_infer,
            subtract_forward);
ELEMENTWISE(k2t_op_multiply, K2T_OP_MULTIPLY, multiply_classes, 1, -1, merge_infer,
            multiply_forward);
ELEMENTWISE(k2t_op_average, K2T_OP_AVERAGE, average_classes, 1, -1, merge_infer,
            average_forward);
ELEMENTWISE(k2t_op_maximum, K2T_OP_MAXIMUM, maximum_classes, 1, -1, merge_infer,
            maximum_forward);
ELEMENTWISE(k2t_op_minimum, K2T_OP_MINIMUM, minimum_classes, 1, -1, merge_infer,
            minimum_forward);

const k2t_op_def k2t_op_concatenate = {
    .op = K2T_OP_CONCATENATE, .classes = concat_classes, .min_in = 1, .max_in = -1,
    .parse = concat_parse, .infer = concat_infer, .describe = concat_describe,
    .plan = concat_plan, .forward = concat_forward,
};
