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
#include "../py.h"

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

/*----------------------------------------------------------- port hazards */

static void concat_hazards(k2t_hz *h)
{
    const k2t_model *m = h->m;
    const k2t_node *N = h->N;
    int nd = N->shape.ndim, a;
    if (nd < 2 || (a = k2t_axis0(h->L->cfg.axis, nd)) < 0) return;
    if (k2t_model_chw(m)) return; /* channels_first: the port's dims are Keras's axes */
    int dim = a == nd - 1 ? 1 : a + 2;
    char names[200] = "";
    for (int j = 0; j < N->n_in && j < 6; j++) k2t_cat(names, sizeof names, "%s%s", j ? ", " : "", m->nodes[N->in[j]].name);
    k2t_hz_say(h, K2T_PIT_LAYOUT, 1, "concatenates along axis %d of NHWC (%s); in NCHW that axis is dim=%d",
               h->L->cfg.axis, a == nd - 1 ? "the channels" : "a spatial axis", dim);
    k2t_hz_code(h, "x = torch.cat([%s], dim=%d)", names, dim);
}

/*--- PyTorch export ---*/

/* v = a OP b OP ..., or their mean. */
static void py_chain(k2t_py *y, int i, const char *op, int mean)
{
    int n = k2t_py_model(y)->nodes[i].n_in;
    k2t_py_printf(y, "        %s = %s", k2t_py_var(y, i), mean ? "(" : "");
    for (int k = 0; k < n; k++) k2t_py_printf(y, "%s%s", k ? op : "", k2t_py_in(y, i, k));
    if (mean) k2t_py_printf(y, ") / %d", n);
    k2t_py_printf(y, "\n");
}

/* v = first input, then v = fn(v, next) for each other input. */
static void py_fold(k2t_py *y, int i, const char *fn)
{
    int n = k2t_py_model(y)->nodes[i].n_in;
    const char *v = k2t_py_var(y, i);
    k2t_py_printf(y, "        %s = %s\n", v, k2t_py_in(y, i, 0));
    for (int k = 1; k < n; k++) k2t_py_printf(y, "        %s = %s(%s, %s)\n", v, fn, v, k2t_py_in(y, i, k));
}

#define PY_MERGE(name, call)                                                               \
    static k2t_status name(k2t_py *y, int i, k2t_err *err)                                \
    {                                                                                      \
        (void)err;                                                                         \
        call;                                                                              \
        return K2T_OK;                                                                     \
    }
PY_MERGE(add_py_forward, py_chain(y, i, " + ", 0))
PY_MERGE(subtract_py_forward, py_chain(y, i, " - ", 0))
PY_MERGE(multiply_py_forward, py_chain(y, i, " * ", 0))
PY_MERGE(average_py_forward, py_chain(y, i, " + ", 1))
PY_MERGE(maximum_py_forward, py_fold(y, i, "torch.maximum"))
PY_MERGE(minimum_py_forward, py_fold(y, i, "torch.minimum"))
#undef PY_MERGE

static k2t_status concat_py_forward(k2t_py *y, int i, k2t_err *err)
{
    const k2t_layer *L = k2t_py_layer(y, i);
    const k2t_shape *in = k2t_py_in_shape(y, i, 0);
    int n = k2t_py_model(y)->nodes[i].n_in, t = k2t_py_dim(L->cfg.axis, in ? in->ndim : 0);
    if (t < 0) return k2t_py_fail(L, err, "axis out of range");
    k2t_py_printf(y, "        %s = torch.cat([", k2t_py_var(y, i));
    for (int k = 0; k < n; k++) k2t_py_printf(y, "%s%s", k ? ", " : "", k2t_py_in(y, i, k));
    k2t_py_printf(y, "], dim=%d)  # Keras axis %d\n", t, L->cfg.axis);
    return K2T_OK;
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

#define ELEMENTWISE(var, kind, cls, lo, hi, fn, py, fwd, more)                             \
    const k2t_op_def var = {.op = kind, .classes = cls, .min_in = lo, .max_in = hi,        \
                            .flags = K2T_OPF_MERGE | K2T_OPF_NCHW | (more),                 \
                            .parse = merge_parse, .infer = fn, .describe = merge_describe, \
                            .py_forward = py, .forward = fwd}

ELEMENTWISE(k2t_op_add, K2T_OP_ADD, add_classes, 1, -1, merge_infer, add_py_forward, add_forward,
            K2T_OPF_SUM);
ELEMENTWISE(k2t_op_subtract, K2T_OP_SUBTRACT, subtract_classes, 2, 2, subtract_infer,
            subtract_py_forward, subtract_forward, 0);
ELEMENTWISE(k2t_op_multiply, K2T_OP_MULTIPLY, multiply_classes, 1, -1, merge_infer,
            multiply_py_forward, multiply_forward, 0);
ELEMENTWISE(k2t_op_average, K2T_OP_AVERAGE, average_classes, 1, -1, merge_infer,
            average_py_forward, average_forward, 0);
ELEMENTWISE(k2t_op_maximum, K2T_OP_MAXIMUM, maximum_classes, 1, -1, merge_infer,
            maximum_py_forward, maximum_forward, 0);
ELEMENTWISE(k2t_op_minimum, K2T_OP_MINIMUM, minimum_classes, 1, -1, merge_infer,
            minimum_py_forward, minimum_forward, 0);

const k2t_op_def k2t_op_concatenate = {
    .op = K2T_OP_CONCATENATE, .classes = concat_classes, .min_in = 1, .max_in = -1,
    .flags = K2T_OPF_CONCAT | K2T_OPF_MERGE, .parse = concat_parse, .infer = concat_infer,
    .describe = concat_describe, .hazards = concat_hazards, .py_forward = concat_py_forward,
    .plan = concat_plan, .forward = concat_forward,
};
