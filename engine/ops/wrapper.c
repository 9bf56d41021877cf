/*
** wrapper.c -- TimeDistributed: a layer applied to every step of axis 1.
**
** TimeDistributed(layer) reads (T, ...) per sample and gives each of the
** T steps to the wrapped layer as a sample of its own: (T, ...) is T
** samples of the inner layer's input, and the output is the inner
** output for each, stacked back along axis 1.  Keras's config is
** {"layer": {"class_name", "config"}}; the weights are the inner layer's
** (Keras 2 H5 names them time_distributed/kernel:0, a .keras archive
** layers/time_distributed/layer/vars/i).
**
** The inner kind owns itself: the wrapper parses the wrapped config with
** the inner op's parse into L->cfg (cfg.inner_op and cfg.inner_class
** name it), and every callback of the inner op is called on a view of
** the layer whose op and class are the inner ones, with the T axis
** stripped from the shapes (infer, weights, torch, hazards, module) and
** put back in front of the result.  The run plans an inner step on one
** step's shape and computes it for n*T samples (the steps of a sample are
** contiguous in Keras's layout).
**
** Keras passes a mask through TimeDistributed (its compute_mask returns
** the input's when the inner layer makes none): MASK_PASS.  Export folds
** T into the batch, y = inner(x.flatten(0, 1)).unflatten(0, (N, T)) (in
** the module's channels-first layout), with the inner kind's own module
** and forward() lines written on one step's shape (k2t_py_sub_begin).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../op.h"
#include "../py.h"

/* L seen as the layer it wraps: the inner op and class, the same
** weights and config. */
static k2t_layer td_view(const k2t_layer *L)
{
    k2t_layer v = *L;
    v.op = (k2t_op)L->cfg.inner_op;
    v.class_name = (char *)L->cfg.inner_class;
    return v;
}

static const k2t_op_def *td_inner(const k2t_layer *L)
{
    return L->cfg.inner_op > K2T_OP_NONE && L->cfg.inner_op < K2T_OP_UNSUPPORTED
               ? k2t_op_def_of((k2t_op)L->cfg.inner_op) : NULL;
}

/* The per-step shape: 'in' without its first axis. */
static k2t_shape td_strip(const k2t_shape *in)
{
    k2t_shape s = {0};
    if (in->ndim < 1) return s;
    s.ndim = in->ndim - 1;
    for (int i = 0; i < s.ndim; i++) s.d[i] = in->d[i + 1];
    return s;
}

static k2t_status td_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    json_t *icfg;
    const char *cls;
    k2t_status st0 = cfg_wrapped(c, &cls, &icfg, err);
    if (st0 != K2T_OK) return st0;
    const k2t_op_def *d = k2t_op_lookup(cls);
    snprintf(L->cfg.inner_class, sizeof L->cfg.inner_class, "%s", cls);
    if (!d || !d->forward || (d->flags & (K2T_OPF_INPUT | K2T_OPF_MERGE | K2T_OPF_MASK_MAKE | K2T_OPF_MASK_USE)) ||
        d->op == K2T_OP_TIME_DISTRIBUTED || d->op == K2T_OP_BIDIRECTIONAL || d->min_in > 1) {
        k2t_set_unsupported(L, "a TimeDistributed %s: k2t runs TimeDistributed around a single-input layer "
                            "without a mask of its own (Dense, convolutions, pooling, Flatten, BN, ...)", cls);
        return K2T_OK;
    }
    k2t_layer T = {0};
    T.name = L->name;
    T.class_name = L->cfg.inner_class;
    T.op = d->op;
    k2t_status st = d->parse ? d->parse(&T, icfg, m, err) : K2T_OK;
    if (st != K2T_OK) {
        free(T.unsupported);
        return st;
    }
    char keep[sizeof L->cfg.inner_class];
    memcpy(keep, L->cfg.inner_class, sizeof keep);
    L->cfg = T.cfg;
    L->cfg.inner_op = (int)d->op;
    memcpy(L->cfg.inner_class, keep, sizeof keep);
    if (T.unsupported) k2t_set_unsupported(L, "its %s: %s", cls, T.unsupported);
    free(T.unsupported);
    return K2T_OK;
}

static k2t_status td_infer(const k2t_layer *L, const k2t_shape *in, int n_in, k2t_shape *out, k2t_err *err)
{
    const k2t_op_def *d = td_inner(L);
    if (n_in != 1) return k2t_fail(err, K2T_ESHAPE, "expects 1 input, got %d", n_in);
    if (in->ndim < 2)
        return k2t_fail(err, K2T_ESHAPE, "expects (T, ...) per sample with at least one axis after T, got %d "
                        "dimension%s", in->ndim, in->ndim == 1 ? "" : "s");
    if (!d || !d->infer) return k2t_fail(err, K2T_EUNSUPPORTED, "no shape rule for its %s", L->cfg.inner_class);
    k2t_layer v = td_view(L);
    k2t_shape s = td_strip(in), o;
    k2t_status st = d->infer(&v, &s, 1, &o, err);
    if (st != K2T_OK) return st;
    if (o.ndim + 1 > K2T_MAX_DIMS) return k2t_fail(err, K2T_ESHAPE, "output of too many dimensions");
    out->ndim = o.ndim + 1;
    out->d[0] = in->d[0];
    for (int i = 0; i < o.ndim; i++) out->d[i + 1] = o.d[i];
    return K2T_OK;
}

static int td_weights(const k2t_layer *L, const k2t_shape *in, k2t_wspec *spec)
{
    const k2t_op_def *d = td_inner(L);
    if (!d || !d->weights) return 0;
    k2t_layer v = td_view(L);
    k2t_shape s;
    if (in) s = td_strip(in);
    return d->weights(&v, in ? &s : NULL, spec);
}

static void td_describe(const k2t_layer *L, k2t_buf *b)
{
    const k2t_op_def *d = td_inner(L);
    k2t_buf_printf(b, "layer=%s", L->cfg.inner_class);
    if (d && d->describe) {
        k2t_layer v = td_view(L);
        k2t_buf_printf(b, ", ");
        d->describe(&v, b);
    }
}

static int td_torch(const k2t_layer *L, int wi, k2t_tw *tw)
{
    const k2t_op_def *d = td_inner(L);
    if (!d || !d->torch) return -1;
    k2t_layer v = td_view(L);
    return d->torch(&v, wi, tw);
}

/* The inner kind's findings, on one step's shape, then what the wrapper
** itself asks of a port. */
static void td_hazards(k2t_hz *h)
{
    const k2t_op_def *d = td_inner(h->L);
    k2t_layer v = td_view(h->L);
    k2t_shape s;
    if (d && d->hazards) {
        k2t_hz sub = *h;
        sub.L = &v;
        if (h->in) {
            s = td_strip(h->in);
            sub.in = &s;
        }
        d->hazards(&sub);
        h->n = sub.n;
        h->shown = sub.shown;
    }
    k2t_hz_say(h, K2T_PIT_LAYOUT, 0, "applies its %s to each of the T steps of axis 1: a port folds T into the "
               "batch", h->L->cfg.inner_class);
    k2t_hz_code(h, "y = inner(x.flatten(0, 1)).unflatten(0, (N, T))  # x (N, T, ...) in the inner layer's layout");
}

static int td_module(const k2t_layer *L, const k2t_shape *in, int ph, int pw, char *buf, size_t n)
{
    const k2t_op_def *d = td_inner(L);
    if (!d || !d->module) return -1;
    k2t_layer v = td_view(L);
    k2t_shape s;
    if (in) s = td_strip(in);
    return d->module(&v, in ? &s : NULL, ph, pw, buf, n);
}

/* The tensors the inner kind's module has beyond Keras's weights (BN's
** num_batches_tracked). */
static k2t_status td_extra(const k2t_layer *L, k2t_xt *x, int *n, k2t_err *err)
{
    const k2t_op_def *d = td_inner(L);
    k2t_layer v = td_view(L);
    *n = 0;
    return d && d->extra_tensors ? d->extra_tensors(&v, x, n, err) : K2T_OK;
}

/* The inner kind's own reason on one step's shape; a kind without
** PyTorch code of its own is refused by name. */
static const char *td_unexportable(const k2t_layer *L, const k2t_shape *in)
{
    const k2t_op_def *d = td_inner(L);
    k2t_layer v = td_view(L);
    k2t_shape s;
    if (!d || !d->py_forward) return "export has no PyTorch code for the layer it wraps";
    if (in) s = td_strip(in);
    return d->unexportable ? d->unexportable(&v, in ? &s : NULL) : NULL;
}

/* The inner layer's module, written by its own kind on one step's shape. */
static k2t_status td_py_init(k2t_py *y, int li, k2t_err *err)
{
    const k2t_model *m = k2t_py_model(y);
    const k2t_layer *L = k2t_py_layer_at(y, li);
    const k2t_op_def *d = td_inner(L);
    char mod[1200];
    k2t_status st;
    int call = -1;
    for (int i = 0; i < m->n_nodes && call < 0; i++)
        if (m->nodes[i].layer == li) call = i;
    if (d && d->py_init && call >= 0) {
        k2t_shape si = td_strip(k2t_py_in_shape(y, call, 0)), so = td_strip(k2t_py_shape(y, call));
        k2t_layer v = td_view(L);
        k2t_py_sub_begin(y, call, &v, "", &si, "", &so);
        st = d->py_init(y, li, err);
        k2t_py_sub_end(y);
        return st;
    }
    if ((st = k2t_py_module(y, li, mod, sizeof mod, err)) != K2T_OK) return st;
    k2t_py_printf(y, "        self.%s = %s  # TimeDistributed(%s)\n", k2t_py_attr(y, li), mod, L->cfg.inner_class);
    return K2T_OK;
}

/* The module holds (N, C, T, ...) (Keras's (T, ..., C) channels first):
** the T steps go into the batch, (N*T, C, ...), the inner kind writes its
** lines on that, and the result goes back to (N, C', T, ...). */
static k2t_status td_py_forward(k2t_py *y, int i, k2t_err *err)
{
    const k2t_layer *L = k2t_py_layer(y, i);
    const k2t_op_def *d = td_inner(L);
    const k2t_shape *in = k2t_py_in_shape(y, i, 0), *out = k2t_py_shape(y, i);
    const char *v = k2t_py_var(y, i);
    char xs[600], ys[600];
    if (!d || !d->py_forward || in->ndim < 2) return k2t_py_fail(L, err, "no PyTorch code");
    k2t_shape si = td_strip(in), so = td_strip(out);
    snprintf(xs, sizeof xs, "%s_steps", v);
    snprintf(ys, sizeof ys, "%s_per_step", v);
    k2t_py_printf(y, "        %s = %s.movedim(2, 1).flatten(0, 1)  # the %lld steps into the batch: (N*%lld, ...)\n",
                  xs, k2t_py_in(y, i, 0), (long long)in->d[0], (long long)in->d[0]);
    k2t_layer view = td_view(L);
    k2t_py_sub_begin(y, i, &view, xs, &si, ys, &so);
    k2t_status st = d->py_forward(y, i, err);
    k2t_py_sub_end(y);
    if (st != K2T_OK) return st;
    k2t_py_printf(y, "        %s = %s.unflatten(0, (-1, %lld)).movedim(1, 2)  # steps back on axis 2\n", v, ys,
                  (long long)in->d[0]);
    return K2T_OK;
}

/*------------------------------------------------------------ execution */

void k2t_step_free_sub(k2t_step *s)
{
    if (!s->sub) return;
    k2t_step_free_owned(&s->sub[1]);
    free(s->sub);
    free(s->sub_L);
    s->sub = NULL;
    s->sub_L = NULL;
}

/* The inner step, planned on one step's shape in Keras's layout (the
** executor runs this step's Keras kernel between conversions under
** layout NCHW: the wrapper has no NCHW kernel of its own). */
static k2t_status td_plan(k2t_step *s, const k2t_plan_ctx *c, k2t_err *err)
{
    static const int zero = 0;
    const k2t_op_def *d = td_inner(s->L);
    if (!d || !d->forward) return k2t_fail(err, K2T_EUNSUPPORTED, "k2t cannot execute its %s", s->L->cfg.inner_class);
    k2t_step_free_sub(s);
    s->sub_L = k2t_xmalloc(sizeof *s->sub_L);
    *s->sub_L = td_view(s->L);
    s->sub = k2t_xcalloc(2, sizeof *s->sub);
    k2t_step *pin = &s->sub[0], *t = &s->sub[1];
    const k2t_step *p = k2t_step_in(s, 0);
    k2t_shape in = td_strip(&c->in[0]);
    pin->node = p->node;
    pin->L = p->L;
    pin->def = p->def;
    pin->all = s->sub;
    pin->shape = pin->nshape = in;
    pin->numel = k2t_shape_numel(&in);
    pin->mask_in = pin->mask_src = -1;
    pin->pre_off = -1;
    t->node = s->node;
    t->L = s->sub_L;
    t->def = d;
    t->all = s->sub;
    t->in = &zero;
    t->n_in = 1;
    t->shape = td_strip(&s->shape);
    t->nshape = t->shape;
    t->numel = k2t_shape_numel(&t->shape);
    t->epi.act = K2T_ACT_LINEAR;
    t->pre_off = -1;
    t->mask_in = t->mask_src = -1;
    k2t_plan_ctx ic = {c->m, c->o, &in, 1, 0};
    if (d->plan) {
        k2t_status st = d->plan(t, &ic, err);
        if (st != K2T_OK) return st;
    }
    /* t->fallback (an inner op that would convert layouts under layout
    ** NCHW, as Dense on a rank-2 step does) is what the inner step gets
    ** anyway: Keras's layout, its Keras kernel (td_forward says so). */
    if (t->numel * s->shape.d[0] != s->numel) { /* an emulation changed the step's size (padding torch) */
        s->shape.ndim = t->shape.ndim + 1;
        for (int i = 0; i < t->shape.ndim; i++) s->shape.d[i + 1] = t->shape.d[i];
        s->numel = t->numel * s->shape.d[0];
    }
    /* A port that leaves the final softmax to its loss drops the inner one
    ** too (TimeDistributed(Dense(activation="softmax")) at the output). */
    if (c->o->emu.softmax_drop && c->m->nodes[s->node].is_output && t->epi.act == K2T_ACT_SOFTMAX)
        t->epi.act = K2T_ACT_LINEAR;
    /* Flatten, Dropout: a view of the input, step by step as a whole (a
    ** copy when the executor converts layouts around this step) */
    s->alias = t->alias && !c->any_nchw;
    s->ws = t->ws;
    return K2T_OK;
}

static void td_forward(const k2t_step *s, const k2t_fwd *f)
{
    const k2t_step *t = &s->sub[1];
    int T = (int)s->shape.d[0];
    k2t_fwd g = {f->x, f->n * T, f->y, f->y, f->ws, &t->epi, 0, t->fallback, NULL, NULL, NULL};
    if (t->alias) {
        if (f->y != f->x[0]) memcpy(f->y, f->x[0], (size_t)f->n * (size_t)s->numel * sizeof(float));
        return;
    }
    t->def->forward(t, &g);
}

/*----------------------------------------------------------------- defs */

static const char *const td_classes[] = {"TimeDistributed", NULL};

const k2t_op_def k2t_op_time_distributed = {
    .op = K2T_OP_TIME_DISTRIBUTED, .classes = td_classes, .min_in = 1, .max_in = 1,
    .parse = td_parse, .infer = td_infer, .weights = td_weights, .describe = td_describe,
    .torch = td_torch, .hazards = td_hazards, .plan = td_plan, .forward = td_forward,
    .flags = K2T_OPF_MODULE | K2T_OPF_MASK_PASS, .module = td_module, .unexportable = td_unexportable,
    .py_init = td_py_init, .py_forward = td_py_forward, .extra_tensors = td_extra,
};
